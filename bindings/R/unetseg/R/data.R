# Data: the post's brainseg_dataset, its augmentations, dataloaders with lazy enumerate(), the patient
# split and the synthetic data set.

#' The post's brain MRI dataset
#'
#' Every slice under `img_dir` in the layout of Kaggle's `kaggle_3m` (one folder per patient, slices
#' `<patient>_<n>.tif` with masks `<patient>_<n>_mask.tif`, paired by name), read natively: no magick.
#' `ds[i]` is `list(img = , mask = )`: the image `[3, H, W]` min-max scaled to `[0, 1]` (or normalised per
#' patient volume, see `normalization`) and the mask `[1, H, W]` in {0, 1}. With `random_sampling`, item `i` is a slice drawn with the post's lesion weights
#' (`calc_slice_weights`); with `augmentation_params = c(scale, angle, flip)` each item is resized by
#' U(1 - scale, 1 + scale), rotated by U(-angle, angle) degrees and flipped with probability `flip`.
#' `length(ds)` is the number of slices.
#'
#' The randomness of an item comes from the dataset's seed, the epoch and the index only: `ds[i]` (epoch
#' 0) is always the same item, and a [dataloader()] gives the same batches for the same seed. The
#' augmentations are also methods, drawing from the global generator (see [torch_manual_seed()]), for the
#' post's augmentation grid: `ds$resize(img, mask, scale_param)`, `ds$rotate(img, mask, rot_param)` and
#' `ds$flip(img, mask, flip_param)`, each returning `list(img, mask)`. Fields: `ds$image_size` (height
#' and width), `ds$augmentation_params`, `ds$random_sampling`, `ds$seed`, `ds$normalization`.
#'
#' @param img_dir Folder of patient folders.
#' @param augmentation_params `NULL`, or `c(scale, angle, flip)` such as the post's `c(0.05, 15, 0.5)`.
#' @param random_sampling Whether items are drawn by lesion weight.
#' @param seed Seed of the dataset's randomness: `NULL` draws one from the global generator.
#' @param normalization (character): how images are scaled as read: `"minmax"` (each slice to `[0, 1]`, the
#'   post's), `"zscore"` (each channel z-scored over the patient's volume) or `"percentile"` (the volume
#'   clipped to its 10th and 99th percentiles over all channels, then z-scored per channel; Buda et al.
#'   2019). Default: `"minmax"`.
#' @return A dataset (class `brainseg_dataset`).
#' @examples
#' root <- file.path(tempdir(), "mri")
#' synthesize_dataset(root, patients = 2, min_slices = 8, max_slices = 8, size = 64)
#' ds <- brainseg_dataset(root, augmentation_params = c(0.05, 15, 0.5), random_sampling = TRUE, seed = 1)
#' length(ds)
#' item <- ds[1]
#' dim(item$img)
#' @export
brainseg_dataset <- function(img_dir, augmentation_params = NULL, random_sampling = FALSE, seed = NULL,
                             normalization = "minmax") {
  normalization_code <- normalization_argument(normalization)
  img_dir <- check_path(img_dir, "img_dir")
  augment <- !is.null(augmentation_params)
  if (augment && (!is.numeric(augmentation_params) || length(augmentation_params) != 3L || anyNA(augmentation_params))) {
    abort_value("augmentation_params must be NULL or c(scale, angle, flip), such as c(0.05, 15, 0.5)")
  }
  parameters <- if (augment) as.double(augmentation_params) else c(0, 0, 0)
  seed <- seed_argument(seed)
  handle <- lib_call("unetseg_r_dataset_open", img_dir, parameters, as.integer(augment),
                     as.integer(check_flag(random_sampling, "random_sampling")), seed, normalization_code,
                     out = integer(1))$out
  dataset <- new_handle_object(handle, "unetseg_r_dataset_free", c("brainseg_dataset", "dataset"))
  assign("augmentation_params", augmentation_params, envir = dataset)
  assign("random_sampling", random_sampling, envir = dataset)
  assign("seed", seed, envir = dataset)
  assign("normalization", normalization, envir = dataset)
  dataset
}

# The intensity normalisations, in the order of their numbers in the library's `normalization` fields.
normalizations <- c("minmax", "zscore", "percentile")

