// The safetensors file format: an 8-byte little-endian header length N, N bytes of UTF-8 JSON mapping each
// tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (byte offsets from the end of the header)
// plus an optional "__metadata__" object of strings, then the raw little-endian tensor data.

import _UNetSupport

/// The content of a safetensors file: float32 tensors (row-major, as stored) and the string metadata.
public struct SafeTensorsFile: Sendable {
    /// The tensors in the order of their data in the file.
    public var tensors: [(name: String, tensor: Tensor)]
    /// The `__metadata__` entries (empty when the file has none).
    public var metadata: [String: String]

    /// A file content from tensors and metadata.
    public init(tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The tensor called `name`, if there is one.
    public func tensor(named name: String) -> Tensor? { tensors.first { $0.name == name }?.tensor }
}

/// Reading and writing safetensors files. Reading validates the whole header before allocating anything
/// and converts every supported dtype to float32; writing is deterministic and atomic.
public enum SafeTensors {
    /// Largest JSON header accepted (the reference implementation's limit).
    public static let maximumHeaderSize = 100_000_000

    /// Dtypes read (and converted to float32); files are always written as F32.
    public static let supportedDTypes = ["F32", "F16", "BF16", "F64", "I32", "I64"]

    /// Reads and validates the safetensors file at `path`. Throws `.io` when it cannot be read and
    /// `.format` (naming the file) when its content is not a valid safetensors file.
    public static func read(path: String) throws(UnetsegError) -> SafeTensorsFile {
        try decode(try FileSystem.readBytes(path), source: path)
    }

