#if canImport(Glibc)
import Glibc
#endif
import Testing
import UNetData
import _TestSupport
import UNetTensor

/// The Glibc file helpers, in a fresh temporary folder per test.
@Suite struct FileSystemTests {
    let root: String

    init() throws { root = try FileSystem.makeTemporaryDirectory(prefix: "unetseg-fs-") }

    func path(_ relative: String) -> String { FileSystem.joined(root, relative) }

    @Test func directoriesListAndWalk() throws {
        defer { try? FileSystem.removeTree(root) }
        try FileSystem.makeDirectories(path("a/b/c"))
        try FileSystem.makeDirectories(path("a/b/c"))  // existing: fine
        #expect(FileSystem.isDirectory(path("a/b/c")))
        try FileSystem.writeTextAtomically("1", to: path("a/z.txt"))
        try FileSystem.writeTextAtomically("2", to: path("a/b/y.txt"))
        try FileSystem.writeTextAtomically("3", to: path("a/b/c/x.txt"))
        #expect(try FileSystem.listDirectory(path("a")) == ["b", "z.txt"])
        #expect(FileSystem.exists(path("a/z.txt")) && !FileSystem.isDirectory(path("a/z.txt")))
        #expect(!FileSystem.exists(path("nothing")))
        // A link back up makes a cycle; the walk still ends and lists each file once per reachable path.
        try FileSystem.createSymbolicLink(at: path("a/b/c/up"), pointingTo: path("a"))
        #expect(FileSystem.isSymbolicLink(path("a/b/c/up")))
        let files = try FileSystem.walk(path("a"))
        #expect(files == [path("a/b/c/x.txt"), path("a/b/y.txt"), path("a/z.txt")])
        #expect(throws: UnetsegError.self) { try FileSystem.listDirectory(path("missing")) }
        #expect(throws: UnetsegError.self) { try FileSystem.makeDirectories(path("a/z.txt/sub")) }
    }

    @Test func atomicWriteReplacesAndLeavesNoTemporary() throws {
        defer { try? FileSystem.removeTree(root) }
        let file = path("note.json")
        try FileSystem.writeTextAtomically("{\"a\": 1}", to: file)
        #expect(try FileSystem.readText(file) == "{\"a\": 1}")
        try FileSystem.writeTextAtomically("é", to: file)
        #expect(try FileSystem.readBytes(file) == [0xC3, 0xA9])
        #expect(try FileSystem.listDirectory(root) == ["note.json"])
        do throws(UnetsegError) {
            try FileSystem.writeTextAtomically("x", to: path("no/such/folder/f"))
            Issue.record("writing into a missing folder should fail")
        } catch {
            #expect(error.message.contains(path("no/such/folder/f")))
        }
        #expect(throws: UnetsegError.self) { try FileSystem.readBytes(path("absent")) }
    }

    @Test func copyAndRemove() throws {
        defer { try? FileSystem.removeTree(root) }
        try FileSystem.makeDirectories(path("src/inner"))
        let big = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try FileSystem.writeAtomically(big, to: path("src/inner/big.bin"))
        try FileSystem.writeTextAtomically("t", to: path("src/t.txt"))
        try FileSystem.copyFile(from: path("src/inner/big.bin"), to: path("copy.bin"))
        #expect(try FileSystem.readBytes(path("copy.bin")) == big)
        try FileSystem.copyTree(from: path("src"), to: path("dst"))
        #expect(try FileSystem.readBytes(path("dst/inner/big.bin")) == big)
        #expect(try FileSystem.readText(path("dst/t.txt")) == "t")
        #expect(throws: UnetsegError.self) { try FileSystem.copyTree(from: path("src"), to: path("dst")) }
        // Removing a link removes the link only.
        try FileSystem.createSymbolicLink(at: path("link"), pointingTo: path("src"))
        try FileSystem.removeTree(path("link"))
        #expect(!FileSystem.exists(path("link")) && FileSystem.exists(path("src/inner/big.bin")))
        try FileSystem.removeTree(path("dst"))
        #expect(!FileSystem.exists(path("dst")))
        try FileSystem.removeTree(path("dst"))  // missing: fine
    }

    @Test func pathHelpers() throws {
        defer { try? FileSystem.removeTree(root) }
        #expect(FileSystem.baseName("/a/b/c.tif") == "c.tif")
        #expect(FileSystem.baseName("a/b/") == "b")
        #expect(FileSystem.baseName("c") == "c")
        #expect(FileSystem.joined("a/", "b") == "a/b" && FileSystem.joined("a", "b") == "a/b")
        let canonical = try FileSystem.canonicalPath(root)
        #expect(try FileSystem.resolvedPath(path("x/../y/z")) == canonical + "/y/z")
        #expect(try FileSystem.resolvedPath(root + "/.") == canonical)
        #expect(throws: UnetsegError.self) { try FileSystem.canonicalPath(path("absent")) }
    }
}
