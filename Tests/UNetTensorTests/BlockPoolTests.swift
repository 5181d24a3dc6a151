import Testing
@testable import UNetTensor
import _UNetSupport

/// Large storages reuse the mappings of dead ones, zeroed, and the pool gives them back on demand.
@Suite(.serialized) struct BlockPoolTests {
    /// Elements of a mapped storage of a size no other test uses (37 mapping units, less a little), so that
    /// tests running at the same time neither take its block nor give one of its size.
    let count = 37 * TensorStorage.mappingThreshold / MemoryLayout<Float>.stride - 5

    @Test func aDeadStoragesBlockIsReusedZeroed() throws {
        BlockPool.drain()
        var first: TensorStorage? = try TensorStorage(count: count)
        let address = try #require(first).pointer
        try #require(first).buffer.update(repeating: 7)
        first = nil
        #expect(BlockPool.idleBytes > 0)
        let second = try TensorStorage(count: count)
        #expect(second.pointer == address)  // the same mapping, not a fresh one
        #expect(second.buffer.allSatisfy { $0 == 0 })
    }

    @Test func aLargerIdleBlockServesASmallerRequestZeroed() throws {
        var large: TensorStorage? = try TensorStorage(count: count)
        let address = try #require(large).pointer
        try #require(large).buffer.update(repeating: 3)
        large = nil
        // 30 units fit in the idle 37-unit block (at most twice the request): it is taken, zeroed.
        let smaller = try TensorStorage(count: 30 * TensorStorage.mappingThreshold / MemoryLayout<Float>.stride)
        #expect(smaller.pointer == address)
        #expect(smaller.buffer.allSatisfy { $0 == 0 })
    }

    @Test func drainingUnmapsTheIdleBlocks() throws {
        BlockPool.drain()
        var storages: [TensorStorage] = try (0..<3).map { _ in try TensorStorage(count: count) }
        storages.removeAll()
        #expect(BlockPool.idleBytes >= 3 * count * MemoryLayout<Float>.stride)
        #expect(BlockPool.drain() >= 3 * count * MemoryLayout<Float>.stride)
    }

    @Test func thePoolNeverHoldsMoreThanItsCapacity() {
        #expect(BlockPool.capacity > 0)
        #expect(BlockPool.idleBytes <= BlockPool.capacity)
    }
}
