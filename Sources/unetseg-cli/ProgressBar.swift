#if canImport(Glibc)
import Glibc
#endif

/// Progress output for long commands: a redrawn bar on a terminal, plain lines (about every tenth of the
/// work) otherwise, both on standard error.
struct ProgressBar {
    let title: String
    let total: Int
    let isTerminal = isatty(STDERR_FILENO) != 0
    private var lastPlainStep = -1

    init(title: String, total: Int) {
        self.title = title
        self.total = max(total, 1)
    }

    /// Shows `done` of `total` with a trailing `detail` text.
    mutating func update(_ done: Int, detail: String = "") {
        if isTerminal {
            let width = 30, filled = min(width, width * done / total)
            let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "")
                + String(repeating: " ", count: max(0, width - filled - 1))
            write("\r\(title) [\(bar)] \(done)/\(total) \(detail)\u{1B}[K")
            if done >= total { write("\n") }
        } else {
            let step = 10 * done / total
            if step != lastPlainStep || done >= total {
                lastPlainStep = step
                write("\(title) \(done)/\(total) \(detail)\n")
            }
        }
    }

    private func write(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}
