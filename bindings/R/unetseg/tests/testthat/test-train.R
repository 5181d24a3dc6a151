test_that("unetseg_fit trains, prints the post's lines and writes the run folder", {
  data <- fixture_data()
  out <- fresh_dir("fit")
  printed <- capture.output(fit <- unetseg_fit(data$train, data$valid, out, epochs = 2, depth = 2, n_filters = 2, seed = 3))
  expect_s3_class(fit$model, "unet")
  history <- fit$history
  expect_identical(names(history), c("epoch", "train_loss", "train_bce", "train_dice", "valid_loss", "valid_bce",
                                     "valid_dice", "lr", "seconds"))
  expect_identical(history$epoch, 1:2)
  expect_true(all(is.finite(as.matrix(history))))
  expect_equal(history$train_loss, 0.3 * history$train_dice + 0.7 * history$train_bce, tolerance = 1e-5)
  expect_match(printed, "^Epoch 1, training: loss:[0-9.]+, bce: [0-9.]+, dice: [0-9.]+$", all = FALSE)
  expect_match(printed, sprintf("^Epoch 2, validation: loss:%f, bce: %f, dice: %f$", history$valid_loss[2],
                                history$valid_bce[2], history$valid_dice[2]), all = FALSE)
  expect_true(all(file.exists(file.path(out, c("model_2.safetensors", "best.safetensors", "log.csv", "log.json")))))
  expect_identical(torch_load(file.path(out, "model_2.safetensors"))$config, fit$model$config)
})

test_that("unetseg_fit gives the same losses for the same seed", {
  data <- fixture_data()
  run <- function(seed) {
    unetseg_fit(data$train, NULL, fresh_dir("fit-seed"), epochs = 1, depth = 2, n_filters = 2, seed = seed,
                verbose = FALSE)$history
  }
  a <- run(21)
  expect_identical(run(21)[, 2:4], a[, 2:4])
  expect_false(identical(run(22)$train_loss, a$train_loss))
  expect_true(is.na(a$valid_loss))
})

test_that("unetseg_fit reports bad arguments and missing folders", {
  data <- fixture_data()
  out <- fresh_dir("fit-errors")
  expect_unetseg_error(unetseg_fit(data$train, NULL, out, epochs = 0), "value_error", "epochs must be in 1...100000")
  expect_unetseg_error(unetseg_fit(data$train, NULL, out, epochs = 1, depth = 9), "value_error", "depth")
  expect_unetseg_error(unetseg_fit(data$train, NULL, out, epochs = 1, augmentation_params = 1), "value_error", "augmentation_params")
  expect_unetseg_error(unetseg_fit(file.path(out, "nothing"), NULL, out, epochs = 1), "runtime_error", "no such folder")
  expect_unetseg_error(unetseg_fit(data$train, NULL, out, epochs = 1, resume = TRUE), "value_error", "nothing to resume")
})

test_that("unetseg_fit trains with Adam, at lr 0.001 unless told", {
  data <- fixture_data()
  sgd <- unetseg_fit(data$train, NULL, fresh_dir("fit-sgd"), epochs = 1, depth = 2, n_filters = 2, seed = 3, verbose = FALSE)
  adam <- unetseg_fit(data$train, NULL, fresh_dir("fit-adam"), epochs = 1, depth = 2, n_filters = 2, seed = 3,
                      verbose = FALSE, optimizer = "adam")
  expect_true(all(is.finite(adam$history$train_loss)))
  expect_false(identical(adam$history$train_loss, sgd$history$train_loss))
  # The same one-cycle schedule peaking at 0.001 instead of SGD's 0.1.
  expect_equal(adam$history$lr, sgd$history$lr / 100, tolerance = 1e-6)
  expect_unetseg_error(unetseg_fit(data$train, NULL, fresh_dir("fit-bad"), epochs = 1, optimizer = "adamw"), "value_error",
                       "optimizer must be \"sgd\" or \"adam\"")
})

