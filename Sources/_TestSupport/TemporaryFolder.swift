import _UNetSupport

/// A fresh folder under /tmp, removed with its content when released.
public final class TemporaryFolder {
    /// The folder's path.
    public let path: String

    /// Makes the folder.
    public init() throws {
        path = try FileSystem.makeTemporaryDirectory(prefix: "unetseg-test-")
    }

    deinit { try? FileSystem.removeTree(path) }

    /// The path of `name` inside the folder.
    public func file(_ name: String) -> String { FileSystem.joined(path, name) }

    /// Names of the entries in the folder, sorted.
    public func contents() throws -> [String] { try FileSystem.listDirectory(path) }
}
