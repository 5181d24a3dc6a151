# The layers and functions the post's model definition uses, as R torch names them: modules made with
# nn_module() over the library's layer ops (forward and backward in the engine), and their nnf_/torch_
# functions.

# `x` rounded to the nearest float32 (ties to even), as the library stores it.
as_float32 <- function(x) {
  if (x == 0) return(x)
  scale <- 2^(23 - floor(log2(abs(x))))
  round(x * scale) / scale
}

# torch's default-init bound 1/sqrt(fan_in), computed in float32 as the built-in model's layers do (so a
# layer drawn after the same seed holds the built-in model's very values).
default_bound <- function(fan_in) as_float32(1 / as_float32(sqrt(fan_in)))

# A parameter of `shape` drawn from U(-bound, bound) by the library's generator (torch's default init).
uniform_parameter <- function(shape, bound) {
  nn_parameter(tensor_result("unetseg_r_tensor_uniform", as.integer(shape), length(shape), -bound, bound))
}

# A layer size argument: a whole number of at least `minimum`.
layer_size <- function(x, name, layer, minimum, call = sys.call(-1)) {
  if (!is.numeric(x) || length(x) != 1L || is.na(x) || x != round(x) || x < minimum || x > .Machine$integer.max) {
    abort_value(sprintf("%s: %s must be a whole number of at least %d, got %s", layer, name, minimum,
                        deparse_short(x)), call = call)
  }
  as.integer(x)
}

# The handle of an optional bias tensor (0 for none).
bias_handle <- function(bias, call) if (is.null(bias)) 0L else tensor_handle(bias, "bias", call = call)

#' Layer functions
#'
#' R torch's functional forms of the post's layers, on the library's ops (each records the graph for
#' `backward()`): `nnf_conv2d(input, weight, bias, stride, padding)`, `nnf_conv_transpose2d(...)`,
#' `nnf_max_pool2d(input, kernel_size, stride)` (stride defaults to `kernel_size`), `nnf_relu(input)`,
#' `nnf_dropout(input, p, training)`, `torch_cat(tensors, dim)` (dim 1 is the first, as in R torch) and
#' `torch_sigmoid(self)`. A wrong shape or size is a `value_error` naming the argument.
#'
#' @param input (tensor) The input, `[N, C, H, W]` for the 2-d layers.
#' @param weight (tensor) `[out, in, k, k]` for conv2d, `[in, out, k, k]` for conv_transpose2d.
#' @param bias (tensor or NULL) `[out]`. Default: `NULL` (none).
#' @param stride (integer) Step of the window. Default: 1 (for max pooling: `kernel_size`).
#' @param padding (integer) Zeros added on each side. Default: 0.
#' @param kernel_size (integer) Width of the pooling window.
#' @param p (numeric) Probability of zeroing an element. Default: 0.5.
#' @param training (logical) Apply dropout (else the identity). Default: `TRUE`.
#' @param tensors (list) Tensors whose sizes agree outside `dim`.
#' @param dim (integer) The dimension to join along, 1-based. Default: 1.
#' @param self (tensor) The input of `torch_sigmoid`.
#' @return A tensor.
#' @examples
#' x <- torch_tensor(array(c(-1, 2, 3, -4), c(1, 1, 2, 2)))
#' as.array(nnf_max_pool2d(nnf_relu(x), 2))
#' dim(torch_cat(list(x, x), 2))
#' @name layer-functions
NULL

#' @rdname layer-functions
#' @export
nnf_conv2d <- function(input, weight, bias = NULL, stride = 1, padding = 0) {
  call <- sys.call()
  tensor_result("unetseg_r_tensor_conv2d", tensor_handle(input, "input", call = call),
                tensor_handle(weight, "weight", call = call), bias_handle(bias, call),
                layer_size(stride, "stride", "conv2d", 1L, call = call),
                layer_size(padding, "padding", "conv2d", 0L, call = call), call = call)
}

