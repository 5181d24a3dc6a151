import CUNetSegTypes
import UNetTensor
import _UNetSupport

// R (.C): tensors. Handles are R integers (see RBridge.swift); data cross as R doubles, row-major (R
// converts its column-major arrays with aperm), and become float32 inside.

/// Runs `body` (the work of the R function `function`) and returns the tensor it makes as a new R handle
/// in `*out_tensor`.
func rTensorResult(_ out_tensor: UnsafeMutablePointer<Int32>?, _ message: RString?, _ status: UnsafeMutablePointer<Int32>?,
                   function: String = #function, _ body: () throws(UnetsegError) -> Tensor) {
    rCall(message, status, function: function) { () throws(UnetsegError) in
        try rReturn(try body(), to: out_tensor, "out_tensor")
    }
}

// MARK: - Creation, release, data

/// R (.C): a tensor of *ndim sizes at shape (each > 0) holding *length doubles from data, row-major, as
/// float32; with *requires_grad it is a leaf that collects gradients. *length must be the product of the
/// sizes. New handle in *out_tensor.
@c public func unetseg_r_tensor_create(_ data: UnsafePointer<Double>?, _ length: UnsafePointer<Double>?,
                                       _ shape: UnsafePointer<Int32>?, _ ndim: UnsafePointer<Int32>?,
                                       _ requires_grad: UnsafePointer<Int32>?, _ out_tensor: UnsafeMutablePointer<Int32>?,
                                       _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rTensorResult(out_tensor, message, status) { () throws(UnetsegError) in
        let dims = try rShape(shape, ndim)
        let count = try rCount(length, "length"), values = try nonNull(data, "data")
        try checkArgument(Shape.elementCount(dims) == count, "\(count) numbers cannot fill shape \(Shape.describe(dims))")
        let tensor = try Tensor.zeros(dims, requiresGrad: try rBool(requires_grad, "requires_grad"))
        let p = tensor.storage.pointer
        for i in 0..<count { p[i] = Float(values[i]) }
        return tensor
    }
}

/// R (.C): frees tensor handle *tensor (0 and dead handles are ignored, as by unetseg_tensor_free).
@c public func unetseg_r_tensor_free(_ tensor: UnsafePointer<Int32>?, _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in rRelease(tensor, Tensor.self, function: #function) }
}

/// R (.C): writes the number of dimensions into *out_ndim and the sizes, outermost first, into out_shape,
/// which holds *capacity integers (UNETSEG_MAX_NDIM suffice).
@c public func unetseg_r_tensor_shape(_ tensor: UnsafePointer<Int32>?, _ out_shape: UnsafeMutablePointer<Int32>?,
                                      _ capacity: UnsafePointer<Int32>?, _ out_ndim: UnsafeMutablePointer<Int32>?,
                                      _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let t = try rTensor(tensor)
        let shape = try nonNull(out_shape, "out_shape"), ndim = try nonNull(out_ndim, "out_ndim")
        try checkArgument(try rInt(capacity, "capacity") >= t.rank, "out_shape holds too few sizes for \(t.rank) dimensions")
        try checkArgument(t.shape.allSatisfy { $0 <= Int(Int32.max) }, "a size of \(Shape.describe(t.shape)) does not fit an R integer")
        for (i, size) in t.shape.enumerated() { shape[i] = Int32(size) }
        ndim.pointee = Int32(t.rank)
    }
}

/// R (.C): copies the elements, row-major, into out_data, which holds *capacity doubles.
@c public func unetseg_r_tensor_data(_ tensor: UnsafePointer<Int32>?, _ out_data: UnsafeMutablePointer<Double>?,
                                     _ capacity: UnsafePointer<Double>?, _ message: RString?,
                                     _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let t = try rTensor(tensor)
        try rCopyOut(t.storage.pointer, count: t.count, to: out_data, capacity: capacity, "out_data")
    }
}

/// R (.C): writes the value of a one-element tensor into *out_value (loss$item()).
@c public func unetseg_r_tensor_item(_ tensor: UnsafePointer<Int32>?, _ out_value: UnsafeMutablePointer<Double>?,
                                     _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        try nonNull(out_value, "out_value").pointee = Double(try rTensor(tensor).item())
    }
}

