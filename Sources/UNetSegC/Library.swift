import CUNetSegTypes
import UNetTensor
import _UNetSupport

// Library-wide functions: versions, system report, threads, the global seed, errors and logging.

/// The library's version (semantic versioning), as `unetseg_version()` returns it.
let libraryVersion: StaticString = "0.1.0"

/// The one-line system report of unetseg_system_info_string.
var systemInfo: String { "unetseg \(libraryVersion), \(BLAS.summary)" }

/// Sets the number of compute threads (0: one per CPU online), checked: the work of
/// unetseg_set_num_threads.
func setThreadCount(_ count: Int32) throws(UnetsegError) {
    try checkArgument(count >= 0 && count <= 1024, "num_threads must be in 0...1024, got \(count)")
    Parallel.setThreadCount(Int(count))
}

/// The library's version, for example "0.1.0".
///
/// Returns a static string: do not free it.
@c public func unetseg_version() -> UnsafePointer<CChar> {
    staticCString(libraryVersion)
}

/// The C API version the library implements: compare with UNETSEG_API_VERSION from the header you compiled
/// against.
@c public func unetseg_api_version() -> Int32 {
    UNETSEG_API_VERSION
}

/// Fills out_report with the library version, the kernels of the library's own OpenBLAS instance, the
/// threads, the CPUs and their widest SIMD, whether the host process has an OpenBLAS of its own (which the
/// library leaves untouched), and why UNETSEG_BLAS_CORETYPE was ignored, if it was.
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT when out_report is NULL.
@c public func unetseg_system_info(_ out_report: UnsafeMutablePointer<unetseg_system_report>?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let out = try nonNull(out_report, "out_report")
        var report = unetseg_system_report()
        writeTruncated(libraryVersion.description, into: &report.version)
        writeTruncated(BLAS.coreName, into: &report.blas_core)
        writeTruncated(BLAS.chosenCore, into: &report.blas_coretype_set)
        writeTruncated(BLAS.simdLevel, into: &report.simd)
        report.num_threads = Int32(clamping: Parallel.threadCount)
        report.num_cpus = Int32(clamping: Parallel.onlineProcessors)
        report.api_version = UNETSEG_API_VERSION
        report.blas_loaded_before = BLAS.hostHasOpenBLAS
        writeTruncated(BLAS.diagnostic ?? "", into: &report.blas_warning)
        out.pointee = report
    }
}

/// Writes a one-line description of unetseg_system_info()'s report into out_text, for example
/// "unetseg 0.1.0, own OpenBLAS core SkylakeX, 2 threads, 2 CPUs, avx512 (Intel(R) Xeon(R) Platinum
/// 8481C CPU @ 2.70GHz)". capacity is the size of out_text in bytes, NUL included.
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT when out_text is NULL or too small (the
/// message says how many bytes are needed; 256 always suffice).
@c public func unetseg_system_info_string(_ out_text: UnsafeMutablePointer<CChar>?, _ capacity: UInt) -> Int32 {
    withStatus { () throws(UnetsegError) in
        try copyOut(systemInfo, to: out_text, capacity: capacity, "out_text")
    }
}

/// Sets the number of threads the library computes with; 0 restores the default (one per CPU online).
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT when num_threads is outside 0...1024.
@c public func unetseg_set_num_threads(_ num_threads: Int32) -> Int32 {
    withStatus { () throws(UnetsegError) in
        try setThreadCount(num_threads)
    }
}

/// The number of threads the library computes with.
@c public func unetseg_get_num_threads() -> Int32 {
    Int32(clamping: Parallel.threadCount)
}

/// Seeds the library's global random generator (torch_manual_seed): models created with seed -1 draw their
/// initial weights from it, so the same seed gives the same model.
@c public func unetseg_manual_seed(_ seed: UInt64) {
    manualSeed(seed)
}

/// The message of the last fallible call on this thread: "" when it succeeded, otherwise what went wrong
/// (naming the argument, the shape or the file).
///
/// Returns a string owned by the library, valid until the next call into the library on this thread: copy
/// it to keep it. Never NULL.
@c public func unetseg_last_error() -> UnsafePointer<CChar> {
    LastError.current
}

/// The name of a status code, for example "invalid argument" for UNETSEG_STATUS_INVALID_ARGUMENT, or
/// "unknown status" for a value that is not a unetseg_status.
///
/// Returns a static string: do not free it. Never NULL.
@c public func unetseg_status_string(_ status: Int32) -> UnsafePointer<CChar> {
    switch status {
    case UNETSEG_STATUS_OK.code: staticCString("ok")
    case UNETSEG_STATUS_INVALID_ARGUMENT.code: staticCString("invalid argument")
    case UNETSEG_STATUS_IO.code: staticCString("I/O error")
    case UNETSEG_STATUS_FORMAT.code: staticCString("format error")
    case UNETSEG_STATUS_OUT_OF_MEMORY.code: staticCString("out of memory")
    case UNETSEG_STATUS_NUMERIC.code: staticCString("numeric error")
    case UNETSEG_STATUS_CANCELLED.code: staticCString("cancelled")
    case UNETSEG_STATUS_INTERNAL.code: staticCString("internal error")
    default: staticCString("unknown status")
    }
}

/// Sends the library's log messages (see unetseg_log_level) to callback, with user_data; NULL stops
/// logging. The library keeps user_data, does not own it, and calls callback until it is replaced.
@c public func unetseg_set_log_callback(_ callback: unetseg_log_callback?, _ user_data: UnsafeMutableRawPointer?) {
    Log.sink.withLock { $0 = callback.map { Log.Sink(callback: $0, userData: user_data) } }
}

/// The number of handles (tensors, models, optimisers, schedules) made and not yet freed: a leak check
/// for tests and bindings.
@c public func unetseg_live_handle_count() -> Int64 {
    Int64(Handles.liveCount)
}
