#if canImport(Glibc)
import Glibc
#endif

/// A pthread mutex: the one lock of the library and its tests (`Locked` pairs it with the value it
/// guards; the handle locks of the C API and the data loader's condition lock are built on it).
///
/// Not the standard library's `Synchronization.Mutex`: that module is compiled without ThreadSanitizer
/// instrumentation, so TSan does not see the hand-over when one thread waits for the lock while another
/// holds it, and it reports a race on every value a `Mutex` guards. TSan intercepts the pthread calls, so
/// under `swift test --sanitize=thread` it sees these locks and reports only real races.
/// (`Synchronization.Atomic` is fine: its operations are compiled into the calling code, instrumented.)
public final class PthreadMutex: @unchecked Sendable {
    /// The mutex, at an address that never changes (a pthread mutex must not move), for `pthread_cond_wait`.
    public let pointer: UnsafeMutablePointer<pthread_mutex_t>

    /// An unlocked mutex with default attributes.
    public init() {
        pointer = .allocate(capacity: 1)
        pointer.initialize(to: pthread_mutex_t())
        pthread_mutex_init(pointer, nil)
    }

    deinit {
        pthread_mutex_destroy(pointer)
        pointer.deallocate()
    }

    /// Takes the lock, waiting while another thread holds it.
    public func lock() { pthread_mutex_lock(pointer) }

    /// Takes the lock if it is free; returns whether it did.
    public func tryLock() -> Bool { pthread_mutex_trylock(pointer) == 0 }

    /// Releases the lock (held by the calling thread).
    public func unlock() { pthread_mutex_unlock(pointer) }

    /// Runs `body` holding the lock.
    public func withLock<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        lock()
        defer { unlock() }
        return try body()
    }
}
