# Calling the library: every call goes through lib_call(), which adds the message buffer and the status
# that every unetseg_r_* function takes last, and turns a failed status into a classed condition.

# The string R passes as `char **message`: the library writes at most this many characters into it.
message_buffer <- strrep(" ", 1023L)

# A pre-sized string for a `char **` output of `n` characters.
string_buffer <- function(n) strrep(" ", n)

# Calls the library function `.routine` with the arguments in `...` (plus message and status) and returns
# `.C`'s list of arguments after the call; signals value_error/runtime_error when the status is not OK.
# NAOK: NaN and Inf are numbers a tensor may hold.
lib_call <- function(.routine, ..., .call = sys.call(-1)) {
  dll <- unetseg_dll()
  result <- .C(.routine, ..., message = message_buffer, status = integer(1), NAOK = TRUE, PACKAGE = dll)
  if (result$status != 0L) abort_status(result$status, result$message, .call)
  result
}

# The name of a status code ("invalid argument", "I/O error", ...), from the library.
status_name <- function(status) {
  result <- .C("unetseg_r_status_string", as.integer(status), name = string_buffer(31L),
               message = message_buffer, status = integer(1), PACKAGE = unetseg_dll())
  result$name
}

# Frees `handle` with the library function `free_name`, ignoring errors (used by finalizers, which must
# not fail, and after the library was unloaded).
release_handle <- function(free_name, handle) {
  if (!identical(handle, 0L) && !is.null(.unetseg$dll)) {
    try(.C(free_name, as.integer(handle), message = message_buffer, status = integer(1),
           PACKAGE = unetseg_dll()), silent = TRUE)
  }
  invisible(NULL)
}

# An object backed by a library handle: an environment holding `handle`, freed with the library function
# `free_name` by a finalizer when R collects it (or at once by free_object()).
new_handle_object <- function(handle, free_name, class) {
  object <- new.env(parent = emptyenv())
  assign("handle", handle, envir = object)
  assign("free_name", free_name, envir = object)
  reg.finalizer(object, finalize_handle_object, onexit = FALSE)
  class(object) <- class
  object
}

finalize_handle_object <- function(object) {
  release_handle(get("free_name", envir = object), get("handle", envir = object))
  assign("handle", 0L, envir = object)
}

# The handle inside an object made by new_handle_object() (0 once freed).
handle_of <- function(object) get("handle", envir = object, inherits = FALSE)

# Reads a field stored in a handle object without going through its `$` method.
field_of <- function(object, name) get(name, envir = object, inherits = FALSE)

# Checks that `x` is one finite number (or a whole number, with `whole`) and returns it as a double.
check_number <- function(x, name, whole = FALSE, call = sys.call(-1)) {
  if (!is.numeric(x) || length(x) != 1L || is.na(x) || !is.finite(x) || (whole && x != round(x))) {
    what <- if (whole) "a whole number" else "a finite number"
    abort_value(sprintf("%s must be %s, got %s", name, what, deparse_short(x)), call = call)
  }
  as.double(x)
}

# Checks that `x` is a whole number that fits the library's int32_t (R's integer range) and returns it as a
# double: 2^40 must not reach the library as NA or as its low bits.
check_integer <- function(x, name, call = sys.call(-1)) {
  x <- check_number(x, name, whole = TRUE, call = call)
  if (abs(x) > .Machine$integer.max) {
    abort_value(sprintf("%s must be a whole number in -%d...%d, got %s", name, .Machine$integer.max,
                        .Machine$integer.max, format(x)), call = call)
  }
  x
}

# Checks that `x` is one non-empty string usable as a file path and returns its UTF-8 bytes (the encoding
# the library takes), expanded (`~`) and marked as native so that .C passes them unchanged: a latin1
# string is converted; a string marked "bytes", or whose bytes are not valid UTF-8, is a value_error naming
# the argument.
check_path <- function(x, name, call = sys.call(-1)) {
  check_string(x, name, call = call)
  utf8 <- switch(Encoding(x), latin1 = enc2utf8(x), bytes = NA_character_, x)
  if (is.na(utf8) || !validUTF8(utf8)) {
    abort_value(sprintf("%s is not valid UTF-8: %s", name, deparse_short(x)), call = call)
  }
  Encoding(utf8) <- "unknown"
  path.expand(utf8)
}

# Checks that `x` is TRUE or FALSE.
check_flag <- function(x, name, call = sys.call(-1)) {
  if (!is.logical(x) || length(x) != 1L || is.na(x)) {
    abort_value(sprintf("%s must be TRUE or FALSE, got %s", name, deparse_short(x)), call = call)
  }
  x
}

# Checks that `x` is one non-empty string.
check_string <- function(x, name, call = sys.call(-1)) {
  if (!is.character(x) || length(x) != 1L || is.na(x) || !nzchar(x)) {
    abort_value(sprintf("%s must be a non-empty string, got %s", name, deparse_short(x)), call = call)
  }
  x
}

# A seed for the library: a whole number in 0...2^53, or NULL to draw one from the global generator
# (seeded by torch_manual_seed()).
seed_argument <- function(seed, call = sys.call(-1)) {
  if (is.null(seed)) return(lib_call("unetseg_r_random_seed", seed = double(1), .call = call)$seed)
  check_number(seed, "seed", whole = TRUE, call = call)
}

deparse_short <- function(x) {
  text <- paste(deparse(x, width.cutoff = 60L), collapse = " ")
  if (nchar(text) > 60L) paste0(substr(text, 1L, 57L), "...") else text
}

# R frees a library object only when it collects the R object that holds it, and R's collector does not
# see the library's memory (a batch of activations is megabytes behind a few bytes of R). So before the
# calls that allocate most (a forward pass, a batch) the package asks R to collect once the process has
# grown by getOption("unetseg.gc_growth_mb", 512) MB since its last collection.
collect_if_grown <- function() {
  rss <- resident_bytes()
  limit <- getOption("unetseg.gc_growth_mb", 512) * 2^20
  if (is.na(rss)) return(invisible(FALSE))
  if (is.null(.unetseg$rss_after_gc) || rss < .unetseg$rss_after_gc) .unetseg$rss_after_gc <- rss
  if (rss - .unetseg$rss_after_gc <= limit) return(invisible(FALSE))
  gc(verbose = FALSE)
  .unetseg$rss_after_gc <- resident_bytes()
  invisible(TRUE)
}

# The process's resident memory in bytes (VmRSS of Linux's /proc/self/status), or NA elsewhere.
resident_bytes <- function() {
  lines <- tryCatch(readLines("/proc/self/status", warn = FALSE), error = function(e) character())
  rss <- grep("^VmRSS:", lines, value = TRUE)
  if (!length(rss)) return(NA_real_)
  as.numeric(gsub("[^0-9]", "", rss[[1]])) * 1024
}

# A count as R's length() gives it: an integer, or a double beyond the integer range.
as_length <- function(n) if (n <= .Machine$integer.max) as.integer(n) else n
