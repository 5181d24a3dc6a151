/// A value shared between threads behind a `PthreadMutex`: the library's replacement for
/// `Synchronization.Mutex`, with the same `withLock`, that ThreadSanitizer understands (see `PthreadMutex`).
///
/// A class, so that concurrent closures share one lock by reference.
public final class Locked<Value: Sendable>: @unchecked Sendable {
    private let mutex = PthreadMutex()
    // Guarded by `mutex`.
    private var value: Value

    /// Shares `value`.
    public init(_ value: Value) { self.value = value }

    /// Runs `body` on the value while holding the lock.
    public func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        try mutex.withLock { () throws(Failure) -> Result in try body(&value) }
    }
}
