# R torch's indexing rules (see ?`tensor-indexing`), each checked against R's own indexing of as.array().

indexing_fixture <- function() {
  a <- array(seq_len(2 * 3 * 4 * 5), c(2, 3, 4, 5))
  list(a = a + 0, x = torch_tensor(a))
}

test_that("`...` written at top level stands for `..`, as the post writes it", {
  f <- indexing_fixture()
  x <- f$x
  # evaluated in the global environment, where R looks `...` up as the post's for loop does
  top <- eval(bquote(.(x)[2, ..., drop = FALSE]), globalenv())
  expect_identical(dim(top), c(1L, 3L, 4L, 5L))
  expect_identical(as.array(top), f$a[2, , , , drop = FALSE])
  last <- eval(bquote(.(x)[..., 5]), globalenv())
  expect_identical(as.array(last), f$a[, , , 5])
  # inside a function `...` keeps R's meaning: the function's own arguments
  g <- function(...) x[1, ...]
  expect_identical(as.numeric(g(2, 3)), f$a[1, 2, 3, ])
})

test_that("negative indices count from the end, ranges take a:b, a:b:s and N", {
  f <- indexing_fixture()
  x <- f$x
  a <- f$a
  expect_identical(as.numeric(x[-1, -1, -1, -1]), a[2, 3, 4, 5])
  expect_identical(as.array(x[-2, ..]), a[1, , , ])
  expect_identical(as.array(x[1, 2:N, 1:4:2, ]), a[1, 2:3, c(1, 3), ])
  expect_identical(as.numeric(x[1, 1, 1, 2:-2]), a[1, 1, 1, 2:4])
  expect_identical(dim(x[1, 2:2, , ]), c(1L, 4L, 5L))
  expect_identical(as.numeric(torch_tensor(1:10)[1:(-7)]), as.numeric(1:4))
})

test_that("vectors, masks, missing and trailing indices, and drop", {
  f <- indexing_fixture()
  x <- f$x
  a <- f$a
  expect_identical(as.array(x[, c(3, 1), 2, ]), a[, c(3, 1), 2, ])
  expect_identical(as.array(x[c(FALSE, TRUE), .., drop = FALSE]), a[2, , , , drop = FALSE])
  expect_identical(as.array(x[, 1, , ]), a[, 1, , ])
  expect_identical(as.array(x[2]), a[2, , , ])
  expect_identical(as.array(x[2, 3, drop = FALSE]), a[2, 3, , , drop = FALSE])
  # every dimension dropped: a 0-dim tensor, as in R torch, that works as a number
  element <- x[2, 3, 4, 5]
  expect_identical(dim(element), integer())
  expect_identical(element$item(), a[2, 3, 4, 5])
  expect_identical(as.numeric(element * 2), 2 * a[2, 3, 4, 5])
  expect_identical(dim(element$view(c(1, 1))), c(1L, 1L))
  expect_identical(dim(torch_tensor(7)$squeeze()), integer())
  expect_identical(dim(torch_tensor(7)$view(integer())), integer())
  expect_identical(dim(x[2, 3, 4, 5, drop = FALSE]), c(1L, 1L, 1L, 1L))
  expect_false(x[1, ..]$requires_grad)
})

test_that("malformed or out-of-range indices are value_errors naming the index and dimension", {
  x <- indexing_fixture()$x
  expect_unetseg_error(x[3, ..], "value_error", "`3` for dimension 1 \\(of size 2\\) is out of range")
  expect_unetseg_error(x[-3, ..], "value_error", "`-3` for dimension 1 .* out of range")
  expect_unetseg_error(x[.., 0], "value_error", "`0` for dimension 4 .* indices start at 1")
  expect_unetseg_error(x[1, NA_real_, ..], "value_error", "dimension 2 .* whole numbers")
  expect_unetseg_error(x[c(TRUE, NA), ..], "value_error", "dimension 1 .* contains NA")
  expect_unetseg_error(x[1, 1.5, ..], "value_error", "`1.5` .* whole numbers")
  expect_unetseg_error(x[c(TRUE, FALSE, TRUE), ..], "value_error", "mask of length 3")
  expect_unetseg_error(x["a", ..], "value_error", "`\"a\"` .* got character")
  expect_unetseg_error(x[1, 1, 1, 1, 1], "value_error", "too many indices \\(5\\)")
  expect_unetseg_error(x[.., 1, ..], "value_error", "only once")
  expect_unetseg_error(x[1, 3:1, ..], "value_error", "`3:1` .* empty range")
  expect_unetseg_error(x[1, 1:3:0, ..], "value_error", "step")
  expect_unetseg_error(x[1, 1:7, ..], "value_error", "`1:7` for dimension 2 .* out of range")
  expect_unetseg_error(x[1, .., drop = NA], "value_error", "drop must be TRUE or FALSE")
})
