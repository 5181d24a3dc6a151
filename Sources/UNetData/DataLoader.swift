#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import UNetTensor
import _UNetSupport

/// Where a `DataLoader` gets its items: a fixed number of (image, mask) pairs addressed by index.
///
/// `item` may be called concurrently from several loader threads. Any randomness it uses (augmentation,
/// weighted sampling) must come from `(epoch, index)` alone, e.g.
/// `RandomGenerator(seed: seed).derived(UInt64(epoch), UInt64(index))`, so that batches do not depend on
/// the number of loader threads.
public protocol BatchSource: Sendable {
    /// Number of items; indices run over `0..<count`.
    var count: Int { get }
    /// Item `index` for `epoch`: an image `[C, H, W]` and its mask `[M, H, W]` (row-major CHW).
    func item(_ index: Int, epoch: Int) throws(UnetsegError) -> (image: Tensor, mask: Tensor)
    /// Floats in one item (image and mask together) when every item has the same size, for the loader's
    /// memory check; nil when unknown (the default).
    var itemElements: Int? { get }
}

extension BatchSource {
    /// Unknown by default: the loader then skips its memory check.
    public var itemElements: Int? { nil }
}

/// Groups the items of a `BatchSource` into batches, like torch's `dataloader`.
///
/// Each epoch visits every index once, in order or in a shuffle determined by `(seed, epoch)`, and stacks
/// `batchSize` consecutive items into `[B, C, H, W]` images and `[B, M, H, W]` masks (row-major NCHW); the
/// last batch is smaller unless `dropLast`. With `workers` > 0, that many background threads build upcoming
/// batches (at most `2 · workers` ahead); the batches are the same whatever the worker count.
public final class DataLoader: Sendable {
    /// One batch: stacked images `[B, C, H, W]`, stacked masks `[B, M, H, W]` (row-major NCHW), and the
    /// source index of each of the B items. A sharded loader's part of a short batch may be empty: no
    /// indices, and `[0]`-shaped tensors.
    public struct Batch: Sendable {
        /// Images, `[B, C, H, W]`.
        public var images: Tensor
        /// Masks, `[B, M, H, W]`.
        public var masks: Tensor
        /// The source index of each item, in batch order.
        public var indices: [Int]
    }

    /// The items.
    public let source: any BatchSource
    /// Items per batch (≥ 1).
    public let batchSize: Int
    /// Whether each epoch visits the items in a seeded random order.
    public let shuffle: Bool
    /// Whether an incomplete last batch is left out.
    public let dropLast: Bool
    /// Background threads building batches (0: built in `next()` on the caller's thread).
    public let workers: Int
    /// Key of the per-epoch shuffles.
    public let seed: UInt64
    /// `source.count` when the loader was made.
    public let itemCount: Int
    /// The part of every batch this loader builds (`BatchShard.whole` but in a distributed run, where each
    /// rank builds its shard of the same global batches; a rank's shard may be empty).
    public let shard: BatchShard

    /// Most background threads a loader may use.
    public static let maximumWorkers = 64

    /// A loader over `source`. Throws for `batchSize` < 1, `workers` outside 0…64 or a negative count.
    public init(source: any BatchSource, batchSize: Int, shuffle: Bool = false, dropLast: Bool = false,
                workers: Int = 0, seed: UInt64 = 0, shard: BatchShard = .whole) throws(UnetsegError) {
        try checkArgument(batchSize >= 1, "data loader: batch size \(batchSize) is not ≥ 1")
        try checkArgument(workers >= 0 && workers <= DataLoader.maximumWorkers,
                    "data loader: worker count \(workers) is not in 0...\(DataLoader.maximumWorkers)")
        let count = source.count
        try checkArgument(count >= 0, "data loader: the source reports \(count) items")
        if let itemElements = source.itemElements {
            try MemoryBudget.require(
                Self.estimatedMemory(itemElements: itemElements, batchSize: batchSize, workers: workers),
                for: "a data loader with batches of \(batchSize) items of \(itemElements) floats and \(workers) workers")
        }
        self.source = source
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.workers = workers
        self.seed = seed
        self.itemCount = count
        self.shard = shard
    }

