import CUNetSegTypes
import UNetTensor
import _UNetSupport

// Tensors: creation, shape and data, the ops a hand-written training loop needs, and autograd.
// Tensor handles are `unetseg_tensor *`; every op returns a new handle in its last argument.

/// The `unetseg_tensor **` out-parameter of the functions that make a tensor.
public typealias TensorOut = UnsafeMutablePointer<UnsafeMutablePointer<unetseg_tensor>?>

/// Runs `body` (the work of `function`) and returns the tensor it makes through `out` (named `argument`).
func returningTensor(_ out: TensorOut?, _ argument: String = "out_tensor", function: String = #function,
                     _ body: () throws(UnetsegError) -> Tensor) -> Int32 {
    returningHandle(out, argument, function: function, body)
}

extension Tensor {
    /// Sets whether gradients flow to this tensor, which must be a leaf (not made by a differentiable op):
    /// the work of unetseg_tensor_set_requires_grad.
    func setRequiresGradOfLeaf(_ value: Bool) throws(UnetsegError) {
        try checkArgument(gradNode == nil, "requires_grad can only be changed on leaf tensors; this one was made by an op")
        requiresGrad = value
    }
}

// MARK: - Creation and release

/// Makes a tensor holding a copy of the caller's data: ndim sizes at shape (ndim from 0 to
/// UNETSEG_MAX_NDIM, every size positive; shape may be NULL when ndim is 0, a scalar), and their product
/// of floats at data, row-major.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_tensor (free it with unetseg_tensor_free);
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a bad shape, UNETSEG_STATUS_OUT_OF_MEMORY for a size over
/// 2^32 elements. *out_tensor is NULL on failure. The library keeps no pointer to data.
@c public func unetseg_tensor_create(_ data: UnsafePointer<Float>?, _ shape: UnsafePointer<Int64>?, _ ndim: Int32,
                                     _ out_tensor: TensorOut?) -> Int32 {
    returningTensor(out_tensor) { () throws(UnetsegError) in
        let dims = try shapeArgument(shape, ndim)
        return try Tensor(copying: try nonNull(data, "data"), shape: dims)
    }
}

/// Makes a tensor of zeros with ndim sizes at shape (as unetseg_tensor_create).
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_tensor (free it with unetseg_tensor_free), or the
/// errors of unetseg_tensor_create.
@c public func unetseg_tensor_zeros(_ shape: UnsafePointer<Int64>?, _ ndim: Int32, _ out_tensor: TensorOut?) -> Int32 {
    returningTensor(out_tensor) { () throws(UnetsegError) in try Tensor.zeros(try shapeArgument(shape, ndim)) }
}

/// Frees a tensor handle. NULL is accepted and ignored; a handle that is not live (freed twice) is ignored
/// with a warning to the log callback. Tensors made from it (views, op results, gradients) stay valid.
@c public func unetseg_tensor_free(_ tensor: UnsafeMutablePointer<unetseg_tensor>?) {
    Handles.release(UnsafeRawPointer(tensor), Tensor.self, #function)
}

// MARK: - Shape and data

/// Writes the number of dimensions of tensor (0 for a scalar) into *out_ndim.
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_tensor_ndim(_ tensor: UnsafePointer<unetseg_tensor>?, _ out_ndim: UnsafeMutablePointer<Int32>?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let t = try Handles.tensor(tensor)
        try nonNull(out_ndim, "out_ndim").pointee = Int32(t.rank)
    }
}

/// Writes the sizes of tensor's dimensions, outermost first, into out_shape, which holds capacity
/// elements (UNETSEG_MAX_NDIM always suffice).
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle or a capacity
/// below the tensor's ndim.
@c public func unetseg_tensor_shape(_ tensor: UnsafePointer<unetseg_tensor>?, _ out_shape: UnsafeMutablePointer<Int64>?,
                                    _ capacity: Int32) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let t = try Handles.tensor(tensor)
        let out = try nonNull(out_shape, "out_shape")
        try checkArgument(Int(capacity) >= t.rank, "out_shape holds \(capacity) sizes, the tensor has \(t.rank) dimensions")
        for (i, size) in t.shape.enumerated() { out[i] = Int64(size) }
    }
}

