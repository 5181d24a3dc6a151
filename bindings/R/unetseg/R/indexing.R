# Indexing tensors with R torch's rules: x[i, j, ...] with 1-based indices where negative numbers count
# from the end, ranges a:b (with a stride a:b:s and N for a dimension's size), integer vectors, logical
# masks, missing indices, `..` (or `...` at top level) for the remaining dimensions, and `drop`.

# What `...` stands for at top level once the package is attached (see bind_top_level_dots()): the
# remaining dimensions, as `..`.
all_dims_marker <- structure(list(), class = "unetseg_all_dims")

# R evaluates `x[i, ..., drop = FALSE]` written outside a function by looking `...` up from the global
# environment, and stops ("'...' used in an incorrect context") before any method runs when it finds no
# binding. Binding `...` in the attached package environment to one argument, the marker, lets such a
# call reach `[.unetseg_tensor` with the marker where the post writes `...`. Inside a function its own
# `...` is found first, so R's meaning is unchanged there.
bind_top_level_dots <- function(package_env) {
  frame <- (function(...) environment())(all_dims_marker)
  assign("...", get("...", envir = frame), envir = package_env)
}

#' Index a tensor
#'
#' `x[i, j, ...]` follows R torch's indexing rules:
#' * indices are 1-based; a negative number counts from the end (`x[-1]` is the last element), as in
#'   torch and unlike R, where it removes elements;
#' * `a:b` is a range (`1:-2` stops at the next-to-last element), `a:b:s` takes every `s`-th element of
#'   it, and `N` inside a range is the size of the dimension (`x[2:N]`);
#' * an integer vector selects those elements, in that order; a logical vector as long as the dimension
#'   selects the elements where it is `TRUE`;
#' * a missing index (`x[, 1, , ]`) takes the whole dimension, and so do the dimensions after the last
#'   index when there are fewer indices than dimensions (`x[1]` is the first row of a matrix);
#' * `..` stands for all the dimensions not indexed otherwise (`batch[i, .., drop = FALSE]`); `...` does
#'   the same at top level, as the post writes it (`batch[[1]][i, ..., drop = FALSE]`): once the
#'   package is attached, `...` outside any function stands for `..` (inside a function it keeps R's
#'   meaning, the function's arguments);
#' * with `drop = TRUE` (the default) the dimensions indexed by a single number are dropped (not those
#'   indexed by a range such as `2:2`, a vector or a mask); `drop = FALSE` keeps every dimension. When
#'   every dimension is dropped the result is a 0-dim tensor (shape `[]`), as in R torch.
#'
#' An index out of range, zero, `NA`, a mask of the wrong length or anything that is not a number or a
#' mask signals a `value_error` naming the index. The result is a copy that records no graph.
#'
#' @param x A tensor.
#' @param ... Indices.
#' @param drop Whether dimensions indexed by a single number are dropped.
#' @return A tensor.
#' @examples
#' batch <- torch_tensor(array(runif(2 * 3 * 4 * 4), c(2, 3, 4, 4)))
#' dim(batch[2, .., drop = FALSE])
#' dim(batch[1, 1, , ])
#' dim(batch[-1, 2:N, 1:4:2])
#' as.numeric(torch_tensor(1:4)[c(TRUE, FALSE, TRUE, FALSE)])
#' @name tensor-indexing
#' @export
`[.unetseg_tensor` <- function(x, ..., drop = TRUE) {
  call <- sys.call()
  caller <- parent.frame()
  frame <- environment()
  check_flag(drop, "drop", call = call)
  shape <- dim(x)
  expressions <- as.list(substitute(list(...)))[-1L]
  specs <- lapply(seq_along(expressions), function(k) index_spec(expressions[[k]], k, caller, frame))
  specs <- expand_all_dims(specs, length(shape), call)
  indices <- lapply(seq_along(specs), function(k) index_positions(specs[[k]], shape[[k]], k, call))
  selected <- do.call(`[`, c(list(as.array(x)), indices, list(drop = FALSE)))
  kept <- lengths(indices)
  if (drop) kept <- kept[!vapply(specs, function(s) identical(s$kind, "scalar"), logical(1))]
  if (length(kept)) torch_tensor(array(selected, kept)) else torch_tensor(selected)$view(integer())
}

