# Models defined in R with nn_module(): the post's model-definition code, verbatim, against the built-in
# unet().

# The post's model definition ("Brain image segmentation with torch"), as the post writes it, shipped with
# the package as an example.
source(system.file("examples", "post_unet.R", package = "unetseg"), local = TRUE)

# Small enough for a test: 3 levels starting at 4 channels.
tiny <- list(depth = 3, n_filters = 2)

copy_weights <- function(to, from) {
  theirs <- from$parameters
  for (name in names(to$parameters)) to$parameters[[name]]$copy_(theirs[[name]])
}

# The output and every parameter gradient of `model` on images x (the post's BCE + dice loss).
outputs_and_gradients <- function(model, x, y) {
  model$zero_grad()
  output <- model(x)
  loss <- nnf_binary_cross_entropy(output, y) + nnf_dice_loss(output, y)
  loss$backward()
  list(output = as.numeric(output), loss = loss$item(),
       grads = lapply(model$parameters, function(p) as.numeric(p$grad)))
}

test_that("the post's unet builds with the built-in model's parameter names, shapes and order", {
  model <- unet_r(depth = tiny$depth, n_filters = tiny$n_filters)$to(device = device)
  builtin <- unet(depth = tiny$depth, n_filters = tiny$n_filters, seed = 1)
  expect_s3_class(model, c("unet", "nn_module"))
  expect_identical(names(model$parameters), names(builtin$parameters))
  expect_identical(lapply(model$parameters, dim), lapply(builtin$parameters, dim))
  expect_length(model$down_path, 3L)
  expect_s3_class(model$down_path[[1]]$conv_block$conv_block[[3]], "nn_dropout")
})

test_that("after torch_manual_seed the post's unet holds the built-in model's initial weights", {
  torch_manual_seed(11)
  model <- unet_r(depth = tiny$depth, n_filters = tiny$n_filters)
  torch_manual_seed(11)
  builtin <- unet(depth = tiny$depth, n_filters = tiny$n_filters)
  theirs <- builtin$parameters
  for (name in names(theirs)) expect_identical(as.numeric(model$parameters[[name]]), as.numeric(theirs[[name]]), info = name)
  bound <- 1 / sqrt(27)
  first <- as.numeric(model$parameters[[1]])
  expect_true(min(first) >= -bound && max(first) < bound)
})

test_that("with the built-in weights the post's unet gives bit-identical outputs and gradients in eval mode", {
  set.seed(3)
  batch <- random_batch(2, 8)
  builtin <- unet(depth = tiny$depth, n_filters = tiny$n_filters, seed = 4)
  model <- unet_r(depth = tiny$depth, n_filters = tiny$n_filters)
  copy_weights(model, builtin)
  builtin$eval()
  model$eval()
  expect_false(model$training)
  expect_false(model$down_path[[2]]$conv_block$conv_block[[3]]$training)
  expected <- outputs_and_gradients(builtin, batch[[1]], batch[[2]])
  actual <- outputs_and_gradients(model, batch[[1]], batch[[2]])
  expect_identical(actual$output, expected$output)
  expect_identical(actual$loss, expected$loss)
  expect_identical(names(actual$grads), names(expected$grads))
  for (name in names(expected$grads)) expect_identical(actual$grads[[name]], expected$grads[[name]], info = name)
  model$train()
  expect_true(model$up_path[[1]]$conv_block$conv_block[[3]]$training)
})

test_that("in training mode, after the same seed, the post's unet and the built-in unet() draw the same dropout masks", {
  set.seed(4)
  batch <- random_batch(2, 8)
  torch_manual_seed(4)
  builtin <- unet(depth = tiny$depth, n_filters = tiny$n_filters)  # no seed: it draws from the generator
  model <- unet_r(depth = tiny$depth, n_filters = tiny$n_filters)
  copy_weights(model, builtin)
  builtin$train()
  model$train()
  torch_manual_seed(99)
  expected <- outputs_and_gradients(builtin, batch[[1]], batch[[2]])
  torch_manual_seed(99)
  actual <- outputs_and_gradients(model, batch[[1]], batch[[2]])
  expect_identical(actual$output, expected$output)
  expect_identical(actual$loss, expected$loss)
  for (name in names(expected$grads)) expect_identical(actual$grads[[name]], expected$grads[[name]], info = name)
  # the masks came from the generator: the next pass, or another seed, draws others
  expect_false(identical(outputs_and_gradients(builtin, batch[[1]], batch[[2]])$output, expected$output))
})