    /// Decodes the bytes of a safetensors file; `source` names it in error messages. Throws `.format` for
    /// anything inconsistent: truncation, an absurd or out-of-bounds header, malformed JSON, missing or
    /// ill-typed fields, unsupported dtypes, invalid shapes, offsets outside the data, overlapping ranges,
    /// sizes that do not match the shape, duplicate names.
    public static func decode(_ bytes: [UInt8], source: String) throws(UnetsegError) -> SafeTensorsFile {
        func invalid(_ problem: String) -> UnetsegError { .format("\(source): \(problem)") }
        guard bytes.count >= 8 else {
            throw invalid("\(bytes.count) bytes is too short for a safetensors file (8-byte header length missing)")
        }
        let headerLength = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[$1]) << (8 * UInt64($1)) }
        guard headerLength <= UInt64(maximumHeaderSize) else {
            throw invalid("header length \(headerLength) is larger than the limit of \(maximumHeaderSize) bytes")
        }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw invalid("header length \(headerLength) runs past the end of the file (\(bytes.count) bytes)")
        }
        let dataStart = 8 + Int(headerLength)
        let header: JSONValue
        do throws(UnetsegError) {
            header = try JSONValue.parse(bytes[8..<dataStart])
        } catch {
            throw invalid("header: \(error.message)")
        }
        let (entries, metadata) = try parseHeader(header, dataLength: bytes.count - dataStart, invalid: invalid)
        var tensors: [(name: String, tensor: Tensor)] = []
        tensors.reserveCapacity(entries.count)
        for entry in entries {
            let tensor: Tensor
            do throws(UnetsegError) {
                tensor = try Tensor.zeros(entry.shape)
            } catch {
                throw invalid("tensor \"\(entry.name)\": \(error.message)")
            }
            bytes.withUnsafeBytes { raw in
                entry.dtype.convert(raw, from: dataStart + entry.begin, count: tensor.count, to: tensor.storage.pointer)
            }
            tensors.append((name: entry.name, tensor: tensor))
        }
        return SafeTensorsFile(tensors: tensors, metadata: metadata)
    }

    /// The bytes of a safetensors file holding `tensors` as F32 and `metadata` as `__metadata__`. Tensors
    /// are laid out sorted by name (UTF-8 byte order) and the header is padded with spaces so the data
    /// starts 8-byte aligned, as the reference writer does. Names must be unique and not `__metadata__`.
    public static func encode(_ tensors: [(String, Tensor)], metadata: [String: String]) throws(UnetsegError) -> [UInt8] {
        var seen = Set<String>()
        for (name, _) in tensors {
            try checkArgument(name != "__metadata__", "safetensors: \"__metadata__\" cannot name a tensor")
            try checkArgument(seen.insert(name).inserted, "safetensors: duplicate tensor name \"\(name)\"")
        }
        let ordered = tensors.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
        var members: [(key: String, value: JSONValue)] = []
        if !metadata.isEmpty {
            let entries = metadata.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            members.append((key: "__metadata__", value: .object(entries.map { (key: $0.key, value: .string($0.value)) })))
        }
        var offset = 0
        for (name, tensor) in ordered {
            let end = offset + 4 * tensor.count
            members.append((key: name, value: [
                "dtype": "F32",
                "shape": .array(tensor.shape.map { .number(Double($0)) }),
                "data_offsets": [.number(Double(offset)), .number(Double(end))],
            ]))
            offset = end
        }
        var header = Array(JSONValue.object(members).serialized(pretty: false).utf8)
        header.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - header.count % 8) % 8))
        try checkArgument(header.count <= maximumHeaderSize, "safetensors: header of \(header.count) bytes is too large")

        var bytes = [UInt8](repeating: 0, count: 8 + header.count + offset)
        bytes.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt64(header.count).littleEndian, toByteOffset: 0, as: UInt64.self)
            var position = 8
            for byte in header { raw[position] = byte; position += 1 }
            for (_, tensor) in ordered {
                let values = tensor.storage.pointer
                for i in 0..<tensor.count {
                    raw.storeBytes(of: values[i].bitPattern.littleEndian, toByteOffset: position + 4 * i, as: UInt32.self)
                }
                position += 4 * tensor.count
            }
        }
        return bytes
    }

    /// Writes `tensors` and `metadata` to `path` as safetensors (see `encode`), atomically: a crash leaves
    /// the old file or the complete new one.
    public static func write(_ tensors: [(String, Tensor)], metadata: [String: String],
                             to path: String) throws(UnetsegError) {
        let bytes: [UInt8]
        do throws(UnetsegError) {
            bytes = try encode(tensors, metadata: metadata)
        } catch {
            throw .invalidArgument("cannot write \(path): \(error.message)")
        }
        try FileSystem.writeAtomically(bytes, to: path)
    }

    // MARK: - Header validation

    /// One tensor's validated header entry; `begin` is relative to the start of the data.
    private struct Entry {
        var name: String
        var dtype: DType
        var shape: [Int]
        var begin: Int
        var end: Int
    }

    /// Checks every entry of the header against the `dataLength` bytes that follow it and returns the
    /// entries sorted by offset, with the metadata.
    private static func parseHeader(_ header: JSONValue, dataLength: Int,
                                    invalid: (String) -> UnetsegError) throws(UnetsegError)
        -> (entries: [Entry], metadata: [String: String]) {
        guard let members = header.objectValue else { throw invalid("header is not a JSON object") }
        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        for (name, value) in members {
            if name == "__metadata__" {
                guard let pairs = value.objectValue else { throw invalid("\"__metadata__\" is not an object") }
                for (key, text) in pairs {
                    guard let text = text.stringValue else {
                        throw invalid("\"__metadata__\" entry \"\(key)\" is not a string")
                    }
                    metadata[key] = text
                }
                continue
            }
            func bad(_ problem: String) -> UnetsegError { invalid("tensor \"\(name)\": \(problem)") }
            guard value.objectValue != nil else { throw bad("entry is not an object") }
            guard let dtypeName = value["dtype"]?.stringValue else { throw bad("\"dtype\" is missing or not a string") }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw bad("unsupported dtype \"\(dtypeName)\" (supported: \(supportedDTypes.joined(separator: ", ")))")
            }
            guard let dims = value["shape"]?.arrayValue else { throw bad("\"shape\" is missing or not an array") }
            var shape: [Int] = []
            for dim in dims {
                guard let d = dim.intValue, d >= 0 else { throw bad("shape entry \(dim) is not a non-negative integer") }
                shape.append(d)
            }
            guard let count = Shape.elementCount(shape) else {
                throw bad("shape \(Shape.describe(shape)) has too many elements")
            }
            let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.size)
            guard !overflow else { throw bad("shape \(Shape.describe(shape)) has too many elements") }
            guard let offsets = value["data_offsets"]?.arrayValue, offsets.count == 2,
                  let begin = offsets[0].intValue, let end = offsets[1].intValue, begin >= 0, end >= 0 else {
                throw bad("\"data_offsets\" is missing or not two non-negative integers")
            }
            guard begin <= end else { throw bad("data_offsets [\(begin), \(end)] begin after end") }
            guard end <= dataLength else {
                throw bad("data_offsets [\(begin), \(end)] run past the end of the data (\(dataLength) bytes)")
            }
            guard end - begin == byteCount else {
                throw bad("data_offsets [\(begin), \(end)] hold \(end - begin) bytes but shape "
                          + "\(Shape.describe(shape)) of \(dtypeName) needs \(byteCount)")
            }
            entries.append(Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end))
        }
        entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var previous: Entry?
        for entry in entries where entry.end > entry.begin {
            if let previous, entry.begin < previous.end {
                throw invalid("tensors \"\(previous.name)\" [\(previous.begin), \(previous.end)] and "
                              + "\"\(entry.name)\" [\(entry.begin), \(entry.end)] overlap")
            }
            previous = entry
        }
        return (entries, metadata)
    }

    // MARK: - Dtypes

    /// The element types read, by their safetensors names.
    private enum DType: String {
        case F32, F16, BF16, F64, I32, I64

        /// Bytes per element.
        var size: Int {
            switch self {
            case .F16, .BF16: return 2
            case .F32, .I32: return 4
            case .F64, .I64: return 8
            }
        }

        /// Converts `count` little-endian elements starting at byte `offset` of `raw` to float32.
        func convert(_ raw: UnsafeRawBufferPointer, from offset: Int, count: Int, to out: UnsafeMutablePointer<Float>) {
            func load<T: FixedWidthInteger>(_ i: Int, as type: T.Type) -> T {
                T(littleEndian: raw.loadUnaligned(fromByteOffset: offset + i * size, as: T.self))
            }
            switch self {
            case .F32: for i in 0..<count { out[i] = Float(bitPattern: load(i, as: UInt32.self)) }
            case .F64: for i in 0..<count { out[i] = Float(Double(bitPattern: load(i, as: UInt64.self))) }
            case .F16: for i in 0..<count { out[i] = DType.floatFromHalf(load(i, as: UInt16.self)) }
            case .BF16: for i in 0..<count { out[i] = Float(bitPattern: UInt32(load(i, as: UInt16.self)) << 16) }
            case .I32: for i in 0..<count { out[i] = Float(load(i, as: Int32.self)) }
            case .I64: for i in 0..<count { out[i] = Float(load(i, as: Int64.self)) }
            }
        }

        /// IEEE 754 binary16 bits to float32 (exact).
        static func floatFromHalf(_ h: UInt16) -> Float {
            let sign: Float = h & 0x8000 != 0 ? -1 : 1
            let exponent = Int(h >> 10 & 0x1F), mantissa = UInt32(h & 0x3FF)
            switch exponent {
            case 0: return sign * Float(mantissa) * 0x1p-24    // zero and subnormals
            case 31: return Float(bitPattern: UInt32(h & 0x8000) << 16 | 0x7F80_0000 | mantissa << 13)
            default: return Float(bitPattern: UInt32(h & 0x8000) << 16 | UInt32(exponent + 112) << 23 | mantissa << 13)
            }
        }
    }
}
