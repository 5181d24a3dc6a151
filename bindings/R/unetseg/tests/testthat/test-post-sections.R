# The post's augmentation grid and its training loop, copied verbatim (the transcription's typos in
# `img_and_mask <- valid_ds[77]`, `valid_ds$rotate`, `bce_loss <- nnf_binary_cross_entropy`, ... fixed),
# with the packages the post loads for them (zeallot's `%<-%`, the tidyverse's tibble, tidyr, dplyr and
# purrr, ggplot2 and cowplot), on a small synthetic data set with the post's folder names (helper
# post_data()). The post's model definition is sourced from inst/examples/post_unet.R (test-nn-module.R
# checks it), at a small size, and its calc_dice_loss is the helper's.

suppressPackageStartupMessages({
  library(zeallot)
  library(tibble)
  library(tidyr)
  library(dplyr)
  library(purrr)
  library(ggplot2)
  library(cowplot)
})

test_that("the post's augmentation grid runs verbatim with zeallot, the tidyverse, ggplot2 and cowplot", {
  root <- post_data("post-sections", slices = 40, seed = 5)
  old <- setwd(root)
  on.exit(setwd(old), add = TRUE)
  png(file.path(root, "grid.png"), width = 600, height = 400)
  on.exit(dev.off(), add = TRUE)
  torch_manual_seed(777)
  valid_dir <- "data/mri_valid"
  valid_ds <- brainseg_dataset(
    valid_dir,
    augmentation_params = NULL,
    random_sampling = FALSE
  )

  # tibble's as_tibble() warns (once a session) that a matrix without column names gets V1, V2, ...:
  # the post relies on those names.
  suppressWarnings({
    # ---- the post, verbatim ----
    img_and_mask <- valid_ds[77]
    img <- img_and_mask[[1]]
    mask <- img_and_mask[[2]]
    imgs <- map (1:24, function(i) {
      # scale factor; train_ds really uses 0.05
      c(img, mask) %<-% valid_ds$resize(img, mask, 0.2)
      c(img, mask) %<-% valid_ds$flip(img, mask, 0.5)
      # rotation angle; train_ds really uses 15
      c(img, mask) %<-% valid_ds$rotate(img, mask, 90)
      img %>%
        transform_rgb_to_grayscale() %>%
        as.array() %>%
        as_tibble() %>%
        rowid_to_column(var = "Y") %>%
        gather(key = "X", value = "value", -Y) %>%
        mutate(X = as.numeric(gsub("V", "", X))) %>%
        ggplot(aes(X, Y, fill = value)) +
        geom_raster() +
        theme_void() +
        theme(legend.position = "none") +
        theme(aspect.ratio = 1)
    })
    plot_grid(plotlist = imgs, nrow = 4)
    # ---- end ----
  })

  expect_length(imgs, 24L)
  expect_true(all(map_lgl(imgs, ~ inherits(.x, "ggplot"))))
  # each panel holds the grayscale of one augmented 32 x 32 image, and the 24 augmentations differ
  panels <- map(imgs, ~ .x$data)
  expect_identical(nrow(panels[[1]]), 32L * 32L)
  expect_identical(sort(unique(panels[[1]]$X)), as.numeric(1:32))
  expect_true(all(is.finite(panels[[1]]$value)))
  expect_gt(length(unique(map(panels, ~ .x$value))), 20L)
  # the item the grid starts from is unchanged by it (the augmentations return new tensors)
  expect_identical(as.array(img), as.array(valid_ds[77][[1]]))
})

