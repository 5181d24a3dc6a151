# Models defined in R, as R torch's nn_module(): a generator whose instances are functions (calling one
# runs its forward) with `self`, submodules and parameters registered by assignment, and torch's dotted
# parameter names. The built-in layers (nn_conv2d, ...) are such modules over the library's layer ops.

#' Define a module
#'
#' R torch's `nn_module()`: returns a constructor. Calling the constructor makes a module, runs
#' `initialize(...)` with `self` bound to it, and returns it. Inside the methods, `self$name <- value`
#' registers a submodule (a value that is an `nn_module`), a parameter (a tensor made by
#' [nn_parameter()]) or a plain field. Calling the module, `module(x, ...)`, runs `forward(x, ...)`.
#'
#' Every module has the fields `parameters` (a named list of its parameter tensors and those of its
#' submodules, with torch's dotted names such as `"down_path.0.conv_block.conv_block.0.weight"`, the
#' module's own first) and `training`, and the methods `train(mode = TRUE)`, `eval()`, `to(device = "cpu")`
#' (the CPU is the only device), `cpu()`, `zero_grad()`, `add_module(name, module)`, `register_parameter(name,
#' param)`, `children()` (a named list) and `modules()`; `length()` is the number of submodules and
#' `module[[i]]` the i-th one (as in [nn_module_list()]).
#'
#' @param classname (character) The class of the modules. Default: `"nn_module"` alone.
#' @param initialize (function) Runs when a module is made, with `self`. Default: does nothing.
#' @param forward (function) What calling the module does. Default: an error.
#' @param ... Further methods (functions, called as `module$name(...)` with `self` bound) or fields.
#' @return A constructor: a function taking `initialize`'s arguments.
#' @examples
#' affine <- nn_module("affine",
#'   initialize = function(n) self$conv <- nn_conv2d(n, n, kernel_size = 1),
#'   forward = function(x) nnf_relu(self$conv(x)))
#' torch_manual_seed(1)
#' model <- affine(2)
#' names(model$parameters)
#' dim(model(torch_tensor(array(1, c(1, 2, 4, 4)))))
#' @export
nn_module <- function(classname = NULL, initialize = NULL, forward = NULL, ...) {
  methods <- list(...)
  if (!is.null(forward)) methods$forward <- forward
  if (!is.null(initialize) && !is.function(initialize)) abort_value("initialize must be a function")
  classes <- c(classname, "unetseg_module", "nn_module")
  constructor <- function(...) {
    module <- new_module(classes, methods)
    if (!is.null(initialize)) bind_method(initialize, module)(...)
    module
  }
  class(constructor) <- c("nn_module_generator", "function")
  constructor
}

# A module of `classes` with the methods `methods`: a function running its forward, whose environment holds
# `state` (submodules, parameters, fields, bound methods, the training flag).
new_module <- function(classes, methods) {
  state <- new.env(parent = emptyenv())
  state$modules <- list()
  state$parameters <- list()
  state$fields <- new.env(parent = emptyenv())
  state$training <- TRUE
  module <- function(...) {
    forward <- state$methods$forward
    if (is.null(forward)) abort_value(sprintf("the module `%s` has no forward method", class(module)[[1L]]))
    forward(...)
  }
  environment(module) <- list2env(list(state = state), parent = environment(new_module))
  class(module) <- classes
  state$methods <- lapply(methods, function(method) if (is.function(method)) bind_method(method, module) else method)
  module
}

# `method` with `self` bound to `module` (a new environment between the method and where it was written).
bind_method <- function(method, module) {
  environment(method) <- list2env(list(self = module), parent = environment(method))
  method
}

module_state <- function(module) get("state", envir = environment(module), inherits = FALSE)

is_nn_module <- function(x) inherits(x, "nn_module")

#' Mark a tensor as a parameter
#'
#' R torch's `nn_parameter()`: the tensor, requiring gradients, registered as a parameter when assigned to
#' a module field (`self$weight <- nn_parameter(x)`).
#'
#' @param x (tensor) The values; the parameter is this tensor itself.
#' @param requires_grad (logical) Whether gradients flow to it. Default: `TRUE`.
#' @return `x`, of class `nn_parameter` too.
#' @examples
#' w <- nn_parameter(torch_tensor(c(1, 2)))
#' w$requires_grad
#' @export
nn_parameter <- function(x, requires_grad = TRUE) {
  tensor_handle(x, "x")
  x$requires_grad <- requires_grad
  if (!inherits(x, "nn_parameter")) class(x) <- c("nn_parameter", class(x))
  x
}

# The named parameters of `module` and its submodules, torch's named_parameters() order and names.
module_named_parameters <- function(module, prefix = "") {
  if (!inherits(module, "unetseg_module")) {
    own <- module$parameters
    if (length(own)) names(own) <- paste0(prefix, names(own))
    return(own)
  }
  state <- module_state(module)
  own <- state$parameters
  if (length(own)) names(own) <- paste0(prefix, names(own))
  for (name in names(state$modules)) {
    own <- c(own, module_named_parameters(state$modules[[name]], paste0(prefix, name, ".")))
  }
  own
}

