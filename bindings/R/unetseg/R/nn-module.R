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
#' As in R torch (whose modules are R6 classes), a module can `inherit` the methods of another
#' constructor (its own methods override them and reach them as `super$name(...)`, `super$initialize(...)`
#' included), keep `private` methods and fields (reached as `private$name` inside the methods, invisible
#' from outside), and have `active` fields: functions of `value` called to read `self$name` (without
#' `value`) and to assign it (`self$name <- x` calls the function with `value = x`).
#'
#' Every module has the fields `parameters` (a named list of its parameter tensors and those of its
#' submodules, with torch's dotted names such as `"down_path.0.conv_block.conv_block.0.weight"`, the
#' module's own first) and `training`, and the methods `train(mode = TRUE)`, `eval()`, `to(device = "cpu")`
#' (the CPU is the only device), `cpu()`, `zero_grad()`, `add_module(name, module)`, `register_parameter(name,
#' param)`, `children()` (a named list), `modules()`, `state_dict()` (the parameters) and
#' `load_state_dict(state_dict)` (copies a named list of tensors or arrays into the parameters, every name
#' and shape matching); `length()` is the number of submodules and
#' `module[[i]]` the i-th one (as in [nn_module_list()]).
#'
#' @param classname (character) The class of the modules. Default: `"nn_module"` alone.
#' @param inherit (constructor) A constructor made by `nn_module()` whose methods, private and active
#'   members this one starts from. Default: none.
#' @param ... Methods (functions, called as `module$name(...)` with `self`, `private` and `super` bound)
#'   or fields; `initialize` runs when a module is made, `forward` is what calling the module does.
#' @param private (list) Private methods and fields. Default: none.
#' @param active (list) Functions of `value` standing for fields. Default: none.
#' @return A constructor: a function taking `initialize`'s arguments.
#' @examples
#' affine <- nn_module("affine",
#'   initialize = function(n) self$conv <- nn_conv2d(n, n, kernel_size = 1),
#'   forward = function(x) nnf_relu(self$conv(x)))
#' torch_manual_seed(1)
#' model <- affine(2)
#' names(model$parameters)
#' dim(model(torch_tensor(array(1, c(1, 2, 4, 4)))))
#' # a variant that keeps the parent's layer and adds a step, with a private scale and an active field
#' scaled <- nn_module("scaled", inherit = affine,
#'   forward = function(x) super$forward(x) * private$scale,
#'   private = list(scale = 2),
#'   active = list(n_weights = function(value) length(self$conv$weight)))
#' scaled(2)$n_weights
#' @export
nn_module <- function(classname = NULL, inherit = NULL, ..., private = NULL, active = NULL) {
  call <- sys.call()
  members <- list(...)
  if (length(members) && (is.null(names(members)) || any(names(members) == ""))) {
    abort_value("the methods and fields of nn_module() must be named (initialize = , forward = , ...)", call = call)
  }
  if (!is.null(members$initialize) && !is.function(members$initialize)) abort_value("initialize must be a function", call = call)
  if (!is.null(members$forward) && !is.function(members$forward)) abort_value("forward must be a function", call = call)
  parent <- if (is.null(inherit)) NULL else module_definition(inherit, call)
  if (!is.null(private) && (!is.list(private) || !is_named_list(private))) {
    abort_value("private must be a named list of methods and fields", call = call)
  }
  if (!is.null(active) && (!is.list(active) || !is_named_list(active) || !all(vapply(active, is.function, logical(1))))) {
    abort_value("active must be a named list of functions of `value`", call = call)
  }
  definition <- list(classes = unique(c(classname, parent$classes, "unetseg_module", "nn_module")),
                     members = members, private = as.list(private), active = as.list(active), parent = parent)
  constructor <- function(...) {
    module <- new_module(definition)
    initialize <- module_state(module)$methods$initialize
    if (!is.null(initialize)) initialize(...)
    module
  }
  attr(constructor, "unetseg_definition") <- definition
  class(constructor) <- c("nn_module_generator", "function")
  constructor
}

is_named_list <- function(x) !length(x) || (!is.null(names(x)) && all(names(x) != ""))

# The definition behind a constructor made by nn_module(), or a value_error naming `inherit`.
module_definition <- function(generator, call) {
  definition <- attr(generator, "unetseg_definition", exact = TRUE)
  if (!inherits(generator, "nn_module_generator") || is.null(definition)) {
    abort_value(sprintf("inherit must be a constructor made by nn_module(), got %s", class(generator)[[1L]]), call = call)
  }
  definition
}

# A module made from `definition`: a function running its forward, whose environment holds `state`
# (submodules, parameters, fields, bound methods, active fields, the training flag).
new_module <- function(definition) {
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
  class(module) <- definition$classes
  private <- new.env(parent = emptyenv())
  bound <- bind_definition(definition, module, private)
  state$methods <- bound$methods
  state$active <- bound$active
  for (name in names(bound$private)) assign(name, bound$private[[name]], envir = private)
  module
}

# The methods, private members and active functions of `definition` and the definitions it inherits,
# bound to `module`: each level's functions see `self`, `private` and `super` (the level below, bound the
# same way); a level's members override those it inherits.
bind_definition <- function(definition, module, private) {
  inherited <- if (is.null(definition$parent)) list(methods = list(), private = list(), active = list())
               else bind_definition(definition$parent, module, private)
  super <- inherited$methods
  bind <- function(members) lapply(members, function(m) if (is.function(m)) bind_method(m, module, private, super) else m)
  override <- function(base, own) c(base[setdiff(names(base), names(own))], own)
  list(methods = override(inherited$methods, bind(definition$members)),
       private = override(inherited$private, bind(definition$private)),
       active = override(inherited$active, bind(definition$active)))
}

# `method` with `self` bound to `module`, `private` to the module's private members and `super` to the
# inherited methods (a new environment between the method and where it was written).
bind_method <- function(method, module, private = new.env(parent = emptyenv()), super = list()) {
  environment(method) <- list2env(list(self = module, private = private, super = super), parent = environment(method))
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

# Stores `value` as the member `name` of `kind` ("modules" or "parameters"), dropping any other member of
# that name (a submodule, parameter or plain field).
set_member <- function(module, name, value, kind) {
  state <- module_state(module)
  for (other in setdiff(c("modules", "parameters"), kind)) state[[other]][[name]] <- NULL
  if (exists(name, envir = state$fields, inherits = FALSE)) rm(list = name, envir = state$fields)
  state[[kind]][[name]] <- value
  invisible(module)
}

add_submodule <- function(module, name, value) set_member(module, name, value, "modules")

add_parameter <- function(module, name, value) set_member(module, name, value, "parameters")

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
  state_dict = function(module) module_named_parameters(module),
  load_state_dict = function(module, state_dict, ...) {
    load_parameters(module_named_parameters(module), state_dict, call = sys.call())
    invisible(module)
  }
)

#' @rdname nn_module
#' @param x A module.
#' @param name A field, submodule, parameter or method.
#' @export
`$.unetseg_module` <- function(x, name) {
  state <- module_state(x)
  if (identical(name, "parameters")) return(module_named_parameters(x))
  if (identical(name, "training")) return(state$training)
  if (!is.null(state$active[[name]])) return(state$active[[name]]())
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
  if (!is.null(state$active[[name]])) {
    state$active[[name]](value)
    return(invisible(x))
  }
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
  candidates <- c(names(state$modules), names(state$parameters), ls(state$fields), names(state$methods), names(state$active),
                  names(module_builtin_methods), "parameters", "training")
  grep(pattern, unique(candidates), value = TRUE)
}