#' @rdname layer-functions
#' @export
nnf_conv_transpose2d <- function(input, weight, bias = NULL, stride = 1, padding = 0) {
  call <- sys.call()
  tensor_result("unetseg_r_tensor_conv_transpose2d", tensor_handle(input, "input", call = call),
                tensor_handle(weight, "weight", call = call), bias_handle(bias, call),
                layer_size(stride, "stride", "conv_transpose2d", 1L, call = call),
                layer_size(padding, "padding", "conv_transpose2d", 0L, call = call), call = call)
}

#' @rdname layer-functions
#' @export
nnf_max_pool2d <- function(input, kernel_size, stride = NULL) {
  call <- sys.call()
  kernel <- layer_size(kernel_size, "kernel_size", "max_pool2d", 1L, call = call)
  step <- if (is.null(stride)) kernel else layer_size(stride, "stride", "max_pool2d", 1L, call = call)
  tensor_result("unetseg_r_tensor_max_pool2d", tensor_handle(input, "input", call = call), kernel, step, call = call)
}

#' @rdname layer-functions
#' @export
nnf_relu <- function(input) {
  call <- sys.call()
  tensor_result("unetseg_r_tensor_relu", tensor_handle(input, "input", call = call), call = call)
}

#' @rdname layer-functions
#' @export
nnf_dropout <- function(input, p = 0.5, training = TRUE) {
  call <- sys.call()
  tensor_result("unetseg_r_tensor_dropout", tensor_handle(input, "input", call = call), check_number(p, "p", call = call),
                as.integer(check_flag(training, "training", call = call)), call = call)
}

#' @rdname layer-functions
#' @export
torch_cat <- function(tensors, dim = 1) {
  call <- sys.call()
  if (!is.list(tensors) || length(tensors) == 0L) abort_value("tensors must be a non-empty list of tensors", call = call)
  handles <- vapply(seq_along(tensors), function(i) tensor_handle(tensors[[i]], sprintf("tensors[[%d]]", i), call = call),
                    integer(1))
  tensor_result("unetseg_r_tensor_cat", handles, length(handles),
                layer_size(dim, "dim", "torch_cat", 1L, call = call) - 1L, call = call)
}

#' @rdname layer-functions
#' @export
torch_sigmoid <- function(self) {
  call <- sys.call()
  tensor_result("unetseg_r_tensor_sigmoid", tensor_handle(self, "self", call = call), call = call)
}

#' Layers
#'
#' R torch's layer modules (made with [nn_module()], so they nest in user-defined modules and their
#' parameters appear in `$parameters`): `nn_conv2d` and `nn_conv_transpose2d` (square kernels, no dilation
#' or groups; weights and biases drawn from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as torch's default init, by
#' the generator [torch_manual_seed()] seeds), `nn_relu`, `nn_dropout` (active in training mode only),
#' `nn_max_pool2d`, `nn_sequential(...)` (runs its modules in order; named `"0"`, `"1"`, ...) and
#' `nn_module_list(modules)` (`$append(module)`, `[[i]]`, `length()`).
#'
#' @param in_channels,out_channels (integer) Channels of the input and the output.
#' @param kernel_size (integer) Width of the square kernel or window.
#' @param stride (integer) Step of the kernel. Default: 1 (for max pooling: `kernel_size`).
#' @param padding (integer) Zeros added on each side. Default: 0.
#' @param bias (logical) Whether the layer has a bias. Default: `TRUE`.
#' @param p (numeric) Dropout probability. Default: 0.5.
#' @param ... For `nn_sequential`: the modules, in order.
#' @param modules (list) For `nn_module_list`: the first modules. Default: none.
#' @return A module.
#' @examples
#' torch_manual_seed(1)
#' block <- nn_sequential(nn_conv2d(3, 4, kernel_size = 3, padding = 1), nn_relu(), nn_dropout(0.6))
#' names(block$parameters)
#' block$eval()
#' dim(block(torch_tensor(array(1, c(1, 3, 8, 8)))))
#' @name layers
NULL

