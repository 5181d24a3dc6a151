test_that("unet() builds the post's model with torch's state_dict names", {
  model <- unet(seed = 1)
  expect_s3_class(model, c("unet", "nn_module"))
  expect_identical(model$config, list(channels_in = 3L, n_classes = 1L, depth = 5L, n_filters = 6L, dropout = 0.6,
                                      batch_norm = FALSE))
  params <- model$parameters
  # 5 down blocks and 4 up blocks of two convolutions (weight, bias), 4 transposed convolutions, the last 1x1.
  expect_length(params, 5 * 4 + 4 * 6 + 2)
  expect_identical(names(params)[1:2], c("down_path.0.conv_block.conv_block.0.weight", "down_path.0.conv_block.conv_block.0.bias"))
  expect_true("up_path.3.up.weight" %in% names(params))
  expect_identical(tail(names(params), 2), c("last.weight", "last.bias"))
  expect_identical(dim(params[["down_path.0.conv_block.conv_block.0.weight"]]), c(64L, 3L, 3L, 3L))
  expect_identical(dim(params[["up_path.0.up.weight"]]), c(1024L, 512L, 2L, 2L))
  expect_identical(model$parameter_count, sum(vapply(params, length, integer(1))) + 0)
  expect_true(all(vapply(params, function(p) p$requires_grad, logical(1))))
  expect_output(print(model), "nn_module.*depth 5, 64 first channels")
})

test_that("model(x) maps images to probabilities of the same size", {
  model <- unet(depth = 3, n_filters = 2, seed = 1)
  batch <- random_batch(2, 16)
  y <- model(batch[[1]])
  expect_identical(dim(y), c(2L, 1L, 16L, 16L))
  values <- as.numeric(y)
  expect_true(all(values > 0 & values < 1))
  expect_identical(as.numeric(model$forward(batch[[1]])$view(-1)$sum()) > 0, TRUE)
  expect_unetseg_error(model(torch_tensor(array(0, c(1, 3, 10, 10)))), "value_error", "multiple")
  expect_unetseg_error(model(torch_tensor(array(0, c(1, 2, 16, 16)))), "value_error", "input must be \\[N, 3, H, W\\]")
  expect_unetseg_error(model(array(0, c(1, 3, 16, 16))), "value_error", "input must be a tensor")
})

test_that("train() and eval() switch dropout", {
  model <- unet(depth = 2, n_filters = 2, seed = 3)
  x <- random_batch(1, 8)[[1]]
  expect_true(model$training)
  expect_false(identical(as.numeric(model(x)), as.numeric(model(x))))
  expect_identical(model$eval(), model)
  expect_false(model$training)
  expect_identical(as.numeric(model(x)), as.numeric(model(x)))
  model$train()
  expect_true(model$training)
})

test_that("a seed gives the same weights; no seed draws from torch_manual_seed's generator", {
  expect_identical(as.numeric(unet(depth = 2, n_filters = 2, seed = 9)$parameters[[1]]),
                   as.numeric(unet(depth = 2, n_filters = 2, seed = 9)$parameters[[1]]))
  torch_manual_seed(5)
  a <- as.numeric(unet(depth = 2, n_filters = 2)$parameters[[3]])
  b <- as.numeric(unet(depth = 2, n_filters = 2)$parameters[[3]])
  torch_manual_seed(5)
  expect_identical(as.numeric(unet(depth = 2, n_filters = 2)$parameters[[3]]), a)
  expect_false(identical(a, b))
})

test_that("parameters are the model's own tensors", {
  model <- unet(depth = 2, n_filters = 2, seed = 1)
  model$eval()
  x <- random_batch(1, 8)[[1]]
  before <- as.numeric(model(x))
  optimizer <- optim_sgd(model$parameters, lr = 0.5)
  loss <- model(x)$sum()
  loss$backward()
  expect_false(is.null(model$parameters[[1]]$grad))
  optimizer$step()
  expect_false(identical(as.numeric(model(x)), before))
  model$zero_grad()
  expect_null(model$parameters[[1]]$grad)
  expect_length(model$state_dict(), length(model$parameters))
})

