#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Ctrl-C handling for long commands: the first SIGINT asks the work to stop at a safe point (the end of
/// the batch); a second one ends the process at once.
enum Interrupt {
    private static let requested = Atomic<Bool>(false)

    /// Whether Ctrl-C was pressed since `install()`.
    static var isRequested: Bool { requested.load(ordering: .relaxed) }

    /// Installs the handler.
    static func install() {
        signal(SIGINT) { _ in
            if Interrupt.requested.exchange(true, ordering: .relaxed) { _exit(130) }
            let message = "\nstopping at the end of this batch (Ctrl-C again to quit now)\n"
            _ = message.withCString { write(STDERR_FILENO, $0, strlen($0)) }
        }
    }
}