test_that("$grad is NULL before backward and the gradient after, on parameters and leaf tensors", {
  model <- nn_conv2d(1, 1, kernel_size = 1)
  expect_null(model$weight$grad)
  x <- torch_tensor(array(c(1, 2, 3, 4), c(1, 1, 2, 2)), requires_grad = TRUE)
  model(x)$sum()$backward()
  expect_equal(as.numeric(model$bias$grad), 4)
  expect_equal(as.numeric(model$weight$grad), 10)
  expect_equal(as.numeric(x$grad), rep(as.numeric(model$weight), 4), tolerance = 1e-7)
  model$zero_grad()
  expect_null(model$weight$grad)
})

test_that("optim_sgd and lr_one_cycle over the post's unet lower the loss", {
  torch_manual_seed(2)
  set.seed(2)
  batch <- random_batch(2, 8)
  model <- unet_r(depth = 2, n_filters = 2)
  model$eval()
  optimizer <- optim_sgd(model$parameters, lr = 0.1, momentum = 0.9)
  scheduler <- lr_one_cycle(optimizer, max_lr = 0.1, epochs = 1, steps_per_epoch = 5)
  losses <- numeric(5)
  for (step in 1:5) {
    optimizer$zero_grad()
    output <- model(batch[[1]])
    loss <- nnf_binary_cross_entropy(output, batch[[2]]) + nnf_dice_loss(output, batch[[2]])
    loss$backward()
    optimizer$step()
    scheduler$step()
    losses[[step]] <- loss$item()
  }
  expect_lt(losses[[5]], losses[[1]])
})

test_that("a user-defined module registers parameters, fields and submodules by assignment", {
  affine <- nn_module("affine",
    initialize = function(n) {
      self$scale <- nn_parameter(torch_tensor(rep(2, n)))
      self$note <- "plain field"
      self$inner <- nn_sequential(nn_relu())
    },
    forward = function(x) self$inner(x) * self$scale,
    describe = function() sprintf("%s of %d", self$note, length(self$scale)))
  m <- affine(3)
  expect_identical(names(m$parameters), "scale")
  expect_identical(m$note, "plain field")
  expect_identical(m$describe(), "plain field of 3")
  expect_equal(as.numeric(m(torch_tensor(c(-1, 1, 2)))), c(0, 2, 4))
  expect_length(m$inner, 1L)
  expect_error(m$parameters <- list(), class = "value_error")
})

test_that("wrong inputs into a layer are value_errors naming the argument", {
  conv <- nn_conv2d(3, 4, kernel_size = 3)
  expect_unetseg_error(conv(torch_tensor(array(0, c(1, 2, 8, 8)))), "value_error", "input|weight")
  expect_unetseg_error(conv(array(0, c(1, 3, 8, 8))), "value_error", "input must be a tensor")
  expect_unetseg_error(nn_conv2d(0, 4, kernel_size = 3), "value_error", "in_channels")
  expect_unetseg_error(nn_conv2d(3, 4, kernel_size = 1.5), "value_error", "kernel_size")
  expect_unetseg_error(nnf_max_pool2d(torch_tensor(c(1, 2)), 2), "value_error", "max_pool2d")
  expect_unetseg_error(nnf_max_pool2d(torch_tensor(array(0, c(1, 1, 4, 4))), 0), "value_error", "kernel_size")
  expect_unetseg_error(nnf_dropout(torch_tensor(1), p = 2), "value_error", "p must be in")
  x <- torch_tensor(array(0, c(1, 2, 4, 4)))
  expect_unetseg_error(torch_cat(list(x, torch_tensor(array(0, c(1, 2, 3, 4)))), 2), "value_error", "size|shape")
  expect_unetseg_error(torch_cat(list(x, "a"), 2), "value_error", "tensors\\[\\[2\\]\\]")
  expect_unetseg_error(torch_cat(list(x, x), 9), "value_error", "dim")
  expect_unetseg_error(nn_module_list()[[1]], "value_error", "index")
  expect_unetseg_error(nn_sequential(nn_relu(), 3), "value_error", "modules")
  expect_unetseg_error(conv$weight$copy_(array(0, c(1, 1))), "value_error", "src has shape")
})

