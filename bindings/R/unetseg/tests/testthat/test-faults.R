# Faults inside an R session: NaN in a batch and in weights, a diverging run, and an R error raised inside
# the training loop (R's .C cannot call back into R, so the R side's "callbacks" are the user's own loop
# body). Each reaches the caller as a classed condition; files stay whole; the session goes on.

test_that("a model with NaN weights never replaces a checkpoint", {
  out <- fresh_dir("faults-nan")
  path <- file.path(out, "good.pt")
  model <- unet(depth = 2, n_filters = 2, dropout = 0, seed = 1)
  torch_save(model, path)
  good <- unname(tools::md5sum(path))
  images <- array(runif(2 * 3 * 8 * 8), c(2, 3, 8, 8))
  images[1, 1, 1, 1] <- NaN
  optimizer <- optim_sgd(model$parameters, lr = 0.1)
  output <- model(torch_tensor(images))
  expect_true(any(is.nan(as.array(output))))
  # As torch: probabilities outside [0, 1] (NaN included) are refused by the loss.
  expect_unetseg_error(nnf_binary_cross_entropy(output, torch_tensor(array(0, c(2, 1, 8, 8)))), "value_error", "between 0 and 1")
  # A loss that lets the NaN through poisons the weights; saving them is refused and the file kept.
  output$sum()$backward()
  optimizer$step()
  cnd <- expect_unetseg_error(torch_save(model, path), "runtime_error", "NaN or infinite values")
  expect_s3_class(cnd, "unetseg_numeric_error")
  expect_match(conditionMessage(cnd), path, fixed = TRUE)
  expect_identical(unname(tools::md5sum(path)), good)
  expect_identical(list.files(out, all.files = TRUE, no.. = TRUE), "good.pt")
  # The session goes on: the good checkpoint loads and runs.
  restored <- torch_load(path)
  restored$eval()
  expect_true(all(is.finite(as.array(restored(torch_tensor(array(runif(3 * 64), c(1, 3, 8, 8))))))))
})

test_that("a diverging run stops naming the epoch and batch and keeps finite checkpoints", {
  data <- fixture_data()
  out <- fresh_dir("faults-diverge")
  cnd <- expect_unetseg_error(
    unetseg_fit(data$train, NULL, out, epochs = 3, batch_size = 4, lr = 1e30, depth = 2, n_filters = 2, seed = 1,
                verbose = FALSE),
    "runtime_error", "loss became .* in epoch [0-9]+, batch [0-9]+")
  expect_s3_class(cnd, "unetseg_numeric_error")
  for (checkpoint in setdiff(list.files(out, pattern = "[.]safetensors$"), "training_state.safetensors")) {
    weights <- torch_load(file.path(out, checkpoint))$parameters
    expect_true(all(vapply(weights, function(p) all(is.finite(as.array(p))), logical(1))), info = checkpoint)
  }
})

test_that("an R error inside the training loop reaches the caller and the objects go on working", {
  data <- fixture_data()
  out <- fresh_dir("faults-loop")
  torch_manual_seed(5)
  model <- unet(depth = 2, n_filters = 2, seed = 5)
  optimizer <- optim_sgd(model$parameters, lr = 0.05, momentum = 0.9)
  train_dl <- dataloader(brainseg_dataset(data$train), batch_size = 4, shuffle = TRUE, num_workers = 1)
  torch_save(model, file.path(out, "before.pt"))
  before <- unname(tools::md5sum(file.path(out, "before.pt")))
  batches <- 0
  failing_epoch <- function() {
    coro_loop <- dataloader_make_iter(train_dl)
    repeat {
      b <- dataloader_next(coro_loop)
      if (is.null(b)) break
      optimizer$zero_grad()
      loss <- nnf_binary_cross_entropy(model(b[[1]]), b[[2]])
      loss$backward()
      optimizer$step()
      batches <<- batches + 1
      if (batches == 2) stop("an error of the user's loop")
    }
  }
  expect_error(failing_epoch(), "an error of the user's loop")
  expect_identical(batches, 2)
  # The loader starts a new pass, the model trains and saves, the earlier checkpoint is untouched.
  n <- 0
  iter <- dataloader_make_iter(train_dl)
  while (!is.null(b <- dataloader_next(iter))) {
    optimizer$zero_grad()
    loss <- nnf_binary_cross_entropy(model(b[[1]]), b[[2]])
    loss$backward()
    optimizer$step()
    n <- n + 1
  }
  expect_equal(n, length(train_dl))
  torch_save(model, file.path(out, "after.pt"))
  expect_identical(unname(tools::md5sum(file.path(out, "before.pt"))), before)
  expect_true(is.finite(loss$item()))
})
