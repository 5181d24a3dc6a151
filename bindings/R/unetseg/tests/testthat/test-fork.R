# Fork safety: a child forked after the library ran parallel work (parallel::mcparallel, as mclapply
# forks) computes on its calling thread and returns; the wait is bounded, so a hang fails the test.

test_that("a child forked after parallel work computes on one thread and returns the same result", {
  skip_on_os("windows")
  before <- unetseg_get_num_threads()
  unetseg_set_num_threads(2)
  on.exit(unetseg_set_num_threads(before), add = TRUE)
  model <- unet(depth = 2, n_filters = 2)
  model$eval()
  x <- torch_tensor(array(runif(2 * 3 * 64 * 64), c(2, 3, 64, 64)))
  expected <- as.array(model(x))  # starts the library's worker threads in this process
  job <- parallel::mcparallel(list(threads = unetseg_get_num_threads(), out = as.array(model(x))))
  result <- parallel::mccollect(job, wait = FALSE, timeout = 120)
  if (is.null(result)) tools::pskill(job$pid, tools::SIGKILL)
  expect_false(is.null(result))
  expect_identical(result[[1]]$threads, 1L)
  expect_equal(result[[1]]$out, expected, tolerance = 1e-5)
  expect_identical(unetseg_get_num_threads(), 2L)
})
