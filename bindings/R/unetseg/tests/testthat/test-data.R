test_that("synthesize_dataset writes the kaggle_3m layout", {
  root <- file.path(fresh_dir("synth"), "kaggle_3m")
  n <- synthesize_dataset(root, patients = 2, min_slices = 8, max_slices = 9, size = 32, seed = 3)
  patients <- list.files(root)
  expect_length(patients, 2)
  expect_match(patients, "^TCGA_[A-Z]{2}_[0-9]{4}_[0-9]{8}$")
  files <- list.files(root, recursive = TRUE)
  expect_identical(length(grep("_mask\\.tif$", files)), as.integer(n))
  expect_identical(length(files), as.integer(2 * n))
  expect_true(n >= 16 && n <= 18)
  expect_unetseg_error(synthesize_dataset(root, size = 10), "value_error", "size must be in 32")
  expect_unetseg_error(synthesize_dataset(root, patients = 0), "value_error", "patients")
  expect_unetseg_error(synthesize_dataset("", patients = 1), "value_error", "dir must be a non-empty string")
})

test_that("synthesize_dataset passes the style to the generator", {
  dir <- fresh_dir("synth-style")
  simple <- file.path(dir, "simple")
  realistic <- file.path(dir, "realistic")
  n <- synthesize_dataset(simple, patients = 2, min_slices = 8, max_slices = 8, size = 32, seed = 3)
  expect_identical(synthesize_dataset(realistic, patients = 2, min_slices = 8, max_slices = 8, size = 32, seed = 3,
                                      style = "realistic"), n)
  files <- list.files(simple, recursive = TRUE)
  expect_identical(list.files(realistic, recursive = TRUE), files)
  images <- grep("_[0-9]+\\.tif$", files, value = TRUE)
  differs <- vapply(images, function(f) {
    !identical(readBin(file.path(simple, f), "raw", 1e5), readBin(file.path(realistic, f), "raw", 1e5))
  }, logical(1))
  expect_true(any(differs))
  expect_unetseg_error(synthesize_dataset(file.path(dir, "never"), patients = 1, style = "fancy"), "value_error",
                       "style must be \"simple\" or \"realistic\"")
  expect_false(dir.exists(file.path(dir, "never")))
})

test_that("split_patients links n_valid patients into valid and the rest into train", {
  data <- fixture_data()
  expect_length(list.files(data$train), 4)
  expect_length(list.files(data$valid), 2)
  expect_length(intersect(list.files(data$train), list.files(data$valid)), 0)
  expect_true(file.exists(file.path(dirname(data$train), "split.json")))
  out <- fresh_dir("split-again")
  counts <- split_patients(data$data, file.path(out, "train"), file.path(out, "valid"), n_valid = 2, seed = 777)
  expect_identical(counts, list(train = 4L, valid = 2L))
  expect_identical(list.files(file.path(out, "valid")), list.files(data$valid))
  expect_unetseg_error(split_patients(data$data, file.path(out, "t2"), file.path(out, "v2"), n_valid = 9),
                       "value_error", "cannot choose 9 validation patients out of 6")
  expect_unetseg_error(split_patients(data$data, file.path(out, "train"), file.path(out, "v3"), n_valid = 1),
                       "runtime_error", "overwrite")
  expect_unetseg_error(split_patients(file.path(out, "missing"), file.path(out, "t4"), file.path(out, "v4")),
                       "runtime_error", "does not exist")
})

test_that("split_patients replaces an earlier split only with overwrite", {
  data <- fixture_data()
  out <- fresh_dir("split-overwrite")
  split_patients(data$data, file.path(out, "train"), file.path(out, "valid"), n_valid = 2, seed = 777)
  before <- tree_digest(out)
  source_before <- tree_digest(data$data)
  expect_unetseg_error(split_patients(data$data, file.path(out, "train"), file.path(out, "valid"), n_valid = 1, seed = 3),
                       "runtime_error", "split.json")
  expect_identical(tree_digest(out), before)
  counts <- split_patients(data$data, file.path(out, "train"), file.path(out, "valid"), n_valid = 1, seed = 3,
                           overwrite = TRUE)
  expect_identical(counts, list(train = 5L, valid = 1L))
  expect_length(list.files(file.path(out, "valid")), 1)
  expect_identical(tree_digest(data$data), source_before)
})

