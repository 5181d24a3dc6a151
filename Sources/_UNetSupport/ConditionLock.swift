#if canImport(Glibc)
import Glibc
#endif

/// A `PthreadMutex` with one condition variable.
public final class ConditionLock: @unchecked Sendable {
    private let mutex = PthreadMutex()
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    /// An unlocked lock with default attributes.
    public init() {
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deallocate()
    }

    /// Takes the lock.
    public func lock() { mutex.lock() }
    /// Releases the lock.
    public func unlock() { mutex.unlock() }
    /// Releases the lock, sleeps until a broadcast, retakes the lock (spurious wake-ups possible).
    public func wait() { pthread_cond_wait(condition, mutex.pointer) }
    /// Wakes every waiting thread.
    public func broadcast() { pthread_cond_broadcast(condition) }

    /// Runs `body` holding the lock.
    public func withLock<R>(_ body: () -> R) -> R { mutex.withLock(body) }
}
