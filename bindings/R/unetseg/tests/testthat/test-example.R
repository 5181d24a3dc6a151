test_that("examples/R/brain_segmentation.R runs the post's workflow small", {
  root <- repo_root()
  skip_if(!nzchar(root), "UNETSEG_REPO (the repository) is not set; `make test-r` sets it")
  out <- fresh_dir("example")
  libs <- paste0("R_LIBS=", paste(.libPaths(), collapse = ":"))
  settings <- c(libs, paste0("UNETSEG_EXAMPLE_OUT=", out), "UNETSEG_EXAMPLE_PATIENTS=8", "UNETSEG_EXAMPLE_SLICES=12",
                "UNETSEG_EXAMPLE_SIZE=64", "UNETSEG_EXAMPLE_VALID=2", "UNETSEG_EXAMPLE_EPOCHS=2",
                "UNETSEG_EXAMPLE_DEPTH=3", "UNETSEG_EXAMPLE_FILTERS=3")
  output <- system2(file.path(R.home("bin"), "Rscript"), file.path(root, "examples", "R", "brain_segmentation.R"),
                    stdout = TRUE, stderr = TRUE, env = settings)
  expect_null(attr(output, "status"))
  expect_identical(sum(grepl("^Epoch [12], training: loss:[0-9.]+, bce: [0-9.]+, dice: [0-9.]+$", output)), 2L)
  expect_identical(sum(grepl("^Epoch [12], validation: loss:[0-9.]+, bce: [0-9.]+, dice: [0-9.]+$", output)), 2L)
  expect_identical(sum(grepl("^Sample [1-8], bce: [0-9.]+, dice: [0-9.]+$", output)), 8L)
  expect_match(output, "^mean volume Dice on 2 validation patients", all = FALSE)
  expect_true(all(file.exists(file.path(out, c("model_1.pt", "model_2.pt", "losses.csv")))))
  pngs <- file.path(out, c("image_and_mask.png", "augmentation_grid.png", "loss_curves.png", "evaluation.png"))
  for (png in pngs) {
    expect_true(file.exists(png))
    expect_identical(readBin(png, "raw", n = 8), as.raw(c(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)))
  }
  losses <- read.csv(file.path(out, "losses.csv"))
  expect_identical(losses$epoch, 1:2)
  printed <- grep("^Epoch 2, training", output, value = TRUE)
  expect_identical(printed, sprintf("Epoch 2, training: loss:%3f, bce: %3f, dice: %3f", losses$train_loss[2],
                                    losses$train_bce[2], losses$train_dice[2]))
})
