# The same seed gives the same losses from R as from the `unetseg` CLI: both run the library's trainer.

# The [bce, dice, loss] triples of `part` ("train" or "valid") in a log.json, one row per epoch.
log_losses <- function(path, part) {
  text <- paste(readLines(path), collapse = " ")
  blocks <- regmatches(text, gregexpr(sprintf('"%s": \\[[^]]*\\]', part), text))[[1]]
  t(vapply(blocks, function(b) as.numeric(strsplit(sub(".*\\[(.*)\\]", "\\1", b), ",")[[1]]), numeric(3),
           USE.NAMES = FALSE))
}

# Trains the fixture's tiny model (depth 3, n_filters 2, batch 4) with `unetseg train` into a fresh folder
# `name`; skips the test when the CLI is not known. Returns the run folder.
cli_train <- function(name, epochs, seed, threads) {
  cli <- Sys.getenv("UNETSEG_CLI")
  skip_if(!nzchar(cli) || !file.exists(cli), "UNETSEG_CLI (the unetseg command) is not set; `make test-r` sets it")
  data <- fixture_data()
  out <- fresh_dir(name)
  status <- system2(cli, c("train", "--train", data$train, "--valid", data$valid, "--out", out, "--epochs", epochs,
                           "--batch-size", "4", "--depth", "3", "--filters", "2", "--seed", seed, "--threads", threads),
                    stdout = FALSE, stderr = FALSE)
  expect_identical(status, 0L)
  out
}

test_that("unetseg_fit and `unetseg train` with the same seed give the same losses", {
  out_cli <- cli_train("parity-cli", epochs = 2, seed = 777, threads = 1)
  data <- fixture_data()
  old <- unetseg_get_num_threads()
  on.exit(unetseg_set_num_threads(old))
  fit <- unetseg_fit(data$train, data$valid, fresh_dir("parity-r"), epochs = 2, batch_size = 4, depth = 3, n_filters = 2,
                     seed = 777, threads = 1, num_workers = 0, verbose = FALSE)
  cli_train <- log_losses(file.path(out_cli, "log.json"), "train")
  cli_valid <- log_losses(file.path(out_cli, "log.json"), "valid")
  expect_identical(dim(cli_train), c(2L, 3L))
  h <- fit$history
  expect_identical(unname(as.matrix(h[, c("train_bce", "train_dice", "train_loss")])), cli_train)
  expect_identical(unname(as.matrix(h[, c("valid_bce", "valid_dice", "valid_loss")])), cli_valid)
})

test_that("in R started with OPENBLAS_CORETYPE=Prescott, unetseg_fit on 2 threads gives the CLI's losses bit for bit", {
  # R's own OpenBLAS runs Prescott kernels there; unetseg's runs its own, as the CLI does.
  out_cli <- cli_train("parity-cli-2-threads", epochs = 1, seed = 5, threads = 2)
  data <- fixture_data()
  out_r <- fresh_dir("parity-r-prescott")
  output <- run_r(sprintf(paste("library(unetseg); fit <- unetseg_fit(%s, %s, %s, epochs = 1, batch_size = 4,",
                                "depth = 3, n_filters = 2, seed = 5, threads = 2, verbose = FALSE)"),
                          deparse(data$train), deparse(data$valid), deparse(out_r)),
                  env = c("OPENBLAS_CORETYPE=Prescott", "OPENBLAS_NUM_THREADS=1"))
  expect_null(attr(output, "status"))
  expect_identical(log_losses(file.path(out_r, "log.json"), "train"), log_losses(file.path(out_cli, "log.json"), "train"))
  expect_identical(log_losses(file.path(out_r, "log.json"), "valid"), log_losses(file.path(out_cli, "log.json"), "valid"))
})
