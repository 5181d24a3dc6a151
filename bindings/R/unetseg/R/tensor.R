# Tensors: float32, contiguous, row-major (images NCHW) inside the library; R sees them with torch's
# conventions (dim(x) is the shape, as.array(x)[i, j, ...] is element [i, j, ...]). Data cross as R
# doubles: R's column-major arrays are reordered with aperm() on the way in and out.

new_tensor <- function(handle) new_handle_object(handle, "unetseg_r_tensor_free", "unetseg_tensor")

# Calls the library function `name` on `...` and wraps the tensor it returns.
tensor_result <- function(name, ..., call = sys.call(-1)) {
  new_tensor(lib_call(name, ..., out = integer(1), .call = call)$out)
}

#' Is this a unetseg tensor?
#'
#' @param x Any object.
#' @return `TRUE` for a tensor made by this package.
#' @examples
#' is_torch_tensor(torch_tensor(1:3))
#' @export
is_torch_tensor <- function(x) inherits(x, "unetseg_tensor")

# The handle of tensor `x`, checked.
tensor_handle <- function(x, name = "x", call = sys.call(-1)) {
  if (!is_torch_tensor(x)) abort_value(sprintf("%s must be a tensor, got %s", name, class(x)[[1L]]), call = call)
  handle_of(x)
}

#' Create a tensor
#'
#' Makes a float32 tensor from an R number, vector, matrix or array: a vector becomes a 1-dimensional
#' tensor of its length, an array a tensor of its `dim()` (with the same element at `[i, j, ...]`). R's
#' doubles become float32.
#'
#' @param data A numeric or logical vector, matrix or array.
#' @param requires_grad Whether gradients flow to the tensor (a leaf).
#' @param dtype,device Accepted for torch compatibility: `"float32"` / `NULL`, and the CPU.
#' @return A tensor (class `unetseg_tensor`).
#' @examples
#' x <- torch_tensor(array(1:24, c(2, 3, 4)))
#' dim(x)
#' as.array(x)[2, 3, 4]
#' @export
torch_tensor <- function(data, requires_grad = FALSE, dtype = NULL, device = NULL) {
  if (!is.numeric(data) && !is.logical(data)) abort_value(sprintf("data must be numeric, got %s", class(data)[[1L]]))
  if (!length(data)) abort_value("data is empty: tensors have at least one element")
  if (!is.null(dtype) && !identical(dtype, "float32") && !identical(dtype, "float")) {
    abort_value(sprintf("dtype must be float32 (unetseg tensors are float32), got %s", deparse_short(dtype)))
  }
  if (!is.null(device)) device_type(device)
  check_flag(requires_grad, "requires_grad")
  shape <- if (is.null(dim(data))) length(data) else dim(data)
  values <- if (length(shape) > 1L) aperm(array(as.double(data), shape), rev(seq_along(shape))) else data
  tensor_result("unetseg_r_tensor_create", as.double(values), as.double(length(data)), as.integer(shape),
                length(shape), as.integer(requires_grad))
}

#' @export
dim.unetseg_tensor <- function(x) {
  result <- lib_call("unetseg_r_tensor_shape", handle_of(x), shape = integer(8L), 8L, ndim = integer(1))
  result$shape[seq_len(result$ndim)]
}

#' @export
length.unetseg_tensor <- function(x) as.integer(prod(dim(x)))

# The elements, row-major, as doubles.
tensor_values <- function(x) {
  n <- prod(dim(x))
  lib_call("unetseg_r_tensor_data", handle_of(x), values = double(n), as.double(n))$values
}

#' Convert a tensor to R
#'
#' `as.array()` gives an array of the tensor's shape (`as.array(x)[i, j, ...]` is element `[i, j, ...]`;
#' a 0-dimensional tensor gives one number); `as.numeric()` the elements in R's (column-major) order of
#' that array; `as.matrix()` a matrix for a 2-dimensional tensor.
#'
#' @param x A tensor.
#' @param ... Ignored.
#' @return A numeric array, vector or matrix.
#' @examples
#' x <- torch_tensor(matrix(1:6, 2))
#' as.array(x)
#' as.numeric(torch_tensor(2.5))
#' @name as.array.unetseg_tensor
#' @export
as.array.unetseg_tensor <- function(x, ...) {
  shape <- dim(x)
  values <- tensor_values(x)
  if (length(shape) == 0L) return(values)
  if (length(shape) == 1L) return(array(values, shape))
  aperm(array(values, rev(shape)), rev(seq_along(shape)))
}

