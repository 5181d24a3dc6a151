test_that("a training loop leaves no handles behind", {
  data <- fixture_data()
  ds <- brainseg_dataset(data$train, augmentation_params = c(0.05, 15, 0.5), random_sampling = TRUE, seed = 1)
  dl <- dataloader(ds, batch_size = 4)
  model <- unet(depth = 2, n_filters = 2, seed = 1)
  optimizer <- optim_sgd(model$parameters, lr = 0.1, momentum = 0.9)
  scheduler <- lr_one_cycle(optimizer, max_lr = 0.1, epochs = 2, steps_per_epoch = length(dl))
  invisible(gc())
  before <- unetseg_live_handle_count()
  for (epoch in 1:2) {
    for (b in enumerate(dl)) {
      optimizer$zero_grad()
      output <- model(b[[1]])
      loss <- 0.3 * nnf_dice_loss(output, b[[2]]) + 0.7 * nnf_binary_cross_entropy(output, b[[2]])
      loss$backward()
      optimizer$step()
      scheduler$step()
    }
  }
  rm(b, output, loss)
  invisible(gc())
  expect_identical(unetseg_live_handle_count(), before)
})

test_that("R collects when the process has grown past the threshold", {
  old <- options(unetseg.gc_growth_mb = 0)
  on.exit(options(old))
  invisible(gc())
  x <- torch_tensor(array(0, c(64, 3, 64, 64))) # about 3 MB in the library
  rm(x)
  expect_true(unetseg:::collect_if_grown())
  options(unetseg.gc_growth_mb = 1e6)
  expect_false(unetseg:::collect_if_grown())
})
