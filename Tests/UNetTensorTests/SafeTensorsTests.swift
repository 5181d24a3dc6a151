import Testing
#if canImport(Glibc)
import Glibc
#endif
import UNetTensor
import _TestSupport
import _UNetSupport

/// The safetensors reader and writer: round trips, files written by PyTorch, and every malformed file
/// rejected with an error naming it.
@Suite struct SafeTensorsTests {
    /// Names in `folder`.
    func listing(_ folder: String) -> [String] { (try? FileSystem.listDirectory(folder)) ?? [] }

    func removeFolder(_ folder: String) {
        for name in listing(folder) { unlink(folder + "/" + name) }
        rmdir(folder)
    }

    func sampleTensors() throws -> [(String, Tensor)] {
        var generator = RandomGenerator(seed: 5)
        return [
            ("down1.conv.weight", try Tensor.normal([4, 3, 3, 3], generator: &generator)),
            ("bias", try Tensor([1, -2.5, .greatestFiniteMagnitude, -0.0, .infinity], shape: [5])),
            ("scalar", Tensor(scalar: 0.25)),
            ("empty", try Tensor.zeros([2, 0, 3])),
        ]
    }

    @Test func roundTripsThroughAFile() throws {
        let temporary = try TemporaryFolder()
        let folder = temporary.path
        defer { removeFolder(folder) }
        let path = folder + "/model.safetensors"
        let tensors = try sampleTensors()
        let metadata = ["epoch": "7", "format": "unetseg", "note": "quotes \" and é"]
        try SafeTensors.write(tensors, metadata: metadata, to: path)
        #expect(listing(folder) == ["model.safetensors"], "no temporary file left behind")

        let file = try SafeTensors.read(path: path)
        #expect(file.metadata == metadata)
        #expect(file.tensors.map(\.name) == ["bias", "down1.conv.weight", "empty", "scalar"], "sorted by name")
        for (name, tensor) in tensors {
            let read = try #require(file.tensor(named: name))
            #expect(read.shape == tensor.shape, "\(name)")
            #expect(read.toArray().map(\.bitPattern) == tensor.toArray().map(\.bitPattern), "\(name)")
            #expect(!read.requiresGrad)
        }
        #expect(file.tensor(named: "missing") == nil)

        // Overwriting replaces the file in place.
        try SafeTensors.write([("only", Tensor(scalar: 1))], metadata: [:], to: path)
        #expect(try SafeTensors.read(path: path).tensors.map(\.name) == ["only"])
        #expect(listing(folder) == ["model.safetensors"])
    }

    @Test func encodingIsDeterministicAndAligned() throws {
        let tensors = try sampleTensors()
        let bytes = try SafeTensors.encode(tensors, metadata: ["b": "2", "a": "1"])
        #expect(try SafeTensors.encode(tensors.reversed(), metadata: ["a": "1", "b": "2"]) == bytes)
        let headerLength = (0..<8).reduce(0) { $0 | Int(bytes[$1]) << (8 * $1) }
        #expect(headerLength % 8 == 0 && (8 + headerLength) % 8 == 0)
        let header = try JSONValue.parse(bytes[8..<(8 + headerLength)])
        #expect(header.objectValue?.first?.key == "__metadata__")
        #expect(header["__metadata__"] == ["a": "1", "b": "2"])
        #expect(header["bias"] == ["dtype": "F32", "shape": [5], "data_offsets": [0, 20]])
        #expect(bytes.count == 8 + headerLength + 4 * (108 + 5 + 1))
    }

    @Test func encodeRejectsBadNames() throws {
        let t = Tensor(scalar: 1)
        #expect(throws: UnetsegError.self) { try SafeTensors.encode([("a", t), ("a", t)], metadata: [:]) }
        #expect(throws: UnetsegError.self) { try SafeTensors.encode([("__metadata__", t)], metadata: [:]) }
    }