test_that("to(device) keeps the model on the CPU", {
  model <- unet(depth = 2, n_filters = 2, seed = 1)
  expect_identical(model$to(device = torch_device("cpu")), model)
  expect_identical(model$cpu(), model)
  expect_unetseg_error(model$to(device = "cuda"), "value_error", "CPU only")
  expect_unetseg_error(model$fly(), "value_error", "no method or field `fly`")
  expect_true("parameters" %in% .DollarNames(model, "par"))
})

test_that("unet() checks its arguments", {
  expect_unetseg_error(unet(depth = 0), "value_error", "depth")
  expect_unetseg_error(unet(n_filters = 11), "value_error", "n_filters")
  expect_unetseg_error(unet(dropout = 1), "value_error", "dropout")
  expect_unetseg_error(unet(channels_in = "3"), "value_error", "channels_in must be a whole number")
  expect_unetseg_error(unet(seed = -3), "value_error", "seed")
})

test_that("torch_save and torch_load round-trip a model", {
  model <- unet(depth = 3, n_filters = 2, dropout = 0.25, seed = 4)
  path <- file.path(fresh_dir("save"), "model_1.pt")
  expect_identical(torch_save(model, path), path)
  expect_true(file.exists(path))
  # safetensors: an 8-byte little-endian header length, then JSON
  header <- readBin(path, "raw", n = 9)
  expect_identical(rawToChar(header[9]), "{")
  loaded <- torch_load(path)
  expect_identical(loaded$config, model$config)
  expect_true(loaded$training)
  model$eval()
  loaded$eval()
  x <- random_batch(1, 8)[[1]]
  expect_identical(as.numeric(loaded(x)), as.numeric(model(x)))
  expect_identical(names(loaded$parameters), names(model$parameters))
  expect_unetseg_error(torch_save(torch_tensor(1), path), "value_error", "saves a unet, or a module defined in R")
  expect_unetseg_error(torch_save(model, file.path(tempdir(), "no", "such", "dir", "m.pt")), "runtime_error")
  expect_unetseg_error(torch_load(""), "value_error", "path must be a non-empty string")
})

test_that("unet(batch_norm = TRUE) is Buda et al.'s model and torch_save keeps its running statistics", {
  model <- unet(depth = 2, n_filters = 2, dropout = 0, seed = 3, batch_norm = TRUE)
  expect_true(model$config$batch_norm)
  params <- names(model$parameters)
  expect_false("down_path.0.conv_block.conv_block.0.bias" %in% params)
  expect_true(all(c("down_path.0.conv_block.conv_block.1.weight", "up_path.0.conv_block.conv_block.5.bias") %in% params))
  expect_identical(model$parameter_count, unet(depth = 2, n_filters = 2, seed = 3)$parameter_count + 32)
  x <- random_batch(4, 8)[[1]]
  model$eval()
  initial <- as.numeric(model(x))
  model$train()
  training <- as.numeric(model(x))   # batch statistics; the running ones move
  model$eval()
  moved <- as.numeric(model(x))
  expect_false(isTRUE(all.equal(initial, moved)))
  expect_false(isTRUE(all.equal(training, moved)))
  path <- file.path(fresh_dir("batch-norm"), "bn.pt")
  torch_save(model, path)
  loaded <- torch_load(path)
  expect_true(loaded$config$batch_norm)
  loaded$eval()
  expect_identical(as.numeric(loaded(x)), moved)
  expect_unetseg_error(unet(depth = 2, batch_norm = NA), "value_error", "batch_norm must be TRUE or FALSE")
  # The buffers are part of the state_dict: load_state_dict into another model gives the same outputs.
  buffers <- model$buffers
  expect_length(buffers, 6 * 3)
  expect_identical(as.numeric(buffers[["down_path.0.conv_block.conv_block.1.num_batches_tracked"]]), 1)
  expect_length(unet(depth = 2, n_filters = 2)$buffers, 0)
  other <- unet(depth = 2, n_filters = 2, dropout = 0, seed = 9, batch_norm = TRUE)
  state <- model$state_dict()
  expect_true(all(names(buffers) %in% names(state)))
  other$load_state_dict(state)
  other$eval()
  expect_identical(as.numeric(other(x)), moved)
  expect_unetseg_error(other$load_state_dict(model$parameters), "value_error", "missing down_path.0.conv_block.conv_block.1.running_mean")
})
