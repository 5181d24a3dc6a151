# The post's dataset check, data loaders and evaluation section, copied verbatim, on a small synthetic
# data set with the post's folder names (helper post_data()), its training run replaced by a small model
# saved as model_20.pt, and plots into a temporary PNG device. test-post-sections.R runs the augmentation
# grid and the training loop.

test_that("the post's dataset check, data loaders and evaluation section run verbatim", {
  root <- post_data("post-evaluation")
  old <- setwd(root)
  on.exit(setwd(old), add = TRUE)
  png(file.path(root, "plots-%02d.png"), width = 800, height = 300)
  on.exit(dev.off(), add = TRUE)
  torch_manual_seed(777)
  set.seed(777)
  train_dir <- "data/mri_train"
  valid_dir <- "data/mri_valid"

  # ---- the post, verbatim ----
  train_ds <- brainseg_dataset(
    train_dir,
    augmentation_params = c(0.05, 15, 0.5),
    random_sampling = TRUE
  )

  length(train_ds)

  valid_ds <- brainseg_dataset(
    valid_dir,
    augmentation_params = NULL,
    random_sampling = FALSE
  )

  length(valid_ds)

  par(mfrow = c(1, 2), mar = c(0, 1, 0, 1))

  img_and_mask <- valid_ds[27]
  img <- img_and_mask[[1]]
  mask <- img_and_mask[[2]]

  img$permute(c(2, 3, 1)) %>% as.array() %>% as.raster() %>% plot()
  mask$squeeze() %>% as.array() %>% as.raster() %>% plot()

  batch_size <- 4
  train_dl <- dataloader(train_ds, batch_size)
  valid_dl <- dataloader(valid_ds, batch_size)
  # ---- end ----

  expect_identical(length(valid_ds), 28L)
  expect_identical(dim(img), c(3L, 32L, 32L))
  expect_identical(dim(mask$squeeze()), c(32L, 32L))
  expect_identical(length(valid_dl), 7L)

  # the model section's device line, verbatim (the optimization section's calc_dice_loss is the
  # helper's); a small model stands for the 20 epochs of training, saved under the name the evaluation loads
  device <- torch_device(if(cuda_is_available()) "cuda" else "cpu")
  torch_save(unet(depth = 2, n_filters = 2)$to(device = device), "model_20.pt")

  output <- capture.output({
    # ---- the post's evaluation section, verbatim ----
    saved_model <- torch_load("model_20.pt")

    model <- saved_model
    model$eval()

    # without random sampling, we'd mainly see lesion-free patches
    eval_ds <- brainseg_dataset(valid_dir, augmentation_params = NULL, random_sampling = TRUE)
    eval_dl <- dataloader(eval_ds, batch_size = 8)

    batch <- eval_dl %>% dataloader_make_iter() %>% dataloader_next()

    par(mfcol = c(3, 8), mar = c(0, 1, 0, 1))

    for (i in 1:8) {

       img <- batch[[1]][i, ..., drop = FALSE]
       inferred_mask <- model(img$to(device = device))
       true_mask <- batch[[2]][i, ..., drop = FALSE]$to(device = device)

       bce <- nnf_binary_cross_entropy(inferred_mask, true_mask)$to(device = "cpu") %>%
            as.numeric()
       dc <- calc_dice_loss(inferred_mask, true_mask)$to(device = "cpu") %>% as.numeric()
       cat(sprintf("\nSample %d, bce: %3f, dice: %3f\n", i, bce, dc))

       inferred_mask <- inferred_mask$to(device = "cpu") %>% as.array() %>% .[1, 1, , ]
       inferred_mask <- ifelse(inferred_mask > 0.5, 1, 0)

       img[1, 1, ,] %>% as.array() %>% as.raster() %>% plot()

       true_mask$to(device = "cpu")[1, 1, ,] %>% as.array() %>% as.raster() %>% plot()
       inferred_mask %>% as.raster() %>% plot()
    }
    # ---- end ----
  })

  samples <- grep("^Sample", output, value = TRUE)
  expect_length(samples, 8L)
  expect_match(samples[[8]], "^Sample 8, bce: [0-9.]+, dice: [0-9.]+$")
  # the last item, as the loop left it, against the whole batch
  images <- as.array(batch[[1]])
  masks <- as.array(batch[[2]])
  expect_identical(dim(images), c(8L, 3L, 32L, 32L))
  expect_identical(as.array(img), images[8, , , , drop = FALSE])
  expect_identical(as.array(true_mask), masks[8, , , , drop = FALSE])
  predicted <- as.array(model(batch[[1]]))[8, 1, , ]
  expect_identical(inferred_mask, ifelse(predicted > 0.5, 1, 0))
  expected_bce <- as.numeric(nnf_binary_cross_entropy(model(batch[[1]][8, .., drop = FALSE]), batch[[2]][8, .., drop = FALSE]))
  expect_identical(samples[[8]], sprintf("Sample 8, bce: %3f, dice: %3f", expected_bce, dc))
  expect_equal(bce, expected_bce)
  expect_true(file.exists(file.path(root, "plots-02.png")))
})
