import Synchronization

/// A value shared by test threads behind a lock. A class, so that concurrent closures share it by
/// reference (a `Mutex` captured from a test's stack frame is reported as a race by ThreadSanitizer).
public final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    /// Shares `value`.
    public init(_ value: Value) { mutex = Mutex(value) }

    /// Runs `body` on the value while holding the lock.
    public func withLock<Result: Sendable>(_ body: (inout Value) -> Result) -> Result {
        mutex.withLock { value in body(&value) }
    }
}