/// R (.C): the same elements with *ndim sizes at shape, one of which may be -1 (torch's view); shares
/// storage and is differentiable. New handle in *out_tensor.
@c public func unetseg_r_tensor_view(_ tensor: UnsafePointer<Int32>?, _ shape: UnsafePointer<Int32>?,
                                     _ ndim: UnsafePointer<Int32>?, _ out_tensor: UnsafeMutablePointer<Int32>?,
                                     _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rTensorResult(out_tensor, message, status) { () throws(UnetsegError) in
        try rTensor(tensor).view(try rShape(shape, ndim, allowInferred: true))
    }
}

/// R (.C): a copy of the tensor that records no graph (torch's detach, then clone). New handle in
/// *out_tensor.
@c public func unetseg_r_tensor_detach(_ tensor: UnsafePointer<Int32>?, _ out_tensor: UnsafeMutablePointer<Int32>?,
                                       _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rTensorResult(out_tensor, message, status) { () throws(UnetsegError) in try rTensor(tensor).detached().clone() }
}

// MARK: - Arithmetic

/// R (.C): elementwise *a + *b (same shape), differentiable. New handle in *out_tensor.
@c public func unetseg_r_tensor_add(_ a: UnsafePointer<Int32>?, _ b: UnsafePointer<Int32>?, _ out_tensor: UnsafeMutablePointer<Int32>?,
                                    _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rTensorResult(out_tensor, message, status) { () throws(UnetsegError) in try rTensor(a, "a") + rTensor(b, "b") }
}

/// R (.C): elementwise *a - *b (same shape), differentiable. New handle in *out_tensor.
@c public func unetseg_r_tensor_sub(_ a: UnsafePointer<Int32>?, _ b: UnsafePointer<Int32>?, _ out_tensor: UnsafeMutablePointer<Int32>?,
                                    _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rTensorResult(out_tensor, message, status) { () throws(UnetsegError) in try rTensor(a, "a") - rTensor(b, "b") }
}

/// R (.C): elementwise *a * *b (same shape), differentiable. New handle in *out_tensor.
@c public func unetseg_r_tensor_mul(_ a: UnsafePointer<Int32>?, _ b: UnsafePointer<Int32>?, _ out_tensor: UnsafeMutablePointer<Int32>?,
                                    _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rTensorResult(out_tensor, message, status) { () throws(UnetsegError) in try rTensor(a, "a") * rTensor(b, "b") }
}

/// R (.C): elementwise *a / *b (same shape), differentiable. New handle in *out_tensor.
@c public func unetseg_r_tensor_div(_ a: UnsafePointer<Int32>?, _ b: UnsafePointer<Int32>?, _ out_tensor: UnsafeMutablePointer<Int32>?,
                                    _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rTensorResult(out_tensor, message, status) { () throws(UnetsegError) in try rTensor(a, "a") / rTensor(b, "b") }
}

/// R (.C): tensor + *scalar for every element, differentiable. New handle in *out_tensor.
@c public func unetseg_r_tensor_add_scalar(_ tensor: UnsafePointer<Int32>?, _ scalar: UnsafePointer<Double>?,
                                           _ out_tensor: UnsafeMutablePointer<Int32>?, _ message: RString?,
                                           _ status: UnsafeMutablePointer<Int32>?) {
    rTensorResult(out_tensor, message, status) { () throws(UnetsegError) in try rTensor(tensor) + rFloat(scalar, "scalar") }
}

/// R (.C): tensor - *scalar for every element, differentiable. New handle in *out_tensor.
@c public func unetseg_r_tensor_sub_scalar(_ tensor: UnsafePointer<Int32>?, _ scalar: UnsafePointer<Double>?,
                                           _ out_tensor: UnsafeMutablePointer<Int32>?, _ message: RString?,
                                           _ status: UnsafeMutablePointer<Int32>?) {
    rTensorResult(out_tensor, message, status) { () throws(UnetsegError) in try rTensor(tensor) - rFloat(scalar, "scalar") }
}

/// R (.C): tensor * *scalar for every element, differentiable. New handle in *out_tensor.
@c public func unetseg_r_tensor_mul_scalar(_ tensor: UnsafePointer<Int32>?, _ scalar: UnsafePointer<Double>?,
                                           _ out_tensor: UnsafeMutablePointer<Int32>?, _ message: RString?,
                                           _ status: UnsafeMutablePointer<Int32>?) {
    rTensorResult(out_tensor, message, status) { () throws(UnetsegError) in try rTensor(tensor) * rFloat(scalar, "scalar") }
}

