import CUNetSegTypes
#if canImport(Glibc)
import Glibc
#endif
import UNetTensor
import _UNetSupport

// R (.C): library-wide functions. Every unetseg_r_* function ends with char **message, int *status
// (see RBridge.swift): *status is a unetseg_status, *message the library's message when it is not OK,
// cut to the length of the string R passed in.

/// R (.C): copies the library's version (unetseg_version) into *out_version, a string R pre-sized.
@c public func unetseg_r_version(_ out_version: RString?, _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        try rWrite(libraryVersion.description, to: out_version, "out_version")
    }
}

/// R (.C): copies the one-line system report of unetseg_system_info_string into *out_text (R passes 256
/// characters).
@c public func unetseg_r_system_info(_ out_text: RString?, _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        try rWrite(systemInfo, to: out_text, "out_text")
    }
}

/// R (.C): seeds the global generator (torch_manual_seed) with *seed, a whole number in 0...2^53.
@c public func unetseg_r_manual_seed(_ seed: UnsafePointer<Double>?, _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in manualSeed(try rSeed(seed)) }
}

/// R (.C): sets the number of compute threads to *num_threads (0 restores one per CPU), as
/// unetseg_set_num_threads.
@c public func unetseg_r_set_num_threads(_ num_threads: UnsafePointer<Int32>?, _ message: RString?,
                                         _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        try setThreadCount(try nonNull(num_threads, "num_threads").pointee)
    }
}

/// R (.C): writes the number of compute threads into *out_threads.
@c public func unetseg_r_get_num_threads(_ out_threads: UnsafeMutablePointer<Int32>?, _ message: RString?,
                                         _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        try nonNull(out_threads, "out_threads").pointee = Int32(clamping: Parallel.threadCount)
    }
}

/// R (.C): writes the number of live handles (unetseg_live_handle_count) into *out_count.
@c public func unetseg_r_live_handle_count(_ out_count: UnsafeMutablePointer<Double>?, _ message: RString?,
                                           _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        try nonNull(out_count, "out_count").pointee = Double(Handles.liveCount)
    }
}

/// R (.C): copies the name of status code *code (unetseg_status_string) into *out_name (R passes 32
/// characters).
@c public func unetseg_r_status_string(_ code: UnsafePointer<Int32>?, _ out_name: RString?, _ message: RString?,
                                       _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let name = String(cString: unetseg_status_string(Int32(try rInt(code, "code"))))
        try rWrite(name, to: out_name, "out_name")
    }
}

/// R (.C): draws a seed (a whole number below 2^53, which an R double holds exactly) from the global
/// generator into *out_seed: what datasets and loaders made without a seed use, so that
/// torch_manual_seed governs them.
@c public func unetseg_r_random_seed(_ out_seed: UnsafeMutablePointer<Double>?, _ message: RString?,
                                     _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let out = try nonNull(out_seed, "out_seed")
        out.pointee = Double(defaultGenerator.withLock { $0.next() } >> 11)
    }
}

/// R (.C): copies into *out_text (R passes 1023 characters) why UNETSEG_BLAS_CORETYPE was ignored (a core
/// type unetseg does not know, or kernels this CPU cannot run); "" when it was followed or is unset.
@c public func unetseg_r_blas_warning(_ out_text: RString?, _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        try rWrite(BLAS.diagnostic ?? "", to: out_text, "out_text")
    }
}
