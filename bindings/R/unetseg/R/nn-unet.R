# The post's U-Net as an nn_module-like object: a function (model(x) runs it) with `$` methods.

# Wraps model handle `handle`: a function of x whose environment holds the handle object (freed with it).
new_model <- function(handle) {
  state <- new_handle_object(handle, "unetseg_r_model_free", "unetseg_model_state")
  model <- function(x) model_forward(state, x)
  class(model) <- c("unet", "unetseg_model", "nn_module")
  model
}

model_state <- function(model, call = sys.call(-1)) {
  if (!inherits(model, "unetseg_model")) {
    abort_value(sprintf("model must be a unet made by unet() or torch_load(), got %s", class(model)[[1L]]), call = call)
  }
  get("state", envir = environment(model), inherits = FALSE)
}

model_forward <- function(state, x, call = sys.call(-1)) {
  collect_if_grown()
  tensor_result("unetseg_r_model_forward", handle_of(state), tensor_handle(x, "input", call = call), call = call)
}

#' The post's U-Net
#'
#' Makes the U-Net of "Brain image segmentation with torch": `depth` down blocks (two 3x3 convolutions
#' with ReLU and dropout) starting at `2^n_filters` channels and doubling, max pooling, transposed-
#' convolution up blocks with the bridges, and a 1x1 convolution with a sigmoid. Initialised as torch
#' initialises it, in training mode. The result is called like a torch module: `model(x)` maps images
#' `[N, channels_in, H, W]` (H and W multiples of `2^(depth - 1)`) to probabilities `[N, n_classes, H, W]`
#' and records the graph for `backward()`.
#'
#' With `batch_norm = TRUE` every 3x3 convolution has no bias and is followed by a batch norm (Buda et al.
#' 2019's U-Net): in training mode it normalises with the batch's statistics and updates its running
#' statistics, in evaluation mode it uses them; `model$buffers` (a named list of those tensors:
#' `running_mean`, `running_var`, `num_batches_tracked`, PyTorch's buffer names), `model$state_dict()`
#' (parameters, then buffers), `model$load_state_dict()` and [torch_save()] hold them.
#'
#' Methods: `model$train()`, `model$eval()` (dropout on or off; both return the model invisibly),
#' `model$parameters` (a named list of the parameter tensors, the state_dict's names and order; shared
#' with the model, so an optimiser over them trains it), `model$to(device = )` (the model itself: the CPU
#' is the only device), `model$forward(x)`, `model$training`, `model$config` and
#' `model$parameter_count`.
#'
#' @param channels_in Input channels (3: pre-contrast, FLAIR, post-contrast).
#' @param n_classes Output channels (1: lesion probability).
#' @param depth Number of down blocks, 1 to 8.
#' @param n_filters log2 of the first block's channels (6: 64 channels).
#' @param dropout Dropout probability in every block.
#' @param seed `NULL` to draw the initial weights, and in training mode the dropout masks, from the global
#'   generator (see [torch_manual_seed()]), or a whole number for a private one (the one [unetseg_fit()]
#'   gives its model with that seed).
#' @param batch_norm `TRUE` for a batch norm after every 3x3 convolution (Buda et al. 2019's model);
#'   `FALSE` (the default) is the post's model.
#' @return A `unet` (an `nn_module`).
#' @examples
#' torch_manual_seed(1)
#' model <- unet(depth = 2, n_filters = 2)
#' model$eval()
#' y <- model(torch_tensor(array(runif(2 * 3 * 8 * 8), c(2, 3, 8, 8))))
#' dim(y)
#' @export
unet <- function(channels_in = 3, n_classes = 1, depth = 5, n_filters = 6, dropout = 0.6, seed = NULL,
                 batch_norm = FALSE) {
  config <- c(check_integer(channels_in, "channels_in"), check_integer(n_classes, "n_classes"),
              check_integer(depth, "depth"), check_integer(n_filters, "n_filters"),
              as.integer(check_flag(batch_norm, "batch_norm")))
  seed <- if (is.null(seed)) -1 else check_number(seed, "seed", whole = TRUE)
  handle <- lib_call("unetseg_r_model_create", as.integer(config), check_number(dropout, "dropout"), seed,
                     out = integer(1))$out
  new_model(handle)
}

model_parameters <- function(state) {
  counts <- lib_call("unetseg_r_model_parameter_count", handle_of(state), count = integer(1), elements = double(1))
  parameters <- vector("list", counts$count)
  names(parameters) <- character(counts$count)
  for (i in seq_len(counts$count)) {
    entry <- lib_call("unetseg_r_model_parameter", handle_of(state), i - 1L, label = string_buffer(255L), out = integer(1))
    parameters[[i]] <- new_tensor(entry$out)
    names(parameters)[[i]] <- entry$label
  }
  parameters
}

model_buffers <- function(state) {
  count <- lib_call("unetseg_r_model_buffer_count", handle_of(state), count = integer(1))$count
  buffers <- vector("list", count)
  names(buffers) <- character(count)
  for (i in seq_len(count)) {
    entry <- lib_call("unetseg_r_model_buffer", handle_of(state), i - 1L, label = string_buffer(255L), out = integer(1))
    buffers[[i]] <- new_tensor(entry$out)
    names(buffers)[[i]] <- entry$label
  }
  buffers
}

model_state_dict <- function(state) c(model_parameters(state), model_buffers(state))

