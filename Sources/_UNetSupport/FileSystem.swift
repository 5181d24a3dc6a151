#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The library's one file layer, on Glibc (the library avoids Foundation): queries, folder changes, and
/// whole-file reads and writes for checkpoints, training state, predictions, logs and pictures alike.
///
/// Its guarantees: reads refuse what is not a regular file (a FIFO is never waited on) and cap the size
/// (and hold it to `MemoryBudget`); every write goes to a hidden temporary file in the target's folder,
/// is flushed to disk, renamed over the target and the folder flushed, so that a crash or a full disk
/// leaves either the old file or the new one, never half of one. Paths are plain `String`s, absolute or
/// relative to the working directory. Every failure throws `UnetsegError.io` with a message naming the
/// path and the system's reason.
public enum FileSystem {
    // MARK: - Queries

    /// Whether something exists at `path` (following symbolic links).
    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// Whether `path` is a folder, or a symbolic link to one.
    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Whether `path` itself is a symbolic link (not followed).
    public static func isSymbolicLink(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK
    }

    /// The names in folder `path` (not `.` and `..`), sorted by byte value. Throws `.io` naming the folder,
    /// how many names and which (invalid bytes as `\xNN`) when some names are not valid UTF-8: a Swift
    /// `String` cannot hold them, and skipping them would make files vanish silently.
    public static func listDirectory(_ path: String) throws(UnetsegError) -> [String] {
        guard let dir = opendir(path) else { throw ioError("cannot open folder", path) }
        defer { closedir(dir) }
        var names: [String] = []
        var undecodable: [String] = []
        while let entry = readdir(dir) {
            let bytes = withUnsafeBytes(of: &entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            guard let name = String(validating: bytes, as: UTF8.self) else {
                undecodable.append(escaped(bytes))
                continue
            }
            if name != "." && name != ".." { names.append(name) }
        }
        if !undecodable.isEmpty {
            throw .io("folder \(path) holds \(undecodable.count) file name\(undecodable.count == 1 ? "" : "s") "
                + "that \(undecodable.count == 1 ? "is" : "are") not valid UTF-8 ("
                + undecodable.sorted().prefix(5).joined(separator: ", ")
                + "); rename \(undecodable.count == 1 ? "it" : "them") to UTF-8 to use this folder")
        }
        return names.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) })
    }

    /// `bytes` as text, printable ASCII kept and every other byte as `\xNN`.
    private static func escaped(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789ABCDEF")
        return String(bytes.flatMap { byte -> [Character] in
            (0x20..<0x7F).contains(byte) && byte != 0x5C
                ? [Character(Unicode.Scalar(byte))]
                : ["\\", "x", digits[Int(byte >> 4)], digits[Int(byte & 15)]]
        })
    }

    /// Every file (not folder) below `path`, as `path/…/name`, sorted by path. Symbolic links to folders
    /// are followed (a split's patient links), but a folder reached twice (a link cycle) is walked once.
    public static func walk(_ path: String) throws(UnetsegError) -> [String] {
        var files: [String] = []
        var visited: Set<FileIdentity> = []
        try walk(path, into: &files, visited: &visited)
        return files.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) })
    }

    /// Device and inode of a folder, to detect link cycles.
    private struct FileIdentity: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    private static func walk(_ path: String, into files: inout [String],
                             visited: inout Set<FileIdentity>) throws(UnetsegError) {
        var info = stat()
        guard stat(path, &info) == 0 else { throw ioError("cannot read", path) }
        guard visited.insert(FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))).inserted else {
            return
        }
        for name in try listDirectory(path) {
            let child = joined(path, name)
            var childInfo = stat()
            // A dangling link is neither a file nor a folder: skip it rather than fail the whole walk.
            guard stat(child, &childInfo) == 0 else { continue }
            if (childInfo.st_mode & S_IFMT) == S_IFDIR {
                try walk(child, into: &files, visited: &visited)
            } else {
                files.append(child)
            }
        }
    }

    /// `folder/name`, without doubling a trailing slash.
    public static func joined(_ folder: String, _ name: String) -> String {
        folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }

    /// The last path component (`a/b/c.tif` → `c.tif`; trailing slashes ignored).
    public static func baseName(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        if let slash = trimmed.lastIndex(of: "/"), trimmed != "/" {
            return String(trimmed[trimmed.index(after: slash)...])
        }
        return String(trimmed)
    }

    /// The folder part of `path` (`a/b/c.tif` → `a/b`, `c.tif` → `.`, `/c` → `/`).
    public static func parentDirectory(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }

    /// Whether one of two canonical paths (see `canonicalPath`, `resolvedPath`) is the other or lies inside it.
    public static func overlaps(_ a: String, _ b: String) -> Bool {
        func inside(_ x: String, _ y: String) -> Bool { x == y || x.hasPrefix(y == "/" ? "/" : y + "/") }
        return inside(a, b) || inside(b, a)
    }

    /// The canonical absolute path of an existing `path` (links and `..` resolved, like `realpath`).
    public static func canonicalPath(_ path: String) throws(UnetsegError) -> String {
        guard let resolved = realpath(path, nil) else { throw ioError("cannot resolve", path) }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The canonical absolute form of `path`, which need not exist: its deepest existing ancestor is
    /// resolved with `realpath` and the rest appended (`.` and `..` in the rest are applied textually).
    public static func resolvedPath(_ path: String) throws(UnetsegError) -> String {
        var absolute = path
        if !path.hasPrefix("/") {
            guard let cwd = getcwd(nil, 0) else { throw ioError("cannot read the working folder for", path) }
            absolute = joined(String(cString: cwd), path)
            free(cwd)
        }
        var existing = absolute.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        var rest: [String] = []
        while true {
            let candidate = "/" + existing.joined(separator: "/")
            if let resolved = realpath(candidate, nil) {
                var parts = String(cString: resolved).split(separator: "/").map(String.init)
                free(resolved)
                for part in rest.reversed() {
                    if part == ".." { if !parts.isEmpty { parts.removeLast() } } else if part != "." { parts.append(part) }
                }
                return "/" + parts.joined(separator: "/")
            }
            guard let last = existing.popLast() else { throw ioError("cannot resolve", path) }
            rest.append(last)
        }
    }

    // MARK: - Changes

    /// Creates folder `path` and any missing parents (`mkdir -p`); an existing folder is fine.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws(UnetsegError) {
        guard !path.isEmpty else { throw .io("cannot create a folder with an empty path") }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += part
            if mkdir(prefix, mode) != 0 {
                let code = errno
                guard code == EEXIST, isDirectory(prefix) else { throw ioError("cannot create folder", prefix, code) }
            }
            prefix += "/"
        }
    }

    /// Creates a symbolic link at `linkPath` whose target is `target` (stored as given).
    public static func createSymbolicLink(at linkPath: String, pointingTo target: String) throws(UnetsegError) {
        if symlink(target, linkPath) != 0 { throw ioError("cannot create link to \(target) at", linkPath) }
    }

    /// Copies the regular file `source` to `destination` (replaced if present, atomically as
    /// `writeAtomically`), keeping its permission bits.
    public static func copyFile(from source: String, to destination: String) throws(UnetsegError) {
        let input = open(source, O_RDONLY | O_CLOEXEC | O_NONBLOCK)   // a FIFO must not block the open
        guard input >= 0 else { throw ioError("cannot open", source) }
        defer { close(input) }
        var info = stat()
        guard fstat(input, &info) == 0 else { throw ioError("cannot read", source) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .io("cannot copy \(source): not a regular file") }
        let (temporary, output) = try createTemporary(besides: destination)
        let chunk = 1 << 16
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        var failure: UnetsegError?
        if fchmod(output, info.st_mode & 0o777) != 0 { failure = ioError("cannot write", destination) }
        while failure == nil {
            let n = read(input, buffer, chunk)
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                failure = ioError("cannot read", source)
            } else if let code = writeAll(output, UnsafeRawBufferPointer(start: buffer, count: n)) {
                failure = ioError("cannot write", destination, code)
            }
        }
        if let failure {
            close(output)
            unlink(temporary)
            throw failure
        }
        try commit(output, temporary: temporary, to: destination)
    }

    /// Copies folder `source` and everything below it to `destination` (created; must not exist).
    /// Symbolic links inside are copied as the files or folders they point to.
    public static func copyTree(from source: String, to destination: String) throws(UnetsegError) {
        guard isDirectory(source) else { throw .io("cannot copy \(source): not a folder") }
        if mkdir(destination, 0o755) != 0 { throw ioError("cannot create folder", destination) }
        for name in try listDirectory(source) {
            let from = joined(source, name), to = joined(destination, name)
            if isDirectory(from) { try copyTree(from: from, to: to) } else { try copyFile(from: from, to: to) }
        }
    }

    /// Removes `path` and, for a folder, everything below it (`rm -r`). Symbolic links are removed, never
    /// followed. A missing `path` is fine.
    public static func removeTree(_ path: String) throws(UnetsegError) {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return }
            throw ioError("cannot read", path)
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            for name in try listDirectory(path) { try removeTree(joined(path, name)) }
            if rmdir(path) != 0 { throw ioError("cannot remove folder", path) }
        } else if unlink(path) != 0 {
            throw ioError("cannot remove", path)
        }
    }

    /// Creates a new, empty, uniquely named folder under `parent` (`mkdtemp`) and returns its path.
    public static func makeTemporaryDirectory(in parent: String = "/tmp", prefix: String = "unetseg-") throws(UnetsegError) -> String {
        var template = Array(joined(parent, prefix + "XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> String? in
            guard let base = buffer.baseAddress, let result = mkdtemp(base) else { return nil }
            return String(cString: result)
        }
        guard let made else { throw ioError("cannot create a temporary folder in", parent) }
        return made
    }

    // MARK: - Whole files

    /// Largest file `readBytes` accepts by default (4 GiB: far above a model or training state); reads
    /// are also held to `MemoryBudget`.
    public static let defaultMaximumSize = 1 << 32

    /// The bytes of the regular file at `path`. Throws `.io` when it cannot be opened or read, is not a
    /// regular file (a FIFO is refused at once, never waited on), or is larger than `maximumSize` bytes, and
    /// `.outOfMemory` when its size does not fit `MemoryBudget`. Files that report size 0 but have content
    /// (`/proc`) are read to their end, up to `maximumSize`.
    public static func readBytes(_ path: String, maximumSize: Int = defaultMaximumSize) throws(UnetsegError) -> [UInt8] {
        // O_NONBLOCK: opening a FIFO must not wait for a writer (it is then refused as not a regular file).
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw ioError("cannot open", path) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ioError("cannot stat", path) }
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
            if n < 0 { throw ioError("cannot read", path) }
            guard size == 0 || done == size else { throw .io("cannot read \(path): the file changed while reading") }
            break
        }
        if size == 0 { bytes.removeSubrange(done...) }
        return bytes
    }

    /// Largest text file `readText` reads (256 MiB: logs, JSON, CSV).
    public static let maximumTextSize = 1 << 28

    /// The contents of text file `path` (UTF-8; invalid bytes become U+FFFD).
    public static func readText(_ path: String) throws(UnetsegError) -> String {
        String(decoding: try readBytes(path, maximumSize: maximumTextSize), as: UTF8.self)
    }

    /// Replaces the file at `path` by `bytes` so that a crash leaves either the old file or the new one,
    /// never a partial one: writes a temporary file in the same folder, flushes it to disk, renames it
    /// over `path`, then flushes the folder (see `createTemporary` and `commit`).
    public static func writeAtomically(_ bytes: some Collection<UInt8>, to path: String) throws(UnetsegError) {
        let (temporary, fd) = try createTemporary(besides: path)
        let contiguous = Array(bytes)
        if let failure = contiguous.withUnsafeBytes({ writeAll(fd, $0) }) {
            close(fd)
            unlink(temporary)
            throw ioError("cannot write", path, failure)
        }
        try commit(fd, temporary: temporary, to: path)
    }

    /// Writes `text` as UTF-8 to `path` atomically (see `writeAtomically(_:to:)`).
    public static func writeTextAtomically(_ text: String, to path: String) throws(UnetsegError) {
        try writeAtomically(text.utf8, to: path)
    }

    /// Creates an empty, hidden file with a name no other writer uses (process id and a counter) in the
    /// folder of `path`, open for reading and writing, for `commit` to move over `path` once written.
    public static func createTemporary(besides path: String) throws(UnetsegError) -> (path: String, fd: Int32) {
        guard !path.isEmpty, !path.hasSuffix("/") else { throw .io("cannot write '\(path)': the path names no file") }
        let serial = temporaryCounter.add(1, ordering: .relaxed).newValue
        let temporary = joined(parentDirectory(path), "." + baseName(path) + ".tmp-\(getpid())-\(serial)")
        let fd = open(temporary, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw ioError("cannot write \(path): cannot create", temporary) }
        return (temporary, fd)
    }

    /// Finishes a write begun with `createTemporary`: flushes `fd` to disk, closes it (a failed close is an
    /// error: on network file systems it can be the first report of a failed write), renames `temporary`
    /// over `path` and flushes the folder. Always closes `fd`; removes `temporary` on failure. Errors name
    /// `path`.
    public static func commit(_ fd: Int32, temporary: String, to path: String) throws(UnetsegError) {
        var failure: UnetsegError?
        if fsync(fd) != 0 { failure = ioError("cannot write", "\(path): fsync failed") }
        if close(fd) != 0 && failure == nil { failure = ioError("cannot write", "\(path): close failed") }
        if failure == nil && rename(temporary, path) != 0 { failure = ioError("cannot write", "\(path): rename failed") }
        if let failure {
            unlink(temporary)
            throw failure
        }
        let folderFD = open(parentDirectory(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folderFD >= 0 {   // best effort: makes the rename itself durable
            _ = fsync(folderFD)
            close(folderFD)
        }
    }

    /// Distinguishes temporary files of concurrent writes in one process.
    private static let temporaryCounter = Atomic<Int>(0)

    /// Writes all of `buffer` to `fd`; returns the error number of a failed write, nil on success.
    private static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> Int32? {
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

    /// An `.io` error "`what` `path`: reason" with the reason from `errno` (or `code`).
    public static func ioError(_ what: String, _ path: String, _ code: Int32 = errno) -> UnetsegError {
        .io("\(what) \(path): \(describe(code))")
    }

    /// The system's text for an error number.
    public static func describe(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}