# All modules below `module` (itself first), depth first.
module_tree <- function(module) {
  if (!inherits(module, "unetseg_module")) return(list(module))
  c(list(module), unlist(lapply(module_state(module)$modules, module_tree), recursive = FALSE))
}

set_module_training <- function(module, mode) {
  for (m in module_tree(module)) {
    if (inherits(m, "unetseg_module")) assign("training", mode, envir = module_state(m)) else m$train(mode)
  }
  invisible(module)
}

add_submodule <- function(module, name, value) {
  state <- module_state(module)
  state$parameters[[name]] <- NULL
  if (exists(name, envir = state$fields, inherits = FALSE)) rm(list = name, envir = state$fields)
  state$modules[[name]] <- value
  invisible(module)
}

add_parameter <- function(module, name, value) {
  state <- module_state(module)
  state$modules[[name]] <- NULL
  if (exists(name, envir = state$fields, inherits = FALSE)) rm(list = name, envir = state$fields)
  state$parameters[[name]] <- value
  invisible(module)
}

module_builtin_methods <- list(
  train = function(module, mode = TRUE) set_module_training(module, check_flag(mode, "mode")),
  eval = function(module) set_module_training(module, FALSE),
  to = function(module, device = NULL, dtype = NULL, ...) {
    if (!is.null(device)) device_type(device, call = sys.call())
    invisible(module)
  },
  cpu = function(module) invisible(module),
  zero_grad = function(module) {
    for (p in module_named_parameters(module)) p$zero_grad()
    invisible(module)
  },
  add_module = function(module, name, value) {
    if (!is_nn_module(value)) abort_value(sprintf("module must be an nn_module, got %s", class(value)[[1L]]))
    add_submodule(module, as.character(name), value)
  },
  register_parameter = function(module, name, param) add_parameter(module, as.character(name), nn_parameter(param)),
  children = function(module) module_state(module)$modules,
  modules = function(module) module_tree(module),
  named_parameters = function(module) module_named_parameters(module),
  state_dict = function(module) module_named_parameters(module)
)

#' @rdname nn_module
#' @param x A module.
#' @param name A field, submodule, parameter or method.
#' @export
`$.unetseg_module` <- function(x, name) {
  state <- module_state(x)
  if (identical(name, "parameters")) return(module_named_parameters(x))
  if (identical(name, "training")) return(state$training)
  if (!is.null(state$modules[[name]])) return(state$modules[[name]])
  if (!is.null(state$parameters[[name]])) return(state$parameters[[name]])
  if (exists(name, envir = state$fields, inherits = FALSE)) return(get(name, envir = state$fields))
  if (!is.null(state$methods[[name]])) return(state$methods[[name]])
  builtin <- module_builtin_methods[[name]]
  if (!is.null(builtin)) return(function(...) builtin(x, ...))
  NULL
}

#' @rdname nn_module
#' @param value For `$<-`: a submodule, a parameter or any other value.
#' @export
`$<-.unetseg_module` <- function(x, name, value) {
  state <- module_state(x)
  if (name %in% c("parameters", "training")) abort_value(sprintf("the module field `%s` cannot be set", name))
  if (is_nn_module(value)) return(add_submodule(x, name, value))
  if (inherits(value, "nn_parameter")) return(add_parameter(x, name, value))
  state$modules[[name]] <- NULL
  state$parameters[[name]] <- NULL
  if (is.null(value)) {
    if (exists(name, envir = state$fields, inherits = FALSE)) rm(list = name, envir = state$fields)
  } else {
    assign(name, value, envir = state$fields)
  }
  invisible(x)
}

#' @rdname nn_module
#' @param i For `[[`: the position of a submodule (1 is the first) or its name.
#' @export
`[[.unetseg_module` <- function(x, i) {
  modules <- module_state(x)$modules
  if (is.character(i)) return(`$.unetseg_module`(x, i))
  if (!is.numeric(i) || length(i) != 1L || is.na(i) || i != round(i) || i < 1 || i > length(modules)) {
    abort_value(sprintf("index must be a whole number in 1...%d, got %s", length(modules), deparse_short(i)))
  }
  modules[[i]]
}

#' @rdname nn_module
#' @export
length.unetseg_module <- function(x) length(module_state(x)$modules)

#' @rdname nn_module
#' @export
print.unetseg_module <- function(x, ...) {
  n <- sum(vapply(module_named_parameters(x), length, integer(1)))
  cat(sprintf("An `nn_module` (%s) with %s parameters\n", class(x)[[1L]], format(n, big.mark = ",")))
  invisible(x)
}

#' @rdname nn_module
#' @param pattern For `.DollarNames`: a regular expression the completions match.
#' @export
.DollarNames.unetseg_module <- function(x, pattern = "") {
  state <- module_state(x)
  candidates <- c(names(state$modules), names(state$parameters), ls(state$fields), names(state$methods),
                  names(module_builtin_methods), "parameters", "training")
  grep(pattern, unique(candidates), value = TRUE)
}
