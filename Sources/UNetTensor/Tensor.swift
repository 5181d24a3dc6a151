/// A float32 tensor on the CPU: contiguous, row-major, NCHW for images.
///
/// `shape` lists the dimension sizes outermost first and `strides` the matching element steps; every tensor
/// of the library is contiguous, so `strides` is always `Shape.contiguousStrides(shape)`. A tensor is a
/// reference type: reshapes share storage. When it takes part in a differentiable op while gradients are
/// recorded, `gradNode` remembers how it was made, and `backward()` fills `grad` of the leaves that have
/// `requiresGrad` (see `Autograd.swift`).

import _UNetSupport
public final class Tensor: @unchecked Sendable {
    /// The elements, shared with views of this tensor.
    public let storage: TensorStorage
    /// Dimension sizes, outermost first (`[N, C, H, W]` for a batch of images).
    public let shape: [Int]
    /// Element steps per dimension (row-major, contiguous).
    public let strides: [Int]
    /// Whether gradients flow to this tensor; set it on leaves (parameters) you want `grad` for.
    public var requiresGrad: Bool
    /// The accumulated gradient after `backward()`, same shape as the tensor; nil until then.
    public var grad: Tensor?
    /// The op that produced this tensor, while the graph is alive; nil for leaves.
    public var gradNode: GradNode? { graphVertex?.node }
    /// This tensor's place in the autograd graph, made when it first takes part in a recorded op.
    private var graphVertex: GraphVertex?

    /// This tensor's vertex in the autograd graph (made on first use).
    var vertex: GraphVertex {
        if let graphVertex { return graphVertex }
        let made = GraphVertex(self)
        graphVertex = made
        return made
    }

    /// Wraps existing storage; `shape` must describe exactly `storage.count` elements.
    init(storage: TensorStorage, shape: [Int], requiresGrad: Bool = false) {
        assert(Shape.elementCount(shape) == storage.count, "shape does not match storage")
        self.storage = storage
        self.shape = shape
        self.strides = Shape.contiguousStrides(shape)
        self.requiresGrad = requiresGrad
    }

    /// A new zero tensor for results whose size is bounded by existing tensors.
    init(uncheckedZeros shape: [Int]) {
        self.shape = shape
        self.strides = Shape.contiguousStrides(shape)
        self.storage = TensorStorage(uncheckedCount: Shape.elementCount(shape) ?? 0)
        self.requiresGrad = false
    }

    /// A new tensor whose large storage may hold old values, for results whose every element the caller
    /// writes before anyone reads it (saves zeroing pages that are overwritten anyway).
    init(uncheckedUninitialized shape: [Int]) {
        self.shape = shape
        self.strides = Shape.contiguousStrides(shape)
        self.storage = TensorStorage(uncheckedCount: Shape.elementCount(shape) ?? 0, zeroed: false)
        self.requiresGrad = false
    }

    /// `zeros(_:)` without the zeroing of a large storage: for results whose every element the caller
    /// writes before anyone reads it.
    static func uninitialized(_ shape: [Int]) throws(UnetsegError) -> Tensor {
        guard let n = Shape.elementCount(shape) else {
            throw .invalidArgument("invalid shape \(Shape.describe(shape))")
        }
        return Tensor(storage: try TensorStorage(count: n, pool: .shared, zeroed: false), shape: shape)
    }

    // MARK: - Creation

    /// A tensor of zeros. Throws for negative dimensions or sizes over `TensorStorage.maximumCount`.
    public static func zeros(_ shape: [Int], requiresGrad: Bool = false) throws(UnetsegError) -> Tensor {
        guard let n = Shape.elementCount(shape) else {
            throw .invalidArgument("invalid shape \(Shape.describe(shape))")
        }
        return Tensor(storage: try TensorStorage(count: n), shape: shape, requiresGrad: requiresGrad)
    }

    /// A zero tensor with the shape of `other` (cannot fail: that much memory is already in use).
    public static func zeros(like other: Tensor) -> Tensor { Tensor(uncheckedZeros: other.shape) }

    /// A tensor filled with `value`.
    public static func full(_ shape: [Int], _ value: Float, requiresGrad: Bool = false) throws(UnetsegError) -> Tensor {
        let t = try zeros(shape, requiresGrad: requiresGrad)
        t.storage.buffer.update(repeating: value)
        return t
    }