model_config <- function(state) {
  result <- lib_call("unetseg_r_model_config", handle_of(state), config = integer(5), dropout = double(1))
  list(channels_in = result$config[[1]], n_classes = result$config[[2]], depth = result$config[[3]],
       n_filters = result$config[[4]], dropout = result$dropout, batch_norm = result$config[[5]] == 1L)
}

set_training <- function(model, training) {
  lib_call("unetseg_r_model_set_training", handle_of(model_state(model)), as.integer(training))
  invisible(model)
}

model_methods <- list(
  train = function(model, mode = TRUE) set_training(model, check_flag(mode, "mode")),
  eval = function(model) set_training(model, FALSE),
  forward = function(model, x) model(x),
  to = function(model, device = NULL, dtype = NULL, ...) {
    if (!is.null(device)) device_type(device, call = sys.call())
    model
  },
  cpu = function(model) model,
  zero_grad = function(model) {
    lib_call("unetseg_r_model_zero_grad", handle_of(model_state(model)))
    invisible(model)
  },
  state_dict = function(model) model_state_dict(model_state(model)),
  load_state_dict = function(model, state_dict, ...) {
    load_parameters(model_state_dict(model_state(model)), state_dict, call = sys.call())
    invisible(model)
  }
)

model_fields <- list(
  parameters = function(model) model_parameters(model_state(model)),
  buffers = function(model) model_buffers(model_state(model)),
  training = function(model) {
    lib_call("unetseg_r_model_is_training", handle_of(model_state(model)), value = integer(1))$value == 1L
  },
  config = function(model) model_config(model_state(model)),
  parameter_count = function(model) {
    lib_call("unetseg_r_model_parameter_count", handle_of(model_state(model)), count = integer(1),
             elements = double(1))$elements
  }
)

#' @rdname unet
#' @param x A `unet`.
#' @param name A method or field: `train`, `eval`, `forward`, `to`, `cpu`, `zero_grad`, `state_dict`,
#'   `load_state_dict`, `parameters`, `buffers`, `training`, `config`, `parameter_count`.
#' @export
`$.nn_module` <- function(x, name) {
  field <- model_fields[[name]]
  if (!is.null(field)) return(field(x))
  method <- model_methods[[name]]
  if (is.null(method)) abort_value(sprintf("a unet has no method or field `%s`", name))
  function(...) method(x, ...)
}

#' @export
.DollarNames.nn_module <- function(x, pattern = "") {
  grep(pattern, c(names(model_methods), names(model_fields)), value = TRUE)
}

#' @export
print.nn_module <- function(x, ...) {
  config <- x$config
  cat(sprintf("An `nn_module` (unet) containing %s parameters: depth %d, %d first channels, %d in, %d out, dropout %g, %s mode.\n",
              format(x$parameter_count, big.mark = ","), config$depth, 2^config$n_filters, config$channels_in,
              config$n_classes, config$dropout, if (x$training) "training" else "evaluation"))
  invisible(x)
}

#' Save and load a model
#'
#' `torch_save(model, path)` writes the model as safetensors, whatever the file's extension: exactly the
#' PyTorch `state_dict` of the post's model, plus its shape (so `torch_load()` needs nothing else and
#' PyTorch can read it with `safetensors.torch.load_file`). The file is written under a temporary name
#' and renamed; a model holding a NaN or an infinity is refused (a `runtime_error` of class
#' `unetseg_numeric_error` naming the file and the tensor) and an existing file is left as it was.
#' `torch_load(path)` reads such a file (written here, by the C API or by the CLI) into a new
#' model in training mode.
#'
#' A module defined in R whose parameters have the names and shapes of a built-in `unet` (as the post's
#' model written in R with [nn_module()]) is saved as that `unet` (its weights, dropout and mode), so the
#' file is the same checkpoint the CLI, C and Python read, and `torch_load()` gives it back as the
#' built-in `unet`, whose outputs are the same. Other modules defined in R are refused: keep their
#' weights with `saveRDS(lapply(model$state_dict(), as.array), path)` and restore them with
#' `model$load_state_dict(readRDS(path))`.
#'
#' @param obj A `unet`, or a module defined in R with a U-Net's parameters.
#' @param path File path.
#' @param ... Ignored (torch compatibility).
#' @return `torch_save()`: `path`, invisibly; `torch_load()`: a `unet`.
#' @examples
#' model <- unet(depth = 2, n_filters = 2, seed = 1)
#' path <- tempfile(fileext = ".pt")
#' torch_save(model, path)
#' loaded <- torch_load(path)
#' loaded$config$depth
#' @export
torch_save <- function(obj, path, ...) {
  call <- sys.call()
  model <- unet_of(obj)
  if (!inherits(model, "unetseg_model")) {
    hint <- if (inherits(obj, "unetseg_module")) " (keep its weights with saveRDS(lapply(model$state_dict(), as.array), path))" else ""
    abort_value(sprintf("torch_save saves a unet, or a module defined in R with a unet's parameter names and shapes; got %s%s",
                        class(obj)[[1L]], hint), call = call)
  }
  lib_call("unetseg_r_model_save", handle_of(model_state(model)), check_path(path, "path"), .call = call)
  invisible(path)
}

#' @rdname torch_save
#' @export
torch_load <- function(path, ...) {
  new_model(lib_call("unetseg_r_model_load", check_path(path, "path"), out = integer(1))$out)
}
