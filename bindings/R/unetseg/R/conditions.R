# Classed conditions. Every error the package signals is a condition of class
# "value_error" (a bad argument: the library's UNETSEG_STATUS_INVALID_ARGUMENT, or a check on the R side)
# or "runtime_error" (everything else the library reports: I/O, file format, memory, numbers, internal),
# both also "unetseg_error", "error" and "condition", so that tryCatch(value_error = ...) works. A library
# error carries the library's message unchanged and its status (code and name).

# Status codes of unetseg_status (include/unetseg_types.h), and the class of each beside the base class.
status_classes <- c(
  "1" = "unetseg_invalid_argument",
  "2" = "unetseg_io_error",
  "3" = "unetseg_format_error",
  "4" = "unetseg_out_of_memory",
  "5" = "unetseg_numeric_error",
  "6" = "unetseg_cancelled",
  "7" = "unetseg_internal_error"
)

#' Conditions signalled by unetseg
#'
#' Errors are conditions of class `value_error` (an argument out of range, a shape that does not fit, a
#' freed handle) or `runtime_error` (a file that cannot be read or written or is malformed, memory,
#' NaN/Inf, an internal error), both of class `unetseg_error`. Errors from the library carry its message
#' and its status in the fields `status` (the `unetseg_status` code) and `status_name` (the library's name
#' for it; `NA` before the library is loaded), and a class for the status (`unetseg_io_error`,
#' `unetseg_format_error`, ...).
#'
#' @param message The message.
#' @param call The call to report, or `NULL`.
#' @param status The library's status code (0 for a check on the R side).
#' @return A condition object (not signalled).
#' @examples
#' cnd <- value_error("depth must be in 1...8")
#' class(cnd)
#' tryCatch(stop(cnd), value_error = function(e) conditionMessage(e))
#' @export
value_error <- function(message, call = NULL, status = 1L) {
  unetseg_condition("value_error", message, call, status)
}

#' @rdname value_error
#' @export
runtime_error <- function(message, call = NULL, status = 7L) {
  unetseg_condition("runtime_error", message, call, status)
}

unetseg_condition <- function(base, message, call, status) {
  status <- as.integer(status)
  specific <- unname(status_classes[as.character(status)])
  classes <- c(if (!is.na(specific)) specific, base, "unetseg_error", "error", "condition")
  structure(
    class = classes,
    list(message = message, call = call, status = status,
         status_name = if (is.na(specific) || is.null(.unetseg$dll)) NA_character_ else status_name(status))
  )
}

# Signals a value_error for a check made on the R side, naming the caller.
abort_value <- function(message, call = sys.call(-1)) {
  stop(value_error(message, call = call, status = 1L))
}

# Signals the condition for a failed library call: value_error for an invalid argument, runtime_error
# otherwise.
abort_status <- function(status, message, call) {
  base <- if (status == 1L) "value_error" else "runtime_error"
  stop(unetseg_condition(base, message, call, status))
}

# Signals that the user interrupted R (Ctrl-C) during a library call that stopped cleanly for it (the
# training run saved its state): a condition of class "unetseg_interrupt" and "interrupt", as R's own
# interrupt, so that tryCatch(interrupt = ...) catches it and tryCatch(error = ...) does not; uncaught, R
# stops with the library's message.
abort_interrupt <- function(message, call) {
  stop(structure(class = c("unetseg_interrupt", "interrupt", "condition"), list(message = message, call = call)))
}