#' @rdname layers
#' @export
nn_conv2d <- nn_module(
  "nn_conv2d",
  initialize = function(in_channels, out_channels, kernel_size, stride = 1, padding = 0, bias = TRUE) {
    self$in_channels <- layer_size(in_channels, "in_channels", "nn_conv2d", 1L)
    self$out_channels <- layer_size(out_channels, "out_channels", "nn_conv2d", 1L)
    self$kernel_size <- layer_size(kernel_size, "kernel_size", "nn_conv2d", 1L)
    self$stride <- layer_size(stride, "stride", "nn_conv2d", 1L)
    self$padding <- layer_size(padding, "padding", "nn_conv2d", 0L)
    bound <- default_bound(self$in_channels * self$kernel_size^2)
    self$weight <- uniform_parameter(c(self$out_channels, self$in_channels, self$kernel_size, self$kernel_size), bound)
    if (check_flag(bias, "bias")) self$bias <- uniform_parameter(self$out_channels, bound)
  },
  forward = function(input) nnf_conv2d(input, self$weight, self$bias, self$stride, self$padding)
)

#' @rdname layers
#' @export
nn_conv_transpose2d <- nn_module(
  "nn_conv_transpose2d",
  initialize = function(in_channels, out_channels, kernel_size, stride = 1, padding = 0, bias = TRUE) {
    self$in_channels <- layer_size(in_channels, "in_channels", "nn_conv_transpose2d", 1L)
    self$out_channels <- layer_size(out_channels, "out_channels", "nn_conv_transpose2d", 1L)
    self$kernel_size <- layer_size(kernel_size, "kernel_size", "nn_conv_transpose2d", 1L)
    self$stride <- layer_size(stride, "stride", "nn_conv_transpose2d", 1L)
    self$padding <- layer_size(padding, "padding", "nn_conv_transpose2d", 0L)
    # torch takes the fan-in from the weight's second dimension, out_channels here
    bound <- default_bound(self$out_channels * self$kernel_size^2)
    self$weight <- uniform_parameter(c(self$in_channels, self$out_channels, self$kernel_size, self$kernel_size), bound)
    if (check_flag(bias, "bias")) self$bias <- uniform_parameter(self$out_channels, bound)
  },
  forward = function(input) nnf_conv_transpose2d(input, self$weight, self$bias, self$stride, self$padding)
)

#' @rdname layers
#' @export
nn_relu <- nn_module("nn_relu", forward = function(input) nnf_relu(input))

#' @rdname layers
#' @export
nn_dropout <- nn_module(
  "nn_dropout",
  initialize = function(p = 0.5) self$p <- check_number(p, "p"),
  forward = function(input) nnf_dropout(input, self$p, self$training)
)

#' @rdname layers
#' @export
nn_max_pool2d <- nn_module(
  "nn_max_pool2d",
  initialize = function(kernel_size, stride = NULL) {
    self$kernel_size <- layer_size(kernel_size, "kernel_size", "nn_max_pool2d", 1L)
    self$stride <- if (is.null(stride)) self$kernel_size else layer_size(stride, "stride", "nn_max_pool2d", 1L)
  },
  forward = function(input) nnf_max_pool2d(input, self$kernel_size, self$stride)
)

# Registers `modules` on `self` under the names "0", "1", ... after the ones it has.
append_modules <- function(self, modules) {
  for (module in modules) {
    if (!is_nn_module(module)) abort_value(sprintf("modules must be nn_modules, got %s", class(module)[[1L]]))
    self$add_module(as.character(length(self)), module)
  }
  invisible(self)
}

#' @rdname layers
#' @export
nn_module_list <- nn_module(
  "nn_module_list",
  initialize = function(modules = list()) append_modules(self, modules),
  append = function(module) append_modules(self, list(module))
)

#' @rdname layers
#' @export
nn_sequential <- nn_module(
  "nn_sequential",
  initialize = function(...) append_modules(self, list(...)),
  forward = function(input) {
    for (i in seq_len(length(self))) input <- self[[i]](input)
    input
  }
)
