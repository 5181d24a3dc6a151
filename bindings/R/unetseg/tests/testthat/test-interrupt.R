# Ctrl-C during unetseg_fit: an Rscript training in the background gets SIGINT once its first checkpoint
# is written, and must stop at the end of a batch with a classed interrupt condition, its state saved and
# its checkpoints intact. Waits are bounded, so a run that ignores the interrupt fails instead of hanging.

# Polls `condition()` until it is TRUE or `seconds` have passed; returns its last value.
wait_until <- function(condition, seconds = 120) {
  deadline <- Sys.time() + seconds
  while (!condition() && Sys.time() < deadline) Sys.sleep(0.1)
  condition()
}

test_that("SIGINT stops unetseg_fit at the end of a batch with an interrupt condition and the state saved", {
  skip_on_os("windows")
  data <- fixture_data()
  out <- fresh_dir("fit-interrupt")
  files <- fresh_dir("fit-interrupt-files")
  script <- file.path(files, "fit.R")
  result <- file.path(files, "result.txt")
  pid_file <- file.path(files, "pid")
  writeLines(c(
    "library(unetseg)",
    "outcome <- tryCatch({",
    sprintf("  unetseg_fit(%s, NULL, %s, epochs = 1e5, batch_size = 2, depth = 2, n_filters = 2,", deparse(data$train), deparse(out)),
    "              augmentation_params = NULL, num_workers = 0, verbose = FALSE)",
    "  'finished'",
    "}, interrupt = function(e) paste(c(class(e), conditionMessage(e)), collapse = '\\n'))",
    sprintf("writeLines(outcome, %s)", deparse(result))
  ), script)
  # sh writes its process id and becomes Rscript (exec), so the id is Rscript's.
  command <- sprintf("echo $$ > %s; exec %s %s > %s 2>&1", shQuote(pid_file), shQuote(file.path(R.home("bin"), "Rscript")),
                     shQuote(script), shQuote(file.path(files, "log.txt")))
  system2("sh", c("-c", shQuote(command)), wait = FALSE)
  expect_true(wait_until(function() file.exists(pid_file) && file.exists(file.path(out, "model_1.safetensors"))))
  pid <- as.integer(readLines(pid_file))
  on.exit(tools::pskill(pid, tools::SIGKILL), add = TRUE)

  tools::pskill(pid, tools::SIGINT)
  expect_true(wait_until(function() file.exists(result) && length(readLines(result)) == 4))
  outcome <- if (file.exists(result)) readLines(result) else rep("", 4)
  expect_identical(outcome[1:3], c("unetseg_interrupt", "interrupt", "condition"))
  expect_match(outcome[4], "^interrupted: training stopped in epoch [0-9]+ after batch [0-9]+; state saved in ")
  expect_true(wait_until(function() !tools::pskill(pid, 0L)))
  # The finished epochs' checkpoints and the interrupted state load as the model that was trained.
  config <- torch_load(file.path(out, "model_1.safetensors"))$config
  expect_identical(torch_load(file.path(out, "interrupted.safetensors"))$config, config)
  expect_true(file.exists(file.path(out, "training_state.safetensors")))
})