# The library's number for the normalisation named `normalization`; a value_error naming the choices otherwise.
normalization_argument <- function(normalization) {
  if (!is.character(normalization) || length(normalization) != 1 || !(normalization %in% normalizations)) {
    abort_value(sprintf("normalization must be \"minmax\", \"zscore\" or \"percentile\", got %s",
                        deparse_short(normalization)))
  }
  match(normalization, normalizations) - 1L
}

#' @export
length.brainseg_dataset <- function(x) {
  as_length(lib_call("unetseg_r_dataset_length", handle_of(x), length = double(1))$length)
}

# Item `index` (1-based) of `epoch` as list(img, mask).
dataset_item <- function(dataset, index, epoch, call = sys.call(-1)) {
  index <- check_number(index, "index", whole = TRUE, call = call)
  result <- lib_call("unetseg_r_dataset_get_item", handle_of(dataset), index - 1, as.double(epoch),
                     image = integer(1), mask = integer(1), .call = call)
  list(img = new_tensor(result$image), mask = new_tensor(result$mask))
}

#' @rdname brainseg_dataset
#' @param x A dataset.
#' @param i Item number, from 1 to `length(x)`.
#' @param ... Ignored.
#' @export
`[.brainseg_dataset` <- function(x, i, ...) dataset_item(x, i, 0, call = sys.call())

# Runs the library's random augmentation `name` on an image and mask; returns list(img, mask).
augment_pair <- function(name, img, mask, parameter, label, call) {
  result <- lib_call(name, tensor_handle(img, "img", call = call), tensor_handle(mask, "mask", call = call),
                     check_number(parameter, label, call = call), image = integer(1), mask = integer(1), .call = call)
  list(new_tensor(result$image), new_tensor(result$mask))
}

dataset_methods <- list(
  resize = function(x, img, mask, scale_param) {
    augment_pair("unetseg_r_augment_resize", img, mask, scale_param, "scale_param", sys.call())
  },
  rotate = function(x, img, mask, rot_param) {
    augment_pair("unetseg_r_augment_rotate", img, mask, rot_param, "rot_param", sys.call())
  },
  flip = function(x, img, mask, flip_param) {
    augment_pair("unetseg_r_augment_flip", img, mask, flip_param, "flip_param", sys.call())
  },
  .getitem = function(x, i) x[i],
  .length = function(x) length(x)
)

dataset_fields <- list(
  image_size = function(x) lib_call("unetseg_r_dataset_image_size", handle_of(x), size = integer(2))$size,
  augmentation_params = function(x) field_of(x, "augmentation_params"),
  random_sampling = function(x) field_of(x, "random_sampling"),
  seed = function(x) field_of(x, "seed"),
  normalization = function(x) field_of(x, "normalization")
)

#' @rdname brainseg_dataset
#' @param name A method or field name.
#' @export
`$.brainseg_dataset` <- function(x, name) dispatch_dollar(x, name, dataset_methods, dataset_fields, "a dataset")

#' @export
print.brainseg_dataset <- function(x, ...) {
  size <- x$image_size
  cat(sprintf("brainseg_dataset: %s slices of %dx%d%s%s\n", format(length(x)), size[[2]], size[[1]],
              if (x$random_sampling) ", lesion-weighted sampling" else "",
              if (is.null(x$augmentation_params)) "" else paste0(", augmentation c(", paste(x$augmentation_params, collapse = ", "), ")")))
  invisible(x)
}