test_that("a module's handles are released by the garbage collector", {
  gc()
  before <- unetseg_live_handle_count()
  local({
    model <- unet_r(depth = 2, n_filters = 2)
    model$eval()
    y <- model(torch_tensor(array(0.5, c(1, 3, 4, 4))))
    y$sum()$backward()
    expect_gt(unetseg_live_handle_count(), before)
  })
  gc()
  expect_identical(unetseg_live_handle_count(), before)
})

test_that("modules inherit, override and call super, with private members and active fields", {
  base <- nn_module("base",
    initialize = function(n) {
      self$conv <- nn_conv2d(n, n, kernel_size = 1)
      self$calls <- 0
    },
    forward = function(x) {
      self$calls <- self$calls + 1
      nnf_relu(self$conv(x))
    },
    describe = function() "base")
  scaled <- nn_module("scaled", inherit = base,
    initialize = function(n, scale) {
      super$initialize(n)
      private$scale <- scale
    },
    forward = function(x) super$forward(x) * private$scale,
    private = list(scale = 1, secret = function() "hidden"),
    active = list(
      scale = function(value) {
        if (missing(value)) return(private$scale)
        private$scale <- value
      },
      n_weights = function(value) length(self$conv$weight),
      reveal = function(value) private$secret()))
  torch_manual_seed(3)
  model <- scaled(2, scale = 3)
  expect_s3_class(model, c("scaled", "base", "nn_module"))
  expect_identical(names(model$parameters), c("conv.weight", "conv.bias"))
  x <- torch_tensor(array(runif(2 * 2 * 4 * 4, -1, 1), c(2, 2, 4, 4)))
  expected <- 3 * pmax(as.array(model$conv(x)), 0)
  expect_equal(as.array(model(x)), expected, tolerance = 1e-6)
  expect_identical(model$calls, 1)  # the parent's forward ran, through super
  expect_identical(model$describe(), "base")  # inherited, not overridden
  expect_identical(model$scale, 3)
  model$scale <- 0.5
  expect_identical(model$scale, 0.5)
  expect_equal(as.array(model(x)), expected / 6, tolerance = 1e-6)
  expect_identical(model$n_weights, 4L)
  expect_identical(model$reveal, "hidden")
  expect_null(model$secret)  # private members are not fields
  expect_null(model$private)
  # two modules of one constructor keep their own private members
  other <- scaled(2, scale = 7)
  expect_identical(c(model$scale, other$scale), c(0.5, 7))
  # the inherited parameters train: gradients reach the parent's convolution
  model(x)$sum()$backward()
  expect_identical(dim(model$conv$weight$grad), c(2L, 2L, 1L, 1L))
})

test_that("nn_module refuses a bad inherit, private or active with a value_error", {
  expect_unetseg_error(nn_module("a", inherit = function() NULL), "value_error", "inherit must be a constructor made by nn_module")
  expect_unetseg_error(nn_module("a", private = 1), "value_error", "private must be a named list")
  expect_unetseg_error(nn_module("a", active = list(x = 1)), "value_error", "active must be a named list of functions")
  expect_unetseg_error(nn_module("a", NULL, function(x) x), "value_error", "must be named")
  expect_unetseg_error(nn_module("a", forward = 1), "value_error", "forward must be a function")
})