#' @rdname as.array.unetseg_tensor
#' @export
as.numeric.unetseg_tensor <- function(x, ...) as.vector(as.array(x))

#' @rdname as.array.unetseg_tensor
#' @export
as.double.unetseg_tensor <- function(x, ...) as.vector(as.array(x))

#' @rdname as.array.unetseg_tensor
#' @export
as.matrix.unetseg_tensor <- function(x, ...) {
  if (length(dim(x)) != 2L) abort_value(sprintf("as.matrix needs a 2-dimensional tensor, got shape %s", shape_text(dim(x))))
  as.array(x)
}

shape_text <- function(shape) paste0("[", paste(shape, collapse = ", "), "]")

#' @export
print.unetseg_tensor <- function(x, ...) {
  if (identical(handle_of(x), 0L)) {
    cat("unetseg tensor (freed)\n")
    return(invisible(x))
  }
  shape <- dim(x)
  cat(sprintf("unetseg tensor %s, float32, cpu%s\n", shape_text(shape),
              if (isTRUE(x$requires_grad)) ", requires_grad" else ""))
  if (prod(shape) <= 64) print(as.array(x)) else cat(sprintf("(%s elements)\n", format(prod(shape))))
  invisible(x)
}

# ---- Arithmetic -------------------------------------------------------------------------------------

#' Tensor arithmetic
#'
#' `+`, `-`, `*` and `/` between two tensors of the same shape, or a tensor and one number on either
#' side, are differentiable and give new tensors; `x > s` (and `s < x`) gives 1 where an element exceeds
#' the number `s`, else 0 (not differentiable). Unary minus is `x * -1`.
#'
#' @param e1,e2 Tensors or numbers.
#' @return A tensor.
#' @examples
#' x <- torch_tensor(c(0.2, 0.7))
#' as.numeric(1 - x * 2)
#' as.numeric(x > 0.5)
#' @name tensor-arithmetic
#' @export
Ops.unetseg_tensor <- function(e1, e2) {
  call <- sys.call()
  if (nargs() == 1L) {
    if (.Generic == "-") return(tensor_result("unetseg_r_tensor_mul_scalar", handle_of(e1), -1, call = call))
    if (.Generic == "+") return(e1)
    abort_value(sprintf("unary %s is not supported for tensors", .Generic), call = call)
  }
  ops <- c("+" = "add", "-" = "sub", "*" = "mul", "/" = "div")
  left <- is_torch_tensor(e1)
  right <- is_torch_tensor(e2)
  if (.Generic %in% c(">", "<")) {
    if (.Generic == ">" && left && !right) return(tensor_result("unetseg_r_tensor_gt_scalar", handle_of(e1), scalar_operand(e2, call), call = call))
    if (.Generic == "<" && right && !left) return(tensor_result("unetseg_r_tensor_gt_scalar", handle_of(e2), scalar_operand(e1, call), call = call))
    abort_value(sprintf("tensors support `tensor %s number` comparisons only as tensor > number or number < tensor", .Generic), call = call)
  }
  if (!.Generic %in% names(ops)) abort_value(sprintf("%s is not supported for tensors", .Generic), call = call)
  op <- ops[[.Generic]]
  if (left && right) return(tensor_result(paste0("unetseg_r_tensor_", op), handle_of(e1), handle_of(e2), call = call))
  if (left) return(tensor_result(paste0("unetseg_r_tensor_", op, "_scalar"), handle_of(e1), scalar_operand(e2, call), call = call))
  tensor_result(paste0("unetseg_r_tensor_r", op, "_scalar"), scalar_operand(e1, call), handle_of(e2), call = call)
}

scalar_operand <- function(x, call) {
  if ((!is.numeric(x) && !is.logical(x)) || length(x) != 1L || is.na(x)) {
    abort_value(sprintf("tensors combine with tensors or single numbers, got %s", deparse_short(x)), call = call)
  }
  as.double(x)
}

# ---- Methods and fields through `$` -----------------------------------------------------------------

# Integer sizes from `...`: either one vector (view(c(2, 3))) or several numbers (view(2, 3)).
size_arguments <- function(..., call) {
  sizes <- unlist(list(...))
  # an explicitly empty size vector (`x$view(integer())`) is the 0-dim shape of a single number
  if (!...length() || !is.numeric(sizes) || anyNA(sizes) || any(sizes != round(sizes))) {
    abort_value("sizes must be whole numbers", call = call)
  }
  as.integer(sizes)
}

