import Testing
import UNetData
import _TestSupport
import UNetTensor
import _UNetSupport

/// A source of small random items whose values identify (index, epoch); counts the items it makes.
struct CountingSource: BatchSource {
    
    let count: Int
    var seed: UInt64 = 5
    var failing: Int? = nil
    var oddSizedIndex: Int? = nil
    let counter = Locked(0)

    func item(_ index: Int, epoch: Int) throws(UnetsegError) -> (image: Tensor, mask: Tensor) {
        counter.withLock { $0 += 1 }
        if index == failing { throw .io("item \(index) is unreadable") }
        let side = index == oddSizedIndex ? 3 : 4
        var generator = RandomGenerator(seed: seed).derived(UInt64(epoch), UInt64(index))
        let image = try Tensor.uniform([3, side, side], low: Float(index), high: Float(index) + 0.5, generator: &generator)
        let mask = try Tensor.full([1, side, side], Float(index % 2))
        return (image, mask)
    }

    var made: Int { counter.withLock { $0 } }
}

/// Batching, shuffling, worker-independence, errors and shutdown of `DataLoader`.
@Suite struct DataLoaderTests {
    /// Every batch of one epoch.
    func epoch(_ loader: DataLoader, _ epoch: Int) throws -> [DataLoader.Batch] {
        let iterator = loader.makeIterator(epoch: epoch)
        var batches: [DataLoader.Batch] = []
        while let batch = try iterator.next() { batches.append(batch) }
        return batches
    }

    @Test func shapesAndLastBatch() throws {
        let source = CountingSource(count: 10)
        let loader = try DataLoader(source: source, batchSize: 4)
        #expect(loader.batchCount == 3)
        let batches = try epoch(loader, 0)
        #expect(batches.map(\.images.shape) == [[4, 3, 4, 4], [4, 3, 4, 4], [2, 3, 4, 4]])
        #expect(batches.map(\.masks.shape) == [[4, 1, 4, 4], [4, 1, 4, 4], [2, 1, 4, 4]])
        #expect(batches.flatMap(\.indices) == Array(0..<10))  // unshuffled: in order
        // Item k of a batch is the source item, copied in place.
        let item = try source.item(5, epoch: 0)
        #expect(Array(batches[1].images.toArray()[48..<96]) == item.image.toArray())
        #expect(Array(batches[1].masks.toArray()[16..<32]) == item.mask.toArray())

        let dropping = try DataLoader(source: source, batchSize: 4, dropLast: true)
        #expect(dropping.batchCount == 2)
        #expect(try epoch(dropping, 0).map(\.indices.count) == [4, 4])
        #expect(try DataLoader(source: CountingSource(count: 8), batchSize: 4, dropLast: true).batchCount == 2)
        let whole = try DataLoader(source: CountingSource(count: 3), batchSize: .max, workers: 1)
        #expect(whole.batchCount == 1)
        #expect(try epoch(whole, 0).map(\.indices) == [[0, 1, 2]])
        let empty = try DataLoader(source: CountingSource(count: 0), batchSize: 4, workers: 2)
        #expect(empty.batchCount == 0)
        #expect(try epoch(empty, 0).isEmpty)
    }

    @Test func sameBatchesWhateverTheWorkerCount() throws {
        var reference: [[Float]] = []
        for workers in [0, 1, 2, 3] {
            let loader = try DataLoader(source: CountingSource(count: 23), batchSize: 4, shuffle: true,
                                        workers: workers, seed: 11)
            var all: [[Float]] = []
            for e in 0..<2 {
                for batch in try epoch(loader, e) { all.append(batch.images.toArray() + batch.masks.toArray()) }
            }
            if workers == 0 { reference = all } else { #expect(all == reference, "workers \(workers)") }
        }
        #expect(reference.count == 12)
    }

    @Test func shuffleDependsOnSeedAndEpoch() throws {
        let loader = try DataLoader(source: CountingSource(count: 50), batchSize: 8, shuffle: true, seed: 3)
        let first = try epoch(loader, 0).flatMap(\.indices), second = try epoch(loader, 1).flatMap(\.indices)
        #expect(first.sorted() == Array(0..<50) && second.sorted() == Array(0..<50))  // each item once
        #expect(first != second && first != Array(0..<50))
        #expect(try epoch(loader, 0).flatMap(\.indices) == first)  // replayable
        #expect(loader.order(epoch: 1) == second)
        let other = try DataLoader(source: CountingSource(count: 50), batchSize: 8, shuffle: true, seed: 4)
        #expect(other.order(epoch: 0) != first)
    }

    @Test(arguments: [0, 1, 2])
    func itemErrorsPropagate(workers: Int) throws {
        let source = CountingSource(count: 20, failing: 9)
        let loader = try DataLoader(source: source, batchSize: 4, workers: workers)
        let iterator = loader.makeIterator(epoch: 0)
        #expect(try iterator.next()?.indices == [0, 1, 2, 3])
        #expect(try iterator.next()?.indices == [4, 5, 6, 7])
        do throws(UnetsegError) {
            _ = try iterator.next()
            Issue.record("batch 2 holds the failing item 9")
        } catch {
            #expect(error == .io("item 9 is unreadable"))
        }
        #expect(try iterator.next() == nil)  // the epoch ended
    }

    @Test(arguments: [0, 2])
    func mismatchedItemSizesThrow(workers: Int) throws {
        let loader = try DataLoader(source: CountingSource(count: 8, oddSizedIndex: 6), batchSize: 4, workers: workers)
        let iterator = loader.makeIterator(epoch: 0)
        _ = try iterator.next()
        #expect(throws: UnetsegError.self) { try iterator.next() }
    }

    @Test func droppingAnIteratorEarlyStopsItsThreads() throws {
        let source = CountingSource(count: 4_000)
        let loader = try DataLoader(source: source, batchSize: 4, workers: 2)
        do {
            let iterator = loader.makeIterator(epoch: 0)
            #expect(try iterator.next()?.indices == [0, 1, 2, 3])
        }  // dropped here: deinit cancels and joins the workers
        let made = source.made
        // The workers ran at most 2 · workers batches ahead of the one consumed (plus the one each had
        // started), far from the 4,000 items of the epoch.
        #expect(made >= 4 && made <= 4 * (1 + 4 + 2))
        #expect(source.made == made)  // joined: nothing runs any more
        // Many short-lived iterators: none hangs.
        for e in 0..<20 { _ = try loader.makeIterator(epoch: e).next() }
    }

    @Test func invalidSettingsThrow() {
        let source = CountingSource(count: 4)
        #expect(throws: UnetsegError.self) { try DataLoader(source: source, batchSize: 0) }
        #expect(throws: UnetsegError.self) { try DataLoader(source: source, batchSize: 2, workers: -1) }
        #expect(throws: UnetsegError.self) { try DataLoader(source: source, batchSize: 2, workers: 1_000) }
        #expect(throws: UnetsegError.self) { try DataLoader(source: CountingSource(count: -1), batchSize: 2) }
    }
}
