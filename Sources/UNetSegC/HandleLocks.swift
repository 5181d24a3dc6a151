#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import UNetTensor
import _UNetSupport

// Calls on one handle are serialised: the C call that looks a handle up (`Handles.object`) holds the
// handle's lock until it returns (`withStatus` opens and closes that scope), so two threads calling into
// the same handle take turns instead of racing on its state. This protects C, Python and R callers alike.
//
// Deadlock is ruled out by one rule: a thread waits for a lock only while every lock it holds comes
// earlier in the locks' creation order. A call that needs a lock held elsewhere while holding later ones
// lets go of its own locks and takes them all again in order (it has only looked its handles up so far).

/// The lock serialising the calls on one handle; handles whose objects share mutable state (a model, an
/// optimiser over its parameters, a schedule driving that optimiser) share one lock.
final class HandleLock: @unchecked Sendable {
    private static let created = Atomic<UInt>(0)

    /// The lock's place in the order threads wait in (creation order, from 1).
    let order: UInt
    private let mutex = PthreadMutex()

    init() { order = Self.created.wrappingAdd(1, ordering: .relaxed).newValue }

    fileprivate func lock() { mutex.lock() }
    fileprivate func tryLock() -> Bool { mutex.tryLock() }
    fileprivate func unlock() { mutex.unlock() }
}

/// The handle locks the calling thread holds for the C calls running on it (nested when a callback calls
/// back into the library).
enum HeldHandleLocks {
    /// One thread's locks, and where each open call's own locks start in `held`.
    private final class State {
        var held: [HandleLock] = []
        var callStarts: [Int] = []
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { state in
            if let state { Unmanaged<State>.fromOpaque(state).release() }
        }
        return key
    }()

    private static var state: State {
        if let existing = pthread_getspecific(key) { return Unmanaged<State>.fromOpaque(existing).takeUnretainedValue() }
        let state = State()
        pthread_setspecific(key, Unmanaged.passRetained(state).toOpaque())
        return state
    }

    /// Runs `body`, one C call: the locks `acquire` takes during it are released when it returns; locks
    /// an enclosing call on this thread holds stay held.
    static func call<Result>(_ body: () -> Result) -> Result {
        let state = state
        state.callStarts.append(state.held.count)
        defer {
            let start = state.callStarts.removeLast()
            for lock in state.held[start...].reversed() { lock.unlock() }
            state.held.removeSubrange(start...)
        }
        return body()
    }

    /// Takes `lock` (the lock of the caller's `argument`) for the rest of the current call, waiting while
    /// another thread holds it. Throws only in a callback of a call holding a later lock, where waiting
    /// could deadlock and the lock is busy.
    static func acquire(_ lock: HandleLock, for argument: String) throws(UnetsegError) {
        let state = state
        guard let start = state.callStarts.last, !state.held.contains(where: { $0 === lock }) else { return }
        if state.held.allSatisfy({ $0.order < lock.order }) {
            lock.lock()
            state.held.append(lock)
            return
        }
        if lock.tryLock() {
            state.held.append(lock)
            return
        }
        let own = Array(state.held[start...])
        for held in own.reversed() { held.unlock() }
        state.held.removeSubrange(start...)
        let enclosing = state.held.map(\.order).max() ?? 0
        for next in (own + [lock]).sorted(by: { $0.order < $1.order }) {
            if next.order > enclosing {
                next.lock()
            } else if !next.tryLock() {
                throw .invalidArgument("\(argument) is in use by another thread, and a callback cannot wait for it")
            }
            state.held.append(next)
        }
    }
}