# One index as written: list(kind = "all" | "rest" | "range" | "scalar" | "vector" | "mask", ...).
# `dots` is the frame of `[` whose `...` holds the index values (read with ...elt() so that each is
# evaluated where it was written); ranges are evaluated in `caller` with `N` bound to the dimension size.
index_spec <- function(expression, k, caller, dots) {
  if (identical(expression, quote(expr = ))) return(list(kind = "all", text = ""))
  if (identical(expression, quote(..))) return(list(kind = "rest", text = ".."))
  text <- deparse_short(expression)
  if (is.call(expression) && identical(expression[[1L]], as.name(":"))) {
    return(list(kind = "range", expression = expression, caller = caller, text = text))
  }
  value <- eval(call("...elt", k), dots)
  if (inherits(value, "unetseg_all_dims")) return(list(kind = "rest", text = "..."))
  kind <- if (is.logical(value)) "mask" else if (length(value) == 1L) "scalar" else "vector"
  list(kind = kind, value = value, text = text)
}

# Replaces the `..` entry by whole dimensions and appends whole dimensions up to `rank`.
expand_all_dims <- function(specs, rank, call) {
  rest <- which(vapply(specs, function(s) identical(s$kind, "rest"), logical(1)))
  if (length(rest) > 1L) abort_value("`..` (or `...`) may appear only once in an index", call = call)
  explicit <- length(specs) - length(rest)
  if (explicit > rank) {
    abort_value(sprintf("too many indices (%d) for a tensor of %d dimensions", explicit, rank), call = call)
  }
  whole <- rep(list(list(kind = "all", text = "")), rank - explicit)
  if (length(rest)) c(specs[seq_len(rest - 1L)], whole, specs[-seq_len(rest)]) else c(specs, whole)
}

# The 1-based positions that index `spec` (the `k`-th index) selects in a dimension of `size`.
index_positions <- function(spec, size, k, call) {
  fail <- function(problem) {
    abort_value(sprintf("the index `%s` for dimension %d (of size %d) %s", spec$text, k, size, problem), call = call)
  }
  switch(spec$kind,
    all = seq_len(size),
    mask = {
      if (length(spec$value) != size) fail(sprintf("is a mask of length %d", length(spec$value)))
      if (anyNA(spec$value)) fail("contains NA")
      which(spec$value)
    },
    range = range_positions(spec, size, fail),
    resolve_positions(spec$value, size, fail)
  )
}

# Positions from numbers: 1...size, or -size...-1 counting from the end.
resolve_positions <- function(value, size, fail) {
  if (!is.numeric(value) || !length(value)) fail(sprintf("must be numbers, a mask, a range or `..`, got %s", class(value)[[1L]]))
  if (anyNA(value) || any(!is.finite(value)) || any(value != round(value))) fail("must be whole numbers")
  if (any(value == 0)) fail("is 0: indices start at 1 (negative ones count from the end)")
  positions <- ifelse(value < 0, size + value + 1, value)
  if (any(positions < 1 | positions > size)) fail("is out of range")
  as.integer(positions)
}

# Positions of a range `a:b` or `a:b:s`, its ends resolved as single indices and `N` the size.
range_positions <- function(spec, size, fail) {
  parts <- range_parts(spec$expression)
  scope <- new.env(parent = spec$caller)
  scope$N <- size
  ends <- lapply(parts$ends, function(e) eval(e, scope))
  if (!all(vapply(ends, function(e) is.numeric(e) && length(e) == 1L, logical(1)))) fail("must have single numbers as ends")
  from <- resolve_positions(ends[[1L]], size, fail)
  to <- resolve_positions(ends[[2L]], size, fail)
  step <- if (is.null(parts$step)) 1 else eval(parts$step, scope)
  if (!is.numeric(step) || length(step) != 1L || is.na(step) || step < 1 || step != round(step)) fail("has a step that is not a positive whole number")
  if (from > to) fail("is an empty range")
  as.integer(seq(from, to, by = step))
}

# The ends and step of `a:b` or `(a:b):s` (R parses a:b:s as (a:b):s).
range_parts <- function(expression) {
  left <- expression[[2L]]
  if (is.call(left) && identical(left[[1L]], as.name(":"))) {
    return(list(ends = list(left[[2L]], left[[3L]]), step = expression[[3L]]))
  }
  list(ends = list(left, expression[[3L]]), step = NULL)
}
