# Finding and loading libunetseg.so, and library-wide functions (version, system report, threads, seed).

#' @importFrom utils .DollarNames
NULL

# Package state: the loaded library (a DLLInfo) and its path.
.unetseg <- new.env(parent = emptyenv())
.unetseg$dll <- NULL
.unetseg$path <- NULL

# The folder the package was installed from, recorded at install time (R CMD INSTALL evaluates this file
# in the package's source folder). In a checkout that is bindings/R/unetseg, three levels below the
# repository, whose `make lib` builds .build-lib/release/libunetseg.so.
install_source <- getwd()

# Where the library is looked for, in order: $UNETSEG_LIB; the install locations (`make install` puts it
# in $PREFIX/lib, /usr/local/lib by default); the repository the package was installed from.
library_candidates <- function() {
  from_env <- Sys.getenv("UNETSEG_LIB")
  repo <- file.path(dirname(dirname(dirname(install_source))), ".build-lib", "release", "libunetseg.so")
  installed <- file.path(c("/usr/local/lib", "/usr/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu"),
                         "libunetseg.so")
  list(env = if (nzchar(from_env)) from_env else character(), installed = installed, repo = repo)
}

# Loads the first library found (only $UNETSEG_LIB when it is set) or fails naming every path tried.
load_library <- function() {
  candidates <- library_candidates()
  paths <- if (length(candidates$env)) candidates$env else c(candidates$installed, candidates$repo)
  found <- paths[file.exists(paths)]
  if (!length(found)) {
    tried <- paste0("  ", paths, collapse = "\n")
    hint <- if (length(candidates$env)) {
      "UNETSEG_LIB is set but names no file; point it at libunetseg.so or unset it."
    } else {
      "Build it with `make lib` in the unetseg repository, install it with `make install`, or set UNETSEG_LIB to its path."
    }
    stop(runtime_error(paste0("unetseg: libunetseg.so not found. Tried:\n", tried, "\n", hint), status = 2L))
  }
  path <- normalizePath(found[[1L]])
  dll <- tryCatch(dyn.load(path, local = TRUE, now = TRUE), error = function(e) {
    stop(runtime_error(sprintf("unetseg: %s could not be loaded: %s", path, conditionMessage(e)), status = 2L))
  })
  .unetseg$dll <- dll
  .unetseg$path <- path
  invisible(dll)
}

# The DLL name to pass as .C(PACKAGE = ); loads the library on first use.
unetseg_dll <- function() {
  if (is.null(.unetseg$dll)) load_library()
  .unetseg$dll[["name"]]
}

.onLoad <- function(libname, pkgname) {
  load_library()
  warning_text <- lib_call("unetseg_r_blas_warning", text = string_buffer(1023L))$text
  if (nzchar(warning_text)) {
    warning(structure(class = c("unetseg_blas_warning", "warning", "condition"),
                      list(message = warning_text, call = NULL)))
  }
}

.onAttach <- function(libname, pkgname) {
  bind_top_level_dots(as.environment(paste0("package:", pkgname)))
}

.onUnload <- function(libpath) {
  # Finalizers that run later find no library and do nothing (release_handle).
  .unetseg$dll <- NULL
}

#' The library in use
#'
#' `unetseg_version()` is the version of libunetseg; `unetseg_library_path()` the file that was loaded
#' (found through the environment variable `UNETSEG_LIB`, the install location, or the repository's
#' `.build-lib/release/`); `unetseg_system_info()` a one-line report: version, the kernels of the
#' library's own OpenBLAS, threads, CPUs, SIMD level and CPU model. unetseg computes with its own OpenBLAS
#' instance, not R's: R's `%*%` keeps its kernels and threads, and unetseg runs the fastest kernels the CPU
#' allows whatever `OPENBLAS_CORETYPE` R was started with. Setting `UNETSEG_BLAS_CORETYPE` before loading
#' asks for other kernels; when the CPU cannot run them, `library(unetseg)` warns once
#' (class `unetseg_blas_warning`) and the fastest are used.
#'
#' @return A string.
#' @examples
#' unetseg_version()
#' unetseg_system_info()
#' @export
unetseg_version <- function() {
  lib_call("unetseg_r_version", version = string_buffer(31L))$version
}