/// Writes the number of elements of tensor into *out_numel.
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_tensor_numel(_ tensor: UnsafePointer<unetseg_tensor>?, _ out_numel: UnsafeMutablePointer<Int64>?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let t = try Handles.tensor(tensor)
        try nonNull(out_numel, "out_numel").pointee = Int64(t.count)
    }
}

/// Copies tensor's elements, row-major, into out_data, which holds capacity floats.
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle or a capacity
/// below the tensor's element count (nothing is written then).
@c public func unetseg_tensor_copy_to(_ tensor: UnsafePointer<unetseg_tensor>?, _ out_data: UnsafeMutablePointer<Float>?,
                                      _ capacity: Int64) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let t = try Handles.tensor(tensor)
        try copyOut(t.storage.pointer, count: t.count, to: out_data, capacity: capacity, "out_data")
    }
}

/// Writes the value of a one-element tensor into *out_value (the post's loss$item()).
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle or a tensor of
/// more than one element.
@c public func unetseg_tensor_item(_ tensor: UnsafePointer<unetseg_tensor>?, _ out_value: UnsafeMutablePointer<Float>?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let t = try Handles.tensor(tensor)
        try nonNull(out_value, "out_value").pointee = try t.item()
    }
}

/// A new handle to the same elements with ndim sizes at shape; one size may be -1 and is inferred
/// (torch's view). The result shares storage with tensor and is differentiable.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_tensor (free it with unetseg_tensor_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle or a shape with another element count.
@c public func unetseg_tensor_view(_ tensor: UnsafePointer<unetseg_tensor>?, _ shape: UnsafePointer<Int64>?, _ ndim: Int32,
                                   _ out_tensor: TensorOut?) -> Int32 {
    returningTensor(out_tensor) { () throws(UnetsegError) in
        try Handles.tensor(tensor).view(try shapeArgument(shape, ndim, allowInferred: true))
    }
}

/// Same as unetseg_tensor_view (every tensor is contiguous, so torch's reshape is its view).
@c public func unetseg_tensor_reshape(_ tensor: UnsafePointer<unetseg_tensor>?, _ shape: UnsafePointer<Int64>?, _ ndim: Int32,
                                      _ out_tensor: TensorOut?) -> Int32 {
    returningTensor(out_tensor) { () throws(UnetsegError) in
        try Handles.tensor(tensor).reshaped(try shapeArgument(shape, ndim, allowInferred: true))
    }
}

// MARK: - Elementwise ops between two tensors of the same shape

/// Elementwise a + b (same shape), differentiable.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_tensor (free it with unetseg_tensor_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle or shapes that differ.
@c public func unetseg_tensor_add(_ a: UnsafePointer<unetseg_tensor>?, _ b: UnsafePointer<unetseg_tensor>?,
                                  _ out_tensor: TensorOut?) -> Int32 {
    returningTensor(out_tensor) { () throws(UnetsegError) in try Handles.tensor(a, "a") + Handles.tensor(b, "b") }
}

/// Elementwise a - b (same shape), differentiable.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_tensor (free it with unetseg_tensor_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle or shapes that differ.
@c public func unetseg_tensor_sub(_ a: UnsafePointer<unetseg_tensor>?, _ b: UnsafePointer<unetseg_tensor>?,
                                  _ out_tensor: TensorOut?) -> Int32 {
    returningTensor(out_tensor) { () throws(UnetsegError) in try Handles.tensor(a, "a") - Handles.tensor(b, "b") }
}

/// Elementwise a * b (same shape), differentiable.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_tensor (free it with unetseg_tensor_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle or shapes that differ.
@c public func unetseg_tensor_mul(_ a: UnsafePointer<unetseg_tensor>?, _ b: UnsafePointer<unetseg_tensor>?,
                                  _ out_tensor: TensorOut?) -> Int32 {
    returningTensor(out_tensor) { () throws(UnetsegError) in try Handles.tensor(a, "a") * Handles.tensor(b, "b") }
}