test_that("brainseg_dataset gives scaled images and 0/1 masks", {
  data <- fixture_data()
  ds <- brainseg_dataset(data$valid, seed = 1)
  expect_s3_class(ds, "brainseg_dataset")
  n_masks <- length(grep("_mask\\.tif$", list.files(data$valid, recursive = TRUE)))
  expect_identical(length(ds), n_masks)
  expect_identical(ds$image_size, c(64L, 64L))
  item <- ds[2]
  expect_named(item, c("img", "mask"))
  expect_identical(dim(item$img), c(3L, 64L, 64L))
  expect_identical(dim(item[[2]]), c(1L, 64L, 64L))
  expect_equal(range(as.numeric(item$img)), c(0, 1), tolerance = 1e-4)
  expect_true(all(as.numeric(item$mask) %in% c(0, 1)))
  expect_identical(as.numeric(ds[2]$img), as.numeric(item$img))
  expect_identical(ds$.getitem(2)$mask$shape, c(1L, 64L, 64L))
  expect_identical(ds$.length(), length(ds))
  expect_false(ds$random_sampling)
  expect_null(ds$augmentation_params)
  expect_output(print(ds), "brainseg_dataset: [0-9]+ slices of 64x64")
  expect_unetseg_error(ds[0], "value_error", "out of range")
  expect_unetseg_error(ds[length(ds) + 1], "value_error", "out of range")
  expect_unetseg_error(ds$shuffle(), "value_error", "no method or field")
})

test_that("brainseg_dataset reports missing folders, empty folders and bad parameters", {
  expect_unetseg_error(brainseg_dataset(file.path(tempdir(), "no-such-folder")), "runtime_error", "no such folder")
  expect_unetseg_error(brainseg_dataset(fresh_dir("empty")), "value_error", "no slices")
  data <- fixture_data()
  expect_unetseg_error(brainseg_dataset(data$valid, augmentation_params = c(1, 15, 0.5)), "value_error", "scale")
  expect_unetseg_error(brainseg_dataset(data$valid, augmentation_params = c(0.05, 15)), "value_error", "c\\(scale, angle, flip\\)")
  orphan <- fresh_dir("orphan")
  patient <- list.files(data$data, full.names = TRUE)[[1]]
  image <- list.files(patient, pattern = "_1\\.tif$", full.names = TRUE)
  dir.create(file.path(orphan, basename(patient)))
  file.copy(image, file.path(orphan, basename(patient)))
  expect_unetseg_error(brainseg_dataset(orphan), "runtime_error", "no mask")
})

test_that("random sampling and augmentation are reproducible from the seed", {
  data <- fixture_data()
  a <- brainseg_dataset(data$train, augmentation_params = c(0.05, 15, 0.5), random_sampling = TRUE, seed = 11)
  b <- brainseg_dataset(data$train, augmentation_params = c(0.05, 15, 0.5), random_sampling = TRUE, seed = 11)
  c <- brainseg_dataset(data$train, augmentation_params = c(0.05, 15, 0.5), random_sampling = TRUE, seed = 12)
  expect_identical(as.numeric(a[3]$img), as.numeric(b[3]$img))
  expect_false(identical(as.numeric(a[3]$img), as.numeric(c[3]$img)))
  expect_identical(a$augmentation_params, c(0.05, 15, 0.5))
  expect_identical(a$seed, 11)
})

test_that("the augmentation methods transform image and mask together", {
  data <- fixture_data()
  ds <- brainseg_dataset(data$valid, seed = 1)
  item <- ds[3]
  same <- ds$resize(item$img, item$mask, 0)
  expect_identical(as.numeric(same[[1]]), as.numeric(item$img))
  unrotated <- ds$rotate(item$img, item$mask, 0)
  expect_identical(as.numeric(unrotated[[2]]), as.numeric(item$mask))
  flipped <- ds$flip(item$img, item$mask, 1)
  expect_identical(as.array(flipped[[1]]), as.array(item$img)[, , 64:1])
  expect_identical(as.array(flipped[[2]]), as.array(item$mask)[, , 64:1, drop = FALSE])
  torch_manual_seed(3)
  grid <- lapply(1:3, function(i) ds$rotate(item$img, item$mask, 90))
  expect_false(identical(as.numeric(grid[[1]][[1]]), as.numeric(grid[[2]][[1]])))
  resized <- ds$resize(item$img, item$mask, 0.2)
  expect_identical(dim(resized[[1]]), c(3L, 64L, 64L))
  expect_true(all(as.numeric(resized[[2]]) %in% c(0, 1)))
  expect_unetseg_error(ds$resize(item$img, item$mask, 1.5), "value_error", "scale")
  expect_unetseg_error(ds$flip(item$img, item$mask, 2), "value_error", "probability")
  expect_unetseg_error(ds$rotate(item$img, torch_tensor(array(0, c(1, 8, 8))), 5), "value_error", "mask shape")
  expect_unetseg_error(ds$rotate(item$img, item$mask, "a"), "value_error", "rot_param")
})