#' @rdname unetseg_version
#' @export
unetseg_library_path <- function() {
  unetseg_dll()
  .unetseg$path
}

#' @rdname unetseg_version
#' @export
unetseg_system_info <- function() {
  lib_call("unetseg_r_system_info", text = string_buffer(255L))$text
}

#' Compute threads
#'
#' The library spreads its work over this many threads (default: one per CPU).
#'
#' @param num_threads Number of threads, 1 to 1024; 0 restores the default.
#' @return `unetseg_get_num_threads()`: the number; `unetseg_set_num_threads()`: the previous number,
#'   invisibly.
#' @examples
#' old <- unetseg_set_num_threads(1)
#' unetseg_get_num_threads()
#' unetseg_set_num_threads(old)
#' @export
unetseg_set_num_threads <- function(num_threads) {
  previous <- unetseg_get_num_threads()
  lib_call("unetseg_r_set_num_threads", as.integer(check_integer(num_threads, "num_threads")))
  invisible(previous)
}

#' @rdname unetseg_set_num_threads
#' @export
unetseg_get_num_threads <- function() {
  lib_call("unetseg_r_get_num_threads", threads = integer(1))$threads
}

#' Seed the random generator
#'
#' Seeds the library's global generator, as `torch_manual_seed()` seeds torch's: models created without a
#' seed draw their initial weights from it, datasets and loaders created without a seed draw their seed
#' from it, and the random augmentations (`ds$resize()`, ...) draw from it. The same seed gives the same
#' run.
#'
#' @param seed A whole number in 0...2^53.
#' @return `NULL`, invisibly.
#' @examples
#' torch_manual_seed(777)
#' @export
torch_manual_seed <- function(seed) {
  lib_call("unetseg_r_manual_seed", check_number(seed, "seed", whole = TRUE))
  invisible(NULL)
}

#' Live library handles
#'
#' The number of library objects (tensors, models, optimisers, datasets, ...) not yet freed: R frees them
#' when it collects their R objects, so after `gc()` this is a leak check.
#'
#' @return A number.
#' @examples
#' invisible(gc())
#' unetseg_live_handle_count()
#' @export
unetseg_live_handle_count <- function() {
  lib_call("unetseg_r_live_handle_count", count = double(1))$count
}

#' Devices
#'
#' unetseg computes on the CPU: `cuda_is_available()` is `FALSE`, `torch_device("cpu")` is the only
#' device, and `torch_device("cuda")` is a `value_error`. They exist so that the post's
#' `torch_device(if (cuda_is_available()) "cuda" else "cpu")` runs unchanged.
#'
#' @param type `"cpu"`.
#' @param index Ignored (torch's device index).
#' @return `cuda_is_available()`: `FALSE`; `torch_device()`: a `torch_device` object.
#' @examples
#' device <- torch_device(if (cuda_is_available()) "cuda" else "cpu")
#' device
#' @export
cuda_is_available <- function() FALSE

#' @rdname cuda_is_available
#' @export
torch_device <- function(type, index = NULL) {
  device_type(type)
  structure(list(type = "cpu"), class = "torch_device")
}

#' @export
print.torch_device <- function(x, ...) {
  cat("torch_device(type='cpu')\n")
  invisible(x)
}

# The device type named by `device` (a torch_device or a string); only "cpu" is accepted.
device_type <- function(device, call = sys.call(-1)) {
  type <- if (inherits(device, "torch_device")) device$type else device
  if (!is.character(type) || length(type) != 1L || is.na(type)) {
    abort_value("device must be a torch_device or a string such as \"cpu\"", call = call)
  }
  if (!identical(sub(":.*", "", type), "cpu")) {
    abort_value(sprintf("unetseg computes on the CPU only; there is no \"%s\" device (cuda_is_available() is FALSE)", type),
                call = call)
  }
  "cpu"
}
