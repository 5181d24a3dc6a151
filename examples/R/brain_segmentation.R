# Brain image segmentation with torch (Keydana, 2020), section by section, on libunetseg.
#
# The post's R script with library(unetseg) in place of library(torch) and library(torchvision), on a
# synthetic dataset in the layout of Kaggle's lgg-mri-segmentation (or on the real one: set
# UNETSEG_DATA_DIR to its kaggle_3m folder). Base R only: base graphics instead of ggplot2/cowplot, the
# native pipe |> instead of %>%, and list indexing instead of zeallot's %<-%. Pictures are written as PNG
# files into the output folder.
#
#   Rscript examples/R/brain_segmentation.R
#
# Settings (environment variables; the defaults run in minutes on two cores, the post's are in brackets):
#   UNETSEG_EXAMPLE_OUT       output folder                        (brain_segmentation_out)
#   UNETSEG_DATA_DIR          an existing kaggle_3m folder          (none: synthesize one)
#   UNETSEG_EXAMPLE_PATIENTS  synthetic patients                   40   [110]
#   UNETSEG_EXAMPLE_SLICES    largest number of slices per patient 24   [88]
#   UNETSEG_EXAMPLE_SIZE      synthetic slice size in pixels        128  [256]
#   UNETSEG_EXAMPLE_VALID     validation patients                   8    [30]
#   UNETSEG_EXAMPLE_EPOCHS    epochs                                3    [20]
#   UNETSEG_EXAMPLE_DEPTH     U-Net depth                           5    [5]
#   UNETSEG_EXAMPLE_FILTERS   log2 of the first block's channels    4    [6]
#   UNETSEG_EXAMPLE_BATCH     batch size                            4    [4]

# deep learning (incl. dependencies): unetseg replaces torch and torchvision
library(unetseg)

setting <- function(name, default) {
  value <- Sys.getenv(name)
  if (nzchar(value)) as.numeric(value) else default
}
out_dir <- Sys.getenv("UNETSEG_EXAMPLE_OUT", "brain_segmentation_out")
n_patients <- setting("UNETSEG_EXAMPLE_PATIENTS", 40)
max_slices <- setting("UNETSEG_EXAMPLE_SLICES", 24)
slice_size <- setting("UNETSEG_EXAMPLE_SIZE", 128)
n_valid <- setting("UNETSEG_EXAMPLE_VALID", 8)
num_epochs <- setting("UNETSEG_EXAMPLE_EPOCHS", 3)
depth <- setting("UNETSEG_EXAMPLE_DEPTH", 5)
n_filters <- setting("UNETSEG_EXAMPLE_FILTERS", 4)
batch_size <- setting("UNETSEG_EXAMPLE_BATCH", 4)
dir.create(out_dir, recursive = TRUE, showWarnings = FALSE)
cat(unetseg_system_info(), "\n")

torch_manual_seed(777)
set.seed(777)

# ---- Data ----------------------------------------------------------------------------------------------
# The post downloads the Kaggle data with pins; here a synthetic LGG-like set in the same layout.
data_dir <- Sys.getenv("UNETSEG_DATA_DIR")
if (!nzchar(data_dir)) {
  data_dir <- file.path(out_dir, "data", "kaggle_3m")
  if (!dir.exists(data_dir)) {
    n <- synthesize_dataset(data_dir, patients = n_patients, min_slices = 8, max_slices = max_slices,
                            size = slice_size, seed = 1)
    cat(sprintf("synthesized %d slices of %d patients in %s\n", n, n_patients, data_dir))
  }
}

train_dir <- file.path(out_dir, "data", "mri_train")
valid_dir <- file.path(out_dir, "data", "mri_valid")

if (dir.exists(train_dir)) unlink(train_dir, recursive = TRUE, force = TRUE)
if (dir.exists(valid_dir)) unlink(valid_dir, recursive = TRUE, force = TRUE)

