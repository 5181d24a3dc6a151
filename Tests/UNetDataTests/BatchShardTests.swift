import Testing
import UNetData
import UNetTensor
import _UNetSupport

/// The rule that splits a global batch over the ranks of a distributed run, and the loader's shards.
@Suite struct BatchShardTests {
    @Test func shardsTileTheBatchInRankOrderAndDifferByAtMostOne() throws {
        for ranks in 1...7 {
            for items in 0...20 {
                let ranges = try (0..<ranks).map { try BatchShard(rank: $0, ranks: ranks).range(ofBatchOf: items) }
                #expect(ranges.first?.lowerBound == 0)
                #expect(ranges.last?.upperBound == items)
                for r in 1..<ranks { #expect(ranges[r].lowerBound == ranges[r - 1].upperBound) }
                let sizes = ranges.map(\.count)
                #expect(sizes.max()! - sizes.min()! <= 1)
                #expect(sizes == sizes.sorted(by: >), "larger shards come first")
                if items > 0 { #expect(!ranges[0].isEmpty, "rank 0 always has an item") }
            }
        }
        // The stated rule on an example: 10 items over 4 ranks → 3, 3, 2, 2.
        #expect(try (0..<4).map { try BatchShard(rank: $0, ranks: 4).range(ofBatchOf: 10) } == [0..<3, 3..<6, 6..<8, 8..<10])
    }

    @Test func refusesARankOutsideTheRanks() {
        #expect(throws: UnetsegError.self) { try BatchShard(rank: 2, ranks: 2) }
        #expect(throws: UnetsegError.self) { try BatchShard(rank: 0, ranks: 0) }
        #expect(throws: UnetsegError.self) { try BatchShard(rank: -1, ranks: 3) }
    }

    /// Each rank's loader builds its shard of the same global batches: put together in rank order they are
    /// the one-process loader's batches, item for item (a shard of a short last batch may be empty).
    @Test(arguments: [0, 2]) func shardedLoadersRebuildTheWholeBatches(workers: Int) throws {
        let source = CountingSource(count: 10)
        let whole = try DataLoader(source: source, batchSize: 3, shuffle: true, workers: workers, seed: 9)
        let ranks = 2
        let sharded = try (0..<ranks).map {
            try DataLoader(source: source, batchSize: 3, shuffle: true, workers: workers, seed: 9,
                           shard: BatchShard(rank: $0, ranks: ranks))
        }
        #expect(sharded.allSatisfy { $0.batchCount == whole.batchCount })
        let wholeBatches = whole.makeIterator(epoch: 2)
        let shardIterators = sharded.map { $0.makeIterator(epoch: 2) }
        var sawEmptyShard = false
        for b in 0..<whole.batchCount {
            guard let batch = try wholeBatches.next() else { Issue.record("batch \(b) missing"); return }
            let parts = try shardIterators.map { try $0.next() }
            let indices = parts.flatMap { $0?.indices ?? [] }
            #expect(indices == batch.indices)
            #expect(whole.itemsInBatch(b) == batch.indices.count)
            let images = parts.compactMap { $0 }.filter { !$0.indices.isEmpty }.flatMap { $0.images.toArray() }
            #expect(images == batch.images.toArray())
            sawEmptyShard = sawEmptyShard || parts.contains { $0?.indices.isEmpty == true }
        }
        #expect(sawEmptyShard, "10 items in batches of 3 end with a batch of 1: rank 1's shard is empty")
        #expect(try shardIterators.allSatisfy { try $0.next() == nil })
    }
}
