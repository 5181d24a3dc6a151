#if canImport(Glibc)
import Glibc
#endif

/// R's user interrupt (Ctrl-C, SIGINT), seen from a long call R made through `.C`.
///
/// R's signal handler only raises a flag; `R_CheckUserInterrupt` acts on it by jumping (longjmp) to R's top
/// level, which must never unwind Swift frames. `R_ToplevelExec` runs a function in a new top-level
/// context and returns FALSE when it was left by such a jump, so calling `R_CheckUserInterrupt` through it
/// answers "is an interrupt pending?" (and clears it) without unwinding anything of ours. Both functions
/// are looked up in the process (the library does not link against R); outside R nothing is pending. They
/// may only be called on R's main thread: the thread that made the `.C` call.
enum RInterrupt {
    /// A function `R_ToplevelExec` runs, with its data pointer.
    private typealias TopLevelFunction = @convention(c) (UnsafeMutableRawPointer?) -> Void
    /// `Rboolean R_ToplevelExec(void (*fun)(void *), void *data)`.
    private typealias TopLevelExec = @convention(c) (TopLevelFunction, UnsafeMutableRawPointer?) -> Int32

    /// R's two functions, or nil outside R.
    private struct EntryPoints: @unchecked Sendable {
        let topLevelExec: TopLevelExec
        let checkUserInterrupt: UnsafeMutableRawPointer
    }

    private static let entryPoints: EntryPoints? = {
        guard let exec = dlsym(nil, "R_ToplevelExec"), let check = dlsym(nil, "R_CheckUserInterrupt") else { return nil }
        return EntryPoints(topLevelExec: unsafeBitCast(exec, to: TopLevelExec.self), checkUserInterrupt: check)
    }()

    /// Whether the user interrupted R since R last checked; the interrupt is consumed (R will not act on it
    /// again). Call only on R's main thread. Always false outside R.
    static func isPending() -> Bool {
        guard let r = entryPoints else { return false }
        // The function gets R_CheckUserInterrupt through its data pointer: its frame holds nothing to clean
        // up when R jumps out of it.
        let completed = r.topLevelExec({ check in
            guard let check else { return }
            unsafeBitCast(check, to: (@convention(c) () -> Void).self)()
        }, r.checkUserInterrupt)
        return completed == 0
    }
}