tensor_view <- function(x, ..., call = sys.call(-1)) {
  sizes <- size_arguments(..., call = call)
  tensor_result("unetseg_r_tensor_view", handle_of(x), sizes, length(sizes), call = call)
}

# Dimension `dim` (1-based; negative counts from the end, as in torch) of a tensor of `rank` dimensions.
dimension_argument <- function(dim, rank, call) {
  d <- check_number(dim, "dim", whole = TRUE, call = call)
  if (d < 0) d <- rank + d + 1
  if (d < 1 || d > rank) abort_value(sprintf("dim %s is out of range for %d dimensions", format(dim), rank), call = call)
  as.integer(d)
}

tensor_permute <- function(x, dims, call = sys.call(-1)) {
  shape <- dim(x)
  dims <- as.integer(unlist(dims))
  if (length(dims) != length(shape) || !setequal(dims, seq_along(shape))) {
    abort_value(sprintf("permute needs a permutation of 1:%d, got %s", length(shape), deparse_short(dims)), call = call)
  }
  torch_tensor(aperm(as.array(x), dims))
}

tensor_squeeze <- function(x, dim = NULL, call = sys.call(-1)) {
  shape <- dim(x)
  keep <- if (is.null(dim)) shape != 1L else {
    d <- dimension_argument(dim, length(shape), call)
    seq_along(shape) != d | shape != 1L
  }
  tensor_view(x, if (any(keep)) shape[keep] else integer(), call = call)
}

tensor_unsqueeze <- function(x, dim, call = sys.call(-1)) {
  shape <- dim(x)
  d <- dimension_argument(dim, length(shape) + 1L, call)
  tensor_view(x, append(shape, 1L, after = d - 1L), call = call)
}

tensor_grad <- function(x) {
  handle <- lib_call("unetseg_r_tensor_grad", handle_of(x), grad = integer(1))$grad
  if (identical(handle, 0L)) NULL else new_tensor(handle)
}

tensor_to <- function(x, device = NULL, dtype = NULL, ..., call = sys.call(-1)) {
  if (!is.null(device)) device_type(device, call = call)
  if (!is.null(dtype) && !identical(dtype, "float32") && !identical(dtype, "float")) {
    abort_value("unetseg tensors are float32", call = call)
  }
  x
}

tensor_methods <- list(
  view = tensor_view,
  reshape = tensor_view,
  sum = function(x) tensor_result("unetseg_r_tensor_sum", handle_of(x)),
  mean = function(x) tensor_result("unetseg_r_tensor_mean", handle_of(x)),
  sigmoid = function(x) tensor_result("unetseg_r_tensor_sigmoid", handle_of(x)),
  item = function(x) lib_call("unetseg_r_tensor_item", handle_of(x), value = double(1))$value,
  backward = function(x) {
    lib_call("unetseg_r_tensor_backward", handle_of(x))
    invisible(NULL)
  },
  permute = tensor_permute,
  squeeze = tensor_squeeze,
  unsqueeze = tensor_unsqueeze,
  detach = function(x) tensor_result("unetseg_r_tensor_detach", handle_of(x)),
  to = tensor_to,
  cpu = function(x) x,
  numel = function(x) length(x),
  dim = function(x) length(dim(x)),
  size = function(x, dim = NULL) {
    shape <- dim(x)
    if (is.null(dim)) shape else shape[[dimension_argument(dim, length(shape), sys.call())]]
  },
  zero_grad = function(x) {
    lib_call("unetseg_r_tensor_zero_grad", handle_of(x))
    invisible(x)
  },
  copy_ = function(x, src) {
    if (!is_torch_tensor(src)) src <- torch_tensor(src)
    values <- tensor_values(src)
    if (!identical(dim(src), dim(x))) {
      abort_value(sprintf("src has shape %s, the tensor %s", shape_text(dim(src)), shape_text(dim(x))), call = sys.call())
    }
    lib_call("unetseg_r_tensor_copy_from", handle_of(x), values, as.double(length(values)))
    invisible(x)
  },
  requires_grad_ = function(x, requires_grad = TRUE) {
    lib_call("unetseg_r_tensor_set_requires_grad", handle_of(x), as.integer(check_flag(requires_grad, "requires_grad")))
    x
  }
)

