/// Reads numbers from a fuzz input front to back; an exhausted input reads as zeros, so every input is
/// a complete program for the targets that interpret their bytes.
struct ByteReader {
    private let bytes: [UInt8]
    private var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Whether bytes remain.
    var hasMore: Bool { position < bytes.count }

    mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    /// `count` bytes (fewer at the end of the input).
    mutating func bytes(_ count: Int) -> ArraySlice<UInt8> {
        let end = min(bytes.count, position + max(0, count))
        defer { position = end }
        return bytes[position..<end]
    }

    mutating func uint16() -> UInt16 { UInt16(byte()) | UInt16(byte()) << 8 }

    mutating func uint32() -> UInt32 { UInt32(uint16()) | UInt32(uint16()) << 16 }

    mutating func uint64() -> UInt64 { UInt64(uint32()) | UInt64(uint32()) << 32 }

    /// Mostly small values (a byte, minus 8 so that some are negative); after a 0xFF marker, any Int64.
    mutating func size() -> Int64 {
        let b = byte()
        return b == 0xFF ? Int64(bitPattern: uint64()) : Int64(b) - 8
    }

    /// A Float from 4 raw bytes: every value, NaN and infinities included.
    mutating func float() -> Float { Float(bitPattern: uint32()) }

    mutating func bool() -> Bool { byte() & 1 == 1 }
}
