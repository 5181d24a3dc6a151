#if canImport(Glibc)
import Glibc
#endif
import UNetData
import UNetTensor
import _UNetSupport

/// A private temporary folder for the file-based targets, made once per process under $TMPDIR (or /tmp)
/// and removed when the process exits normally.
final class ScratchFolder {
    let path: String

    init() throws(UnetsegError) {
        let parent = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        path = try FileSystem.makeTemporaryDirectory(in: parent, prefix: "unetseg-fuzz-")
    }

    deinit { try? FileSystem.removeTree(path) }

    /// The path of `name` inside the folder.
    func file(_ name: String) -> String { FileSystem.joined(path, name) }

    /// Writes `bytes` to `path`, replacing it: plain write(2), no fsync (a fuzz input is not worth one).
    static func write(_ bytes: some Collection<UInt8>, to path: String) throws(FuzzViolation) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FuzzViolation("harness: cannot create \(path): errno \(errno)") }
        defer { close(fd) }
        let data = Array(bytes)
        let written = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == data.count else { throw FuzzViolation("harness: cannot write \(path): errno \(errno)") }
    }
}