/// R (.C): tensor / *scalar for every element, differentiable. New handle in *out_tensor.
@c public func unetseg_r_tensor_div_scalar(_ tensor: UnsafePointer<Int32>?, _ scalar: UnsafePointer<Double>?,
                                           _ out_tensor: UnsafeMutablePointer<Int32>?, _ message: RString?,
                                           _ status: UnsafeMutablePointer<Int32>?) {
    rTensorResult(out_tensor, message, status) { () throws(UnetsegError) in try rTensor(tensor) / rFloat(scalar, "scalar") }
}

/// R (.C): *scalar + tensor for every element, differentiable. New handle in *out_tensor.
@c public func unetseg_r_tensor_radd_scalar(_ scalar: UnsafePointer<Double>?, _ tensor: UnsafePointer<Int32>?,
                                           _ out_tensor: UnsafeMutablePointer<Int32>?, _ message: RString?,
                                           _ status: UnsafeMutablePointer<Int32>?) {
    rTensorResult(out_tensor, message, status) { () throws(UnetsegError) in try rFloat(scalar, "scalar") + rTensor(tensor) }
}

/// R (.C): *scalar - tensor for every element (the post's 1 - dice), differentiable. New handle in
/// *out_tensor.
@c public func unetseg_r_tensor_rsub_scalar(_ scalar: UnsafePointer<Double>?, _ tensor: UnsafePointer<Int32>?,
                                           _ out_tensor: UnsafeMutablePointer<Int32>?, _ message: RString?,
                                           _ status: UnsafeMutablePointer<Int32>?) {
    rTensorResult(out_tensor, message, status) { () throws(UnetsegError) in try rFloat(scalar, "scalar") - rTensor(tensor) }
}

/// R (.C): *scalar * tensor for every element, differentiable. New handle in *out_tensor.
@c public func unetseg_r_tensor_rmul_scalar(_ scalar: UnsafePointer<Double>?, _ tensor: UnsafePointer<Int32>?,
                                           _ out_tensor: UnsafeMutablePointer<Int32>?, _ message: RString?,
                                           _ status: UnsafeMutablePointer<Int32>?) {
    rTensorResult(out_tensor, message, status) { () throws(UnetsegError) in try rFloat(scalar, "scalar") * rTensor(tensor) }
}

/// R (.C): *scalar / tensor for every element, differentiable. New handle in *out_tensor.
@c public func unetseg_r_tensor_rdiv_scalar(_ scalar: UnsafePointer<Double>?, _ tensor: UnsafePointer<Int32>?,
                                           _ out_tensor: UnsafeMutablePointer<Int32>?, _ message: RString?,
                                           _ status: UnsafeMutablePointer<Int32>?) {
    rTensorResult(out_tensor, message, status) { () throws(UnetsegError) in try rFloat(scalar, "scalar") / rTensor(tensor) }
}

/// R (.C): 1 where an element is greater than *scalar, else 0 (prediction > 0.5); not differentiable. New
/// handle in *out_tensor.
@c public func unetseg_r_tensor_gt_scalar(_ tensor: UnsafePointer<Int32>?, _ scalar: UnsafePointer<Double>?,
                                          _ out_tensor: UnsafeMutablePointer<Int32>?, _ message: RString?,
                                          _ status: UnsafeMutablePointer<Int32>?) {
    rTensorResult(out_tensor, message, status) { () throws(UnetsegError) in try rTensor(tensor) > rFloat(scalar, "scalar") }
}

// MARK: - Reductions and activations

/// R (.C): the sum of all elements, a 0-dimensional tensor, differentiable. New handle in *out_tensor.
@c public func unetseg_r_tensor_sum(_ tensor: UnsafePointer<Int32>?, _ out_tensor: UnsafeMutablePointer<Int32>?,
                                    _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rTensorResult(out_tensor, message, status) { () throws(UnetsegError) in try rTensor(tensor).sum() }
}

/// R (.C): the mean of all elements, a 0-dimensional tensor, differentiable. New handle in *out_tensor.
@c public func unetseg_r_tensor_mean(_ tensor: UnsafePointer<Int32>?, _ out_tensor: UnsafeMutablePointer<Int32>?,
                                     _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rTensorResult(out_tensor, message, status) { () throws(UnetsegError) in try rTensor(tensor).mean() }
}

