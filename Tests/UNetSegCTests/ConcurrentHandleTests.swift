import CUNetSegTypes
import Dispatch
import Testing
import UNetSegC
import UNetTensor

/// Threads calling into the C API at once: the handle registry, the locks of shared handles and the log
/// callback, which `make test-sanitize` runs under ThreadSanitizer.
@Suite struct ConcurrentHandleTests {
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
        try #require(unetseg_tensor_create(values, shape, 2, &created) == Int32(UNETSEG_STATUS_OK.rawValue))
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
}
