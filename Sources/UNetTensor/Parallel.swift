import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import _UNetSupport

/// The library's worker threads: work is split into contiguous chunks run on up to `threadCount` threads.
///
/// The workers are libdispatch's, which must not be relied on in a child process forked after they
/// started (Python's multiprocessing with fork, R's mclapply): there every loop runs on the calling
/// thread (`threadCount` is 1).
public enum Parallel {
    private static let configuredThreads = Atomic<Int>(0)

    /// Threads used by parallel loops and convolutions (default: the number of online CPUs; 1 in a child
    /// forked after the library started threads).
    public static var threadCount: Int {
        guard ForkGeneration.current == 0 else { return 1 }
        let n = configuredThreads.load(ordering: .relaxed)
        return n > 0 ? n : onlineProcessors
    }

    /// Sets the thread count; values below 1 restore the default.
    public static func setThreadCount(_ n: Int) {
        configuredThreads.store(max(0, n), ordering: .relaxed)
    }

    /// Number of CPUs online.
    public static let onlineProcessors: Int = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// Calls `body(worker, workers)` once for each of `workers` = `min(threadCount, maxWorkers)` workers,
    /// concurrently, and returns when all have finished.
    public static func forEachWorker(maxWorkers: Int = .max, _ body: (Int, Int) -> Void) {
        let workers = max(1, min(threadCount, maxWorkers))
        if workers == 1 { body(0, 1); return }
        withoutActuallyEscaping(body) { body in
            let shared = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: workers) { shared.value($0, workers) }
        }
    }

    /// Splits `0..<count` into one contiguous chunk per worker and calls `body(lo, hi)` for each, in
    /// parallel when `count` is at least `minimumPerThread`.
    public static func forEachChunk(_ count: Int, minimumPerThread: Int = 32_768,
                                    _ body: (Int, Int) -> Void) {
        guard count > 0 else { return }
        let maxWorkers = max(1, count / max(1, minimumPerThread))
        forEachWorker(maxWorkers: maxWorkers) { w, workers in
            let lo = count * w / workers, hi = count * (w + 1) / workers
            if lo < hi { body(lo, hi) }
        }
    }
}

extension Parallel {
    /// Calls `body(worker, item)` for every item of `0..<count` on up to `min(threadCount, maxWorkers)`
    /// workers that take the next item as they become free; `worker` is below that worker count, so it can
    /// index per-worker scratch. Each item runs exactly once; which worker runs it is not fixed.
    static func forEachItem(_ count: Int, maxWorkers: Int = .max, _ body: (_ worker: Int, _ item: Int) -> Void) {
        guard count > 0 else { return }
        let next = Atomic<Int>(0)
        forEachWorker(maxWorkers: min(count, maxWorkers)) { worker, _ in
            while true {
                let item = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard item < count else { return }
                body(worker, item)
            }
        }
    }
}

/// A value handed to worker threads whose safety the caller guarantees (disjoint writes, joined before use).
public struct UncheckedSendable<Value>: @unchecked Sendable {
    /// The wrapped value.
    public let value: Value
    /// Wraps `value`.
    public init(_ value: Value) { self.value = value }
}