/// R (.C): 1 / (1 + exp(-x)) for every element, differentiable. New handle in *out_tensor.
@c public func unetseg_r_tensor_sigmoid(_ tensor: UnsafePointer<Int32>?, _ out_tensor: UnsafeMutablePointer<Int32>?,
                                        _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rTensorResult(out_tensor, message, status) { () throws(UnetsegError) in try rTensor(tensor).sigmoid() }
}

// MARK: - Autograd

/// R (.C): back-propagates from a one-element tensor (loss$backward()), as unetseg_tensor_backward.
@c public func unetseg_r_tensor_backward(_ tensor: UnsafePointer<Int32>?, _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in try rTensor(tensor).backward() }
}

/// R (.C): a new handle to the accumulated gradient in *out_grad, or 0 when there is none.
@c public func unetseg_r_tensor_grad(_ tensor: UnsafePointer<Int32>?, _ out_grad: UnsafeMutablePointer<Int32>?,
                                     _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let out = try nonNull(out_grad, "out_grad")
        out.pointee = 0
        if let grad = try rTensor(tensor).grad { out.pointee = try rRegister(grad) }
    }
}

/// R (.C): writes whether gradients flow to the tensor into *out_requires_grad (0 or 1).
@c public func unetseg_r_tensor_requires_grad(_ tensor: UnsafePointer<Int32>?, _ out_requires_grad: UnsafeMutablePointer<Int32>?,
                                              _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        try nonNull(out_requires_grad, "out_requires_grad").pointee = try rTensor(tensor).requiresGrad ? 1 : 0
    }
}

/// R (.C): sets whether gradients flow to a leaf tensor, as unetseg_tensor_set_requires_grad.
@c public func unetseg_r_tensor_set_requires_grad(_ tensor: UnsafePointer<Int32>?, _ requires_grad: UnsafePointer<Int32>?,
                                                  _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        try rTensor(tensor).setRequiresGradOfLeaf(try rBool(requires_grad, "requires_grad"))
    }
}

/// R (.C): drops the tensor's gradient.
@c public func unetseg_r_tensor_zero_grad(_ tensor: UnsafePointer<Int32>?, _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in try rTensor(tensor).zeroGrad() }
}

// MARK: - Layer ops

/// R (.C): *ndim sizes at shape drawn uniformly from [*low, *high) by the library's generator (torch's
/// default init of a layer), as unetseg_tensor_uniform. New handle in *out_tensor.
@c public func unetseg_r_tensor_uniform(_ shape: UnsafePointer<Int32>?, _ ndim: UnsafePointer<Int32>?,
                                        _ low: UnsafePointer<Double>?, _ high: UnsafePointer<Double>?,
                                        _ out_tensor: UnsafeMutablePointer<Int32>?, _ message: RString?,
                                        _ status: UnsafeMutablePointer<Int32>?) {
    rTensorResult(out_tensor, message, status) { () throws(UnetsegError) in
        try Tensor.uniformFromDefaultGenerator(try rShape(shape, ndim), low: try rFloat(low, "low"), high: try rFloat(high, "high"))
    }
}

/// R (.C): overwrites the tensor's elements, outside autograd, with *length doubles from data, row-major,
/// as float32 (param$copy_(values) under with_no_grad), as unetseg_tensor_copy_from.
@c public func unetseg_r_tensor_copy_from(_ tensor: UnsafePointer<Int32>?, _ data: UnsafePointer<Double>?,
                                          _ length: UnsafePointer<Double>?, _ message: RString?,
                                          _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let t = try rTensor(tensor), values = try nonNull(data, "data")
        try t.overwrite(count: Int64(try rCount(length, "length"))) { p, n in for i in 0..<n { p[i] = Float(values[i]) } }
    }
}

/// R (.C): conv2d of *input with *weight and *bias (0: none), *stride and *padding, as
/// unetseg_tensor_conv2d; differentiable. New handle in *out_tensor.
@c public func unetseg_r_tensor_conv2d(_ input: UnsafePointer<Int32>?, _ weight: UnsafePointer<Int32>?,
                                       _ bias: UnsafePointer<Int32>?, _ stride: UnsafePointer<Int32>?,
                                       _ padding: UnsafePointer<Int32>?, _ out_tensor: UnsafeMutablePointer<Int32>?,
                                       _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rTensorResult(out_tensor, message, status) { () throws(UnetsegError) in
        let b = try rInt(bias, "bias") == 0 ? nil : try rTensor(bias, "bias")
        return try rTensor(input, "input").conv2dLayer(weight: try rTensor(weight, "weight"), bias: b,
                                                       stride: Int32(try rInt(stride, "stride")),
                                                       padding: Int32(try rInt(padding, "padding")))
    }
}

