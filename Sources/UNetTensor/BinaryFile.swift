#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Whole-file reads and crash-safe whole-file writes with POSIX calls (no Foundation). Every error is
/// `.io` and names the file and the system's reason.
public enum BinaryFile {
    /// Largest file `read` accepts by default (4 GiB: far above a model or training state); reads are
    /// also held to `MemoryBudget`.
    public static let defaultMaximumSize = 1 << 32

    /// The bytes of the regular file at `path`. Throws `.io` when it cannot be opened or read, is not a
    /// regular file (a FIFO is refused at once, never waited on), or is larger than `maximumSize` bytes, and
    /// `.outOfMemory` when its size does not fit `MemoryBudget`. Files that report size 0 but have content
    /// (`/proc`) are read to their end, up to `maximumSize`.
    public static func read(path: String, maximumSize: Int = defaultMaximumSize) throws(UnetsegError) -> [UInt8] {
        // O_NONBLOCK: opening a FIFO must not wait for a writer (it is then refused as not a regular file).
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw systemError("cannot open \(path)") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw systemError("cannot stat \(path)") }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .io("cannot read \(path): not a regular file") }
        let size = Int(info.st_size)
        guard size >= 0, size <= maximumSize else {
            throw .io("cannot read \(path): \(size) bytes is larger than the limit of \(maximumSize)")
        }
        try MemoryBudget.reserve(size, for: "reading \(path)")
        var bytes = [UInt8](repeating: 0, count: size == 0 ? min(maximumSize, 4096) : size)
        var done = 0
        while true {
            if done == bytes.count {
                guard size == 0, done < maximumSize else { break }
                bytes += [UInt8](repeating: 0, count: min(maximumSize - done, done))
            }
            let n = bytes.withUnsafeMutableBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return Glibc.read(fd, base + done, buffer.count - done)
            }
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw systemError("cannot read \(path)") }
            guard size == 0 || done == size else { throw .io("cannot read \(path): the file changed while reading") }
            break
        }
        if size == 0 { bytes.removeSubrange(done...) }
        return bytes
    }

    /// Replaces the file at `path` by `bytes` so that a crash leaves either the old file or the new one,
    /// never a partial one: writes a temporary file in the same folder, flushes it to disk, renames it
    /// over `path`, then flushes the folder (see `createTemporary` and `commit`).
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws(UnetsegError) {
        let (temporary, fd) = try createTemporary(besides: path)
        let failure: Int32? = bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return nil }
            var done = 0
            while done < buffer.count {
                let n = write(fd, base + done, buffer.count - done)
                if n > 0 { done += n; continue }
                if n < 0 && errno == EINTR { continue }
                return n == 0 ? EIO : errno
            }
            return nil
        }
        if let failure {
            close(fd)
            unlink(temporary)
            throw .io("cannot write \(path): \(describe(failure))")
        }
        try commit(fd, temporary: temporary, to: path)
    }

    /// Creates an empty file with a name no other writer uses (process id and a counter) in the folder of
    /// `path`, open for reading and writing, for `commit` to move over `path` once written.
    public static func createTemporary(besides path: String) throws(UnetsegError) -> (path: String, fd: Int32) {
        guard !path.isEmpty, !path.hasSuffix("/") else { throw .io("cannot write '\(path)': the path names no file") }
        let folder = folderOf(path)
        let serial = temporaryCounter.add(1, ordering: .relaxed).newValue
        let temporary = folder + "/." + baseName(path) + ".tmp-\(getpid())-\(serial)"
        let fd = open(temporary, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw systemError("cannot write \(path): cannot create \(temporary)") }
        return (temporary, fd)
    }

    /// Finishes a write begun with `createTemporary`: flushes `fd` to disk, closes it (a failed close is an
    /// error: on network file systems it can be the first report of a failed write), renames `temporary`
    /// over `path` and flushes the folder. Always closes `fd`; removes `temporary` on failure. Errors name
    /// `path`.
    public static func commit(_ fd: Int32, temporary: String, to path: String) throws(UnetsegError) {
        var failure: UnetsegError?
        if fsync(fd) != 0 { failure = systemError("cannot write \(path): fsync failed") }
        if close(fd) != 0 && failure == nil { failure = systemError("cannot write \(path): close failed") }
        if failure == nil && rename(temporary, path) != 0 {
            failure = systemError("cannot write \(path): rename failed")
        }
        if let failure {
            unlink(temporary)
            throw failure
        }
        let folderFD = open(folderOf(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folderFD >= 0 {   // best effort: makes the rename itself durable
            _ = fsync(folderFD)
            close(folderFD)
        }
    }

    /// Distinguishes temporary files of concurrent writes in one process.
    private static let temporaryCounter = Atomic<Int>(0)

    /// The folder part of `path` ("." when there is none).
    static func folderOf(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The last component of `path`.
    static func baseName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// `.io("context: reason")` for the current `errno`.
    static func systemError(_ context: String) -> UnetsegError { .io("\(context): \(describe(errno))") }

    /// The system's text for an error number.
    static func describe(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}
