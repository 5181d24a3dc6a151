# The whole run in one call (the trainer the CLI uses), evaluation and prediction.

# Columns of the per-epoch history that unetseg_r_fit writes, in order.
history_columns <- c("epoch", "train_loss", "train_bce", "train_dice", "valid_loss", "valid_bce", "valid_dice", "lr", "seconds")

#' Train the post's U-Net in one call
#'
#' Runs the post's training (the same trainer as the `unetseg train` command, so the same arguments and
#' seed give the same losses): per batch zero_grad, forward, `0.3 * dice + 0.7 * bce`, backward, SGD step
#' and one-cycle step; per epoch the mean losses on both folders. Writes into `out_dir`
#' `model_<epoch>.safetensors`, `best.safetensors` (lowest validation loss), `log.csv`, `log.json` and the
#' state for `resume`. With `verbose`, prints the post's two lines per epoch when the run ends.
#'
#' Interrupting R (Ctrl-C, SIGINT) stops the run at the end of the current batch with its state saved
#' (`interrupted.safetensors`; `resume = TRUE` continues it) and signals a condition of class
#' `unetseg_interrupt` and `interrupt` (catch it with `tryCatch(interrupt = ...)`); the checkpoints of
#' finished epochs stay as they were.
#'
#' @param train_dir,valid_dir Folders of patient folders (`valid_dir = NULL`: no validation).
#' @param out_dir Run folder (created if missing).
#' @param epochs,batch_size Epochs and slices per batch.
#' @param lr,momentum Peak learning rate of the one-cycle schedule (when not given: 0.1 with SGD, 0.001 with
#'   Adam), SGD momentum.
#' @param depth,n_filters,dropout The model (see [unet()]).
#' @param dice_weight Weight of the dice loss.
#' @param augmentation_params `c(scale, angle, flip)` or `NULL` for none.
#' @param random_sampling Lesion-weighted sampling of training slices.
#' @param seed Seed of every random choice of the run.
#' @param threads Compute threads (`NULL`: keep the current setting).
#' @param num_workers Background data-loading threads.
#' @param resume Continue the run saved in `out_dir`.
#' @param overwrite Start a new run in a non-empty `out_dir`, deleting the earlier run's checkpoints, state
#'   and logs. Without it (or `resume`) a non-empty `out_dir` is an error and nothing in it changes.
#' @param verbose Print the post's epoch lines.
#' @param distributed Train as one rank of an Open MPI job (`mpirun -np N Rscript script.R`, no R MPI
#'   package needed): every rank calls `unetseg_fit()` with the same arguments, `batch_size` is the global
#'   batch, each rank computes its share, only rank 0 writes `out_dir` and prints, and every rank returns the
#'   same history. An error on any rank is raised on every rank, naming the rank (and the file).
#' @param optimizer (character): `"sgd"` (the post's SGD with momentum) or `"adam"` (torch.optim.Adam's rules,
#'   betas 0.9 and 0.999 with the first cycled by the schedule as SGD's momentum, eps 1e-8; Buda et al. 2019).
#'   Default: `"sgd"`.
#' @param normalization (character): how slices are scaled as read, as in [brainseg_dataset()]: `"minmax"`,
#'   `"zscore"` or `"percentile"`. The checkpoints record it, and [unetseg_evaluate()] and
#'   [unetseg_predict()] of the model use it. Default: `"minmax"`.
#' @return `list(model = , history = )`: the trained [unet()] and a data frame with one row per epoch
#'   (`epoch`, `train_loss`, `train_bce`, `train_dice`, `valid_loss`, `valid_bce`, `valid_dice`, `lr`,
#'   `seconds`).
#' @examples
#' \donttest{
#' root <- file.path(tempdir(), "fit-data")
#' synthesize_dataset(root, patients = 2, min_slices = 8, max_slices = 8, size = 64)
#' fit <- unetseg_fit(root, NULL, file.path(tempdir(), "fit-run"), epochs = 1, depth = 2, n_filters = 2)
#' fit$history
#' }
#' @export
unetseg_fit <- function(train_dir, valid_dir = NULL, out_dir, epochs = 20, batch_size = 4, lr = 0.1, momentum = 0.9,
                        depth = 5, n_filters = 6, dropout = 0.6, dice_weight = 0.3,
                        augmentation_params = c(0.05, 15, 0.5), random_sampling = TRUE, seed = 777,
                        threads = NULL, num_workers = 1, resume = FALSE, overwrite = FALSE, verbose = TRUE,
                        distributed = FALSE, optimizer = "sgd", normalization = "minmax") {
  optimizers <- c("sgd", "adam")
  if (!is.character(optimizer) || length(optimizer) != 1 || !(optimizer %in% optimizers)) {
    abort_value(sprintf("optimizer must be \"sgd\" or \"adam\", got %s", deparse_short(optimizer)))
  }
  if (missing(lr) && optimizer == "adam") lr <- 0.001
  augment <- !is.null(augmentation_params)
  if (augment && (!is.numeric(augmentation_params) || length(augmentation_params) != 3L || anyNA(augmentation_params))) {
    abort_value("augmentation_params must be NULL or c(scale, angle, flip), such as c(0.05, 15, 0.5)")
  }
  epochs <- check_number(epochs, "epochs", whole = TRUE)
  if (epochs < 1 || epochs > 1e5) abort_value(sprintf("epochs must be in 1...100000, got %s", format(epochs)))
  folders <- c(check_path(train_dir, "train_dir"),
               if (is.null(valid_dir)) "" else check_path(valid_dir, "valid_dir"),
               check_path(out_dir, "out_dir"))
  integers <- c(epochs, check_integer(batch_size, "batch_size"), check_integer(depth, "depth"),
                check_integer(n_filters, "n_filters"), augment,
                check_flag(random_sampling, "random_sampling"),
                if (is.null(threads)) 0 else check_integer(threads, "threads"),
                check_integer(num_workers, "num_workers"), check_flag(resume, "resume"),
                check_flag(overwrite, "overwrite"), check_flag(distributed, "distributed"),
                match(optimizer, optimizers) - 1L, normalization_argument(normalization))
  if (any(abs(integers) > .Machine$integer.max)) abort_value("a count is too large")
  doubles <- c(check_number(lr, "lr"), check_number(momentum, "momentum"), check_number(dropout, "dropout"),
               check_number(dice_weight, "dice_weight"), if (augment) as.double(augmentation_params) else c(0, 0, 0),
               check_number(seed, "seed", whole = TRUE))
  call <- sys.call()
  result <- tryCatch(
    lib_call("unetseg_r_fit", folders, as.integer(integers), doubles,
             history = double(epochs * length(history_columns)), epochs = integer(1), model = integer(1), .call = call),
    unetseg_cancelled = function(e) abort_interrupt(conditionMessage(e), call)
  )
  rows <- seq_len(result$epochs * length(history_columns))
  history <- as.data.frame(matrix(result$history[rows], ncol = length(history_columns), byrow = TRUE,
                                  dimnames = list(NULL, history_columns)))
  history$epoch <- as.integer(history$epoch)
  if (verbose && !(distributed && Sys.getenv("OMPI_COMM_WORLD_RANK", "0") != "0")) print_epoch_lines(history)
  invisible(list(model = new_model(result$model), history = history))
}

