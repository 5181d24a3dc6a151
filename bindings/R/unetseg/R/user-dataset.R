# Datasets defined in R, as R torch's dataset(): a generator whose constructor runs `initialize`, and whose
# objects give items through `.getitem(i)` and their count through `.length()`; and the R-level loader
# that batches them (dataloader() on such a dataset).

#' Define a dataset in R
#'
#' R torch's `dataset()`: returns a constructor. Calling it makes an object (an environment) holding the
#' members given in `...`, with every function member able to use `self`; the constructor's arguments
#' go to `initialize`. `ds[i]` calls `.getitem(i)` and `length(ds)` calls `.length()`. An item is a list
#' of tensors or numeric arrays (such as the post's `list(img, mask)`), or one tensor or array;
#' [dataloader()] stacks the items of a batch along a new first dimension.
#'
#' A loader over such a dataset runs in R: `.getitem` is called on R's thread as the batch is read, so
#' `num_workers` must be 0 (the built-in [brainseg_dataset()] reads its batches in the library, on
#' background threads when asked). `shuffle` draws each epoch's order from the loader's `seed` and the
#' epoch (the same seed gives the same batches; `NULL` draws the seed from the generator that
#' [torch_manual_seed()] seeds) without touching R's own random numbers. An error inside `.getitem`, an
#' item that is not a list of tensors or arrays, or items whose shapes differ signal a condition
#' (`runtime_error` or `value_error`, also of class `unetseg_dataset_error`) naming the dataset and the
#' index.
#'
#' @param name The dataset's name (its first class, and the name in error messages).
#' @param ... Members: `initialize = function(...)`, `.getitem = function(i)`, `.length = function()`, and
#'   any other methods or fields.
#' @param parent_env Accepted for torch compatibility (the functions keep their own environments).
#' @return A constructor function.
#' @examples
#' squares <- dataset(
#'   name = "squares",
#'   initialize = function(n) self$n <- n,
#'   .getitem = function(i) list(x = torch_tensor(c(i, i)), y = torch_tensor(i^2)),
#'   .length = function() self$n
#' )
#' ds <- squares(10)
#' length(ds)
#' for (b in enumerate(dataloader(ds, batch_size = 4))) print(dim(b$x))
#' @export
dataset <- function(name = NULL, ..., parent_env = parent.frame()) {
  members <- list(...)
  if (!is.null(name)) check_string(name, "name")
  if (length(members) && (is.null(names(members)) || any(!nzchar(names(members))))) {
    abort_value("dataset() members must be named, such as .getitem = function(i)")
  }
  for (required_member in c(".getitem", ".length")) {
    if (!is.function(members[[required_member]])) {
      abort_value(sprintf("dataset() needs %s = function(%s)", required_member, if (required_member == ".getitem") "i" else ""))
    }
  }
  label <- if (is.null(name)) "dataset" else name
  function(...) {
    self <- new.env(parent = emptyenv())
    for (member in names(members)) assign(member, bind_self(members[[member]], self), envir = self)
    assign(".dataset_name", label, envir = self)
    class(self) <- c(label, "unetseg_user_dataset", "dataset")
    if (is.function(members$initialize)) self$initialize(...)
    self
  }
}

# `value` with `self` visible to it when it is a function.
bind_self <- function(value, self) {
  if (!is.function(value)) return(value)
  scope <- new.env(parent = environment(value))
  scope$self <- self
  environment(value) <- scope
  value
}

# "name" or "name[i]" for messages.
dataset_label <- function(dataset, index = NULL) {
  name <- sprintf("dataset \"%s\"", get(".dataset_name", envir = dataset))
  if (is.null(index)) name else sprintf("%s, item %s", name, format(index))
}

# Signals a condition of class `base` (value_error or runtime_error) and unetseg_dataset_error.
abort_dataset <- function(base, message, call) {
  cnd <- if (base == "value_error") value_error(message, call = call) else runtime_error(message, call = call)
  class(cnd) <- c("unetseg_dataset_error", class(cnd))
  stop(cnd)
}