test_that("unetseg_evaluate scores every patient and writes what it is asked to", {
  data <- fixture_data()
  model <- unet(depth = 2, n_filters = 2, seed = 1)
  out <- fresh_dir("evaluate")
  scores <- unetseg_evaluate(model, data$valid, batch_size = 4, predictions_dir = file.path(out, "masks"),
                             output_dir = file.path(out, "report"))
  expect_named(scores, c("mean_volume_dice", "median_volume_dice", "mean_slice_dice", "bce", "dice_loss", "slices", "volume_dice",
                         "volumes"))
  expect_identical(scores$volumes$patient, scores$volume_dice$patient)
  expect_equal(scores$volumes$dice, scores$volume_dice$dice)
  expect_true(all(scores$volumes$precision >= 0 & scores$volumes$precision <= 1))
  expect_true(all(scores$volumes$hausdorff95 >= 0 & scores$volumes$hausdorff95 <= scores$volumes$diagonal))
  expect_true(all(file.exists(file.path(out, "report", c("volume_dice.png", paste0("overlays/", scores$volumes$patient, ".png"))))))
  expect_identical(sort(scores$volume_dice$patient), sort(list.files(data$valid)))
  expect_identical(scores$slices, length(brainseg_dataset(data$valid, seed = 1)))
  expect_equal(scores$mean_volume_dice, mean(scores$volume_dice$dice))
  expect_true(model$training) # its mode is restored
  expect_true(file.exists(file.path(out, "report", "metrics.json")))
  expect_identical(length(list.files(file.path(out, "masks"), recursive = TRUE)), as.integer(scores$slices))
  expect_unetseg_error(unetseg_evaluate(model, file.path(out, "nothing")), "runtime_error", "no such folder")
  expect_unetseg_error(unetseg_evaluate(torch_tensor(1), data$valid), "value_error", "model must be a unet")
  expect_unetseg_error(unetseg_evaluate(model, data$valid, batch_size = 0), "value_error", "batch_size must be in 1...4096")
  expect_unetseg_error(unetseg_evaluate(model, data$valid, postprocess = "biggest"), "value_error",
                       "postprocess must be \"none\" or \"largest-component\"")
})

test_that("unetseg_evaluate with postprocess = \"largest-component\" keeps one component per volume", {
  data <- fixture_data()
  model <- unet(depth = 2, n_filters = 2, seed = 1)
  raw <- unetseg_evaluate(model, data$valid)
  kept <- unetseg_evaluate(model, data$valid, postprocess = "largest-component")
  expect_identical(kept$volumes$patient, raw$volumes$patient)
  expect_true(all(kept$volumes$predicted_voxels <= raw$volumes$predicted_voxels))
  expect_identical(kept$volumes$true_voxels, raw$volumes$true_voxels)
  expect_identical(c(kept$bce, kept$dice_loss), c(raw$bce, raw$dice_loss))
})

test_that("unetseg_predict writes one mask per slice image", {
  data <- fixture_data()
  out <- fresh_dir("predict")
  n <- unetseg_predict(unet(depth = 2, n_filters = 2, seed = 1), data$valid, out)
  masks <- list.files(out, pattern = "_pred\\.tif$", recursive = TRUE)
  expect_identical(length(masks), as.integer(n))
  expect_length(list.files(out, pattern = "_mask\\.tif$", recursive = TRUE), 0)
  expect_identical(n, length(brainseg_dataset(data$valid, seed = 1)))
  expect_unetseg_error(unetseg_predict(unet(depth = 2, n_filters = 2, seed = 1), file.path(out, "none"), out),
                       "runtime_error", "no such file or folder")
})

test_that("unetseg_fit refuses an earlier run unless overwrite, and changes nothing", {
  data <- fixture_data()
  out <- fresh_dir("fit-twice")
  unetseg_fit(data$train, NULL, out, epochs = 1, depth = 2, n_filters = 2, seed = 3, verbose = FALSE)
  before <- tree_digest(out)
  expect_unetseg_error(unetseg_fit(data$train, NULL, out, epochs = 1, depth = 2, n_filters = 2, seed = 4, verbose = FALSE),
                       "runtime_error", "overwrite")
  expect_identical(tree_digest(out), before)
  unetseg_fit(data$train, NULL, out, epochs = 1, depth = 2, n_filters = 2, seed = 4, verbose = FALSE, overwrite = TRUE)
  expect_false(identical(tree_digest(out), before))
})

test_that("predictions and evaluation outputs are never written into the data", {
  data <- fixture_data()
  model <- unet(depth = 2, n_filters = 2, seed = 1)
  before <- tree_digest(data$data)
  patient <- list.files(data$valid)[[1]]
  expect_unetseg_error(unetseg_predict(model, data$data, data$data), "value_error", "outputs are never written")
  expect_unetseg_error(unetseg_predict(model, data$valid, data$data), "value_error", data$valid)
  expect_unetseg_error(unetseg_predict(model, data$data, data$valid), "value_error", data$valid)
  expect_unetseg_error(unetseg_evaluate(model, data$valid, predictions_dir = file.path(data$data, patient)),
                       "value_error", patient)
  expect_identical(tree_digest(data$data), before)
})