    /// A tensor of ones.
    public static func ones(_ shape: [Int], requiresGrad: Bool = false) throws(UnetsegError) -> Tensor {
        try full(shape, 1, requiresGrad: requiresGrad)
    }

    /// A tensor holding a copy of `values` (row-major) with the given shape.
    public convenience init(_ values: [Float], shape: [Int], requiresGrad: Bool = false) throws(UnetsegError) {
        guard let n = Shape.elementCount(shape), n == values.count else {
            throw .invalidArgument("\(values.count) values do not fill shape \(Shape.describe(shape))")
        }
        let storage = try TensorStorage(count: n)
        _ = storage.buffer.update(fromContentsOf: values)
        self.init(storage: storage, shape: shape, requiresGrad: requiresGrad)
    }

    /// A tensor copied from `count` floats at `pointer` (the caller keeps its buffer).
    public convenience init(copying pointer: UnsafePointer<Float>, shape: [Int]) throws(UnetsegError) {
        guard let n = Shape.elementCount(shape) else { throw .invalidArgument("invalid shape \(Shape.describe(shape))") }
        let storage = try TensorStorage(count: n)
        storage.pointer.update(from: pointer, count: n)
        self.init(storage: storage, shape: shape)
    }

    /// A 0-dimensional tensor holding `value`.
    public convenience init(scalar value: Float) {
        let storage = TensorStorage(uncheckedCount: 1)
        storage.pointer[0] = value
        self.init(storage: storage, shape: [])
    }

    /// Values drawn uniformly from [low, high) with `generator`.
    public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1,
                               generator: inout RandomGenerator) throws(UnetsegError) -> Tensor {
        let t = try zeros(shape)
        generator.fillUniform(t.storage.buffer, low: low, high: high)
        return t
    }

    /// Values drawn from the normal distribution N(mean, std²) with `generator`.
    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1,
                              generator: inout RandomGenerator) throws(UnetsegError) -> Tensor {
        let t = try zeros(shape)
        generator.fillNormal(t.storage.buffer, mean: mean, std: std)
        return t
    }

    // MARK: - Reading

    /// Number of elements.
    @inlinable public var count: Int { storage.count }
    /// Number of dimensions.
    @inlinable public var rank: Int { shape.count }

    /// The elements, row-major, as an array.
    public func toArray() -> [Float] { Array(storage.buffer) }

    /// The value of a one-element tensor.
    public func item() throws(UnetsegError) -> Float {
        guard count == 1 else { throw .invalidArgument("item() needs a one-element tensor, got shape \(Shape.describe(shape))") }
        return storage.pointer[0]
    }

    /// A copy that shares nothing with this tensor and records no graph.
    public func clone() -> Tensor {
        let t = Tensor(uncheckedZeros: shape)
        t.storage.pointer.update(from: storage.pointer, count: count)
        return t
    }

    /// This tensor's values without its graph (shares storage, like PyTorch's `detach`).
    public func detached() -> Tensor { Tensor(storage: storage, shape: shape) }

    // MARK: - Shape

    /// The same elements with another shape (shares storage). One dimension may be -1 and is inferred.
    /// Differentiable.
    public func reshaped(_ newShape: [Int]) throws(UnetsegError) -> Tensor {
        var resolved = newShape
        let inferred = newShape.indices.filter { newShape[$0] == -1 }
        try checkArgument(inferred.count <= 1, "only one dimension of \(Shape.describe(newShape)) may be -1")
        try checkArgument(newShape.allSatisfy { $0 >= -1 }, "invalid shape \(Shape.describe(newShape))")
        if let i = inferred.first {
            let known = newShape.enumerated().reduce(1) { $1.offset == i ? $0 : $0 * $1.element }
            try checkArgument(known > 0 && count % known == 0,
                        "cannot view \(Shape.describe(shape)) as \(Shape.describe(newShape))")
            resolved[i] = count / known
        }
        try checkArgument(Shape.elementCount(resolved) == count,
                    "cannot view \(Shape.describe(shape)) (\(count) elements) as \(Shape.describe(newShape))")
        let result = Tensor(storage: storage, shape: resolved)
        let inputShape = shape
        Autograd.record(result, inputs: [self]) { g in [Tensor(storage: g.storage, shape: inputShape)] }
        return result
    }

    /// PyTorch's name for `reshaped`.
    public func view(_ newShape: [Int]) throws(UnetsegError) -> Tensor { try reshaped(newShape) }
}