    /// A file written by PyTorch's `safetensors.torch.save_file` with F32, F16, BF16, F64, I32 and I64.
    @Test func readsEveryDTypeFromPyTorch() throws {
        let file = try SafeTensors.read(path: Fixtures.path("safetensors/torch_dtypes.safetensors"))
        #expect(file.metadata["purpose"] == "dtype conversion")
        let names = file.tensors.map(\.name).filter { !$0.hasSuffix("_expected") }
        #expect(Set(names) == ["f32", "f16", "bf16", "f64", "i32", "i64", "f16_special", "scalar", "empty"])
        for name in names {
            let tensor = try #require(file.tensor(named: name))
            let expected = try #require(file.tensor(named: name + "_expected"))
            #expect(tensor.shape == expected.shape, "\(name)")
            #expect(tensor.toArray().map(\.bitPattern) == expected.toArray().map(\.bitPattern), "\(name)")
        }
        #expect(file.tensor(named: "f16")?.toArray()[3] == 65504)
        #expect(file.tensor(named: "f16_special")?.toArray()[2] == .infinity)
        #expect(file.tensor(named: "i32")?.toArray()[4] == -16_777_216)
    }

    /// PyTorch's writer and ours produce the same bytes for float32 tensors without metadata.
    @Test func writesWhatPyTorchWrites() throws {
        let path = Fixtures.path("safetensors/torch_f32.safetensors")
        let original = try FileSystem.readBytes(path)
        let file = try SafeTensors.decode(original, source: path)
        #expect(file.tensors.count == 4)
        let rewritten = try SafeTensors.encode(file.tensors.map { ($0.name, $0.tensor) }, metadata: file.metadata)
        #expect(rewritten == original)
    }

    // MARK: - Malformed files

