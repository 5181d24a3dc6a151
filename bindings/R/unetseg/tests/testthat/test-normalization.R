test_that("brainseg_dataset z-scores each patient's volume per channel", {
  data <- fixture_data()
  minmax <- brainseg_dataset(data$valid)
  zscore <- brainseg_dataset(data$valid, normalization = "zscore")
  expect_identical(minmax$normalization, "minmax")
  expect_identical(zscore$normalization, "zscore")
  # One patient's folder: all its items make its volume, whose every channel has mean 0 and deviation 1.
  patient <- brainseg_dataset(list.dirs(data$valid, recursive = FALSE)[1], normalization = "zscore")
  volume <- simplify2array(lapply(seq_len(length(patient)), function(i) as.array(patient[i]$img)))
  for (channel in 1:3) {
    values <- as.vector(volume[channel, , , ])
    expect_lt(abs(mean(values)), 1e-4)
    expect_lt(abs(sqrt(mean((values - mean(values))^2)) - 1), 1e-3)
  }
  first <- as.array(zscore[1]$img)
  expect_true(min(as.array(minmax[1]$img)) >= 0)
  expect_false(isTRUE(all.equal(as.array(minmax[1]$img), first)))
  percentile <- brainseg_dataset(data$valid, normalization = "percentile")
  expect_false(isTRUE(all.equal(as.array(percentile[1]$img), first)))
  expect_unetseg_error(brainseg_dataset(data$valid, normalization = "robust"), "value_error",
                       "normalization must be \"minmax\", \"zscore\" or \"percentile\"")
})

test_that("unetseg_fit records the normalization and unetseg_evaluate uses it unless contradicted", {
  data <- fixture_data()
  out <- fresh_dir("fit-normalization")
  fit <- unetseg_fit(data$train, data$valid, out, epochs = 1, depth = 2, n_filters = 2, seed = 3,
                     normalization = "percentile", verbose = FALSE)
  default <- unetseg_evaluate(fit$model, data$valid)
  explicit <- unetseg_evaluate(fit$model, data$valid, normalization = "percentile")
  expect_identical(c(default$bce, default$dice_loss), c(explicit$bce, explicit$dice_loss))
  expect_unetseg_error(unetseg_evaluate(fit$model, data$valid, normalization = "minmax"), "value_error",
                       "trained with normalization percentile, not minmax")
  loaded <- torch_load(file.path(out, "model_1.safetensors"))
  again <- unetseg_evaluate(loaded, data$valid)
  expect_identical(c(again$bce, again$dice_loss), c(default$bce, default$dice_loss))
  expect_unetseg_error(unetseg_fit(data$train, NULL, fresh_dir("fit-normalization-bad"), epochs = 1,
                                   normalization = "z"), "value_error", "normalization must be")
})