#' Data loader
#'
#' Batches of `batch_size` items of a dataset, as torch's `dataloader`: images `[B, 3, H, W]` and masks
#' `[B, 1, H, W]`. Each pass over the loader is one epoch: `enumerate(dl)` (for `for (b in
#' enumerate(dl))`) and `dataloader_make_iter(dl)` start the next one, so epoch after epoch the sampled
#' and augmented items differ, reproducibly. `length(dl)` is the number of batches per epoch.
#'
#' @param dataset A [brainseg_dataset()], or a dataset made by a generator from [dataset()] (batched in R:
#'   see [dataset()] for the differences).
#' @param batch_size Items per batch.
#' @param shuffle Whether each epoch visits the items in a random order (from `seed` and the epoch).
#' @param drop_last Whether an incomplete last batch is left out.
#' @param num_workers Background threads building upcoming batches (0: built when asked for). The batches
#'   are the same whatever the number.
#' @param seed Seed of the shuffles; `NULL` draws one from the global generator.
#' @param ... Ignored (torch compatibility).
#' @return A data loader (class `dataloader`).
#' @examples
#' root <- file.path(tempdir(), "mri-dl")
#' synthesize_dataset(root, patients = 1, min_slices = 8, max_slices = 8, size = 64)
#' dl <- dataloader(brainseg_dataset(root, seed = 1), batch_size = 4)
#' length(dl)
#' for (b in enumerate(dl)) print(dim(b[[1]]))
#' @export
dataloader <- function(dataset, batch_size = 1, shuffle = FALSE, drop_last = FALSE, num_workers = 0, seed = NULL, ...) {
  if (!inherits(dataset, c("brainseg_dataset", "unetseg_user_dataset"))) {
    abort_value("dataset must be made by brainseg_dataset() or by a generator from dataset()")
  }
  settings <- as.integer(c(check_integer(batch_size, "batch_size"), check_flag(shuffle, "shuffle"),
                           check_flag(drop_last, "drop_last"), check_integer(num_workers, "num_workers")))
  if (inherits(dataset, "unetseg_user_dataset")) {
    return(user_dataloader(dataset, settings[[1]], shuffle, drop_last, settings[[4]], seed, call = sys.call()))
  }
  handle <- lib_call("unetseg_r_loader_create", handle_of(dataset), settings, seed_argument(seed), out = integer(1))$out
  loader <- new_handle_object(handle, "unetseg_r_loader_free", "dataloader")
  assign("dataset", dataset, envir = loader)
  assign("next_epoch", 1, envir = loader)
  loader
}

#' @export
length.dataloader <- function(x) as_length(lib_call("unetseg_r_loader_length", handle_of(x), length = double(1))$length)

#' @export
`$.dataloader` <- function(x, name) {
  switch(name,
         dataset = field_of(x, "dataset"),
         batch_size = lib_call("unetseg_r_loader_batch_size", handle_of(x), size = integer(1))$size,
         epoch = field_of(x, "next_epoch") - 1,
         abort_value(sprintf("a dataloader has no field `%s`", name)))
}

#' @export
print.dataloader <- function(x, ...) {
  cat(sprintf("dataloader: %s batches of %d per epoch\n", format(length(x)), x$batch_size))
  invisible(x)
}

# The epoch the next pass over `loader` reads (1, 2, ...), advancing the counter.
take_epoch <- function(loader) {
  epoch <- field_of(loader, "next_epoch")
  assign("next_epoch", epoch + 1, envir = loader)
  epoch
}

# A position in one epoch of a loader: the library iterator and the number of the batch it gives next.
# `current` holds the last batch fetched, so that b[[1]] and b[[2]] read the same batch.
new_pass <- function(loader, epoch) {
  pass <- new.env(parent = emptyenv())
  pass$loader <- loader
  pass$epoch <- epoch
  pass$iterator <- NULL
  pass$next_batch <- 1
  pass$current <- NULL
  pass$current_index <- 0
  pass
}

# Starts the library iterator of `pass` at batch `index` (1-based).
start_iterator <- function(pass, index) {
  handle <- lib_call("unetseg_r_loader_iterate", handle_of(pass$loader), pass$epoch, index - 1,
                     out = integer(1))$out
  pass$iterator <- new_handle_object(handle, "unetseg_r_iterator_free", "unetseg_iterator")
  pass$next_batch <- index
}

# The next batch of `pass` as list(images, masks), or NULL after the last one.
next_batch <- function(pass) {
  collect_if_grown()
  if (is.null(pass$iterator)) start_iterator(pass, pass$next_batch)
  result <- lib_call("unetseg_r_iterator_next", handle_of(pass$iterator), images = integer(1), masks = integer(1),
                     has_batch = integer(1))
  if (result$has_batch == 0L) {
    pass$iterator <- NULL
    return(NULL)
  }
  pass$current <- list(new_tensor(result$images), new_tensor(result$masks))
  pass$current_index <- pass$next_batch
  pass$next_batch <- pass$next_batch + 1
  pass$current
}

