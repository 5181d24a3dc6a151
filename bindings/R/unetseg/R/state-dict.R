# State dicts of modules (named parameter tensors) loaded into modules, and modules defined in R that have
# the U-Net's layout turned into the built-in unet, which is what torch_save() writes.

# Copies the tensors or arrays of the named list `state_dict` into `parameters` (a named list of parameter
# tensors) outside autograd, as torch's load_state_dict(strict = TRUE): every name must be present with
# its shape, and no other.
load_parameters <- function(parameters, state_dict, call) {
  if (!is.list(state_dict) || (length(state_dict) && is.null(names(state_dict)))) {
    abort_value("state_dict must be a named list of tensors or arrays (as $state_dict() gives)", call = call)
  }
  missing <- setdiff(names(parameters), names(state_dict))
  unexpected <- setdiff(names(state_dict), names(parameters))
  if (length(missing) || length(unexpected)) {
    abort_value(sprintf("state_dict does not fit the module: missing %s; unexpected %s",
                        name_list(missing), name_list(unexpected)), call = call)
  }
  for (name in names(parameters)) {
    value <- state_dict[[name]]
    if (!is_torch_tensor(value) && !is.numeric(value)) {
      abort_value(sprintf("state_dict[[\"%s\"]] must be a tensor or a numeric array, got %s", name, class(value)[[1L]]),
                  call = call)
    }
    shape <- if (is_torch_tensor(value)) dim(value) else dim(value) %||% length(value)
    if (!identical(as.integer(shape), dim(parameters[[name]]))) {
      abort_value(sprintf("state_dict[[\"%s\"]] has shape [%s], the module's parameter has [%s]", name,
                          paste(shape, collapse = ", "), paste(dim(parameters[[name]]), collapse = ", ")), call = call)
    }
  }
  for (name in names(parameters)) parameters[[name]]$copy_(state_dict[[name]])
  invisible(NULL)
}

name_list <- function(names) if (length(names)) paste(names, collapse = ", ") else "none"

`%||%` <- function(a, b) if (is.null(a)) b else a

# The built-in unet with the weights, dropout and mode of `module`, a module defined in R whose parameters
# have the names and shapes of a built-in unet (as the post's model written in R); NULL when they do not.
as_builtin_unet <- function(module) {
  parameters <- module_named_parameters(module)
  first <- parameters[["down_path.0.conv_block.conv_block.0.weight"]]
  last <- parameters[["last.weight"]]
  if (is.null(first) || is.null(last) || length(dim(first)) != 4L || length(dim(last)) != 4L) return(NULL)
  blocks <- unique(sub("^down_path\\.([0-9]+)\\..*$", "\\1", grep("^down_path\\.", names(parameters), value = TRUE)))
  n_filters <- log2(dim(first)[[1L]])
  if (n_filters != round(n_filters)) return(NULL)
  dropouts <- Filter(function(m) inherits(m, "nn_dropout"), module_tree(module))
  builtin <- tryCatch(unet(channels_in = dim(first)[[2L]], n_classes = dim(last)[[1L]], depth = length(blocks),
                           n_filters = n_filters, dropout = if (length(dropouts)) dropouts[[1L]]$p else 0.6, seed = 0),
                      unetseg_error = function(e) NULL)
  if (is.null(builtin)) return(NULL)
  theirs <- builtin$parameters
  same_layout <- identical(names(theirs), names(parameters)) &&
    identical(lapply(theirs, dim), lapply(parameters, dim))
  if (!same_layout) return(NULL)
  for (name in names(theirs)) theirs[[name]]$copy_(parameters[[name]])
  builtin$train(module$training)
}

# `model` itself when it is a built-in unet, the built-in unet standing for it when it is a module defined
# in R with a U-Net's layout, otherwise `model` unchanged (for model_state() to refuse).
unet_of <- function(model) {
  if (!inherits(model, "unetseg_module")) return(model)
  as_builtin_unet(model) %||% model
}