test_that("for (b in enumerate(dl)) visits every item once, lazily", {
  data <- fixture_data()
  ds <- brainseg_dataset(data$valid, seed = 1)
  dl <- dataloader(ds, batch_size = 4)
  expect_s3_class(dl, "dataloader")
  expect_identical(length(dl), as.integer(ceiling(length(ds) / 4)))
  expect_identical(dl$batch_size, 4L)
  expect_identical(dl$dataset, ds)
  expect_output(print(dl), "batches of 4 per epoch")
  invisible(gc())
  before <- unetseg_live_handle_count()
  batches <- enumerate(dl)
  expect_length(batches, length(dl))
  expect_identical(unetseg_live_handle_count(), before) # nothing read yet
  sizes <- integer()
  first_masks <- NULL
  for (b in batches) {
    expect_length(b, 2)
    expect_named(b, c("img", "mask"))
    expect_identical(dim(b[[1]])[2:4], c(3L, 64L, 64L))
    expect_identical(dim(b$mask)[1], dim(b[[1]])[1])
    sizes <- c(sizes, dim(b[[1]])[1])
    if (is.null(first_masks)) first_masks <- as.array(b[[2]])
  }
  expect_identical(sum(sizes), as.integer(length(ds)))
  expect_identical(first_masks[2, 1, , ], as.array(ds[2]$mask)[1, , ])
  expect_identical(dim(batches[[1]][[1]]), c(4L, 3L, 64L, 64L))
  expect_output(print(batches[[1]]), "batch 1 of epoch 1")
  expect_unetseg_error(batches[[1]][[3]], "value_error", "two parts")
})

test_that("batches hold the dataset's items in order, also out of order", {
  data <- fixture_data()
  ds <- brainseg_dataset(data$valid, seed = 1)
  dl <- dataloader(ds, batch_size = 3)
  batches <- enumerate(dl)
  second <- as.array(batches[[2]][[1]])
  expect_identical(second[1, , , ], as.array(ds[4]$img))
  first <- as.array(batches[[1]][[2]])
  expect_identical(first[3, , , , drop = FALSE], array(as.array(ds[3]$mask), c(1, 1, 64, 64)))
})

test_that("each pass is a new epoch: new samples, the same for the same seed", {
  data <- fixture_data()
  pass_images <- function(seed) {
    ds <- brainseg_dataset(data$train, augmentation_params = c(0.05, 15, 0.5), random_sampling = TRUE, seed = seed)
    dl <- dataloader(ds, batch_size = 4)
    lapply(1:2, function(epoch) {
      first <- NULL
      for (b in enumerate(dl)) if (is.null(first)) first <- as.numeric(b[[1]])
      first
    })
  }
  a <- pass_images(5)
  expect_false(identical(a[[1]], a[[2]]))
  expect_identical(pass_images(5), a)
})

test_that("drop_last, shuffle and workers", {
  data <- fixture_data()
  ds <- brainseg_dataset(data$valid, seed = 1)
  n <- length(ds)
  expect_identical(length(dataloader(ds, batch_size = 4, drop_last = TRUE)), n %/% 4L)
  plain <- dataloader(ds, batch_size = n)
  shuffled <- dataloader(ds, batch_size = n, shuffle = TRUE, seed = 2)
  threaded <- dataloader(ds, batch_size = n, num_workers = 2)
  read <- function(dl) as.numeric(dataloader_next(dataloader_make_iter(dl))[[1]])
  p <- read(plain)
  s <- read(shuffled)
  expect_false(identical(p, s))
  expect_equal(sort(p), sort(s))
  expect_identical(read(threaded), p)
})

test_that("dataloader_make_iter and dataloader_next read one epoch", {
  data <- fixture_data()
  dl <- dataloader(brainseg_dataset(data$valid, seed = 1), batch_size = 8)
  iter <- dataloader_make_iter(dl)
  count <- 0L
  while (!is.null(batch <- dataloader_next(iter))) {
    count <- count + 1L
    expect_length(batch, 2)
  }
  expect_identical(count, length(dl))
  expect_identical(dataloader_next(iter, completed = "done"), "done")
  expect_identical(dl$epoch, 1)
})

test_that("dataloader checks its arguments", {
  data <- fixture_data()
  ds <- brainseg_dataset(data$valid, seed = 1)
  expect_unetseg_error(dataloader(list(1, 2), batch_size = 2), "value_error", "brainseg_dataset")
  expect_unetseg_error(dataloader(ds, batch_size = 0), "value_error", "batch_size must be in 1...4096")
  expect_unetseg_error(dataloader(ds, num_workers = 100), "value_error", "worker")
  expect_unetseg_error(enumerate(ds), "value_error", "needs a dataloader")
  expect_unetseg_error(dataloader_make_iter(ds), "value_error", "needs a dataloader")
  expect_unetseg_error(dataloader_next(ds), "value_error", "needs an iterator")
  expect_unetseg_error(dataloader(ds)$nothing, "value_error", "no field")
})