# Batch `index` of `pass`: the one fetched last, the next one, or (out of order) fetched by restarting.
batch_at <- function(pass, index) {
  if (pass$current_index == index) return(pass$current)
  if (is.null(pass$iterator) || pass$next_batch != index) start_iterator(pass, index)
  next_batch(pass)
}

#' Iterate over a data loader
#'
#' `enumerate(dl)` starts the loader's next epoch and returns its batches for `for (b in enumerate(dl))`,
#' as torch did: a list with one element per batch, where `b[[1]]` (or `b$img`) are the images and
#' `b[[2]]` (or `b$mask`) the masks. The batches are lazy: each is read only when `b[[1]]` or `b[[2]]` is
#' first used, and only the batch in use is kept, so the epoch is never in memory at once.
#'
#' `dataloader_make_iter(dl)` also starts the next epoch; `dataloader_next(iter)` returns its next batch
#' (`list(images, masks)`) or `completed` after the last one.
#'
#' @param dl A [dataloader()].
#' @param iter An iterator from `dataloader_make_iter()`.
#' @param completed What `dataloader_next()` returns at the end of the epoch.
#' @return `enumerate()`: a list of lazy batches; `dataloader_make_iter()`: an iterator;
#'   `dataloader_next()`: a batch or `completed`.
#' @examples
#' root <- file.path(tempdir(), "mri-enumerate")
#' synthesize_dataset(root, patients = 1, min_slices = 8, max_slices = 8, size = 64)
#' dl <- dataloader(brainseg_dataset(root, seed = 1), batch_size = 4)
#' for (b in enumerate(dl)) cat(dim(b[[1]]), "\n")
#' batch <- dl |> dataloader_make_iter() |> dataloader_next()
#' dim(batch[[2]])
#' @export
enumerate <- function(dl) {
  if (inherits(dl, "unetseg_user_dataloader")) return(user_enumerate(dl))
  if (!inherits(dl, "dataloader")) abort_value("enumerate() needs a dataloader")
  pass <- new_pass(dl, take_epoch(dl))
  lapply(seq_len(length(dl)), function(index) {
    batch <- new.env(parent = emptyenv())
    batch$pass <- pass
    batch$index <- index
    class(batch) <- "unetseg_lazy_batch"
    batch
  })
}

lazy_batch_part <- function(x, i) {
  if (is.character(i)) i <- match(i, c("img", "mask"))
  if (length(i) != 1L || is.na(i) || !i %in% 1:2) abort_value("a batch has two parts: [[1]] (img) and [[2]] (mask)")
  batch <- batch_at(get("pass", envir = x), get("index", envir = x))
  if (is.null(batch)) stop(runtime_error("the loader ended before this batch", call = NULL))
  batch[[i]]
}

#' @export
`[[.unetseg_lazy_batch` <- function(x, i, ...) lazy_batch_part(x, i)

#' @export
`$.unetseg_lazy_batch` <- function(x, name) lazy_batch_part(x, name)

#' @export
length.unetseg_lazy_batch <- function(x) 2L

#' @export
names.unetseg_lazy_batch <- function(x) c("img", "mask")

#' @export
print.unetseg_lazy_batch <- function(x, ...) {
  cat(sprintf("batch %d of epoch %d (read when used)\n", get("index", envir = x), get("pass", envir = x)$epoch))
  invisible(x)
}

#' @rdname enumerate
#' @export
dataloader_make_iter <- function(dl) {
  if (inherits(dl, "unetseg_user_dataloader")) return(structure(list(pass = new_user_pass(dl)), class = "dataloader_iterator"))
  if (!inherits(dl, "dataloader")) abort_value("dataloader_make_iter() needs a dataloader")
  structure(list(pass = new_pass(dl, take_epoch(dl))), class = "dataloader_iterator")
}

#' @rdname enumerate
#' @export
dataloader_next <- function(iter, completed = NULL) {
  if (!inherits(iter, "dataloader_iterator")) abort_value("dataloader_next() needs an iterator from dataloader_make_iter()")
  batch <- if (inherits(iter$pass$loader, "unetseg_user_dataloader")) user_next_batch(iter$pass) else next_batch(iter$pass)
  if (is.null(batch)) completed else batch
}

