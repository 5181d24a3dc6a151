test_that("the version, the library path and the system report come from the library", {
  expect_match(unetseg_version(), "^[0-9]+\\.[0-9]+\\.[0-9]+$")
  expect_true(file.exists(unetseg_library_path()))
  expect_match(basename(unetseg_library_path()), "^libunetseg")
  expect_match(unetseg_system_info(), paste0("^unetseg ", unetseg_version(), ", own OpenBLAS core "))
})

test_that("the thread count can be set and restored", {
  old <- unetseg_set_num_threads(1)
  expect_identical(unetseg_get_num_threads(), 1L)
  unetseg_set_num_threads(0)
  expect_identical(unetseg_get_num_threads(), as.integer(parallel::detectCores()))
  expect_unetseg_error(unetseg_set_num_threads(5000), "value_error", "num_threads must be in 0...1024")
  expect_unetseg_error(unetseg_set_num_threads(-1), "value_error", "num_threads")
  unetseg_set_num_threads(old)
  expect_identical(unetseg_get_num_threads(), old)
})

test_that("torch_manual_seed makes models, datasets and augmentations reproducible", {
  data <- fixture_data()
  draw <- function() {
    torch_manual_seed(42)
    model <- unet(depth = 2, n_filters = 2)
    ds <- brainseg_dataset(data$train, augmentation_params = c(0.05, 15, 0.5), random_sampling = TRUE)
    item <- ds[1]
    list(weights = as.numeric(model$parameters[[1]]), seed = ds$seed, img = as.numeric(item$img),
         resized = as.numeric(ds$resize(item$img, item$mask, 0.2)[[1]]))
  }
  expect_identical(draw(), draw())
  torch_manual_seed(43)
  expect_false(identical(as.numeric(unet(depth = 2, n_filters = 2)$parameters[[1]]), draw()$weights))
  expect_unetseg_error(torch_manual_seed(-1), "value_error", "seed must be a whole number in 0...2\\^53")
  expect_unetseg_error(torch_manual_seed(1.5), "value_error", "seed must be a whole number")
})

test_that("cuda is honestly unavailable and the CPU is the only device", {
  expect_false(cuda_is_available())
  device <- torch_device(if (cuda_is_available()) "cuda" else "cpu")
  expect_s3_class(device, "torch_device")
  expect_identical(device$type, "cpu")
  expect_output(print(device), "cpu")
  expect_unetseg_error(torch_device("cuda"), "value_error", "CPU only")
  expect_unetseg_error(torch_device(3), "value_error", "device must be")
})

test_that("handles are freed when R collects their objects", {
  invisible(gc())
  before <- unetseg_live_handle_count()
  local({
    x <- torch_tensor(1:10)
    y <- (x * 2)$sum()
    model <- unet(depth = 2, n_filters = 2, seed = 1)
    params <- model$parameters
    expect_gt(unetseg_live_handle_count(), before + 3)
  })
  invisible(gc())
  expect_identical(unetseg_live_handle_count(), before)
})

test_that("library(unetseg) fails naming every path it tried", {
  missing <- file.path(tempdir(), "nowhere", "libunetseg.so")
  output <- run_r("library(unetseg)", env = paste0("UNETSEG_LIB=", missing))
  expect_false(is.null(attr(output, "status")))
  text <- paste(output, collapse = "\n")
  expect_match(text, "libunetseg.so not found", fixed = TRUE)
  expect_match(text, missing, fixed = TRUE)
  expect_match(text, "UNETSEG_LIB is set but names no file", fixed = TRUE)
})

test_that("library(unetseg) finds the library through UNETSEG_LIB", {
  output <- run_r("library(unetseg); cat(unetseg_library_path(), '\\n')",
                  env = paste0("UNETSEG_LIB=", unetseg_library_path()))
  expect_null(attr(output, "status"))
  expect_true(any(grepl(unetseg_library_path(), output, fixed = TRUE)))
})

test_that("in R started with OPENBLAS_CORETYPE=Prescott, unetseg runs its own kernels and R's BLAS is left alone", {
  # R loads its OpenBLAS at start-up with the settings of the environment; unetseg's own instance ignores
  # them, and R's %*% gives what it gave before unetseg computed.
  own_core <- sub(".*own OpenBLAS core ([^,]+),.*", "\\1", unetseg_system_info())
  output <- run_r(c("x <- matrix(sin(1:4096), 64); before <- x %*% x",
                    "library(unetseg)",
                    "cat('INFO', unetseg_system_info(), '\\n')",
                    "model <- unet(depth = 2, n_filters = 2); invisible(model(torch_tensor(array(sin(1:3072), c(1, 3, 32, 32)))))",
                    "cat('SAME', identical(before, x %*% x), '\\n')"),
                  env = c("OPENBLAS_CORETYPE=Prescott", "OPENBLAS_NUM_THREADS=2"))
  expect_null(attr(output, "status"))
  info <- grep("^INFO ", output, value = TRUE)
  expect_match(info, paste0("own OpenBLAS core ", own_core, ","), fixed = TRUE)
  if (grepl("avx", unetseg_system_info())) expect_false(own_core == "Prescott")
  expect_true(any(grepl("^SAME TRUE", output)))
  expect_false(any(grepl("unetseg_blas_warning|UNETSEG_BLAS_CORETYPE", output)))
})

test_that("UNETSEG_BLAS_CORETYPE naming kernels unetseg does not know gives one classed warning at load", {
  output <- run_r(c("withCallingHandlers(library(unetseg), unetseg_blas_warning = function(w) {",
                    "  cat('CLASS unetseg_blas_warning\\n'); cat('TEXT', conditionMessage(w), '\\n'); invokeRestart('muffleWarning') })",
                    "cat('LOADED', unetseg_system_info(), '\\n')"),
                  env = "UNETSEG_BLAS_CORETYPE=Pentium4000")
  text <- paste(output, collapse = "\n")
  expect_match(text, "LOADED unetseg")
  expect_identical(sum(grepl("^CLASS unetseg_blas_warning", output)), 1L)
  expect_match(text, "UNETSEG_BLAS_CORETYPE=Pentium4000 ignored: not a core type unetseg knows", fixed = TRUE)
})

test_that("without UNETSEG_LIB, library(unetseg) finds the install location or the repository's build", {
  root <- repo_root()
  skip_if(!nzchar(root), "UNETSEG_REPO (the repository) is not set; `make test-r` sets it")
  skip_if(file.exists("/usr/local/lib/libunetseg.so"), "an installed libunetseg.so comes first")
  output <- run_r("library(unetseg); cat('PATH', unetseg_library_path(), '\\n')", env = "UNETSEG_LIB=")
  expect_null(attr(output, "status"))
  path <- sub("^PATH (.*) $", "\\1", grep("^PATH ", output, value = TRUE))
  expect_identical(path, normalizePath(file.path(root, ".build-lib", "release", "libunetseg.so")))
})
