#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import _UNetSupport

/// A fixed-size, zero-initialised block of float32 values. Several tensors (views, reshapes) may share one.
///
/// Blocks of 2 MiB and more are mapped with `mmap` (marked for transparent huge pages) and, when they die,
/// kept by `BlockPool.shared` for the next storage of the same size, which the next training step asks for:
/// steady state touches no fresh pages. Smaller blocks come from the heap, zeroed.
public final class TensorStorage: @unchecked Sendable {
    /// The first element. Valid for `count` elements while the storage is alive.
    public let pointer: UnsafeMutablePointer<Float>
    /// Number of float32 elements.
    public let count: Int
    /// Bytes mapped with `mmap`, 0 for a `calloc` block, `swiftHeap` for one from `allocate`.
    private let mappedBytes: Int
    /// `mappedBytes` of a block from `UnsafeMutablePointer.allocate`.
    private static let swiftHeap = -1
    /// Where a mapped block comes from and goes back to.
    private let pool: BlockPool

    /// Largest storage the library allocates (4 Gi elements, 16 GiB); larger requests are refused.
    public static let maximumCount = 1 << 32

    /// Number of storages alive in the process (for leak checks: it returns to the same value after each
    /// training step).
    public static var liveCount: Int { live.load(ordering: .relaxed) }
    private static let live = Atomic<Int>(0)

    /// Size from which blocks are mapped rather than taken from the heap.
    static let mappingThreshold = BlockPool.granularity

    /// Allocates `count` zeroed elements, or throws `.outOfMemory` for absurd sizes, a size over
    /// `MemoryBudget`'s limit or a failed allocation.
    public convenience init(count: Int) throws(UnetsegError) {
        try self.init(count: count, pool: .shared)
    }

    /// `init(count:)` with large blocks from `pool` (tests give their own, which no other test drains);
    /// without `zeroed`, a large block may hold old values (for results that overwrite every element).
    init(count: Int, pool: BlockPool, zeroed: Bool = true) throws(UnetsegError) {
        guard count >= 0, count <= TensorStorage.maximumCount else {
            throw .outOfMemory("cannot allocate a tensor of \(count) elements")
        }
        try MemoryBudget.require(count * MemoryLayout<Float>.stride, for: "a tensor of \(count) elements")
        guard let (pointer, mapped) = Self.allocate(count, from: pool, zeroed: zeroed) else {
            throw .outOfMemory("cannot allocate a tensor of \(count) elements (\(count * 4 >> 20) MiB)")
        }
        self.pool = pool
        self.count = count
        self.pointer = pointer
        self.mappedBytes = mapped
        Self.live.add(1, ordering: .relaxed)
    }

    /// Allocates `count` zeroed elements without the size check, for internal results whose size is already
    /// bounded by existing tensors: the calls that reach them check their whole need against `MemoryBudget`
    /// first (a model's pass, a loader's batches). A failed mapping is retried on the heap; only when that
    /// fails too, for memory that the budget check found available, does the process stop. Without
    /// `zeroed`, a large block may hold old values (for results that overwrite every element).
    init(uncheckedCount count: Int, zeroed: Bool = true) {
        self.count = count
        pool = .shared
        if let (pointer, mapped) = Self.allocate(count, from: pool, zeroed: zeroed) {
            self.pointer = pointer
            self.mappedBytes = mapped
        } else {
            pointer = .allocate(capacity: max(count, 1))
            pointer.initialize(repeating: 0, count: max(count, 1))
            mappedBytes = Self.swiftHeap
        }
        Self.live.add(1, ordering: .relaxed)
    }

    /// Memory for `count` floats (zeroed, or for a large block only when `zeroed`) and the number of bytes
    /// mapped (0 for the heap), or nil when the system has none to give.
    private static func allocate(_ count: Int, from pool: BlockPool, zeroed: Bool) -> (UnsafeMutablePointer<Float>, Int)? {
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        guard bytes >= mappingThreshold else {
            // calloc, not `allocate`: a failure is reported, not a trap.
            guard let block = calloc(max(count, 1), MemoryLayout<Float>.stride) else { return nil }
            return (block.bindMemory(to: Float.self, capacity: max(count, 1)), 0)
        }
        guard let block = pool.obtain(bytes, zeroed: zeroed) else { return nil }
        return (block.address.bindMemory(to: Float.self, capacity: max(count, 1)), block.size)
    }

    deinit {
        Self.live.subtract(1, ordering: .relaxed)
        switch mappedBytes {
        case Self.swiftHeap: pointer.deallocate()
        case 0: free(pointer)
        default: pool.give(UnsafeMutableRawPointer(pointer), size: mappedBytes)
        }
    }

    /// The elements as a mutable buffer.
    @inlinable public var buffer: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: pointer, count: count)
    }
}