# Prints the post's lines for each epoch of `history`.
print_epoch_lines <- function(history) {
  for (r in seq_len(nrow(history))) {
    h <- history[r, ]
    cat(sprintf("\nEpoch %d, training: loss:%3f, bce: %3f, dice: %3f\n", h$epoch, h$train_loss, h$train_bce, h$train_dice))
    if (!is.na(h$valid_loss)) {
      cat(sprintf("\nEpoch %d, validation: loss:%3f, bce: %3f, dice: %3f\n", h$epoch, h$valid_loss, h$valid_bce, h$valid_dice))
    }
  }
}

#' Evaluate a model on a folder of slices
#'
#' Runs the model (evaluation mode, no graph; its mode is restored) over every slice under `data_dir` in
#' order and scores it as Buda et al. (2019): the Dice of each patient's volume with prediction > 0.5,
#' their mean and median, the mean per-slice Dice (slices where both masks are empty are left out), and
#' the post's BCE and dice loss per slice. With `predictions_dir`, writes each predicted mask as a 0/255
#' TIFF there (`<patient>/<patient>_<n>_pred.tif`); with `output_dir`, writes `metrics.json`,
#' `predictions.png`, `contours.png`, `volume_dice.png` and `overlays/<patient>.png`. Both must lie outside
#' `data_dir` (links resolved): inputs are
#' never replaced.
#'
#' @param model A [unet()], or a module defined in R with a unet's parameters (as the post's model).
#' @param data_dir Folder of patient folders with masks.
#' @param batch_size Slices per forward pass.
#' @param predictions_dir,output_dir Folders to write into, or `NULL`.
#' @param postprocess (character): what each patient's binarised volume gets before it is scored and
#'   written: `"none"`, or `"largest-component"` to keep only its largest 6-connected component, as Buda et
#'   al. (2019) do (the BCE and dice loss stay those of the raw output). Default: `"none"`.
#' @param normalization (character): how slices are scaled as read: `NULL` as the model was trained (the
#'   normalisation its checkpoint or [unetseg_fit()] recorded; `"minmax"` when none is), or `"minmax"`,
#'   `"zscore"` or `"percentile"` (see [brainseg_dataset()]), which must match the recorded one (a
#'   `value_error` otherwise). Default: `NULL`.
#' @return A list: `mean_volume_dice`, `median_volume_dice`, `mean_slice_dice`, `bce`, `dice_loss`,
#'   `slices`, `volume_dice`, a data frame of `patient` and `dice`, and `volumes`, a data frame of every
#'   score of each patient's volume: `patient`, `dice`, `precision`, `sensitivity`, `hausdorff95` and
#'   `diagonal` (in voxels; Hausdorff-95 is 0 when both masks are empty and the diagonal when only one is),
#'   `relative_volume_difference`, `predicted_voxels` and `true_voxels`.
#' @examples
#' \donttest{
#' root <- file.path(tempdir(), "eval-data")
#' synthesize_dataset(root, patients = 2, min_slices = 8, max_slices = 8, size = 64)
#' unetseg_evaluate(unet(depth = 2, n_filters = 2, seed = 1), root)$mean_volume_dice
#' }
#' @export
unetseg_evaluate <- function(model, data_dir, batch_size = 8, predictions_dir = NULL, output_dir = NULL,
                             postprocess = "none", normalization = NULL) {
  postprocessings <- c("none", "largest-component")
  if (!is.character(postprocess) || length(postprocess) != 1 || !(postprocess %in% postprocessings)) {
    abort_value(sprintf("postprocess must be \"none\" or \"largest-component\", got %s", deparse_short(postprocess)))
  }
  state <- model_state(unet_of(model))
  optional <- function(path, name) if (is.null(path)) "" else check_path(path, name)
  result <- lib_call("unetseg_r_evaluate", handle_of(state), check_path(data_dir, "data_dir"),
                     as.integer(check_integer(batch_size, "batch_size")),
                     optional(predictions_dir, "predictions_dir"), optional(output_dir, "output_dir"),
                     match(postprocess, postprocessings) - 1L,
                     if (is.null(normalization)) -1L else normalization_argument(normalization),
                     metrics = double(6), out = integer(1))
  evaluation <- new_handle_object(result$out, "unetseg_r_evaluation_free", "unetseg_evaluation")
  count <- lib_call("unetseg_r_evaluation_patient_count", handle_of(evaluation), count = integer(1))$count
  patients <- character(count)
  dice <- numeric(count)
  scores <- matrix(0, nrow = count, ncol = 8)
  for (i in seq_len(count)) {
    entry <- lib_call("unetseg_r_evaluation_patient", handle_of(evaluation), i - 1L, label = string_buffer(255L),
                      dice = double(1))
    patients[[i]] <- entry$label
    dice[[i]] <- entry$dice
    scores[i, ] <- lib_call("unetseg_r_evaluation_volume_scores", handle_of(evaluation), i - 1L,
                            scores = double(8))$scores
  }
  volumes <- data.frame(patient = patients, dice = scores[, 1], precision = scores[, 2], sensitivity = scores[, 3],
                        hausdorff95 = scores[, 4], diagonal = scores[, 5], relative_volume_difference = scores[, 6],
                        predicted_voxels = scores[, 7], true_voxels = scores[, 8])
  m <- result$metrics
  list(mean_volume_dice = m[[1]], median_volume_dice = m[[2]], mean_slice_dice = m[[3]], bce = m[[4]],
       dice_loss = m[[5]], slices = as_length(m[[6]]), volume_dice = data.frame(patient = patients, dice = dice),
       volumes = volumes)
}