#' Split patients into training and validation folders
#'
#' The post's split: `n_valid` of the patient folders under `data_dir` (30 of 110 in the post), chosen at
#' random with `seed`, go to `valid_dir` and the others to `train_dir`, each as a link to the patient's
#' folder (a copy where links are impossible; `data_dir` is never changed). Both folders must be missing
#' or empty and `split.json` must not exist, unless `overwrite`. The choice depends only on the sorted
#' names, `n_valid` and `seed`. The split is also written as `split.json` beside `train_dir`.
#'
#' @param data_dir Folder of patient folders (such as Kaggle's `kaggle_3m`).
#' @param train_dir,valid_dir Folders to create.
#' @param n_valid Number of validation patients.
#' @param seed Seed of the choice.
#' @param overwrite Replace an earlier split: empty `train_dir` and `valid_dir` (links are removed, never
#'   followed) and rewrite `split.json`.
#' @return `list(train = , valid = )`: the number of patients in each, invisibly.
#' @examples
#' root <- file.path(tempdir(), "mri-split")
#' synthesize_dataset(root, patients = 4, min_slices = 8, max_slices = 8, size = 64)
#' out <- file.path(tempdir(), "mri-split-out")
#' split_patients(root, file.path(out, "train"), file.path(out, "valid"), n_valid = 1)
#' @export
split_patients <- function(data_dir, train_dir, valid_dir, n_valid = 30, seed = 777, overwrite = FALSE) {
  result <- lib_call("unetseg_r_split_patients", check_path(data_dir, "data_dir"),
                     check_path(train_dir, "train_dir"), check_path(valid_dir, "valid_dir"),
                     as.integer(c(check_integer(n_valid, "n_valid"), check_flag(overwrite, "overwrite"))),
                     check_number(seed, "seed", whole = TRUE),
                     counts = integer(2))
  invisible(list(train = result$counts[[1]], valid = result$counts[[2]]))
}

#' Write a synthetic brain MRI dataset
#'
#' Writes an LGG-like dataset in the `kaggle_3m` layout under `dir`: one folder per patient (TCGA-style
#' ids) with `<id>_<n>.tif` RGB slices (pre-contrast, FLAIR, post-contrast) and `<id>_<n>_mask.tif` 0/255
#' masks, so that the post's workflow runs without downloading the Kaggle data. The same arguments give
#' the same files.
#'
#' @param dir Folder to write into (created if missing).
#' @param patients Number of patients (the real set has 110).
#' @param min_slices,max_slices Range of slices per patient (8 to 88).
#' @param size Width and height of the slices in pixels (32 to 1024; the real set: 256).
#' @param seed Seed.
#' @param lesion_fraction Share of slices with lesion pixels (0 to 0.7).
#' @param style Generator style: `"simple"` (the first phantom, the default) or `"realistic"` (MRI-like
#'   contrasts per channel, bias fields, Rician-like noise, 0 to 3 lumpy lesions per patient).
#' @return The number of slices written, invisibly.
#' @examples
#' n <- synthesize_dataset(file.path(tempdir(), "mri-synth"), patients = 2, min_slices = 8, max_slices = 10, size = 64)
#' n
#' @export
synthesize_dataset <- function(dir, patients = 110, min_slices = 20, max_slices = 40, size = 256, seed = 1,
                               lesion_fraction = 0.38, style = "simple") {
  styles <- c("simple", "realistic")
  if (!is.character(style) || length(style) != 1 || !(style %in% styles)) {
    abort_value(sprintf("style must be \"simple\" or \"realistic\", got %s", deparse_short(style)))
  }
  counts <- c(check_integer(patients, "patients"), check_integer(min_slices, "min_slices"),
              check_integer(max_slices, "max_slices"), check_integer(size, "size"), match(style, styles) - 1L)
  if (any(abs(counts) > .Machine$integer.max)) abort_value("a count is too large")
  result <- lib_call("unetseg_r_synthetic_write", check_path(dir, "dir"), as.integer(counts),
                     check_number(seed, "seed", whole = TRUE), check_number(lesion_fraction, "lesion_fraction"),
                     slices = double(1))
  invisible(result$slices)
}