tensor_fields <- list(
  shape = function(x) dim(x),
  grad = tensor_grad,
  requires_grad = function(x) lib_call("unetseg_r_tensor_requires_grad", handle_of(x), value = integer(1))$value == 1L,
  dtype = function(x) "float32",
  device = function(x) torch_device("cpu")
)

#' Tensor methods
#'
#' The torch methods the post uses, called as `x$name(...)`: `view(...)` / `reshape(...)` (one size may be
#' -1; differentiable), `sum()`, `mean()`, `sigmoid()` (differentiable), `item()` (the value of a
#' one-element tensor), `backward()` (from a one-element loss), `permute(dims)`, `squeeze(dim)`,
#' `unsqueeze(dim)`, `detach()`, `to(device = , dtype = )` and `cpu()` (the same tensor: the CPU is the
#' only device), `numel()`, `dim()`, `size(dim)`, `zero_grad()`, `requires_grad_()` and `copy_(src)` (overwrites
#' the elements with those of `src`, a tensor or array of the same shape, outside autograd); and the fields
#' `shape`, `grad` (`NULL` before `backward()`), `requires_grad` (settable on leaves with
#' `x$requires_grad <- TRUE`), `dtype` and `device`. `permute` copies and records no graph.
#'
#' @param x A tensor.
#' @param name A method or field name.
#' @param value For `$<-`: `TRUE` or `FALSE` for `requires_grad`.
#' @return The method as a function, or the field's value.
#' @examples
#' x <- torch_tensor(c(1, 2, 3), requires_grad = TRUE)
#' loss <- (x * x)$sum()
#' loss$backward()
#' as.numeric(x$grad)
#' img <- torch_tensor(array(0.5, c(3, 4, 4)))
#' dim(img$permute(c(2, 3, 1)))
#' @name tensor-methods
#' @export
`$.unetseg_tensor` <- function(x, name) {
  field <- tensor_fields[[name]]
  if (!is.null(field)) return(field(x))
  method <- tensor_methods[[name]]
  if (is.null(method)) abort_value(sprintf("tensors have no method or field `%s`", name))
  function(...) method(x, ...)
}

#' @rdname tensor-methods
#' @export
`$<-.unetseg_tensor` <- function(x, name, value) {
  if (!identical(name, "requires_grad")) abort_value(sprintf("the tensor field `%s` cannot be set", name))
  lib_call("unetseg_r_tensor_set_requires_grad", handle_of(x), as.integer(check_flag(value, "requires_grad")))
  x
}

#' @export
.DollarNames.unetseg_tensor <- function(x, pattern = "") {
  grep(pattern, c(names(tensor_methods), names(tensor_fields)), value = TRUE)
}

#' Convert RGB images to grayscale
#'
#' torchvision's `transform_rgb_to_grayscale`: 0.2989 R + 0.587 G + 0.114 B over the channel dimension of
#' a `[3, H, W]` image (giving `[H, W]`) or a `[N, 3, H, W]` batch (giving `[N, H, W]`). A copy that
#' records no graph.
#'
#' @param img A tensor `[3, H, W]` or `[N, 3, H, W]`.
#' @return A tensor without the channel dimension.
#' @examples
#' img <- torch_tensor(array(c(rep(1, 4), rep(0, 8)), c(2, 2, 3)))$permute(c(3, 1, 2))
#' as.array(transform_rgb_to_grayscale(img))
#' @export
transform_rgb_to_grayscale <- function(img) {
  shape <- dim(img)
  rank <- length(shape)
  if (!is_torch_tensor(img) || !rank %in% c(3L, 4L) || shape[[rank - 2L]] != 3L) {
    abort_value("transform_rgb_to_grayscale needs a tensor [3, H, W] or [N, 3, H, W]")
  }
  a <- as.array(img)
  gray <- if (rank == 3L) {
    0.2989 * a[1, , , drop = FALSE] + 0.587 * a[2, , , drop = FALSE] + 0.114 * a[3, , , drop = FALSE]
  } else {
    0.2989 * a[, 1, , , drop = FALSE] + 0.587 * a[, 2, , , drop = FALSE] + 0.114 * a[, 3, , , drop = FALSE]
  }
  torch_tensor(array(gray, shape[-(rank - 2L)]))
}
