# Optimisation: SGD, the one-cycle schedule, and the post's binary cross-entropy.

# `$` for objects whose methods and fields live in lists (optimiser, scheduler, dataset, loader).
dispatch_dollar <- function(x, name, methods, fields, what) {
  field <- fields[[name]]
  if (!is.null(field)) return(field(x))
  method <- methods[[name]]
  if (is.null(method)) abort_value(sprintf("%s has no method or field `%s`", what, name), call = sys.call(-1))
  function(...) method(x, ...)
}

#' SGD optimiser
#'
#' Stochastic gradient descent with torch's rules (momentum buffer `b = momentum * b + (1 - dampening) *
#' g`, Nesterov optional) over the given parameter tensors, as torch's `optim_sgd`. Methods:
#' `optimizer$zero_grad()` drops the parameters' gradients, `optimizer$step()` updates every parameter
#' that has one; the field `param_groups` gives the current `lr` and `momentum` (set by a scheduler).
#'
#' @param params A list of tensors, such as `model$parameters`.
#' @param lr Learning rate.
#' @param momentum Momentum factor.
#' @param dampening Dampening of the momentum.
#' @param weight_decay L2 penalty.
#' @param nesterov Whether to use Nesterov momentum.
#' @return An optimiser (class `optim_sgd`).
#' @examples
#' model <- unet(depth = 2, n_filters = 2, seed = 1)
#' optimizer <- optim_sgd(model$parameters, lr = 0.1, momentum = 0.9)
#' optimizer$param_groups[[1]]$lr
#' @export
optim_sgd <- function(params, lr = 0.01, momentum = 0, dampening = 0, weight_decay = 0, nesterov = FALSE) {
  if (is_torch_tensor(params)) params <- list(params)
  if (!is.list(params) || !length(params) || !all(vapply(params, is_torch_tensor, logical(1)))) {
    abort_value("params must be a non-empty list of tensors, such as model$parameters")
  }
  settings <- c(check_number(lr, "lr"), check_number(momentum, "momentum"), check_number(dampening, "dampening"),
                check_number(weight_decay, "weight_decay"))
  handles <- vapply(params, handle_of, integer(1))
  handle <- lib_call("unetseg_r_sgd_create", handles, length(handles), settings,
                     as.integer(check_flag(nesterov, "nesterov")), out = integer(1))$out
  optimizer <- new_handle_object(handle, "unetseg_r_sgd_free", c("optim_sgd", "torch_optimizer"))
  assign("params", params, envir = optimizer)
  optimizer
}

sgd_methods <- list(
  zero_grad = function(x) {
    lib_call("unetseg_r_sgd_zero_grad", handle_of(x))
    invisible(NULL)
  },
  step = function(x) {
    lib_call("unetseg_r_sgd_step", handle_of(x))
    invisible(NULL)
  }
)

sgd_fields <- list(
  param_groups = function(x) {
    values <- lib_call("unetseg_r_sgd_get", handle_of(x), values = double(2))$values
    list(list(params = field_of(x, "params"), lr = values[[1]], momentum = values[[2]]))
  }
)

#' @rdname optim_sgd
#' @param x An optimiser.
#' @param name `zero_grad`, `step` or `param_groups`.
#' @export
`$.torch_optimizer` <- function(x, name) dispatch_dollar(x, name, sgd_methods, sgd_fields, "an optimizer")

