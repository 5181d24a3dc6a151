import CUNetSegTypes
#if canImport(Glibc)
import Glibc
#endif
import UNetTensor
import _UNetSupport

// The error model at the C edge: every fallible function runs its work in `withStatus`, which turns a
// thrown `UnetsegError` into an int32_t `unetseg_status` and leaves the message for `unetseg_last_error()`
// on the calling thread. (The mirror image of mlx-swift's `withError`, which turns C errors into throws.)

extension UnetsegError {
    /// The C status code of this error's kind (one `unetseg_status` per case).
    var status: unetseg_status {
        switch self {
        case .invalidArgument: UNETSEG_STATUS_INVALID_ARGUMENT
        case .io: UNETSEG_STATUS_IO
        case .format: UNETSEG_STATUS_FORMAT
        case .outOfMemory: UNETSEG_STATUS_OUT_OF_MEMORY
        case .numeric: UNETSEG_STATUS_NUMERIC
        case .cancelled: UNETSEG_STATUS_CANCELLED
        case .internal: UNETSEG_STATUS_INTERNAL
        }
    }
}

extension unetseg_status {
    /// The status as the int32_t the C functions return.
    var code: Int32 { Int32(truncatingIfNeeded: rawValue) }
}

/// This thread's message for `unetseg_last_error()`: a NUL-terminated copy the library owns, freed when it
/// is replaced or when the thread ends.
enum LastError {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { free($0) }
        return key
    }()

    /// Replaces this thread's message (an empty message if the copy cannot be allocated).
    static func set(_ message: String) {
        let previous = pthread_getspecific(key)
        pthread_setspecific(key, strdup(message))
        free(previous)
    }

    /// Empties this thread's message.
    static func clear() {
        guard let previous = pthread_getspecific(key) else { return }
        pthread_setspecific(key, nil)
        free(previous)
    }

    /// This thread's message, "" when the last fallible call succeeded.
    static var current: UnsafePointer<CChar> {
        guard let message = pthread_getspecific(key) else { return staticCString("") }
        return UnsafePointer(message.assumingMemoryBound(to: CChar.self))
    }
}

/// The C function's name from Swift's `#function` (`unetseg_tensor_add(_:_:_:)` → `unetseg_tensor_add`).
func cFunctionName(_ function: String) -> Substring {
    function.prefix { $0 != "(" }
}

/// Runs `body`, the work of the C function `function`, and returns its outcome as a status:
/// `UNETSEG_STATUS_OK` with this thread's message cleared, or the error's status with its message set (and
/// logged at debug level). Every fallible `@c` function is one call of this, and holds the locks of the
/// handles it looks up until it returns (`HeldHandleLocks`). The first call of the process
/// also forwards the OpenBLAS diagnostic, if any (`Log.forwardBLASWarningOnce`).
///
/// The message is set after the log callback has returned: a callback that calls into the library (whose
/// fallible calls clear or replace this thread's message) cannot take the failing call's message away.
func withStatus(_ function: String = #function, _ body: () throws(UnetsegError) -> Void) -> Int32 {
    Log.forwardBLASWarningOnce()
    LastError.clear()
    return HeldHandleLocks.call {
        do throws(UnetsegError) {
            try body()
            return UNETSEG_STATUS_OK.code
        } catch {
            Log.emit(UNETSEG_LOG_DEBUG, "\(cFunctionName(function)) failed: \(error.message)")
            LastError.set(error.message)
            return error.status.code
        }
    }
}

/// A pointer to the NUL-terminated bytes of a string literal, valid for the life of the process.
func staticCString(_ text: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(text.utf8Start).assumingMemoryBound(to: CChar.self)
}
