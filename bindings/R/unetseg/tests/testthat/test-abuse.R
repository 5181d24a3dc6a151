# Abuse through the R binding: wrong types, freed objects, handles of the wrong kind, huge and negative
# sizes, strings that are not valid UTF-8. Each is a value_error (or runtime_error for what cannot be
# allocated) whose message names the argument, and the session goes on: every test ends with a normal call.

still_works <- function() {
  model <- unet(depth = 2, n_filters = 2, dropout = 0, seed = 1)
  expect_identical(dim(model(torch_tensor(array(runif(2 * 3 * 64), c(2, 3, 8, 8))))), c(2L, 1L, 8L, 8L))
}

test_that("arguments of the wrong type name the argument", {
  model <- unet(depth = 2, n_filters = 2, seed = 1)
  for (data in list("abc", list(1, "a"), 1 + 2i, NULL, function() 1, factor("a"))) {
    expect_unetseg_error(torch_tensor(data), "value_error", "^data must be numeric")
  }
  expect_unetseg_error(model("abc"), "value_error", "^input must be a tensor, got character")
  expect_unetseg_error(model(model), "value_error", "^input must be a tensor")
  expect_unetseg_error(unet(depth = "3"), "value_error", "^depth must be a whole number")
  expect_unetseg_error(unet(depth = c(2, 3)), "value_error", "^depth must be a whole number")
  expect_unetseg_error(unet(depth = NA), "value_error", "^depth must be a whole number")
  expect_unetseg_error(optim_sgd(model$parameters, lr = "a"), "value_error", "^lr must be a finite number")
  expect_unetseg_error(optim_sgd(model), "value_error", "^params must be a non-empty list of tensors")
  expect_unetseg_error(brainseg_dataset(5), "value_error", "^img_dir must be a non-empty string")
  expect_unetseg_error(torch_save(model, NA_character_), "value_error", "^path must be a non-empty string")
  expect_unetseg_error(nnf_binary_cross_entropy(model, torch_tensor(1)), "value_error", "must be a tensor")
  still_works()
})

test_that("freed objects and handles of the wrong kind are value_errors naming the argument", {
  model <- unet(depth = 2, n_filters = 2, seed = 1)
  x <- torch_tensor(array(runif(4), c(2, 2)))
  unetseg:::finalize_handle_object(x)   # what R's collector does; the R object outlives it here
  expect_unetseg_error(dim(x), "value_error", "tensor was freed")
  expect_unetseg_error(x + 1, "value_error", "was freed")
  expect_unetseg_error(model(x), "value_error", "^input was freed")
  # An object of one class holding another kind's handle (a handle reused after a saveRDS / readRDS, or
  # an object built by hand), and a handle the library never made.
  wrong <- unetseg:::new_tensor(unetseg:::handle_of(environment(model)$state))
  expect_unetseg_error(dim(wrong), "value_error", "is a unetseg_model, not a unetseg_tensor")
  expect_unetseg_error(as.array(unetseg:::new_tensor(123456789L)), "value_error", "not a live unetseg_tensor")
  expect_unetseg_error(as.array(unetseg:::new_tensor(-5L)), "value_error", "not a live unetseg_tensor")
  y <- torch_tensor(1:3)
  fake <- structure(new.env(), class = c("brainseg_dataset", "dataset"))
  assign("handle", unetseg:::handle_of(y), envir = fake)
  expect_unetseg_error(length(fake), "value_error", "is a unetseg_tensor, not a unetseg_dataset")
  expect_unetseg_error(dataloader(model, batch_size = 2), "value_error", "^dataset must be made by brainseg_dataset")
  expect_unetseg_error(lr_one_cycle(model, max_lr = 0.1, epochs = 1, steps_per_epoch = 1), "value_error",
                       "^optimizer must be made by optim_sgd")
  expect_unetseg_error(unetseg_evaluate(torch_tensor(1), tempdir()), "value_error", "model must be a unet")
  expect_identical(as.numeric(y), c(1, 2, 3))
  still_works()
})