test_that("the post's training loop runs verbatim with zeallot's %<-% and saves a model per epoch", {
  root <- post_data("post-sections", slices = 40, seed = 5)
  old <- setwd(root)
  on.exit(setwd(old), add = TRUE)
  torch_manual_seed(777)
  train_dir <- "data/mri_train"
  valid_dir <- "data/mri_valid"
  train_ds <- brainseg_dataset(train_dir, augmentation_params = c(0.05, 15, 0.5), random_sampling = TRUE)
  valid_ds <- brainseg_dataset(valid_dir, augmentation_params = NULL, random_sampling = FALSE)
  batch_size <- 4
  train_dl <- dataloader(train_ds, batch_size)
  valid_dl <- dataloader(valid_ds, batch_size)
  source(system.file("examples", "post_unet.R", package = "unetseg"), local = TRUE)
  device <- torch_device(if(cuda_is_available()) "cuda" else "cpu")
  model <- unet_r(depth = 2, n_filters = 2)$to(device = device)  # the post's model, defined in R
  dice_weight <- 0.3
  optimizer <- optim_sgd(model$parameters, lr = 0.1, momentum = 0.9)
  num_epochs <- 2  # the post trains for 20
  scheduler <- lr_one_cycle(
    optimizer,
    max_lr = 0.1,
    steps_per_epoch = length(train_dl),
    epochs = num_epochs
  )

  output <- capture.output({
    # ---- the post, verbatim ----
    train_batch <- function(b) {
        optimizer$zero_grad()
        output <- model(b[[1]]$to(device = device))
        target <- b[[2]]$to(device = device)

        bce_loss <- nnf_binary_cross_entropy(output, target)
        dice_loss <- calc_dice_loss(output, target)
        loss <- dice_weight * dice_loss + (1 - dice_weight) * bce_loss

        loss$backward()
        optimizer$step()
        scheduler$step()

        list(bce_loss$item(), dice_loss$item(), loss$item())

    }

    valid_batch <- function(b) {
        output <- model(b[[1]]$to(device = device))
        target <- b[[2]]$to(device = device)

        bce_loss <- nnf_binary_cross_entropy(output, target)
        dice_loss <- calc_dice_loss(output, target)
        loss <- dice_weight * dice_loss + (1 - dice_weight) * bce_loss

        list(bce_loss$item(), dice_loss$item(), loss$item())

    }

    for (epoch in 1:num_epochs) {

      model$train()
      train_bce <- c()
      train_dice <- c()
      train_loss <- c()

      for (b in enumerate(train_dl)) {
        c(bce_loss, dice_loss, loss) %<-% train_batch(b)
        train_bce <- c(train_bce, bce_loss)
        train_dice <- c(train_dice, dice_loss)
        train_loss <- c(train_loss, loss)
      }

      torch_save(model, paste0("model_", epoch, ".pt"))

      cat(sprintf("\nEpoch %d, training: loss:%3f, bce: %3f, dice: %3f\n",
                  epoch, mean(train_loss), mean(train_bce), mean(train_dice)))

      model$eval()
      valid_bce <- c()
      valid_dice <- c()
      valid_loss <- c()

      i <- 0
      for (b in enumerate(valid_dl)) {

        i <<- i + 1
        c(bce_loss, dice_loss, loss) %<-% valid_batch(b)
        valid_bce <- c(valid_bce, bce_loss)
        valid_dice <- c(valid_dice, dice_loss)
        valid_loss <- c(valid_loss, loss)

      }

      cat(sprintf("\nEpoch %d, validation: loss:%3f, bce: %3f, dice: %3f\n",
                  epoch, mean(valid_loss), mean(valid_bce), mean(valid_dice)))
    }
    # ---- end ----
  })

  lines <- grep("^Epoch", output, value = TRUE)
  expect_match(lines, "^Epoch [12], (training|validation): loss:[0-9.]+, bce: [0-9.]+, dice: [0-9.]+$")
  expect_length(lines, 4L)
  expect_identical(scheduler$step_count, scheduler$total_steps)
  expect_length(train_loss, length(train_dl))
  expect_length(valid_loss, length(valid_dl))
  # the loss the loop reports is the weighted sum of the two it unpacked with %<-%
  expect_equal(train_loss, 0.3 * train_dice + 0.7 * train_bce, tolerance = 1e-6)
  expect_true(all(file.exists(c("model_1.pt", "model_2.pt"))))
  # the model saved after the last epoch gives the last validation losses
  saved <- torch_load("model_2.pt")
  saved$eval()
  b <- dataloader_next(dataloader_make_iter(valid_dl))
  expect_equal(nnf_binary_cross_entropy(saved(b[[1]]), b[[2]])$item(), valid_bce[[1]], tolerance = 1e-6)
})