/// Elementwise a / b (same shape), differentiable; division by zero gives infinities as in IEEE 754.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_tensor (free it with unetseg_tensor_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle or shapes that differ.
@c public func unetseg_tensor_div(_ a: UnsafePointer<unetseg_tensor>?, _ b: UnsafePointer<unetseg_tensor>?,
                                  _ out_tensor: TensorOut?) -> Int32 {
    returningTensor(out_tensor) { () throws(UnetsegError) in try Handles.tensor(a, "a") / Handles.tensor(b, "b") }
}

// MARK: - Tensor and scalar

/// tensor + scalar for every element, differentiable.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_tensor (free it with unetseg_tensor_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_tensor_add_scalar(_ tensor: UnsafePointer<unetseg_tensor>?, _ scalar: Float, _ out_tensor: TensorOut?) -> Int32 {
    returningTensor(out_tensor) { () throws(UnetsegError) in try Handles.tensor(tensor) + scalar }
}

/// tensor - scalar for every element, differentiable.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_tensor (free it with unetseg_tensor_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_tensor_sub_scalar(_ tensor: UnsafePointer<unetseg_tensor>?, _ scalar: Float, _ out_tensor: TensorOut?) -> Int32 {
    returningTensor(out_tensor) { () throws(UnetsegError) in try Handles.tensor(tensor) - scalar }
}

/// tensor * scalar for every element, differentiable.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_tensor (free it with unetseg_tensor_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_tensor_mul_scalar(_ tensor: UnsafePointer<unetseg_tensor>?, _ scalar: Float, _ out_tensor: TensorOut?) -> Int32 {
    returningTensor(out_tensor) { () throws(UnetsegError) in try Handles.tensor(tensor) * scalar }
}

/// tensor / scalar for every element, differentiable.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_tensor (free it with unetseg_tensor_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_tensor_div_scalar(_ tensor: UnsafePointer<unetseg_tensor>?, _ scalar: Float, _ out_tensor: TensorOut?) -> Int32 {
    returningTensor(out_tensor) { () throws(UnetsegError) in try Handles.tensor(tensor) / scalar }
}

/// scalar + tensor for every element, differentiable: unetseg_tensor_add_scalar with the operands
/// reversed (the r of PyTorch's rsub).
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_tensor (free it with unetseg_tensor_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_tensor_radd_scalar(_ scalar: Float, _ tensor: UnsafePointer<unetseg_tensor>?, _ out_tensor: TensorOut?) -> Int32 {
    returningTensor(out_tensor) { () throws(UnetsegError) in try scalar + Handles.tensor(tensor) }
}

/// scalar - tensor for every element (the post's 1 - dice), differentiable: unetseg_tensor_sub_scalar with
/// the operands reversed (the r of PyTorch's rsub).
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_tensor (free it with unetseg_tensor_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_tensor_rsub_scalar(_ scalar: Float, _ tensor: UnsafePointer<unetseg_tensor>?, _ out_tensor: TensorOut?) -> Int32 {
    returningTensor(out_tensor) { () throws(UnetsegError) in try scalar - Handles.tensor(tensor) }
}

/// scalar * tensor for every element, differentiable: unetseg_tensor_mul_scalar with the operands
/// reversed (the r of PyTorch's rsub).
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_tensor (free it with unetseg_tensor_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_tensor_rmul_scalar(_ scalar: Float, _ tensor: UnsafePointer<unetseg_tensor>?, _ out_tensor: TensorOut?) -> Int32 {
    returningTensor(out_tensor) { () throws(UnetsegError) in try scalar * Handles.tensor(tensor) }
}

/// scalar / tensor for every element, differentiable: unetseg_tensor_div_scalar with the operands
/// reversed (the r of PyTorch's rsub).
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_tensor (free it with unetseg_tensor_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_tensor_rdiv_scalar(_ scalar: Float, _ tensor: UnsafePointer<unetseg_tensor>?, _ out_tensor: TensorOut?) -> Int32 {
    returningTensor(out_tensor) { () throws(UnetsegError) in try scalar / Handles.tensor(tensor) }
}

/// 1 where an element of tensor is greater than scalar, else 0 (the post's prediction > 0.5); not
/// differentiable.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_tensor (free it with unetseg_tensor_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_tensor_gt_scalar(_ tensor: UnsafePointer<unetseg_tensor>?, _ scalar: Float, _ out_tensor: TensorOut?) -> Int32 {
    returningTensor(out_tensor) { () throws(UnetsegError) in try Handles.tensor(tensor) > scalar }
}

// MARK: - Reductions and activations

/// The sum of all elements as a 0-dimensional tensor, differentiable.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_tensor (free it with unetseg_tensor_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_tensor_sum(_ tensor: UnsafePointer<unetseg_tensor>?, _ out_tensor: TensorOut?) -> Int32 {
    returningTensor(out_tensor) { () throws(UnetsegError) in try Handles.tensor(tensor).sum() }
}

/// The mean of all elements as a 0-dimensional tensor, differentiable.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_tensor (free it with unetseg_tensor_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_tensor_mean(_ tensor: UnsafePointer<unetseg_tensor>?, _ out_tensor: TensorOut?) -> Int32 {
    returningTensor(out_tensor) { () throws(UnetsegError) in try Handles.tensor(tensor).mean() }
}

/// 1 / (1 + exp(-x)) for every element, differentiable.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_tensor (free it with unetseg_tensor_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_tensor_sigmoid(_ tensor: UnsafePointer<unetseg_tensor>?, _ out_tensor: TensorOut?) -> Int32 {
    returningTensor(out_tensor) { () throws(UnetsegError) in try Handles.tensor(tensor).sigmoid() }
}