#' @export
length.unetseg_user_dataset <- function(x) {
  n <- tryCatch(get(".length", envir = x)(), error = function(e) {
    abort_dataset("runtime_error", sprintf("%s: .length() failed: %s", dataset_label(x), conditionMessage(e)), NULL)
  })
  if (!is.numeric(n) || length(n) != 1L || is.na(n) || n < 0 || n != round(n)) {
    abort_dataset("value_error", sprintf("%s: .length() must return a whole number >= 0, got %s", dataset_label(x),
                                         deparse_short(n)), NULL)
  }
  as_length(n)
}

#' @export
`[.unetseg_user_dataset` <- function(x, i, ...) user_item(x, i, call = sys.call())

# Item `index` of a user dataset: what its .getitem returns, with its errors naming the dataset and index.
user_item <- function(dataset, index, call) {
  tryCatch(get(".getitem", envir = dataset)(index), error = function(e) {
    abort_dataset("runtime_error", sprintf("%s: .getitem failed: %s", dataset_label(dataset, index), conditionMessage(e)), call)
  })
}

#' @export
print.unetseg_user_dataset <- function(x, ...) {
  cat(sprintf("%s (defined in R): %s items\n", dataset_label(x), format(length(x))))
  invisible(x)
}

# ---- the loader -------------------------------------------------------------------------------------

# A loader over a user dataset: an environment with the dataset, its settings and the next epoch.
user_dataloader <- function(dataset, batch_size, shuffle, drop_last, num_workers, seed, call) {
  if (num_workers != 0) {
    abort_value(sprintf("num_workers must be 0 for %s: its .getitem runs in R, on R's thread", dataset_label(dataset)), call = call)
  }
  if (batch_size < 1) abort_value("batch_size must be at least 1", call = call)
  loader <- new.env(parent = emptyenv())
  loader$dataset <- dataset
  loader$batch_size <- as.integer(batch_size)
  loader$shuffle <- shuffle
  loader$drop_last <- drop_last
  loader$seed <- seed_argument(seed, call = call)
  loader$next_epoch <- 1
  class(loader) <- "unetseg_user_dataloader"
  loader
}

#' @export
length.unetseg_user_dataloader <- function(x) {
  n <- length(x$dataset)
  as_length(if (x$drop_last) floor(n / x$batch_size) else ceiling(n / x$batch_size))
}

#' @export
print.unetseg_user_dataloader <- function(x, ...) {
  cat(sprintf("dataloader over %s: %s batches of %d per epoch\n", dataset_label(x$dataset), format(length(x)), x$batch_size))
  invisible(x)
}

# The item order of `epoch`: 1...n, or a permutation drawn from the loader's seed and the epoch with R's
# generator, whose state is restored afterwards.
epoch_order <- function(loader, epoch) {
  n <- length(loader$dataset)
  if (!loader$shuffle) return(seq_len(n))
  saved <- if (exists(".Random.seed", envir = globalenv(), inherits = FALSE)) get(".Random.seed", envir = globalenv())
  on.exit(if (is.null(saved)) rm(".Random.seed", envir = globalenv()) else assign(".Random.seed", saved, envir = globalenv()))
  set.seed((loader$seed + 1000003 * epoch) %% .Machine$integer.max)
  sample.int(n)
}

# One pass over a user loader: the epoch's order and the batch fetched last.
new_user_pass <- function(loader) {
  pass <- new.env(parent = emptyenv())
  pass$loader <- loader
  epoch <- loader$next_epoch
  loader$next_epoch <- epoch + 1
  pass$epoch <- epoch
  pass$order <- epoch_order(loader, epoch)
  pass$batches <- length(loader)
  pass$next_batch <- 1
  pass$current <- NULL
  pass$current_index <- 0
  pass
}

# Batch `index` of `pass`: its items stacked (collate_items()); NULL after the last batch.
user_batch_at <- function(pass, index) {
  if (pass$current_index == index) return(pass$current)
  if (index > pass$batches) return(NULL)
  size <- pass$loader$batch_size
  positions <- pass$order[seq.int((index - 1) * size + 1, min(index * size, length(pass$order)))]
  dataset <- pass$loader$dataset
  items <- lapply(positions, function(i) user_item(dataset, i, call = NULL))
  pass$current <- collate_items(items, positions, dataset)
  pass$current_index <- index
  pass$next_batch <- index + 1
  pass$current
}

