# Datasets defined in R with dataset(), batched by dataloader().

# A generator of n items list(img = [3, 2, 2], y = [1]) whose values encode the index.
indexed_dataset <- dataset(
  name = "indexed",
  initialize = function(n) {
    self$n <- n
  },
  .getitem = function(i) {
    list(img = array(i + 0:11 / 100, c(3, 2, 2)), y = torch_tensor(i))
  },
  .length = function() {
    self$n
  }
)

test_that("dataset() returns a constructor whose objects give items and a length through self", {
  ds <- indexed_dataset(10)
  expect_s3_class(ds, "indexed")
  expect_s3_class(ds, "dataset")
  expect_identical(length(ds), 10L)
  expect_identical(ds$n, 10)
  expect_identical(ds[3]$img, array(3 + 0:11 / 100, c(3, 2, 2)))
  expect_output(print(ds), "dataset \"indexed\" \\(defined in R\\): 10 items")
  other <- indexed_dataset(4)
  expect_identical(length(ds), 10L)
  expect_identical(length(other), 4L)
})

test_that("dataloader() stacks the items of a user dataset along a new first dimension", {
  ds <- indexed_dataset(10)
  dl <- dataloader(ds, batch_size = 4)
  expect_identical(length(dl), 3L)
  batches <- enumerate(dl)
  expect_length(batches, 3L)
  first <- batches[[1]]
  expect_identical(dim(first$img), c(4L, 3L, 2L, 2L))
  expect_equal(as.array(first[[1]])[2, , , ], array(2 + 0:11 / 100, c(3, 2, 2)), tolerance = 1e-6)
  expect_identical(as.numeric(first$y), c(1, 2, 3, 4))
  expect_identical(as.numeric(batches[[3]]$y), c(9, 10))
  expect_identical(length(dataloader(ds, batch_size = 4, drop_last = TRUE)), 2L)
  iter <- dataloader_make_iter(dataloader(ds, batch_size = 6))
  expect_identical(as.numeric(dataloader_next(iter)$y), as.numeric(1:6))
  expect_identical(as.numeric(dataloader_next(iter)$y), as.numeric(7:10))
  expect_null(dataloader_next(iter))
})

test_that("shuffle is seeded, differs by epoch, follows torch_manual_seed and leaves R's generator alone", {
  ds <- indexed_dataset(10)
  epoch_ys <- function(dl) unlist(lapply(enumerate(dl), function(b) as.numeric(b$y)))
  a <- dataloader(ds, batch_size = 3, shuffle = TRUE, seed = 5)
  b <- dataloader(ds, batch_size = 3, shuffle = TRUE, seed = 5)
  set.seed(1)
  before <- .Random.seed
  first <- epoch_ys(a)
  expect_identical(.Random.seed, before)
  expect_identical(sort(first), as.numeric(1:10))
  expect_false(identical(first, as.numeric(1:10)))
  expect_identical(epoch_ys(b), first)
  expect_false(identical(epoch_ys(a), first))
  expect_false(identical(epoch_ys(dataloader(ds, batch_size = 3, shuffle = TRUE, seed = 6)), first))
  torch_manual_seed(3)
  c1 <- epoch_ys(dataloader(ds, batch_size = 3, shuffle = TRUE))
  torch_manual_seed(3)
  expect_identical(epoch_ys(dataloader(ds, batch_size = 3, shuffle = TRUE)), c1)
})

test_that("items that are single tensors batch into one tensor", {
  ones <- dataset(name = "ones", .getitem = function(i) torch_tensor(c(i, -i)), .length = function() 3)
  batch <- enumerate(dataloader(ones(), batch_size = 3))[[1]]
  expect_identical(as.array(batch[[1]]), matrix(c(1, 2, 3, -1, -2, -3), 3))
})

test_that("bad user datasets give conditions naming the dataset and the index", {
  broken <- dataset(
    name = "broken",
    initialize = function(kind) self$kind <- kind,
    .getitem = function(i) {
      if (self$kind == "error" && i == 3) stop("no file for item 3")
      if (self$kind == "string") return("not a tensor")
      if (self$kind == "shapes") return(list(torch_tensor(rep(1, i))))
      if (self$kind == "parts") return(if (i == 2) list(1) else list(1, 2))
      list(torch_tensor(i))
    },
    .length = function() if (self$kind == "length") "ten" else 4
  )
  first <- function(kind) enumerate(dataloader(broken(kind), batch_size = 4))[[1]][[1]]
  cnd <- expect_unetseg_error(first("error"), "runtime_error", "dataset \"broken\", item 3: .getitem failed: no file for item 3")
  expect_s3_class(cnd, "unetseg_dataset_error")
  expect_unetseg_error(broken("error")[3], "runtime_error", "item 3")
  expect_unetseg_error(first("string"), "value_error", "dataset \"broken\", item 1: .getitem must return a list of tensors")
  expect_unetseg_error(first("shapes"), "value_error", "dataset \"broken\", item 2: part 1 has shape \\[2\\], but item 1 gave \\[1\\]")
  expect_unetseg_error(first("parts"), "value_error", "item 2: the item has 1 parts, but item 1 had 2")
  expect_unetseg_error(length(broken("length")), "value_error", "\\.length\\(\\) must return a whole number")
  expect_unetseg_error(dataloader(broken("ok"), num_workers = 2), "value_error", "num_workers must be 0 for dataset \"broken\"")
  expect_unetseg_error(dataset(name = "x", .getitem = function(i) i), "value_error", "needs .length")
  expect_unetseg_error(enumerate(dataloader(broken("ok"), batch_size = 2))[[1]][[3]], "value_error", "no part 3")
})

test_that("a user dataset giving the built-in dataset's items batches as the built-in loader does", {
  wrapped <- dataset(
    name = "wrapped brainseg dataset",
    initialize = function(img_dir) {
      self$inner <- brainseg_dataset(img_dir, seed = 1)
    },
    .getitem = function(i) {
      item <- self$inner[i]
      list(item$img, item$mask)
    },
    .length = function() {
      length(self$inner)
    }
  )
  dir <- fixture_data()$valid
  ours <- enumerate(dataloader(wrapped(dir), batch_size = 3))
  builtin <- enumerate(dataloader(brainseg_dataset(dir, seed = 1), batch_size = 3))
  expect_identical(length(ours), length(builtin))
  for (k in c(1L, length(builtin))) {
    expect_identical(as.array(ours[[k]][[1]]), as.array(builtin[[k]][[1]]))
    expect_identical(as.array(ours[[k]][[2]]), as.array(builtin[[k]][[2]]))
  }
  model <- unet(depth = 2, n_filters = 2)
  expect_identical(dim(model(ours[[1]][[1]])), c(3L, 1L, 64L, 64L))
})