test_that("huge and negative sizes name the argument and never reach the library as NA", {
  expect_no_warning(cnd <- expect_unetseg_error(unet(depth = 2^40), "value_error",
                                                "^depth must be a whole number in -2147483647...2147483647, got 1.099512e\\+12"))
  expect_unetseg_error(unet(n_filters = 1e10), "value_error", "^n_filters must be a whole number in")
  expect_unetseg_error(unet(depth = -1), "value_error", "depth must be in 1...8, got -1")
  expect_unetseg_error(unet(channels_in = -3), "value_error", "channels_in")
  data <- fixture_data()
  ds <- brainseg_dataset(data$valid)
  expect_unetseg_error(dataloader(ds, batch_size = 2^33), "value_error", "^batch_size must be a whole number in")
  expect_unetseg_error(dataloader(ds, batch_size = -4), "value_error", "batch_size")
  expect_unetseg_error(ds[0], "value_error", "index")
  expect_unetseg_error(ds[2^40], "value_error", "index")
  expect_unetseg_error(ds[-3], "value_error", "index")
  optimizer <- optim_sgd(unet(depth = 2, n_filters = 2, seed = 1)$parameters, lr = 0.1)
  expect_unetseg_error(lr_one_cycle(optimizer, max_lr = 0.1, epochs = 1, steps_per_epoch = 2^40), "value_error",
                       "^steps_per_epoch must be a whole number in")
  expect_unetseg_error(lr_one_cycle(optimizer, max_lr = 0.1, epochs = 1, steps_per_epoch = -5), "value_error", "-5")
  expect_unetseg_error(synthesize_dataset(file.path(tempdir(), "never"), patients = -2^40), "value_error",
                       "^patients must be a whole number in")
  expect_unetseg_error(unetseg_fit(data$train, NULL, fresh_dir("abuse-fit"), epochs = 1, batch_size = 2^31),
                       "value_error", "^batch_size must be a whole number in")
  expect_identical(length(dataloader(ds, batch_size = 4)), as.integer(ceiling(length(ds) / 4)))
  still_works()
})

test_that("paths that are not valid UTF-8 are value_errors naming the argument", {
  out <- fresh_dir("abuse-paths")
  invalid <- paste0(out, "/", rawToChar(as.raw(c(0x63, 0x61, 0x66, 0xe9))))   # "caf\xe9", no encoding mark
  as_bytes <- invalid
  Encoding(as_bytes) <- "bytes"
  model <- unet(depth = 2, n_filters = 2, seed = 1)
  for (bad in list(invalid, as_bytes)) {
    expect_unetseg_error(brainseg_dataset(bad), "value_error", "^img_dir is not valid UTF-8")
    expect_unetseg_error(torch_save(model, bad), "value_error", "^path is not valid UTF-8")
    expect_unetseg_error(torch_load(bad), "value_error", "^path is not valid UTF-8")
    expect_unetseg_error(unetseg_fit(bad, NULL, file.path(out, "run"), epochs = 1), "value_error", "^train_dir is not valid UTF-8")
    expect_unetseg_error(unetseg_predict(model, out, bad), "value_error", "^out_dir is not valid UTF-8")
    expect_unetseg_error(split_patients(bad, file.path(out, "t"), file.path(out, "v")), "value_error",
                         "^data_dir is not valid UTF-8")
  }
  expect_identical(list.files(out, all.files = TRUE, no.. = TRUE), character())
  # A latin1 string is a valid name: it is converted to UTF-8, not refused.
  latin1 <- paste0(out, "/caf\xe9.pt")
  Encoding(latin1) <- "latin1"
  torch_save(model, latin1)
  expect_identical(charToRaw(list.files(out)), c(charToRaw("caf"), as.raw(c(0xc3, 0xa9)), charToRaw(".pt")))
  still_works()
})