    /// Estimated bytes of the batches a loader holds at once: with workers, `2 · workers` waiting, one
    /// being built by each worker (its items and the stacked batch) and one with the caller; without, the
    /// items and the stacked batch of the one being built. Saturates at `Int.max`.
    public static func estimatedMemory(itemElements: Int, batchSize: Int, workers: Int) -> Int {
        let batches = workers == 0 ? 2 : 4 * workers + 1
        let (items, overflow) = itemElements.multipliedReportingOverflow(by: batchSize)
        let (floats, overflow2) = items.multipliedReportingOverflow(by: batches)
        let (bytes, overflow3) = floats.multipliedReportingOverflow(by: MemoryLayout<Float>.stride)
        return overflow || overflow2 || overflow3 ? Int.max : bytes
    }

    /// Batches per epoch: ⌈count / batchSize⌉, or ⌊count / batchSize⌋ with `dropLast`.
    public var batchCount: Int { itemCount / batchSize + (!dropLast && itemCount % batchSize > 0 ? 1 : 0) }

    /// The order in which `epoch` visits the source indices: `0..<count`, or with `shuffle` a Fisher–Yates
    /// permutation drawn from `RandomGenerator(seed:).derived(shuffleKey, epoch)`.
    public func order(epoch: Int) -> [Int] {
        var order = Array(0..<itemCount)
        guard shuffle else { return order }
        var generator = RandomGenerator(seed: seed).derived(DataLoader.shuffleKey, UInt64(truncatingIfNeeded: epoch))
        for i in stride(from: order.count - 1, to: 0, by: -1) {
            order.swapAt(i, generator.integer(below: i + 1))
        }
        return order
    }

    /// Key that separates the shuffle streams from the items' `(epoch, index)` streams.
    public static let shuffleKey: UInt64 = 0x5348_5546_464C_4521

    /// An iterator over the batches of `epoch`, from batch `startingBatch` on (0-based; resuming a run
    /// mid-epoch gives the same remaining batches). Background threads (if any) start now and stop when the
    /// epoch ends, an item fails, or the iterator is dropped.
    public func makeIterator(epoch: Int, startingBatch: Int = 0) -> Iterator {
        Iterator(loader: self, epoch: epoch, startingBatch: max(0, startingBatch))
    }

    /// Builds the batch of the given source indices, or returns nil if `cancelled` turns true in between.
    /// No indices (an empty shard) give an empty batch: `[0]`-shaped tensors and no indices.
    static func buildBatch(source: any BatchSource, indices: [Int], epoch: Int,
                           cancelled: () -> Bool) throws(UnetsegError) -> Batch? {
        guard let firstIndex = indices.first else {
            return Batch(images: try Tensor.zeros([0]), masks: try Tensor.zeros([0]), indices: [])
        }
        let first = try source.item(firstIndex, epoch: epoch)
        let imageShape = first.image.shape, maskShape = first.mask.shape
        try checkArgument(imageShape.count == 3 && maskShape.count == 3 && maskShape[1] == imageShape[1] && maskShape[2] == imageShape[2],
                    "data loader: item \(firstIndex) has image \(Shape.describe(imageShape)) and mask \(Shape.describe(maskShape)), not [C, H, W] and [M, H, W]")
        let images = try Tensor.zeros([indices.count] + imageShape)
        let masks = try Tensor.zeros([indices.count] + maskShape)
        let imageSize = first.image.count, maskSize = first.mask.count
        for (k, index) in indices.enumerated() {
            if k > 0 && cancelled() { return nil }
            let item = k == 0 ? first : try source.item(index, epoch: epoch)
            try checkArgument(item.image.shape == imageShape,
                        "data loader: item \(index) has image shape \(Shape.describe(item.image.shape)), but the first item of its batch (\(firstIndex)) has \(Shape.describe(imageShape))")
            try checkArgument(item.mask.shape == maskShape,
                        "data loader: item \(index) has mask shape \(Shape.describe(item.mask.shape)), but the first item of its batch (\(firstIndex)) has \(Shape.describe(maskShape))")
            (images.storage.pointer + k * imageSize).update(from: item.image.storage.pointer, count: imageSize)
            (masks.storage.pointer + k * maskSize).update(from: item.mask.storage.pointer, count: maskSize)
        }
        return Batch(images: images, masks: masks, indices: indices)
    }