// MARK: - Autograd

/// Back-propagates from a one-element tensor (a loss): adds d tensor / d leaf to the gradient of every
/// leaf that requires grad (model parameters, tensors given unetseg_tensor_set_requires_grad), then frees
/// the graph.
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle, a tensor of
/// more than one element or one that does not require grad.
@c public func unetseg_tensor_backward(_ tensor: UnsafeMutablePointer<unetseg_tensor>?) -> Int32 {
    withStatus { () throws(UnetsegError) in try Handles.tensor(tensor).backward() }
}

/// A new handle to tensor's accumulated gradient (same shape), or NULL in *out_grad when it has none (no
/// backward yet, or after zero_grad). The gradient handle shares storage with the gradient, so it sees
/// later accumulation into it.
///
/// Returns UNETSEG_STATUS_OK with *out_grad a new handle (free it with unetseg_tensor_free) or NULL, or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_tensor_grad(_ tensor: UnsafePointer<unetseg_tensor>?, _ out_grad: TensorOut?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let out = try nonNull(out_grad, "out_grad")
        out.pointee = nil
        if let grad = try Handles.tensor(tensor).grad { out.pointee = try Handles.register(grad) }
    }
}

/// Sets whether gradients flow to tensor, which must be a leaf (made by create or zeros, not by an op).
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle or a tensor
/// made by a differentiable op.
@c public func unetseg_tensor_set_requires_grad(_ tensor: UnsafeMutablePointer<unetseg_tensor>?, _ requires_grad: Bool) -> Int32 {
    withStatus { () throws(UnetsegError) in
        try Handles.tensor(tensor).setRequiresGradOfLeaf(requires_grad)
    }
}

/// Writes whether gradients flow to tensor into *out_requires_grad.
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_tensor_requires_grad(_ tensor: UnsafePointer<unetseg_tensor>?, _ out_requires_grad: UnsafeMutablePointer<Bool>?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let t = try Handles.tensor(tensor)
        try nonNull(out_requires_grad, "out_requires_grad").pointee = t.requiresGrad
    }
}

/// Drops tensor's gradient (torch's zero_grad(set_to_none = TRUE)); gradient handles taken before keep
/// their values.
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_tensor_zero_grad(_ tensor: UnsafeMutablePointer<unetseg_tensor>?) -> Int32 {
    withStatus { () throws(UnetsegError) in try Handles.tensor(tensor).zeroGrad() }
}
