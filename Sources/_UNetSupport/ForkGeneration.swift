#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Tells a child process forked after the library started threads from the process that started them.
///
/// A forked child has only the thread that called `fork`: worker threads of the parent (libdispatch's
/// pool, a data loader's prefetching threads) do not exist there, so waiting for them would hang and
/// joining them is undefined. Code that starts threads reads `current` first (which installs the fork
/// handler) and compares it later: a different value means it runs in a forked child.
public enum ForkGeneration {
    private static let forks = Atomic<Int>(0)

    /// Installs the handler counting forks (once).
    private static let handlerInstalled: Bool = {
        pthread_atfork(nil, nil) { _ = ForkGeneration.forks.wrappingAdd(1, ordering: .relaxed) } == 0
    }()

    /// 0 in the process that first started threads, one more in each child forked since (and in each of
    /// their children). Nil when the fork handler could not be installed: callers then start no threads.
    public static var current: Int? {
        guard handlerInstalled else { return nil }
        return forks.load(ordering: .relaxed)
    }
}