# Of the patients, we keep n_valid for validation (the post: 30 of 110, chosen with seed 777). The post
# moves folders with sample(); split_patients() links them, leaving the data folder as it is.
split_patients(data_dir, train_dir, valid_dir, n_valid = n_valid, seed = 777)

# ---- Dataset -------------------------------------------------------------------------------------------
# brainseg_dataset() is native: it pairs images and masks, computes the slice weights, samples and
# augments as the post's dataset does.
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
cat(sprintf("%d training pairs and %d validation pairs\n", length(train_ds), length(valid_ds)))

# As a correctness check, let's plot an image and associated mask (the post shows item 27).
png(file.path(out_dir, "image_and_mask.png"), width = 512, height = 256)
par(mfrow = c(1, 2), mar = c(0, 1, 0, 1))

img_and_mask <- valid_ds[min(27, length(valid_ds))]
img <- img_and_mask[[1]]
mask <- img_and_mask[[2]]

img$permute(c(2, 3, 1)) |> as.array() |> as.raster() |> plot()
mask$squeeze() |> as.array() |> as.raster() |> plot()
invisible(dev.off())

# The augmentations with "extreme" parameters, on a validation pair (the post shows item 77).
img_and_mask <- valid_ds[min(77, length(valid_ds))]
img <- img_and_mask[[1]]
mask <- img_and_mask[[2]]

png(file.path(out_dir, "augmentation_grid.png"), width = 6 * 160, height = 4 * 160)
par(mfrow = c(4, 6), mar = c(0.2, 0.2, 0.2, 0.2))
for (i in 1:24) {
  # scale factor; train_ds really uses 0.05
  augmented <- valid_ds$resize(img, mask, 0.2)
  augmented <- valid_ds$flip(augmented[[1]], augmented[[2]], 0.5)
  # rotation angle; train_ds really uses 15
  augmented <- valid_ds$rotate(augmented[[1]], augmented[[2]], 90)
  augmented[[1]] |>
    transform_rgb_to_grayscale() |>
    as.array() |>
    as.raster() |>
    plot()
}
invisible(dev.off())

train_dl <- dataloader(train_ds, batch_size)
valid_dl <- dataloader(valid_ds, batch_size)

# ---- Model ---------------------------------------------------------------------------------------------
# unet() is the post's nn_module (down_block, up_block, conv_block with dropout 0.6), built natively.
device <- torch_device(if (cuda_is_available()) "cuda" else "cpu")
model <- unet(depth = depth, n_filters = n_filters)$to(device = device)
print(model)

# ---- Optimization --------------------------------------------------------------------------------------
calc_dice_loss <- function(y_pred, y_true) {
  smooth <- 1
  y_pred <- y_pred$view(-1)
  y_true <- y_true$view(-1)
  intersection <- (y_pred * y_true)$sum()

  1 - ((2 * intersection + smooth) / (y_pred$sum() + y_true$sum() + smooth))
}

dice_weight <- 0.3

optimizer <- optim_sgd(model$parameters, lr = 0.1, momentum = 0.9)

scheduler <- lr_one_cycle(
  optimizer,
  max_lr = 0.1,
  steps_per_epoch = length(train_dl),
  epochs = num_epochs
)

# ---- Training ------------------------------------------------------------------------------------------
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