/// R (.C): conv_transpose2d of *input with *weight and *bias (0: none), *stride and *padding, as
/// unetseg_tensor_conv_transpose2d; differentiable. New handle in *out_tensor.
@c public func unetseg_r_tensor_conv_transpose2d(_ input: UnsafePointer<Int32>?, _ weight: UnsafePointer<Int32>?,
                                                 _ bias: UnsafePointer<Int32>?, _ stride: UnsafePointer<Int32>?,
                                                 _ padding: UnsafePointer<Int32>?, _ out_tensor: UnsafeMutablePointer<Int32>?,
                                                 _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rTensorResult(out_tensor, message, status) { () throws(UnetsegError) in
        let b = try rInt(bias, "bias") == 0 ? nil : try rTensor(bias, "bias")
        return try rTensor(input, "input").convTranspose2dLayer(weight: try rTensor(weight, "weight"), bias: b,
                                                                stride: Int32(try rInt(stride, "stride")),
                                                                padding: Int32(try rInt(padding, "padding")))
    }
}

/// R (.C): max_pool2d of *input over *kernel_size windows moved by *stride (0: kernel_size), as
/// unetseg_tensor_max_pool2d; differentiable. New handle in *out_tensor.
@c public func unetseg_r_tensor_max_pool2d(_ input: UnsafePointer<Int32>?, _ kernel_size: UnsafePointer<Int32>?,
                                           _ stride: UnsafePointer<Int32>?, _ out_tensor: UnsafeMutablePointer<Int32>?,
                                           _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rTensorResult(out_tensor, message, status) { () throws(UnetsegError) in
        try rTensor(input, "input").maxPool2dLayer(kernelSize: Int32(try rInt(kernel_size, "kernel_size")),
                                                   stride: Int32(try rInt(stride, "stride")))
    }
}

/// R (.C): max(x, 0) for every element of *input, as unetseg_tensor_relu; differentiable. New handle in
/// *out_tensor.
@c public func unetseg_r_tensor_relu(_ input: UnsafePointer<Int32>?, _ out_tensor: UnsafeMutablePointer<Int32>?,
                                     _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rTensorResult(out_tensor, message, status) { () throws(UnetsegError) in try rTensor(input, "input").relu() }
}

/// R (.C): dropout of *input with probability *p when *training is 1 (the mask from the library's
/// generator), as unetseg_tensor_dropout; differentiable. New handle in *out_tensor.
@c public func unetseg_r_tensor_dropout(_ input: UnsafePointer<Int32>?, _ p: UnsafePointer<Double>?,
                                        _ training: UnsafePointer<Int32>?, _ out_tensor: UnsafeMutablePointer<Int32>?,
                                        _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rTensorResult(out_tensor, message, status) { () throws(UnetsegError) in
        try rTensor(input, "input").dropoutFromDefaultGenerator(p: try rFloat(p, "p"), training: try rBool(training, "training"))
    }
}

/// R (.C): the *count tensors whose handles are at tensors joined along *dim (0-based), as
/// unetseg_tensor_cat; differentiable. New handle in *out_tensor.
@c public func unetseg_r_tensor_cat(_ tensors: UnsafePointer<Int32>?, _ count: UnsafePointer<Int32>?,
                                    _ dim: UnsafePointer<Int32>?, _ out_tensor: UnsafeMutablePointer<Int32>?,
                                    _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rTensorResult(out_tensor, message, status) { () throws(UnetsegError) in
        let n = try rInt(count, "count"), handles = try nonNull(tensors, "tensors")
        try checkArgument(n >= 1, "tensors: count must be at least 1, got \(n)")
        var parts: [Tensor] = []
        for i in 0..<n { parts.append(try rTensor(handles + i, "tensors[\(i + 1)]")) }
        return try Tensor.cat(parts, dim: try rInt(dim, "dim"))
    }
}