#' Segment slices without masks
#'
#' Segments `input`, a slice TIFF or a folder searched for slice images (`<patient>_<n>.tif`; existing
#' masks are ignored), and writes each predicted mask (prediction > 0.5) as a 0/255 TIFF under
#' `out_dir` (`<patient>/<patient>_<n>_pred.tif` for Kaggle-named slices, never named like a label).
#' An `out_dir` that is, contains or lies inside `input` (links resolved) is refused: inputs are never
#' replaced. Slices are scaled as the model was trained (the normalisation its checkpoint or
#' [unetseg_fit()] recorded).
#'
#' @param model A [unet()], or a module defined in R with a unet's parameters (as the post's model).
#' @param input A TIFF file or a folder.
#' @param out_dir Folder to write into.
#' @return The number of masks written, invisibly.
#' @examples
#' \donttest{
#' root <- file.path(tempdir(), "predict-data")
#' synthesize_dataset(root, patients = 1, min_slices = 8, max_slices = 8, size = 64)
#' unetseg_predict(unet(depth = 2, n_filters = 2, seed = 1), root, file.path(tempdir(), "predicted"))
#' }
#' @export
unetseg_predict <- function(model, input, out_dir) {
  result <- lib_call("unetseg_r_predict", handle_of(model_state(unet_of(model))), check_path(input, "input"),
                     check_path(out_dir, "out_dir"), written = double(1))
  invisible(as_length(result$written))
}
