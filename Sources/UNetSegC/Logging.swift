import CUNetSegTypes
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import UNetTensor
import _UNetSupport

/// Where the library's log messages go: the callback set by `unetseg_set_log_callback`, or nowhere.
enum Log {
    /// A callback with its user data. The C caller promises the pair may be used from any thread.
    struct Sink: @unchecked Sendable {
        let callback: unetseg_log_callback
        let userData: UnsafeMutableRawPointer?
    }

    /// The current sink; read under the lock, called outside it.
    static let sink = Locked<Sink?>(nil)

    /// Sends `message` at `level` to the callback, if one is set (the message is built only then).
    static func emit(_ level: unetseg_log_level, _ message: @autoclosure () -> String) {
        guard let sink = sink.withLock({ $0 }) else { return }
        message().withCString { sink.callback(Int32(truncatingIfNeeded: level.rawValue), $0, sink.userData) }
    }

    /// Whether `forwardBLASWarningOnce` has run.
    private static let blasWarningForwarded = Atomic<Bool>(false)

    /// On the first call only: when `UNETSEG_BLAS_CORETYPE` asked for kernels the library could not use,
    /// says so (`BLAS.diagnostic`) once on stderr and to the log callback at warning level. Every fallible
    /// function calls this first, so the warning comes once, at the first call into the library.
    static func forwardBLASWarningOnce() {
        guard !blasWarningForwarded.load(ordering: .acquiring),
              blasWarningForwarded.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        guard let diagnostic = BLAS.diagnostic else { return }
        let line = Array("unetseg: \(diagnostic)\n".utf8)
        _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
        emit(UNETSEG_LOG_WARNING, "unetseg: \(diagnostic)")
    }
}