    /// The little-endian bytes of an integer.
    static func bytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }

    /// A file with header text `header` (padded to 8 bytes) followed by `dataLength` bytes.
    static func file(header: String, dataLength: Int = 16) -> [UInt8] {
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(UInt8(ascii: " ")) }
        return bytes(UInt64(headerBytes.count)) + headerBytes
            + [UInt8](repeating: 0, count: dataLength)
    }

    static func entry(_ dtype: String = #""F32""#, shape: String = "[2, 2]", offsets: String = "[0, 16]") -> String {
        #"{"dtype": \#(dtype), "shape": \#(shape), "data_offsets": \#(offsets)}"#
    }

    /// (problem, file bytes, a fragment the error message must contain).
    static let malformed: [(String, [UInt8], String)] = [
        ("empty file", [], "too short"),
        ("shorter than 8 bytes", [1, 2, 3], "too short"),
        ("header length past the end", bytes(UInt64(64)) + Array("{}".utf8), "runs past the end of the file"),
        ("absurd header length", bytes(UInt64(200_000_000)) + [UInt8](repeating: 32, count: 64), "larger than the limit"),
        ("huge header length", bytes(UInt64.max) + [UInt8](repeating: 32, count: 64), "larger than the limit"),
        ("malformed JSON", file(header: #"{"a": "#), "unexpected end of input"),
        ("invalid UTF-8", file(header: "{\"a\u{E9}\": 1}").map { $0 == 0xC3 ? 0xFF : $0 }, "not valid UTF-8"),
        ("header not an object", file(header: "[1, 2]"), "not a JSON object"),
        ("entry not an object", file(header: #"{"a": 3}"#), "entry is not an object"),
        ("dtype missing", file(header: #"{"a": {"shape": [2, 2], "data_offsets": [0, 16]}}"#), "\"dtype\" is missing"),
        ("dtype not a string", file(header: #"{"a": \#(entry("4"))}"#), "\"dtype\" is missing"),
        ("unknown dtype", file(header: #"{"a": \#(entry(#""Q7""#))}"#), "unsupported dtype \"Q7\""),
        ("unsupported dtype", file(header: #"{"a": \#(entry(#""U8""#, shape: "[16]"))}"#), "unsupported dtype \"U8\""),
        ("shape missing", file(header: #"{"a": {"dtype": "F32", "data_offsets": [0, 16]}}"#), "\"shape\" is missing"),
        ("shape not an array", file(header: #"{"a": \#(entry(shape: "4"))}"#), "\"shape\" is missing"),
        ("negative shape", file(header: #"{"a": \#(entry(shape: "[-2, -2]"))}"#), "shape entry -2"),
        ("fractional shape", file(header: #"{"a": \#(entry(shape: "[2.5, 2]"))}"#), "shape entry 2.5"),
        ("string in shape", file(header: #"{"a": \#(entry(shape: #"["2", 2]"#))}"#), "shape entry \"2\""),
        ("element count overflow", file(header: #"{"a": \#(entry(shape: "[4294967296, 4294967296, 16]"))}"#), "too many elements"),
        ("byte count overflow", file(header: #"{"a": \#(entry(#""F64""#, shape: "[4611686018427387904]"))}"#), "too many elements"),
        ("huge tensor", file(header: #"{"a": \#(entry(shape: "[1099511627776]", offsets: "[0, 4398046511104]"))}"#), "run past the end of the data"),
        ("offsets missing", file(header: #"{"a": {"dtype": "F32", "shape": [2, 2]}}"#), "\"data_offsets\" is missing"),
        ("one offset", file(header: #"{"a": \#(entry(offsets: "[16]"))}"#), "not two"),
        ("three offsets", file(header: #"{"a": \#(entry(offsets: "[0, 16, 32]"))}"#), "not two"),
        ("negative offset", file(header: #"{"a": \#(entry(shape: "[0]", offsets: "[-4, -4]"))}"#), "not two non-negative"),
        ("fractional offset", file(header: #"{"a": \#(entry(offsets: "[0.5, 16.5]"))}"#), "not two non-negative"),
        ("begin after end", file(header: #"{"a": \#(entry(shape: "[0]", offsets: "[8, 4]"))}"#), "begin after end"),
        ("offsets past the data", file(header: #"{"a": \#(entry(offsets: "[8, 24]"))}"#), "run past the end of the data"),
        ("byte count mismatch", file(header: #"{"a": \#(entry(offsets: "[0, 12]"))}"#), "hold 12 bytes"),
        ("overlapping ranges", file(header: #"{"a": \#(entry(shape: "[3]", offsets: "[0, 12]")), "b": \#(entry(shape: "[2]", offsets: "[8, 16]"))}"#), "overlap"),
        ("same range twice", file(header: #"{"a": \#(entry(shape: "[2]", offsets: "[0, 8]")), "b": \#(entry(shape: "[2]", offsets: "[0, 8]"))}"#), "overlap"),
        ("duplicate names", file(header: #"{"a": \#(entry(shape: "[2]", offsets: "[0, 8]")), "a": \#(entry(shape: "[2]", offsets: "[8, 16]"))}"#), "duplicate key \"a\""),
        ("metadata not an object", file(header: #"{"__metadata__": [1]}"#), "\"__metadata__\" is not an object"),
        ("metadata value not a string", file(header: #"{"__metadata__": {"epoch": 3}}"#), "entry \"epoch\" is not a string"),
        ("trailing garbage in header", file(header: #"{} x"#), "unexpected data after the value"),
    ]

    @Test(arguments: malformed.map(\.0))
    func rejectsMalformedFile(_ problem: String) throws {
        let (_, bytes, reason) = try #require(Self.malformed.first { $0.0 == problem })
        let source = "/data/broken_\(problem.split(separator: " ").joined(separator: "_")).safetensors"
        do throws(UnetsegError) {
            _ = try SafeTensors.decode(bytes, source: source)
            Issue.record("\(problem): accepted")
        } catch {
            guard case .format(let message) = error else { Issue.record("\(problem): wrong kind \(error)"); return }
            #expect(message.hasPrefix(source + ": "), "\(message)")
            #expect(message.contains(reason), "\(message)")
        }
    }

    @Test func messagesNameTheProblem() throws {
        func message(_ bytes: [UInt8]) -> String {
            do throws(UnetsegError) { _ = try SafeTensors.decode(bytes, source: "f.safetensors"); return "" } catch { return error.message }
        }
        #expect(message(Self.file(header: #"{"w": \#(Self.entry(#""U8""#, shape: "[16]"))}"#))
                .contains(#"tensor "w": unsupported dtype "U8""#))
        #expect(message(Self.file(header: #"{"a": \#(Self.entry(shape: "[3]", offsets: "[0, 12]")), "b": \#(Self.entry(shape: "[2]", offsets: "[8, 16]"))}"#))
                .contains("overlap"))
        #expect(message(Self.file(header: #"{"a": \#(Self.entry(offsets: "[0, 12]"))}"#))
                .contains("hold 12 bytes but shape [2, 2] of F32 needs 16"))
        #expect(message([1, 2]).contains("too short"))
    }

    @Test func acceptsUnusualButValidLayouts() throws {
        // Gaps between tensors, tensors listed out of order, zero-size tensors at any offset, extra fields.
        let header = #"{"b": \#(Self.entry(shape: "[1]", offsets: "[12, 16]")), "z": \#(Self.entry(shape: "[0, 5]", offsets: "[4, 4]")), "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "extra": 1}}"#
        var bytes = Self.file(header: header, dataLength: 16)
        let dataStart = bytes.count - 16
        bytes.replaceSubrange(dataStart..<(dataStart + 4), with: Self.bytes(Float(1.5).bitPattern))
        bytes.replaceSubrange((dataStart + 12)..<(dataStart + 16), with: Self.bytes(Float(-2).bitPattern))
        let file = try SafeTensors.decode(bytes, source: "gaps.safetensors")
        #expect(file.tensors.map(\.name) == ["a", "z", "b"], "in data order")
        #expect(file.tensor(named: "a")?.toArray() == [1.5] && file.tensor(named: "b")?.toArray() == [-2])
        #expect(file.tensor(named: "z")?.shape == [0, 5])
        #expect(try SafeTensors.decode(Self.file(header: "{}", dataLength: 0), source: "empty").tensors.isEmpty)
    }

    /// Truncated and bit-flipped files are rejected or read, never crash.
    @Test func corruptedFilesNeverCrash() throws {
        let valid = try SafeTensors.encode(try sampleTensors(), metadata: ["k": "v"])
        for length in 0..<valid.count where length % 7 == 0 || length < 200 {
            #expect(throws: UnetsegError.self) { try SafeTensors.decode(Array(valid[..<length]), source: "cut") }
        }
        var generator = RandomGenerator(seed: 31)
        for _ in 0..<1_000 {
            var bytes = valid
            for _ in 0..<(1 + generator.integer(below: 3)) {
                let i = generator.integer(below: min(bytes.count, 400))
                bytes[i] ^= UInt8(1 << generator.integer(below: 8))
            }
            _ = try? SafeTensors.decode(bytes, source: "flipped")
        }
    }

    // MARK: - Files

    @Test func fileErrorsNameThePath() throws {
        let temporary = try TemporaryFolder()
        let folder = temporary.path
        defer { removeFolder(folder) }
        let missing = folder + "/missing.safetensors"
        #expect(throws: UnetsegError.io("cannot open \(missing): No such file or directory")) {
            try SafeTensors.read(path: missing)
        }
        #expect(throws: UnetsegError.io("cannot read \(folder): not a regular file")) { try SafeTensors.read(path: folder) }

        let broken = folder + "/broken.safetensors"
        try FileSystem.writeAtomically([1, 2, 3], to: broken)
        #expect(throws: UnetsegError.format("\(broken): 3 bytes is too short for a safetensors file (8-byte header length missing)")) {
            try SafeTensors.read(path: broken)
        }

        let unwritable = folder + "/no/such/folder/model.safetensors"
        do throws(UnetsegError) {
            try SafeTensors.write([("a", Tensor(scalar: 1))], metadata: [:], to: unwritable)
            Issue.record("wrote into a missing folder")
        } catch {
            guard case .io(let message) = error else { Issue.record("wrong kind \(error)"); return }
            #expect(message.contains(unwritable))
        }
        #expect(listing(folder) == ["broken.safetensors"], "nothing else left behind")
    }

    @Test func everyOpFixtureIsReadable() throws {
        for name in ["add", "conv2d_k3_p1", "binary_cross_entropy", "max_pool2d_k3_s2"] {
            let file = try SafeTensors.read(path: Fixtures.path("ops/\(name).safetensors"))
            #expect(file.tensors.contains { $0.name == "0/output" }, "\(name)")
        }
    }
}
