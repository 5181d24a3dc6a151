/// A fixed-size, zero-initialised block of float32 values. Several tensors (views, reshapes) may share one.
public final class TensorStorage: @unchecked Sendable {
    /// The first element. Valid for `count` elements while the storage is alive.
    public let pointer: UnsafeMutablePointer<Float>
    /// Number of float32 elements.
    public let count: Int

    /// Largest storage the library allocates (4 Gi elements, 16 GiB); larger requests are refused.
    public static let maximumCount = 1 << 32

    /// Allocates `count` zeroed elements, or throws `.outOfMemory` for absurd sizes.
    public init(count: Int) throws(UnetsegError) {
        guard count >= 0, count <= TensorStorage.maximumCount else {
            throw .outOfMemory("cannot allocate a tensor of \(count) elements")
        }
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    /// Allocates `count` elements without the size check, for internal results whose size is already
    /// bounded by existing tensors.
    init(uncheckedCount count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { pointer.deallocate() }

    /// The elements as a mutable buffer.
    @inlinable public var buffer: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: pointer, count: count)
    }
}
