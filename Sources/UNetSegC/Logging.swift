import CUNetSegTypes
import Synchronization

/// Where the library's log messages go: the callback set by `unetseg_set_log_callback`, or nowhere.
enum Log {
    /// A callback with its user data. The C caller promises the pair may be used from any thread.
    struct Sink: @unchecked Sendable {
        let callback: unetseg_log_callback
        let userData: UnsafeMutableRawPointer?
    }

    /// The current sink; read under the lock, called outside it.
    static let sink = Mutex<Sink?>(nil)

    /// Sends `message` at `level` to the callback, if one is set (the message is built only then).
    static func emit(_ level: unetseg_log_level, _ message: @autoclosure () -> String) {
        guard let sink = sink.withLock({ $0 }) else { return }
        message().withCString { sink.callback(Int32(truncatingIfNeeded: level.rawValue), $0, sink.userData) }
    }
}
