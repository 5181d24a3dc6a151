#if canImport(Glibc)
import Glibc
#endif

/// The library's large blocks of memory (tensor storages, kernel scratch), mapped with `mmap` and kept
/// for reuse instead of being returned to the system.
///
/// A training step allocates the same activation, gradient and scratch sizes as the step before it; a
/// fresh mapping for each hands out pages the kernel must fault in and zero one by one, which made a 64 MiB
/// ReLU run at 1.4 GB/s. Blocks given back wait here, and the next request takes the smallest idle block
/// that holds it (at most twice its size, so little memory sits unused in a block), zeroed with one
/// `memset` at memory speed when the caller needs zeros. The pool holds at most `capacity` bytes; beyond
/// that blocks are unmapped, and a mapping or a memory-budget check that fails drains the shared pool first.
///
/// The library uses `shared`; tests make their own pools, which no concurrent drain can empty.
public final class BlockPool: Sendable {
    /// Sizes are multiples of this (2 MiB, a transparent huge page).
    public static let granularity = 2 << 20

    /// The pool of the library's storages and scratch: it keeps at most a quarter of the memory limit of a
    /// call (`MemoryBudget`, which follows physical memory, the control group and `UNETSEG_MEMORY_LIMIT`),
    /// enough for a training step's activations and gradients to be found again by the next step.
    public static let shared = BlockPool(capacity: MemoryBudget.limit().bytes / 4)

    /// An idle mapping: nothing points into it, so any thread may take it.
    private struct Block: @unchecked Sendable {
        let address: UnsafeMutableRawPointer
    }

    /// Idle blocks by size in bytes, and their total.
    private struct Shelves: Sendable {
        var blocks: [Int: [Block]] = [:]
        var bytes = 0
    }

    private let shelves = Locked(Shelves())

    /// Most bytes kept idle.
    public let capacity: Int

    /// An empty pool that keeps at most `capacity` idle bytes.
    public init(capacity: Int) {
        self.capacity = capacity
    }

    /// `bytes` rounded up to the granularity.
    public static func rounded(_ bytes: Int) -> Int {
        (max(bytes, 1) + granularity - 1) / granularity * granularity
    }

    /// A block of at least `bytes` (its first `bytes` zeroed when `zeroed`) and its size, from the pool or a new mapping;
    /// nil when the system has no memory to give. Give it back with `give`.
    public func obtain(_ bytes: Int, zeroed: Bool) -> (address: UnsafeMutableRawPointer, size: Int)? {
        let size = Self.rounded(bytes)
        if let block = take(size) {
            if zeroed { memset(block.address, 0, bytes) }
            return block
        }
        var address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        if address == MAP_FAILED, drain() > 0 {  // idle blocks of other sizes give way
            address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        }
        guard let address, address != MAP_FAILED else { return nil }
        _ = madvise(address, size, 14)  // MADV_HUGEPAGE; a new mapping is zero already
        return (address, size)
    }

    /// The smallest idle block of `size` to `2·size` bytes, taken off the shelves.
    private func take(_ size: Int) -> (address: UnsafeMutableRawPointer, size: Int)? {
        let found = shelves.withLock { shelves -> (Block, Int)? in
            let fit = shelves.blocks.keys.filter { $0 >= size && $0 <= 2 * size && shelves.blocks[$0]?.isEmpty == false }
                .min()
            guard let fit, let block = shelves.blocks[fit]?.popLast() else { return nil }
            shelves.bytes -= fit
            return (block, fit)
        }
        return found.map { ($0.0.address, $0.1) }
    }

    /// Keeps the block at `address` of `size` bytes (as `obtain` gave it) for reuse, or unmaps it when the
    /// pool is full.
    public func give(_ address: UnsafeMutableRawPointer, size: Int) {
        let block = Block(address: address)
        let kept = shelves.withLock { shelves -> Bool in
            guard shelves.bytes + size <= capacity else { return false }
            shelves.blocks[size, default: []].append(block)
            shelves.bytes += size
            return true
        }
        if !kept { munmap(address, size) }
    }

    /// Unmaps every idle block (when a mapping fails, and for tests). Returns the bytes released.
    @discardableResult
    public func drain() -> Int {
        let idle = shelves.withLock { shelves -> Shelves in
            defer { shelves = Shelves() }
            return shelves
        }
        for (size, blocks) in idle.blocks {
            for block in blocks { munmap(block.address, size) }
        }
        return idle.bytes
    }

    /// Bytes held idle now.
    public var idleBytes: Int { shelves.withLock { $0.bytes } }
}
