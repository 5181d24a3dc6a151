import CUNetSegTypes
import Dispatch
import Testing
import UNetSegC
import UNetTensor
import _TestSupport
import _UNetSupport

/// Threads calling into the C API at once: the handle registry, the locks of shared handles and the log
/// callback, and a loader's background threads, which `make test-sanitize` runs under ThreadSanitizer.
/// Serialized: the tests compare the process's live handle count and share the log callback.
@Suite(.serialized) struct ConcurrentHandleTests {
    /// `UNETSEG_STATUS_OK` as the functions return it.
    static let ok = Int32(UNETSEG_STATUS_OK.rawValue)

    /// The levels of the messages the log callback received.
    typealias Received = Locked<[Int32]>

    /// Four threads each make, read and free tensors from one shared tensor handle, free each result a
    /// second time (ignored, with a warning to the log callback) and make a call that fails (logged at
    /// debug level); every call gives what it gives on one thread, and no handle is left over.
    @Test func threadsShareHandlesTheRegistryAndTheLogCallback() throws {
        let received = Received([])
        unetseg_set_log_callback({ level, _, userData in
            guard let userData else { return }
            Unmanaged<Received>.fromOpaque(userData).takeUnretainedValue().withLock { $0.append(level) }
        }, Unmanaged.passUnretained(received).toOpaque())
        defer { unetseg_set_log_callback(nil, nil) }

        let handlesBefore = unetseg_live_handle_count()
        var created: UnsafeMutablePointer<unetseg_tensor>?
        let values: [Float] = [1, 2, 3, 4], shape: [Int64] = [2, 2]
        try #require(unetseg_tensor_create(values, shape, 2, &created) == Self.ok)
        let shared = UncheckedSendable(created)
        let threads = 4, rounds = 100
        let mismatches = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for round in 0..<rounds {
                var sum: UnsafeMutablePointer<unetseg_tensor>?
                var copied = [Float](repeating: 0, count: 4)
                let statuses = [unetseg_tensor_add(shared.value, shared.value, &sum),
                                unetseg_tensor_copy_to(sum, &copied, 4)]
                unetseg_tensor_free(sum)
                unetseg_tensor_free(sum)
                let refused = unetseg_tensor_copy_to(shared.value, nil, 4)
                if statuses != [0, 0] || copied != [2, 4, 6, 8] || refused != Int32(UNETSEG_STATUS_INVALID_ARGUMENT.rawValue) {
                    mismatches.withLock { $0.append("thread \(thread), round \(round): \(statuses), \(copied), \(refused)") }
                }
            }
        }
        unetseg_tensor_free(created)
        #expect(mismatches.withLock { $0 }.isEmpty, "\(mismatches.withLock { $0.prefix(3) })")
        #expect(unetseg_live_handle_count() == handlesBefore)
        let levels = received.withLock { $0 }
        #expect(levels.filter { $0 == Int32(UNETSEG_LOG_WARNING.rawValue) }.count == threads * rounds)
        #expect(levels.filter { $0 == Int32(UNETSEG_LOG_DEBUG.rawValue) }.count == threads * rounds)
    }

    /// Two threads take turns on one shuffling loader handle with two background workers (its lock
    /// serialises their calls): four whole epochs of all six items come out, and no handle is left over.
    @Test func threadsShareALoaderWithWorkers() throws {
        let folder = try TemporaryFolder()
        try TinyDataset.write(to: folder.path, patients: 2, slices: 3, size: 16)
        let handlesBefore = unetseg_live_handle_count()
        var datasetParams = unetseg_dataset_default_params()
        var dataset: UnsafeMutablePointer<unetseg_dataset>?
        try #require(unetseg_dataset_open(folder.path, &datasetParams, &dataset) == Self.ok)
        var loaderParams = unetseg_loader_default_params()
        loaderParams.batch_size = 4
        loaderParams.shuffle = true
        loaderParams.workers = 2
        var created: UnsafeMutablePointer<unetseg_loader>?
        try #require(unetseg_loader_create(dataset, &loaderParams, &created) == Self.ok)
        unetseg_dataset_free(dataset)
        var length: Int64 = 0
        try #require(unetseg_loader_length(created, &length) == Self.ok && length == 2)

        let loader = UncheckedSendable(created)
        let epochs = 4, threads = 2, batchesPerEpoch = 2, itemsPerEpoch = 6
        // Counted over all calls: batches, items (mask planes of 16 x 16), epoch ends, failed calls.
        let counts = Locked([0, 0, 0, 0])
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            for _ in 0..<(epochs * (batchesPerEpoch + 1) / threads) {
                var images: UnsafeMutablePointer<unetseg_tensor>?, masks: UnsafeMutablePointer<unetseg_tensor>?
                var elements: Int64 = 0
                let status = unetseg_loader_next(loader.value, &images, &masks)
                let counted = masks.map { unetseg_tensor_numel($0, &elements) == Self.ok } ?? true
                counts.withLock { counts in
                    if status != Self.ok || !counted { counts[3] += 1 } else if masks == nil { counts[2] += 1 } else {
                        counts[0] += 1
                        counts[1] += Int(elements) / (16 * 16)
                    }
                }
                unetseg_tensor_free(images)
                unetseg_tensor_free(masks)
            }
        }
        var epoch: Int64 = 0
        #expect(unetseg_loader_epoch(created, &epoch) == Self.ok && epoch == Int64(1 + epochs))
        #expect(counts.withLock { $0 } == [epochs * batchesPerEpoch, epochs * itemsPerEpoch, epochs, 0])
        unetseg_loader_free(created)
        #expect(unetseg_live_handle_count() == handlesBefore)
    }
}