# The parts of one item: a list of tensors or numeric arrays (an item that is one tensor or array is
# one part), checked.
item_parts <- function(item, index, dataset) {
  parts <- if (is_torch_tensor(item) || is.numeric(item) || is.logical(item)) list(item) else item
  valid <- is.list(parts) && length(parts) > 0L &&
    all(vapply(parts, function(p) is_torch_tensor(p) || ((is.numeric(p) || is.logical(p)) && length(p) > 0L), logical(1)))
  if (!valid) {
    abort_dataset("value_error", sprintf("%s: .getitem must return a list of tensors or numeric arrays, got %s",
                                         dataset_label(dataset, index), deparse_short(item)), NULL)
  }
  lapply(parts, function(p) if (is_torch_tensor(p)) as.array(p) else p)
}

# Stacks the items of a batch part by part along a new first dimension: list(tensor [B, ...], ...),
# named as the items' parts are; a dataset whose items are single tensors gives one tensor per batch.
collate_items <- function(items, positions, dataset) {
  parts <- lapply(seq_along(items), function(k) item_parts(items[[k]], positions[[k]], dataset))
  single <- !is.list(items[[1L]])
  first <- parts[[1L]]
  for (k in seq_along(parts)) {
    if (length(parts[[k]]) != length(first)) {
      abort_dataset("value_error", sprintf("%s: the item has %d parts, but item %s had %d", dataset_label(dataset, positions[[k]]),
                                           length(parts[[k]]), format(positions[[1L]]), length(first)), NULL)
    }
  }
  batch <- lapply(seq_along(first), function(p) {
    shape <- part_shape(first[[p]])
    values <- lapply(seq_along(parts), function(k) {
      part <- parts[[k]][[p]]
      if (!identical(part_shape(part), shape)) {
        abort_dataset("value_error", sprintf("%s: part %d has shape %s, but item %s gave %s", dataset_label(dataset, positions[[k]]),
                                             p, shape_text(part_shape(part)), format(positions[[1L]]), shape_text(shape)), NULL)
      }
      as.double(part)
    })
    stacked <- array(unlist(values), c(shape, length(values)))
    torch_tensor(aperm(stacked, c(length(shape) + 1L, seq_along(shape))))
  })
  names(batch) <- names(first)
  if (single) batch[[1L]] else batch
}

part_shape <- function(part) if (is.null(dim(part))) length(part) else dim(part)

#' @export
`[[.unetseg_user_batch` <- function(x, i, ...) user_batch_part(x, i)

#' @export
`$.unetseg_user_batch` <- function(x, name) user_batch_part(x, name)

#' @export
length.unetseg_user_batch <- function(x) {
  batch <- user_batch_at(get("pass", envir = x), get("index", envir = x))
  if (is_torch_tensor(batch)) 1L else length(batch)
}

user_batch_part <- function(x, i) {
  batch <- user_batch_at(get("pass", envir = x), get("index", envir = x))
  if (is_torch_tensor(batch)) batch <- list(batch)
  found <- if (is.character(i)) match(i, names(batch)) else i
  if (length(found) != 1L || is.na(found) || found < 1 || found > length(batch)) {
    abort_value(sprintf("the batch has no part %s (it has %d%s)", deparse_short(i), length(batch),
                        if (is.null(names(batch))) "" else paste0(": ", paste(names(batch), collapse = ", "))))
  }
  batch[[found]]
}

# enumerate() over a user loader: lazy batches, read when first used.
user_enumerate <- function(dl) {
  pass <- new_user_pass(dl)
  lapply(seq_len(pass$batches), function(index) {
    batch <- new.env(parent = emptyenv())
    batch$pass <- pass
    batch$index <- index
    class(batch) <- "unetseg_user_batch"
    batch
  })
}

# dataloader_next() on a pass over a user loader.
user_next_batch <- function(pass) user_batch_at(pass, pass$next_batch)