    /// The batches of one epoch, in order. Not thread-safe: use it from one thread.
    public final class Iterator {
        /// The loader this iterator reads.
        public let loader: DataLoader
        /// The epoch being read.
        public let epoch: Int
        /// Source indices in visiting order.
        private let order: [Int]
        /// Index of the next batch `next()` returns.
        private var nextBatch = 0
        /// Set after the last batch or an error; `next()` then returns nil.
        private var finished = false
        /// Shared with the background threads; nil when batches are built in `next()`.
        private var prefetch: Prefetcher?

        init(loader: DataLoader, epoch: Int, startingBatch: Int) {
            self.loader = loader
            self.epoch = epoch
            self.order = loader.order(epoch: epoch)
            self.nextBatch = startingBatch
            if loader.workers > 0 && startingBatch < loader.batchCount {
                prefetch = Prefetcher(loader: loader, order: order, epoch: epoch, startingBatch: startingBatch)
            }
        }

        deinit { prefetch?.shutdown() }

        /// The next batch, or nil after the last one. Rethrows the error of a failing item (as the batch
        /// it belongs to comes due); the epoch then ends.
        public func next() throws(UnetsegError) -> Batch? {
            guard !finished, nextBatch < loader.batchCount else { return finish() }
            let b = nextBatch
            nextBatch += 1
            let result: Result<Batch, UnetsegError>
            if let prefetch {
                result = prefetch.take(b)
            } else {
                do throws(UnetsegError) {
                    let indices = Array(order[loader.batchIndices(b)])
                    guard let batch = try DataLoader.buildBatch(source: loader.source, indices: indices, epoch: epoch,
                                                                cancelled: { false }) else {
                        throw .internal("data loader: batch \(b) cancelled")
                    }
                    result = .success(batch)
                } catch {
                    result = .failure(error)
                }
            }
            switch result {
            case .success(let batch):
                return batch
            case .failure(let error):
                _ = finish()
                throw error
            }
        }

        /// Ends the epoch: stops and joins the background threads. Returns nil for `next()`.
        private func finish() -> Batch? {
            finished = true
            prefetch?.shutdown()
            prefetch = nil
            return nil
        }
    }

    /// Items in global batch `b` (all ranks' shards together): `batchSize`, or fewer for the last.
    public func itemsInBatch(_ b: Int) -> Int { max(0, min((b + 1) * batchSize, itemCount) - b * batchSize) }

    /// Positions in the epoch's order that batch `b` covers: this loader's shard of them.
    func batchIndices(_ b: Int) -> Range<Int> {
        let start = b * batchSize
        let part = shard.range(ofBatchOf: itemsInBatch(b))
        return (start + part.lowerBound)..<(start + part.upperBound)
    }
}

/// Background threads that build the batches of one epoch ahead of the consumer.
///
/// Workers take batch numbers in increasing order, at most `capacity` ahead of the consumer, and leave each
/// result (batch or error) in `ready` for `take`. A failure stops further batches from being started.
/// `shutdown` cancels, wakes and joins every thread; a worker notices between items. In a child process
/// forked after the threads started (where they do not exist) the consumer builds every batch itself.
final class Prefetcher: @unchecked Sendable {
    private let loader: DataLoader
    private let order: [Int]
    private let epoch: Int
    private let capacity: Int
    private let lock = ConditionLock()
    // Guarded by `lock`:
    private var ready: [Int: Result<DataLoader.Batch, UnetsegError>] = [:]
    private var nextToBuild = 0
    private var consumed = 0
    private var failed = false
    private var threads: [pthread_t] = []
    // Read by workers between items without the lock.
    private let cancelled = Atomic<Bool>(false)
    /// The `ForkGeneration` the threads were started in (nil: none were started).
    private let startedIn: Int?

