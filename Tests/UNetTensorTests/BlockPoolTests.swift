import Testing
@testable import UNetTensor
import _UNetSupport

/// Large storages reuse the mappings of dead ones, zeroed, and the pool gives them back on demand. Each
/// test has its own pool: a test elsewhere that drains the shared pool (a refused memory budget does) cannot
/// take its blocks away.
struct BlockPoolTests {
    /// Elements of a mapped storage of 37 mapping units, less a little.
    let count = 37 * TensorStorage.mappingThreshold / MemoryLayout<Float>.stride - 5
    let pool = BlockPool(capacity: 1 << 30)

    @Test func aDeadStoragesBlockIsReusedZeroed() throws {
        var first: TensorStorage? = try TensorStorage(count: count, pool: pool)
        let address = try #require(first).pointer
        try #require(first).buffer.update(repeating: 7)
        first = nil
        #expect(pool.idleBytes == BlockPool.rounded(count * MemoryLayout<Float>.stride))
        let second = try TensorStorage(count: count, pool: pool)
        #expect(second.pointer == address)  // the same mapping, not a fresh one
        #expect(second.buffer.allSatisfy { $0 == 0 })
        #expect(pool.idleBytes == 0)
    }

    @Test func aLargerIdleBlockServesASmallerRequestZeroed() throws {
        var large: TensorStorage? = try TensorStorage(count: count, pool: pool)
        let address = try #require(large).pointer
        try #require(large).buffer.update(repeating: 3)
        large = nil
        // 30 units fit in the idle 37-unit block (at most twice the request): it is taken, zeroed.
        let smaller = try TensorStorage(count: 30 * TensorStorage.mappingThreshold / MemoryLayout<Float>.stride,
                                        pool: pool)
        #expect(smaller.pointer == address)
        #expect(smaller.buffer.allSatisfy { $0 == 0 })
    }

    @Test func aBlockMoreThanTwiceTheRequestIsLeftIdle() throws {
        var large: TensorStorage? = try TensorStorage(count: count, pool: pool)
        let address = try #require(large).pointer
        large = nil
        let small = try TensorStorage(count: 10 * TensorStorage.mappingThreshold / MemoryLayout<Float>.stride,
                                      pool: pool)
        #expect(small.pointer != address)
        #expect(pool.idleBytes == BlockPool.rounded(count * MemoryLayout<Float>.stride))
    }

    @Test func theSmallestFittingBlockIsTaken() throws {
        let unit = TensorStorage.mappingThreshold / MemoryLayout<Float>.stride
        var blocks: [TensorStorage] = try [12, 8, 10].map { try TensorStorage(count: $0 * unit, pool: pool) }
        let eight = blocks[1].pointer
        blocks.removeAll()
        let request = try TensorStorage(count: 7 * unit, pool: pool)
        #expect(request.pointer == eight)
    }

    @Test func drainingUnmapsTheIdleBlocks() throws {
        var storages: [TensorStorage] = try (0..<3).map { _ in try TensorStorage(count: count, pool: pool) }
        storages.removeAll()
        let bytes = 3 * BlockPool.rounded(count * MemoryLayout<Float>.stride)
        #expect(pool.idleBytes == bytes)
        #expect(pool.drain() == bytes)
        #expect(pool.idleBytes == 0)
    }

    @Test func thePoolNeverHoldsMoreThanItsCapacity() throws {
        let small = BlockPool(capacity: 3 * BlockPool.granularity)
        var storages: [TensorStorage] = try (0..<3).map { _ in
            try TensorStorage(count: 2 * TensorStorage.mappingThreshold / MemoryLayout<Float>.stride, pool: small)
        }
        storages.removeAll()
        #expect(small.idleBytes == 2 * BlockPool.granularity)  // the second block would pass the capacity
        #expect(BlockPool.shared.capacity > 0)
        #expect(BlockPool.shared.idleBytes <= BlockPool.shared.capacity)
    }

    @Test func smallStoragesNeverEnterThePool() throws {
        _ = try TensorStorage(count: 1000, pool: pool)
        #expect(pool.idleBytes == 0)
    }
}