test_that("torch_save writes the post's unet defined in R as the built-in unet's checkpoint", {
  set.seed(5)
  batch <- random_batch(2, 8)
  torch_manual_seed(21)
  model <- unet_r(depth = tiny$depth, n_filters = tiny$n_filters)
  model$eval()
  path <- file.path(fresh_dir("save-r-unet"), "model_1.pt")
  torch_save(model, path)
  loaded <- torch_load(path)
  expect_s3_class(loaded, "unetseg_model")
  expect_identical(loaded$config[c("depth", "n_filters", "channels_in", "n_classes")],
                   list(depth = 3L, n_filters = 2L, channels_in = 3L, n_classes = 1L))
  expect_equal(loaded$config$dropout, 0.6, tolerance = 1e-7)
  loaded$eval()
  expect_identical(as.numeric(loaded(batch[[1]])), as.numeric(model(batch[[1]])))
  # the module itself is unchanged by the save
  expect_false(model$training)
  expect_identical(names(model$parameters), names(loaded$parameters))
})

test_that("other modules defined in R are refused by torch_save and keep their weights with load_state_dict", {
  two_convs <- nn_module("unet",  # a class name that is not the built-in model's
    initialize = function() {
      self$a <- nn_conv2d(3, 4, kernel_size = 3, padding = 1)
      self$b <- nn_conv2d(4, 1, kernel_size = 1)
    },
    forward = function(x) torch_sigmoid(self$b(nnf_relu(self$a(x)))))
  torch_manual_seed(1)
  model <- two_convs()
  path <- file.path(fresh_dir("save-r-module"), "weights.rds")
  expect_unetseg_error(torch_save(model, path), "value_error", "saveRDS")
  expect_false(file.exists(path))
  expect_unetseg_error(unetseg_evaluate(model, path), "value_error", "model must be a unet")
  saveRDS(lapply(model$state_dict(), as.array), path)
  torch_manual_seed(2)
  other <- two_convs()
  expect_false(identical(as.array(other$a$weight), as.array(model$a$weight)))
  other$load_state_dict(readRDS(path))
  x <- torch_tensor(array(runif(3 * 8 * 8), c(1, 3, 8, 8)))
  expect_identical(as.array(other(x)), as.array(model(x)))
  # tensors work as well as arrays; names and shapes must match
  other$load_state_dict(model$state_dict())
  state <- readRDS(path)
  expect_unetseg_error(other$load_state_dict(state[-1]), "value_error", "missing a.weight; unexpected none")
  expect_unetseg_error(other$load_state_dict(c(state, list(extra = 1))), "value_error", "unexpected extra")
  state$b.bias <- c(1, 2)
  expect_unetseg_error(other$load_state_dict(state), "value_error", "b.bias.*shape \\[2\\].*\\[1\\]")
  expect_unetseg_error(other$load_state_dict(list(1, 2)), "value_error", "named list")
})

test_that("the built-in unet loads the state_dict of the post's unet defined in R", {
  torch_manual_seed(8)
  model <- unet_r(depth = 2, n_filters = 2)
  builtin <- unet(depth = 2, n_filters = 2, seed = 1)
  builtin$load_state_dict(model$state_dict())
  expect_identical(lapply(builtin$parameters, as.numeric), lapply(model$parameters, as.numeric))
  expect_unetseg_error(unet(depth = 3, n_filters = 2, seed = 1)$load_state_dict(model$state_dict()), "value_error", "missing")
})

test_that("unetseg_evaluate scores the post's unet defined in R as the built-in unet with its weights", {
  data <- fixture_data()
  torch_manual_seed(9)
  model <- unet_r(depth = 2, n_filters = 2)
  builtin <- unet(depth = 2, n_filters = 2, seed = 1)
  builtin$load_state_dict(model$state_dict())
  expect_identical(unetseg_evaluate(model, data$valid)$volumes, unetseg_evaluate(builtin, data$valid)$volumes)
})
