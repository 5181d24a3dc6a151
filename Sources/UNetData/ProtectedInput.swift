import UNetTensor
import _UNetSupport

/// An input (a dataset folder, a slice file) that outputs must never be written over.
///
/// It occupies the input's canonical path and the canonical folder of every file below it, so a folder
/// reached through links (a split's patient links into the original dataset) counts as the input too. An
/// output folder is refused when it is, contains or lies inside any of them, after resolving its links.
public struct ProtectedInput: Sendable {
    /// The input as given, for messages.
    public let path: String
    /// The canonical paths the input occupies: its own, then the folders of its files that lie elsewhere.
    public let locations: [String]

    /// Reads where `path` (an existing file or folder) and, for a folder, every file below it really are.
    public init(_ path: String) throws(UnetsegError) {
        self.path = path
        let root = try FileSystem.canonicalPath(path)
        var folders = Set<String>()
        if FileSystem.isDirectory(path) {
            for file in try FileSystem.walk(path) { folders.insert(FileSystem.parentDirectory(file)) }
        }
        var elsewhere = Set<String>()
        for folder in folders {
            let real = try FileSystem.canonicalPath(folder)
            if !FileSystem.overlaps(real, root) { elsewhere.insert(real) }
        }
        locations = [root] + elsewhere.sorted()
    }

    /// Throws `.invalidArgument`, naming `output` (described as `role`, e.g. "predictions folder") and the
    /// input, when the folder `output` (which need not exist) is, contains or lies inside the input or a
    /// folder the input reaches through links.
    public func requireApart(from output: String, role: String) throws(UnetsegError) {
        let resolved = try FileSystem.resolvedPath(output)
        for location in locations where FileSystem.overlaps(resolved, location) {
            let through = location == locations[0] ? "" : " (through a link to \(location))"
            throw .invalidArgument("the \(role) \(output) is, contains or lies inside the input \(path)\(through); "
                                   + "outputs are never written where they could replace an input: choose a folder outside it")
        }
    }

    /// `requireApart(from:role:)` for `output` and for each `output/<name>` of `subfolders` (the patient
    /// folders predictions go to), so that a link inside `output` cannot lead a file into the input either.
    public func requireApart(from output: String, subfolders: some Sequence<String>, role: String) throws(UnetsegError) {
        try requireApart(from: output, role: role)
        for name in Set(subfolders).sorted() { try requireApart(from: FileSystem.joined(output, name), role: role) }
    }
}
