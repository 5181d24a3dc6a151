test_that("optim_sgd follows torch's update rules", {
  x <- torch_tensor(c(1, 2), requires_grad = TRUE)
  optimizer <- optim_sgd(list(x), lr = 0.1)
  expect_s3_class(optimizer, "torch_optimizer")
  (x * x)$sum()$backward()
  optimizer$step()
  expect_equal(as.numeric(x), c(0.8, 1.6), tolerance = 1e-6)
  optimizer$zero_grad()
  expect_null(x$grad)

  y <- torch_tensor(1, requires_grad = TRUE)
  momentum <- optim_sgd(y, lr = 0.5, momentum = 0.9)
  (y * 2)$sum()$backward() # gradient 2: buffer 2, y = 1 - 0.5 * 2 = 0
  momentum$step()
  momentum$zero_grad()
  (y * 2)$sum()$backward() # buffer 0.9 * 2 + 2 = 3.8, y = 0 - 0.5 * 3.8
  momentum$step()
  expect_equal(as.numeric(y), -1.9, tolerance = 1e-6)
  groups <- momentum$param_groups
  expect_equal(groups[[1]]$lr, 0.5)
  expect_equal(groups[[1]]$momentum, 0.9, tolerance = 1e-6)
  expect_length(groups[[1]]$params, 1)
})

test_that("optim_sgd checks its arguments", {
  expect_unetseg_error(optim_sgd(list()), "value_error", "non-empty list of tensors")
  expect_unetseg_error(optim_sgd(list(torch_tensor(1)), lr = -1), "value_error", "learning rate")
  expect_unetseg_error(optim_sgd(list(torch_tensor(1)), lr = "a"), "value_error", "lr must be a finite number")
  expect_unetseg_error(optim_sgd(list(torch_tensor(1)), nesterov = TRUE), "value_error", "esterov")
  expect_unetseg_error(optim_sgd(list(torch_tensor(1)))$jump(), "value_error", "no method or field `jump`")
})

test_that("lr_one_cycle follows torch's schedule", {
  x <- torch_tensor(1, requires_grad = TRUE)
  optimizer <- optim_sgd(list(x), lr = 0.1, momentum = 0.9)
  scheduler <- lr_one_cycle(optimizer, max_lr = 0.1, epochs = 2, steps_per_epoch = 5)
  expect_s3_class(scheduler, "lr_scheduler")
  expect_equal(scheduler$get_lr(), 0.1 / 25)
  expect_equal(optimizer$param_groups[[1]]$lr, 0.1 / 25, tolerance = 1e-7)
  expect_equal(scheduler$momentum, 0.95)
  expect_identical(scheduler$total_steps, 10)
  lrs <- scheduler$get_lr()
  for (i in 1:9) {
    scheduler$step()
    lrs <- c(lrs, scheduler$get_lr())
  }
  expect_identical(scheduler$step_count, 9)
  # peak at step pct_start * total - 1 = 2, then cosine down to max_lr / 25 / 1e4
  expect_identical(which.max(lrs), 3L)
  expect_equal(max(lrs), 0.1)
  expect_equal(tail(lrs, 1), 0.1 / 25 / 1e4)
  expect_equal(scheduler$momentum, 0.95)
  expect_identical(scheduler$optimizer, optimizer)
  scheduler$step()
  expect_unetseg_error(scheduler$step(), "value_error", "Tried to step 11 times")
  expect_identical(lr_one_cycle(optimizer, max_lr = 0.1, total_steps = 7)$total_steps, 7)
})

test_that("lr_one_cycle checks its arguments", {
  optimizer <- optim_sgd(list(torch_tensor(1, requires_grad = TRUE)), lr = 0.1)
  expect_unetseg_error(lr_one_cycle(optimizer, max_lr = 0.1), "value_error", "give total_steps")
  expect_unetseg_error(lr_one_cycle(optimizer, max_lr = 0.1, total_steps = 5, epochs = 1), "value_error", "not both")
  expect_unetseg_error(lr_one_cycle(optimizer, max_lr = 0.1, epochs = 1, steps_per_epoch = 0), "value_error", "steps")
  expect_unetseg_error(lr_one_cycle(optimizer, max_lr = 0.1, total_steps = 5, anneal_strategy = "linear"), "value_error", "cos")
  expect_unetseg_error(lr_one_cycle("sgd", max_lr = 0.1, total_steps = 5), "value_error", "optim_sgd")
  expect_unetseg_error(lr_one_cycle(optimizer, max_lr = -1, total_steps = 5), "value_error", "max_lr")
})

test_that("nnf_binary_cross_entropy is torch's mean BCE with logs clamped at -100", {
  p <- c(0.9, 0.2, 0.5, 0)
  y <- c(1, 0, 1, 1)
  loss <- nnf_binary_cross_entropy(torch_tensor(p), torch_tensor(y))
  expected <- -mean(y * pmax(log(p), -100) + (1 - y) * pmax(log(1 - p), -100))
  expect_equal(loss$item(), expected, tolerance = 1e-6)
  expect_unetseg_error(nnf_binary_cross_entropy(torch_tensor(p), torch_tensor(y[1:3])), "value_error")
  expect_unetseg_error(nnf_binary_cross_entropy(torch_tensor(p), torch_tensor(y), reduction = "sum"), "value_error", "mean")
  expect_unetseg_error(nnf_binary_cross_entropy(torch_tensor(p), torch_tensor(y), weight = torch_tensor(y)), "value_error", "weight")
  expect_unetseg_error(nnf_binary_cross_entropy(p, torch_tensor(y)), "value_error", "input must be a tensor")
})

test_that("nnf_dice_loss equals the post's calc_dice_loss", {
  batch <- random_batch(2, 8)
  prediction <- unet(depth = 2, n_filters = 2, seed = 1)(batch[[1]])
  expect_equal(nnf_dice_loss(prediction, batch[[2]])$item(), calc_dice_loss(prediction, batch[[2]])$item(), tolerance = 1e-6)
  expect_equal(nnf_dice_loss(torch_tensor(c(1, 0)), torch_tensor(c(1, 0)))$item(), 0)
  expect_unetseg_error(nnf_dice_loss(torch_tensor(1:3), torch_tensor(1:2)), "value_error")
})
