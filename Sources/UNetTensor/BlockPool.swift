#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Large mapped blocks kept for reuse instead of being returned to the system.
///
/// A training step allocates the same activation and gradient sizes as the step before it; a fresh `mmap`
/// for each hands out pages the kernel must fault in and zero one by one, which made a 64 MiB ReLU run at
/// 1.4 GB/s. Storages of `TensorStorage.mappingThreshold` bytes and more give their mapping back here
/// when they die, and the next storage of the same rounded size takes it (zeroed with one `memset`, which
/// runs at memory speed). The pool holds at most `capacity` bytes; beyond that, blocks are unmapped, and
/// a mapping or a memory-budget check that fails drains it first.
enum BlockPool {
    /// An idle mapping: no storage points into it, so any thread may take it.
    private struct Block: @unchecked Sendable {
        let address: UnsafeMutableRawPointer
    }

    /// Idle blocks by size in bytes, and their total.
    private struct Shelves {
        var blocks: [Int: [Block]] = [:]
        var bytes = 0
    }

    private static let shelves = Mutex(Shelves())

    /// Most bytes kept idle: a quarter of the memory limit of a call (`MemoryBudget`, which follows
    /// physical memory, the control group and `UNETSEG_MEMORY_LIMIT`), enough for a training step's
    /// activations and gradients to be found again by the next step.
    static let capacity: Int = MemoryBudget.limit().bytes / 4

    /// A zeroed block of exactly `bytes` (a multiple of the mapping granularity) from the pool, or nil.
    static func take(bytes: Int) -> UnsafeMutableRawPointer? {
        let block = shelves.withLock { shelves -> Block? in
            guard let block = shelves.blocks[bytes]?.popLast() else { return nil }
            shelves.bytes -= bytes
            return block
        }
        if let block { memset(block.address, 0, bytes) }
        return block?.address
    }

    /// Keeps `block` of `bytes` for reuse, or unmaps it when the pool is full.
    static func give(_ address: UnsafeMutableRawPointer, bytes: Int) {
        let block = Block(address: address)
        let kept = shelves.withLock { shelves -> Bool in
            guard shelves.bytes + bytes <= capacity else { return false }
            shelves.blocks[bytes, default: []].append(block)
            shelves.bytes += bytes
            return true
        }
        if !kept { munmap(address, bytes) }
    }

    /// Unmaps every idle block (when a mapping fails, and for tests). Returns the bytes released.
    @discardableResult
    static func drain() -> Int {
        let idle = shelves.withLock { shelves -> Shelves in
            defer { shelves = Shelves() }
            return shelves
        }
        for (bytes, blocks) in idle.blocks {
            for block in blocks { munmap(block.address, bytes) }
        }
        return idle.bytes
    }

    /// Bytes held idle now.
    static var idleBytes: Int { shelves.withLock { $0.bytes } }
}
