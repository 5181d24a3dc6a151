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

    /// A tensor of `dims` drawn uniformly from [low, high) by the library's generator, which advances past
    /// them: the work of unetseg_tensor_uniform.
    static func uniformFromDefaultGenerator(_ dims: [Int], low: Float, high: Float) throws(UnetsegError) -> Tensor {
        try checkArgument(low.isFinite && high.isFinite && low <= high,
                          "uniform: low and high must be finite with low <= high, got low \(low), high \(high)")
        return try defaultGenerator.withLock { (generator: inout RandomGenerator) throws(UnetsegError) -> Tensor in
            try Tensor.uniform(dims, low: low, high: high, generator: &generator)
        }
    }

    /// Overwrites the elements outside autograd with `count` values that `fill` writes (given the storage and
    /// the count) once the count is checked against the element count: the work of unetseg_tensor_copy_from.
    func overwrite(count: Int64, _ fill: (UnsafeMutablePointer<Float>, Int) -> Void) throws(UnetsegError) {
        try checkArgument(count == Int64(self.count),
                          "data: the tensor \(Shape.describe(shape)) has \(self.count) elements, got \(count)")
        fill(storage.pointer, self.count)
    }

    /// conv2d with the C API's size arguments checked: the work of unetseg_tensor_conv2d.
    func conv2dLayer(weight: Tensor, bias: Tensor?, stride: Int32, padding: Int32) throws(UnetsegError) -> Tensor {
        try conv2d(weight: weight, bias: bias, stride: try layerSize(stride, "stride", op: "conv2d", minimum: 1),
                   padding: try layerSize(padding, "padding", op: "conv2d", minimum: 0))
    }

    /// convTranspose2d with the C API's size arguments checked: the work of unetseg_tensor_conv_transpose2d.
    func convTranspose2dLayer(weight: Tensor, bias: Tensor?, stride: Int32, padding: Int32) throws(UnetsegError) -> Tensor {
        let op = "conv_transpose2d"
        return try convTranspose2d(weight: weight, bias: bias, stride: try layerSize(stride, "stride", op: op, minimum: 1),
                                   padding: try layerSize(padding, "padding", op: op, minimum: 0))
    }

    /// maxPool2d with the C API's size arguments checked (stride 0: kernel_size): the work of
    /// unetseg_tensor_max_pool2d.
    func maxPool2dLayer(kernelSize: Int32, stride: Int32) throws(UnetsegError) -> Tensor {
        let kernel = try layerSize(kernelSize, "kernel_size", op: "max_pool2d", minimum: 1)
        let step = try layerSize(stride, "stride", op: "max_pool2d", minimum: 0)
        return try maxPool2d(kernelSize: kernel, stride: step == 0 ? nil : step)
    }

    /// dropout with p checked and the mask drawn from the library's generator: the work of
    /// unetseg_tensor_dropout.
    func dropoutFromDefaultGenerator(p: Float, training: Bool) throws(UnetsegError) -> Tensor {
        try checkArgument(p >= 0 && p <= 1, "dropout: p must be in [0, 1], got \(p)")
        return try defaultGenerator.withLock { (generator: inout RandomGenerator) throws(UnetsegError) -> Tensor in
            try dropout(p: p, training: training, generator: &generator)
        }
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

/// Makes a tensor of ndim sizes at shape (as unetseg_tensor_create) with values drawn uniformly from
/// [low, high) by the library's generator (seeded by unetseg_manual_seed), which advances past them: what
/// PyTorch's default initialisation of a conv layer draws from (torch.empty(shape).uniform_(low, high)).
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_tensor (free it with unetseg_tensor_free), the
/// errors of unetseg_tensor_create, or UNETSEG_STATUS_INVALID_ARGUMENT for a low or high that is not
/// finite or a high below low.
@c public func unetseg_tensor_uniform(_ shape: UnsafePointer<Int64>?, _ ndim: Int32, _ low: Float, _ high: Float,
                                      _ out_tensor: TensorOut?) -> Int32 {
    returningTensor(out_tensor) { () throws(UnetsegError) in
        try Tensor.uniformFromDefaultGenerator(try shapeArgument(shape, ndim), low: low, high: high)
    }
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

/// Overwrites tensor's elements with count floats from data, row-major (count must be its element count),
/// outside autograd (torch's with torch.no_grad(): tensor.copy_(values)): the way to load values into a
/// parameter. Handles and results sharing its storage (views, the model whose parameter it is) see them.
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle or a wrong
/// count (nothing is changed then).
@c public func unetseg_tensor_copy_from(_ tensor: UnsafeMutablePointer<unetseg_tensor>?, _ data: UnsafePointer<Float>?,
                                        _ count: Int64) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let source = try nonNull(data, "data")
        try Handles.tensor(tensor).overwrite(count: count) { $0.update(from: source, count: $1) }
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

// MARK: - Layer ops

/// An `Int32` size argument of a layer op as an `Int`, at least `minimum` (the message names `argument`
/// and the op, as PyTorch's do).
func layerSize(_ value: Int32, _ argument: String, op: String, minimum: Int32) throws(UnetsegError) -> Int {
    try checkArgument(value >= minimum, "\(op): \(argument) must be at least \(minimum), got \(value)")
    return Int(value)
}

/// The tensors of a C array of count handles (argument name `argument`), in order.
func tensorArray(_ tensors: UnsafePointer<UnsafePointer<unetseg_tensor>?>?, _ count: Int32,
                 _ argument: String = "tensors") throws(UnetsegError) -> [Tensor] {
    let array = try nonNull(tensors, argument)
    try checkArgument(count >= 1, "\(argument): count must be at least 1, got \(count)")
    var result: [Tensor] = []
    for i in 0..<Int(count) { result.append(try Handles.tensor(array[i], "\(argument)[\(i)]")) }
    return result
}

/// 2-D convolution of input [N, C, H, W] with weight [O, C, kh, kw] and bias [O] (or NULL for none), zero
/// padding on each side, as torch.nn.functional.conv2d (no dilation, no groups); the result is [N, O, Ho, Wo]
/// with Ho = (H + 2 padding - kh) / stride + 1. Differentiable with respect to all three.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_tensor (free it with unetseg_tensor_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL (bias aside), a dead handle, shapes that do not fit (the
/// message names the argument), a stride below 1 or a negative padding.
@c public func unetseg_tensor_conv2d(_ input: UnsafePointer<unetseg_tensor>?, _ weight: UnsafePointer<unetseg_tensor>?,
                                     _ bias: UnsafePointer<unetseg_tensor>?, _ stride: Int32, _ padding: Int32,
                                     _ out_tensor: TensorOut?) -> Int32 {
    returningTensor(out_tensor) { () throws(UnetsegError) in
        let x = try Handles.tensor(input, "input"), w = try Handles.tensor(weight, "weight")
        let b = bias == nil ? nil : try Handles.tensor(bias, "bias")
        return try x.conv2dLayer(weight: w, bias: b, stride: stride, padding: padding)
    }
}

/// Transposed 2-D convolution of input [N, Cin, H, W] with weight [Cin, Cout, kh, kw] (the layout of
/// torch's ConvTranspose2d.weight) and bias [Cout] (or NULL), as torch.nn.functional.conv_transpose2d
/// without output padding, dilation or groups; the result is [N, Cout, (H - 1) stride - 2 padding + kh, ...].
/// Differentiable with respect to all three.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_tensor (free it with unetseg_tensor_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL (bias aside), a dead handle, shapes that do not fit, a stride
/// below 1, a negative padding or an empty output.
@c public func unetseg_tensor_conv_transpose2d(_ input: UnsafePointer<unetseg_tensor>?, _ weight: UnsafePointer<unetseg_tensor>?,
                                               _ bias: UnsafePointer<unetseg_tensor>?, _ stride: Int32, _ padding: Int32,
                                               _ out_tensor: TensorOut?) -> Int32 {
    returningTensor(out_tensor) { () throws(UnetsegError) in
        let x = try Handles.tensor(input, "input"), w = try Handles.tensor(weight, "weight")
        let b = bias == nil ? nil : try Handles.tensor(bias, "bias")
        return try x.convTranspose2dLayer(weight: w, bias: b, stride: stride, padding: padding)
    }
}

/// Maximum over kernel_size x kernel_size windows of each plane of input [N, C, H, W], moved by stride
/// (0: kernel_size, torch's default), as torch.nn.functional.max_pool2d without padding (floor mode).
/// Differentiable: each window's gradient goes to its first maximal element.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_tensor (free it with unetseg_tensor_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle, an input that is not 4-dimensional, a
/// kernel_size below 1 or larger than the image, or a negative stride.
@c public func unetseg_tensor_max_pool2d(_ input: UnsafePointer<unetseg_tensor>?, _ kernel_size: Int32, _ stride: Int32,
                                         _ out_tensor: TensorOut?) -> Int32 {
    returningTensor(out_tensor) { () throws(UnetsegError) in
        try Handles.tensor(input, "input").maxPool2dLayer(kernelSize: kernel_size, stride: stride)
    }
}

/// max(x, 0) for every element, as torch.relu; differentiable.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_tensor (free it with unetseg_tensor_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_tensor_relu(_ input: UnsafePointer<unetseg_tensor>?, _ out_tensor: TensorOut?) -> Int32 {
    returningTensor(out_tensor) { () throws(UnetsegError) in try Handles.tensor(input, "input").relu() }
}

/// Dropout as torch.nn.functional.dropout: with training true each element is zeroed with probability p
/// and the others scaled by 1 / (1 - p), the mask drawn from the library's generator (seeded by
/// unetseg_manual_seed), which advances by the element count; with training false or p 0 the result is
/// the input's values and nothing is drawn. Differentiable.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_tensor (free it with unetseg_tensor_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle or a p outside [0, 1].
@c public func unetseg_tensor_dropout(_ input: UnsafePointer<unetseg_tensor>?, _ p: Float, _ training: Bool,
                                      _ out_tensor: TensorOut?) -> Int32 {
    returningTensor(out_tensor) { () throws(UnetsegError) in
        try Handles.tensor(input, "input").dropoutFromDefaultGenerator(p: p, training: training)
    }
}

/// Joins count tensors (an array of handles) along dim, as torch.cat; every other size must agree.
/// Differentiable: each input gets its slice of the gradient.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_tensor (free it with unetseg_tensor_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle (the message names its index), a count below
/// 1, a dim out of range or sizes that differ outside dim.
@c public func unetseg_tensor_cat(_ tensors: UnsafePointer<UnsafePointer<unetseg_tensor>?>?, _ count: Int32, _ dim: Int32,
                                  _ out_tensor: TensorOut?) -> Int32 {
    returningTensor(out_tensor) { () throws(UnetsegError) in
        try Tensor.cat(try tensorArray(tensors, count), dim: Int(dim))
    }
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
