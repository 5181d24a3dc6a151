import Foundation
#if canImport(Glibc)
import Glibc
#endif
import UNetData
import UNetTensor
import _TestSupport

/// Reads and writes whole files as bytes.
enum Bytes {
    static func read(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }
    static func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}

/// Runs `body` with file descriptor 2 redirected to a file and returns what was written to it.
func capturingStandardError<T>(in folder: TemporaryFolder, _ body: () throws -> T) throws -> (T, String) {
    let capturePath = folder.file("stderr.txt")
    fflush(nil)
    let capture = open(capturePath, O_RDWR | O_CREAT | O_TRUNC, 0o600)
    let saved = dup(2)
    guard capture >= 0, saved >= 0, dup2(capture, 2) >= 0 else { throw POSIXError(.EIO) }
    let result: Result<T, any Error> = Result { try body() }
    fflush(nil)
    dup2(saved, 2)
    close(saved)
    close(capture)
    let output = String(decoding: try Bytes.read(capturePath), as: UTF8.self)
    return (try result.get(), output)
}

/// The lines of captured stderr output that Swift Testing did not write. Swift Testing writes its own
/// progress and issues to stderr, possibly from other tests running at the same time, always starting the
/// line with a non-ASCII symbol (◇ ✔ ✘ ↳ ...); libtiff's default handlers start with an ASCII module name.
func foreignLines(_ output: String) -> [Substring] {
    output.split(separator: "\n").filter { line in
        var rest = line.drop { $0 == " " || $0 == "\t" }
        while rest.hasPrefix("\u{1B}[") {  // an ANSI colour sequence
            guard let end = rest.firstIndex(of: "m") else { break }
            rest = rest[rest.index(after: end)...].drop { $0 == " " }
        }
        guard let first = rest.unicodeScalars.first else { return false }
        return first.isASCII
    }
}

/// A raster of random integer samples covering the whole range of `bitsPerSample`.
func randomRaster(width: Int, height: Int, channels: Int, bitsPerSample: Int, seed: UInt64) -> Raster {
    var generator = RandomGenerator(seed: seed)
    let count = UInt64(1) << UInt64(bitsPerSample)
    let samples = (0..<channels * width * height).map { _ in Float(generator.next() % count) }
    return Raster(width: width, height: height, channels: channels, bitsPerSample: bitsPerSample,
                  samples: samples)
}

/// A minimal little-endian classic TIFF assembled byte by byte, for files `TIFFFile.write` does not make
/// (palette, min-is-white, alpha, float samples, headers that lie). Layout: 8-byte header, the one IFD,
/// out-of-line tag values, then the pixel data as a single strip (StripOffsets/StripByteCounts are added).
struct HandmadeTIFF {
    /// Field types used: SHORT and LONG.
    enum FieldType: UInt16 { case short = 3, long = 4 }

    struct Entry {
        var tag: UInt16
        var type: FieldType
        var values: [UInt32]
    }

    var entries: [Entry] = []
    /// The bytes of the single strip.
    var pixelData: [UInt8] = []
    /// Written into StripOffsets instead of the strip's real position, when set.
    var claimedStripOffset: UInt32?

    /// A baseline image: width, length, bits per sample (one value per sample), samples per pixel,
    /// photometric interpretation, no compression, one strip.
    init(width: UInt32, height: UInt32, bitsPerSample: UInt32, samplesPerPixel: UInt32, photometric: UInt32) {
        set(256, .long, [width])
        set(257, .long, [height])
        set(258, .short, Array(repeating: bitsPerSample, count: Int(samplesPerPixel)))
        set(259, .short, [1])
        set(262, .short, [photometric])
        set(277, .short, [samplesPerPixel])
        set(278, .long, [height])
    }

    /// Sets (or replaces) a tag.
    mutating func set(_ tag: UInt16, _ type: FieldType, _ values: [UInt32]) {
        entries.removeAll { $0.tag == tag }
        entries.append(Entry(tag: tag, type: type, values: values))
    }

    /// The file's bytes.
    func bytes() -> [UInt8] {
        var all = entries + [Entry(tag: 273, type: .long, values: [0]),
                             Entry(tag: 279, type: .long, values: [UInt32(pixelData.count)])]
        all.sort { $0.tag < $1.tag }
        func size(_ e: Entry) -> Int { e.values.count * (e.type == .short ? 2 : 4) }
        var extraOffset = 8 + 2 + 12 * all.count + 4
        var extras: [Int: Int] = [:]
        for (i, e) in all.enumerated() where size(e) > 4 {
            extras[i] = extraOffset
            extraOffset += (size(e) + 1) / 2 * 2
        }
        let dataOffset = extraOffset
        if let strip = all.firstIndex(where: { $0.tag == 273 }) {
            all[strip].values = [claimedStripOffset ?? UInt32(dataOffset)]
        }
        var out: [UInt8] = [0x49, 0x49, 42, 0]
        func put16(_ v: UInt32) { out += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
        func put32(_ v: UInt32) { put16(v & 0xFFFF); put16(v >> 16) }
        func putValues(_ e: Entry) { for v in e.values { e.type == .short ? put16(v) : put32(v) } }
        put32(8)
        put16(UInt32(all.count))
        for (i, e) in all.enumerated() {
            put16(UInt32(e.tag))
            put16(UInt32(e.type.rawValue))
            put32(UInt32(e.values.count))
            if let offset = extras[i] {
                put32(UInt32(offset))
            } else {
                putValues(e)
                out += Array(repeating: 0, count: 4 - size(e))
            }
        }
        put32(0)
        for (i, e) in all.enumerated() where extras[i] != nil {
            putValues(e)
            if size(e) % 2 == 1 { out.append(0) }
        }
        return out + pixelData
    }
}

/// Patches, in a little-endian classic TIFF written by libtiff, the value of a single-valued SHORT or LONG
/// tag of the first IFD.
func patchTag(_ tag: UInt16, to value: UInt32, in bytes: inout [UInt8]) -> Bool {
    func read16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
    func read32(_ at: Int) -> Int { read16(at) | read16(at + 2) << 16 }
    let ifd = read32(4)
    for entry in 0..<read16(ifd) {
        let at = ifd + 2 + 12 * entry
        guard read16(at) == Int(tag), read32(at + 4) == 1 else { continue }
        let width = read16(at + 2) == 3 ? 2 : 4
        for k in 0..<width { bytes[at + 8 + k] = UInt8((value >> (8 * UInt32(k))) & 0xFF) }
        return true
    }
    return false
}