    init(loader: DataLoader, order: [Int], epoch: Int, startingBatch: Int) {
        self.loader = loader
        self.order = order
        self.epoch = epoch
        self.nextToBuild = startingBatch
        self.consumed = startingBatch
        self.capacity = 2 * loader.workers
        self.startedIn = ForkGeneration.current
        var started: [pthread_t] = []
        for _ in 0..<(startedIn == nil ? 0 : loader.workers) {
            if let thread = startThread({ [self] in self.work() }) { started.append(thread) }
        }
        lock.withLock { threads = started }
    }

    /// Whether this runs in a child forked after the threads started: they do not exist here, and a lock
    /// one of them held at the fork stays locked.
    private var forkedSinceStart: Bool { ForkGeneration.current != startedIn }

    /// The result of batch `b`, waiting for it. If no worker thread could be started, or in a forked
    /// child, builds it here.
    func take(_ b: Int) -> Result<DataLoader.Batch, UnetsegError> {
        if forkedSinceStart { return build(b) }
        let noThreads = lock.withLock { threads.isEmpty }
        if noThreads {
            // Degraded mode: thread creation failed, so the caller builds every batch itself.
            lock.withLock { if nextToBuild <= b { nextToBuild = b + 1 } }
            return build(b)
        }
        return lock.withLock {
            while ready[b] == nil { lock.wait() }
            let result = ready.removeValue(forKey: b) ?? .failure(.internal("data loader: batch \(b) vanished"))
            consumed = b + 1
            lock.broadcast()
            return result
        }
    }

    /// Stops the workers and waits for them to exit (in a forked child there are none). Idempotent.
    func shutdown() {
        cancelled.store(true, ordering: .releasing)
        if forkedSinceStart { return }
        let joining: [pthread_t] = lock.withLock {
            let list = threads
            threads = []
            lock.broadcast()
            return list
        }
        for thread in joining { pthread_join(thread, nil) }
        lock.withLock { ready.removeAll() }
    }

    /// A worker thread's loop.
    private func work() {
        lock.lock()
        while true {
            if cancelled.load(ordering: .acquiring) || failed || nextToBuild >= loader.batchCount { break }
            if nextToBuild >= consumed + capacity {
                lock.wait()
                continue
            }
            let b = nextToBuild
            nextToBuild += 1
            lock.unlock()
            let result = build(b)
            lock.lock()
            if case .failure = result { failed = true }
            if cancelled.load(ordering: .acquiring) { break }
            ready[b] = result
            lock.broadcast()
        }
        lock.broadcast()
        lock.unlock()
    }

    /// Builds batch `b` (a cancelled build reports `.cancelled`; nobody reads it).
    private func build(_ b: Int) -> Result<DataLoader.Batch, UnetsegError> {
        let indices = Array(order[loader.batchIndices(b)])
        do throws(UnetsegError) {
            let batch = try DataLoader.buildBatch(source: loader.source, indices: indices, epoch: epoch) {
                self.cancelled.load(ordering: .relaxed)
            }
            guard let batch else { return .failure(.cancelled("data loader: epoch \(epoch) stopped")) }
            return .success(batch)
        } catch {
            return .failure(error)
        }
    }

    /// Starts a thread running `body`, or returns nil if the system refuses.
    private func startThread(_ body: @escaping @Sendable () -> Void) -> pthread_t? {
        let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            Unmanaged<ThreadBody>.fromOpaque(raw).takeRetainedValue().run()
            return nil
        }, box)
        guard status == 0 else {
            Unmanaged<ThreadBody>.fromOpaque(box).release()
            return nil
        }
        return thread
    }
}

/// The closure a new thread runs, passed through `pthread_create`'s context pointer.
private final class ThreadBody: Sendable {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}
