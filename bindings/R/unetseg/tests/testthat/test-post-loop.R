# The post's training loop written in R, as in examples/R/brain_segmentation.R, on the fixture data.
post_loop_losses <- function(seed, epochs = 2) {
  data <- fixture_data()
  torch_manual_seed(seed)
  train_dl <- dataloader(brainseg_dataset(data$train, augmentation_params = c(0.05, 15, 0.5), random_sampling = TRUE), 4)
  valid_dl <- dataloader(brainseg_dataset(data$valid), 4)
  model <- unet(depth = 2, n_filters = 2)
  optimizer <- optim_sgd(model$parameters, lr = 0.1, momentum = 0.9)
  scheduler <- lr_one_cycle(optimizer, max_lr = 0.1, steps_per_epoch = length(train_dl), epochs = epochs)
  losses <- c()
  for (epoch in 1:epochs) {
    model$train()
    for (b in enumerate(train_dl)) {
      optimizer$zero_grad()
      output <- model(b[[1]])
      loss <- 0.3 * calc_dice_loss(output, b[[2]]) + 0.7 * nnf_binary_cross_entropy(output, b[[2]])
      loss$backward()
      optimizer$step()
      scheduler$step()
      losses <- c(losses, loss$item())
    }
    model$eval()
    for (b in enumerate(valid_dl)) {
      output <- model(b[[1]])
      losses <- c(losses, (0.3 * calc_dice_loss(output, b[[2]]) + 0.7 * nnf_binary_cross_entropy(output, b[[2]]))$item())
    }
  }
  list(losses = losses, steps = scheduler$step_count, total = scheduler$total_steps)
}

test_that("the post's loop in R is reproducible from torch_manual_seed and uses every step", {
  a <- post_loop_losses(777)
  expect_identical(a$steps, a$total)
  expect_true(all(is.finite(a$losses)))
  expect_identical(post_loop_losses(777), a)
  expect_false(identical(post_loop_losses(778)$losses, a$losses))
})