#' One-cycle learning-rate schedule
#'
#' torch's `lr_one_cycle` with cosine annealing: the learning rate rises from `max_lr / div_factor` to
#' `max_lr` over the first `pct_start` of the steps and falls to `max_lr / div_factor / final_div_factor`,
#' while the momentum cycles from `max_momentum` to `base_momentum` and back. It sets the optimiser's rate
#' when created; call `scheduler$step()` after every batch (stepping past the last step is an error, as in
#' torch). `scheduler$get_lr()` gives the current rate; the fields `momentum`, `step_count` and
#' `total_steps` the rest.
#'
#' @param optimizer An [optim_sgd()] optimiser.
#' @param max_lr Peak learning rate.
#' @param total_steps Total steps, or `NULL` to give `epochs` and `steps_per_epoch`.
#' @param epochs,steps_per_epoch Epochs and batches per epoch (`length(dataloader)`).
#' @param pct_start Fraction of the steps spent raising the rate.
#' @param anneal_strategy `"cos"` (the only strategy).
#' @param cycle_momentum Whether momentum is cycled.
#' @param base_momentum,max_momentum The momentum's range.
#' @param div_factor,final_div_factor Initial rate `max_lr / div_factor`; final rate initial / `final_div_factor`.
#' @param ... Ignored (torch compatibility).
#' @return A scheduler (class `lr_one_cycle`).
#' @examples
#' model <- unet(depth = 2, n_filters = 2, seed = 1)
#' optimizer <- optim_sgd(model$parameters, lr = 0.1, momentum = 0.9)
#' scheduler <- lr_one_cycle(optimizer, max_lr = 0.1, epochs = 2, steps_per_epoch = 5)
#' scheduler$get_lr()
#' scheduler$step()
#' @export
lr_one_cycle <- function(optimizer, max_lr, total_steps = NULL, epochs = NULL, steps_per_epoch = NULL,
                         pct_start = 0.3, anneal_strategy = "cos", cycle_momentum = TRUE, base_momentum = 0.85,
                         max_momentum = 0.95, div_factor = 25, final_div_factor = 1e4, ...) {
  if (!inherits(optimizer, "optim_sgd")) abort_value("optimizer must be made by optim_sgd()")
  if (!identical(anneal_strategy, "cos")) abort_value("anneal_strategy must be \"cos\" (the only strategy unetseg has)")
  steps <- if (!is.null(total_steps)) {
    if (!is.null(epochs) || !is.null(steps_per_epoch)) abort_value("give total_steps or epochs and steps_per_epoch, not both")
    c(1, check_integer(total_steps, "total_steps"))
  } else {
    if (is.null(epochs) || is.null(steps_per_epoch)) abort_value("give total_steps, or epochs and steps_per_epoch")
    c(check_integer(epochs, "epochs"), check_integer(steps_per_epoch, "steps_per_epoch"))
  }
  settings <- c(check_number(max_lr, "max_lr"), check_number(pct_start, "pct_start"), check_number(div_factor, "div_factor"),
                check_number(final_div_factor, "final_div_factor"), check_number(base_momentum, "base_momentum"),
                check_number(max_momentum, "max_momentum"))
  if (any(steps > .Machine$integer.max)) abort_value("too many steps")
  handle <- lib_call("unetseg_r_one_cycle_create", handle_of(optimizer), settings, as.integer(steps),
                     as.integer(check_flag(cycle_momentum, "cycle_momentum")), out = integer(1))$out
  scheduler <- new_handle_object(handle, "unetseg_r_one_cycle_free", c("lr_one_cycle", "lr_scheduler"))
  assign("optimizer", optimizer, envir = scheduler)
  scheduler
}

schedule_values <- function(x) lib_call("unetseg_r_one_cycle_get", handle_of(x), values = double(4))$values

scheduler_methods <- list(
  step = function(x) {
    lib_call("unetseg_r_one_cycle_step", handle_of(x))
    invisible(NULL)
  },
  get_lr = function(x) schedule_values(x)[[1]]
)

scheduler_fields <- list(
  momentum = function(x) schedule_values(x)[[2]],
  step_count = function(x) schedule_values(x)[[3]],
  total_steps = function(x) schedule_values(x)[[4]],
  optimizer = function(x) field_of(x, "optimizer")
)

#' @rdname lr_one_cycle
#' @param x A scheduler.
#' @param name `step`, `get_lr`, `momentum`, `step_count`, `total_steps` or `optimizer`.
#' @export
`$.lr_scheduler` <- function(x, name) dispatch_dollar(x, name, scheduler_methods, scheduler_fields, "a scheduler")

#' Binary cross-entropy
#'
#' The mean binary cross-entropy of probabilities `input` against `target` (same shape, values in
#' `[0, 1]`), as torch's `nnf_binary_cross_entropy` (logs clamped at -100); differentiable.
#'
#' @param input Predicted probabilities, a tensor.
#' @param target Targets, a tensor of the same shape.
#' @param weight Must be `NULL` (no per-element weights).
#' @param reduction `"mean"` (the only reduction).
#' @return A 0-dimensional tensor.
#' @examples
#' p <- torch_tensor(c(0.9, 0.2))
#' y <- torch_tensor(c(1, 0))
#' nnf_binary_cross_entropy(p, y)$item()
#' @export
nnf_binary_cross_entropy <- function(input, target, weight = NULL, reduction = "mean") {
  if (!is.null(weight)) abort_value("weight must be NULL: unetseg has no weighted binary cross-entropy")
  if (!identical(reduction, "mean")) abort_value("reduction must be \"mean\"")
  tensor_result("unetseg_r_loss_bce", tensor_handle(input, "input"), tensor_handle(target, "target"))
}

#' Dice loss
#'
#' The post's `calc_dice_loss`: `1 - (2 sum(p t) + 1) / (sum(p) + sum(t) + 1)` over the whole flattened
#' batch, computed in the library in one step; differentiable. The post's R definition, built from tensor
#' arithmetic, gives the same value.
#'
#' @param input Predicted probabilities, a tensor.
#' @param target Targets, a tensor with as many elements.
#' @return A 0-dimensional tensor.
#' @examples
#' nnf_dice_loss(torch_tensor(c(1, 0)), torch_tensor(c(1, 0)))$item()
#' @export
nnf_dice_loss <- function(input, target) {
  tensor_result("unetseg_r_loss_dice", tensor_handle(input, "input"), tensor_handle(target, "target"))
}