history <- data.frame()
for (epoch in 1:num_epochs) {
  model$train()
  train_bce <- c()
  train_dice <- c()
  train_loss <- c()

  for (b in enumerate(train_dl)) {
    losses <- train_batch(b) # the post: c(bce_loss, dice_loss, loss) %<-% train_batch(b)
    train_bce <- c(train_bce, losses[[1]])
    train_dice <- c(train_dice, losses[[2]])
    train_loss <- c(train_loss, losses[[3]])
  }

  torch_save(model, file.path(out_dir, paste0("model_", epoch, ".pt")))

  cat(sprintf("\nEpoch %d, training: loss:%3f, bce: %3f, dice: %3f\n",
              epoch, mean(train_loss), mean(train_bce), mean(train_dice)))

  model$eval()
  valid_bce <- c()
  valid_dice <- c()
  valid_loss <- c()

  i <- 0
  for (b in enumerate(valid_dl)) {
    i <<- i + 1
    losses <- valid_batch(b)
    valid_bce <- c(valid_bce, losses[[1]])
    valid_dice <- c(valid_dice, losses[[2]])
    valid_loss <- c(valid_loss, losses[[3]])
  }

  cat(sprintf("\nEpoch %d, validation: loss:%3f, bce: %3f, dice: %3f\n",
              epoch, mean(valid_loss), mean(valid_bce), mean(valid_dice)))

  history <- rbind(history, data.frame(epoch = epoch, train_loss = mean(train_loss), train_bce = mean(train_bce),
                                       train_dice = mean(train_dice), valid_loss = mean(valid_loss),
                                       valid_bce = mean(valid_bce), valid_dice = mean(valid_dice)))
}
write.csv(history, file.path(out_dir, "losses.csv"), row.names = FALSE)

# Loss curves (not in the post, which prints the numbers).
png(file.path(out_dir, "loss_curves.png"), width = 640, height = 400)
matplot(history$epoch, history[, c("train_loss", "valid_loss")], type = "b", pch = 19, lty = 1,
        col = c("steelblue", "darkorange"), xlab = "epoch", ylab = "loss (0.3 dice + 0.7 bce)")
legend("topright", c("training", "validation"), col = c("steelblue", "darkorange"), lty = 1, pch = 19)
invisible(dev.off())

# ---- Evaluation ----------------------------------------------------------------------------------------
saved_model <- torch_load(file.path(out_dir, paste0("model_", num_epochs, ".pt")))

model <- saved_model
model$eval()

# without random sampling, we'd mainly see lesion-free patches
eval_ds <- brainseg_dataset(valid_dir, augmentation_params = NULL, random_sampling = TRUE)
eval_dl <- dataloader(eval_ds, batch_size = 8)

batch <- eval_dl |> dataloader_make_iter() |> dataloader_next()

png(file.path(out_dir, "evaluation.png"), width = 8 * 160, height = 3 * 160)
par(mfcol = c(3, 8), mar = c(0, 1, 0, 1))

for (i in 1:8) {
  # The post writes `...`; R only accepts `..` here (see ?`tensor-indexing`).
  img <- batch[[1]][i, .., drop = FALSE]
  inferred_mask <- model(img$to(device = device))
  true_mask <- batch[[2]][i, .., drop = FALSE]$to(device = device)

  bce <- nnf_binary_cross_entropy(inferred_mask, true_mask)$to(device = "cpu") |>
    as.numeric()
  dc <- calc_dice_loss(inferred_mask, true_mask)$to(device = "cpu") |> as.numeric()
  cat(sprintf("\nSample %d, bce: %3f, dice: %3f\n", i, bce, dc))

  inferred_mask <- as.array(inferred_mask$to(device = "cpu"))[1, 1, , ]
  inferred_mask <- ifelse(inferred_mask > 0.5, 1, 0)

  img[1, 1, , ] |> as.array() |> as.raster() |> plot()
  true_mask$to(device = "cpu")[1, 1, , ] |> as.array() |> as.raster() |> plot()
  inferred_mask |> as.raster() |> plot()
}
invisible(dev.off())

# Beyond the post: Dice per patient volume (Buda et al., 2019) on the validation patients.
scores <- unetseg_evaluate(model, valid_dir)
cat(sprintf("\nmean volume Dice on %d validation patients: %.4f (per slice: %.4f)\n",
            nrow(scores$volume_dice), scores$mean_volume_dice, scores$mean_slice_dice))
cat(sprintf("pictures: %s\n", paste(file.path(out_dir, c("image_and_mask.png", "augmentation_grid.png",
                                                         "loss_curves.png", "evaluation.png")), collapse = ", ")))
