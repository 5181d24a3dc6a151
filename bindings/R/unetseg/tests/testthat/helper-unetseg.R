# Shared fixtures: a small synthetic dataset written once per test run, its train/valid split, and
# checks for the package's classed conditions.

# A folder under the session's temporary directory, created empty.
fresh_dir <- function(name) {
  path <- file.path(tempdir(), "unetseg-tests", name)
  unlink(path, recursive = TRUE)
  dir.create(path, recursive = TRUE, showWarnings = FALSE)
  path
}

# 6 synthetic patients of 8 to 10 slices of 64x64, and their split into 4 training and 2 validation
# patients (written on first use).
fixture_data <- local({
  cache <- NULL
  function() {
    if (is.null(cache)) {
      root <- fresh_dir("fixture")
      data <- file.path(root, "kaggle_3m")
      synthesize_dataset(data, patients = 6, min_slices = 8, max_slices = 10, size = 64, seed = 1)
      split_patients(data, file.path(root, "train"), file.path(root, "valid"), n_valid = 2, seed = 777)
      cache <<- list(data = data, train = file.path(root, "train"), valid = file.path(root, "valid"))
    }
    cache
  }
})

# The MD5 of every file below `folder` (links followed), named by relative path: equal before and after a
# call that must leave the folder untouched.
tree_digest <- function(folder) {
  files <- sort(list.files(folder, recursive = TRUE, all.files = TRUE))
  stats::setNames(unname(tools::md5sum(file.path(folder, files))), files)
}

# A random image batch [n, 3, size, size] in [0, 1] and a 0/1 mask batch [n, 1, size, size].
random_batch <- function(n = 2, size = 16) {
  list(torch_tensor(array(runif(n * 3 * size * size), c(n, 3, size, size))),
       torch_tensor(array(rbinom(n * size * size, 1, 0.3), c(n, 1, size, size))))
}

# Expects `expr` to signal a condition of `class` (value_error or runtime_error) whose message matches
# `pattern`; returns the condition.
expect_unetseg_error <- function(expr, class, pattern = NULL) {
  cnd <- expect_error(expr, class = class)
  expect_s3_class(cnd, "unetseg_error")
  if (!is.null(pattern)) expect_match(conditionMessage(cnd), pattern)
  invisible(cnd)
}

# The repository root (set by `make test-r`), or "" when the tests run elsewhere.
repo_root <- function() Sys.getenv("UNETSEG_REPO")

# Runs R on `code` in a new process with the test's library paths and extra environment `env`
# (NAME=value strings); returns its output lines, with the exit status as attribute "status".
run_r <- function(code, env = character()) {
  script <- tempfile(fileext = ".R")
  writeLines(code, script)
  libs <- paste0("R_LIBS=", paste(.libPaths(), collapse = ":"))
  output <- suppressWarnings(system2(file.path(R.home("bin"), "Rscript"), script, stdout = TRUE, stderr = TRUE,
                                     env = c(libs, env)))
  output
}

# The post's dice loss, as its optimization section writes it.
calc_dice_loss <- function(y_pred, y_true) {
   smooth <- 1
   y_pred <- y_pred$view(-1)
   y_true <- y_true$view(-1)
   intersection <- (y_pred * y_true)$sum()
   1 - ((2 * intersection + smooth) / (y_pred$sum() + y_true$sum() + smooth))
}

# A synthetic data set of `patients` patients of `slices` slices of 32x32 (half of them with lesions) in the
# post's folder names below a fresh folder `name`: kaggle_3m, and its split into data/mri_train and
# data/mri_valid (2 validation patients). Returns the folder.
post_data <- function(name, patients = 5, slices = 14, seed = 3) {
  root <- fresh_dir(name)
  synthesize_dataset(file.path(root, "kaggle_3m"), patients = patients, min_slices = slices, max_slices = slices,
                     size = 32, seed = seed, lesion_fraction = 0.5)
  split_patients(file.path(root, "kaggle_3m"), file.path(root, "data", "mri_train"), file.path(root, "data", "mri_valid"),
                 n_valid = 2, seed = 777)
  root
}
