#if canImport(Glibc)
import Glibc
#endif
import Testing
import _TestSupport
import UNetData
import UNetTensor
import _UNetSupport

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

    /// A FIFO is refused at once (opening it used to wait forever for a writer), and a file larger than the
    /// cap is refused from its size, before anything is allocated or read.
    @Test func readingRefusesFIFOsAndOversizedFiles() throws {
        defer { try? FileSystem.removeTree(root) }
        let fifo = path("model.safetensors")
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: UnetsegError.io("cannot read \(fifo): not a regular file")) { try FileSystem.readBytes(fifo) }
        #expect(throws: UnetsegError.io("cannot read \(fifo): not a regular file")) { try FileSystem.readText(fifo) }
        #expect(throws: UnetsegError.io("cannot read \(fifo): not a regular file")) { try SafeTensors.read(path: fifo) }

        let huge = path("log.json")
        let fd = open(huge, O_WRONLY | O_CREAT, 0o600)
        defer { close(fd) }
        #expect(fd >= 0 && ftruncate(fd, off_t(FileSystem.maximumTextSize + 1)) == 0)   // sparse: no disk used
        do throws(UnetsegError) {
            _ = try FileSystem.readText(huge)
            Issue.record("read a text file over the cap")
        } catch {
            #expect(error.message.contains(huge) && error.message.contains("larger than the limit"), "\(error)")
        }
        #expect(ftruncate(fd, off_t(FileSystem.defaultMaximumSize + 1)) == 0)
        do throws(UnetsegError) {
            _ = try SafeTensors.read(path: huge)
            Issue.record("read a file over the cap")
        } catch {
            #expect(error.message.contains(huge) && error.message.contains("larger than the limit"), "\(error)")
        }
        #expect(try !FileSystem.readText("/proc/self/statm").isEmpty)   // size 0 on stat, content on read
    }

    /// File names that are not UTF-8 are reported with the folder and their count, not skipped silently.
    @Test func nonUTF8NamesAreReported() throws {
        defer { try? FileSystem.removeTree(root) }
        let patient = path("TCGA_A_1")
        try FileSystem.makeDirectories(patient)
        for name in ["TCGA_A_1_1.tif", "TCGA_A_1_1_mask.tif"] { try FileSystem.writeTextAtomically("", to: FileSystem.joined(patient, name)) }
        let bad = Array((patient + "/TCGA_A_1_2").utf8) + [0xE9] + Array(".tif".utf8) + [0]
        let withRawName = { (call: (UnsafePointer<CChar>) -> Int32) -> Int32 in
            bad.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { call($0.baseAddress!) } }
        }
        let fd = withRawName { open($0, O_WRONLY | O_CREAT, 0o600) }
        #expect(fd >= 0)
        close(fd)
        defer { _ = withRawName { unlink($0) } }
        for attempt in [{ try FileSystem.walk(root) }, { try FileSystem.listDirectory(patient) }] as [() throws -> [String]] {
            do {
                _ = try attempt()
                Issue.record("a name that is not UTF-8 was skipped silently")
            } catch let error as UnetsegError {
                #expect(error.message == "folder \(patient) holds 1 file name that is not valid UTF-8 "
                            + "(TCGA_A_1_2\\xE9.tif); rename it to UTF-8 to use this folder", "\(error)")
            }
        }
        #expect(throws: UnetsegError.self) { try BrainSegDataset(root: root) }
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
