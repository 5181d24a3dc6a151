import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import UNetData
import _TestSupport
import UNetTensor
import _UNetSupport

/// One way of encoding a test image, for the round-trip matrix.
struct TIFFEncoding: Sendable, CustomTestStringConvertible {
    var channels: Int
    var options: TIFFWriteOptions

    var testDescription: String {
        let o = options
        return "\(o.bitsPerSample)-bit \(channels == 1 ? "gray" : "RGB") \(o.tiled ? "tiles" : "strips") "
            + "\(o.planarSeparate ? "planar" : "contiguous") \(o.compression) \(o.bigEndian ? "MM" : "II")"
    }

    /// 8/16-bit × gray/RGB × strips/tiles × contiguous/planar × 4 compressions × both byte orders, with
    /// 16-pixel tiles and 5-row strips so that odd-sized images span several blocks with partial edges.
    static let all: [TIFFEncoding] = [8, 16].flatMap { bits in
        [1, 3].flatMap { channels in
            [false, true].flatMap { tiled in
                [false, true].flatMap { planar in
                    TIFFCompression.allCases.flatMap { compression in
                        [false, true].map { bigEndian in
                            TIFFEncoding(channels: channels, options: TIFFWriteOptions(
                                compression: compression, planarSeparate: planar, tiled: tiled,
                                bitsPerSample: bits, bigEndian: bigEndian, tileSize: 16, rowsPerStrip: 5))
                        }
                    }
                }
            }
        }
    }
}

/// Reading and writing TIFF files: every encoding round-trips exactly, special colour models decode, and
/// bad files are refused with a `.format`/`.io` error naming the file, without printing anything.
/// Serialized: some tests redirect the process's stderr.
@Suite(.serialized) struct TIFFTests {
    // MARK: - Round trips

    @Test(arguments: TIFFEncoding.all)
    func roundTrip(_ encoding: TIFFEncoding) throws {
        let folder = try TemporaryFolder()
        let path = folder.file("image.tif")
        let raster = randomRaster(width: 37, height: 23, channels: encoding.channels,
                                  bitsPerSample: encoding.options.bitsPerSample, seed: 11)
        try TIFFFile.write(raster, to: path, options: encoding.options)
        let decoded = try TIFFFile.read(path)
        #expect(decoded == raster)
        #expect(try folder.contents() == ["image.tif"], "no temporary file is left behind")
    }

    @Test func defaultOptionsOnALargerImage() throws {
        let folder = try TemporaryFolder()
        for (channels, bits) in [(3, 16), (1, 8)] {
            let raster = randomRaster(width: 301, height: 257, channels: channels, bitsPerSample: bits, seed: 5)
            for options in [TIFFWriteOptions(bitsPerSample: bits),
                            TIFFWriteOptions(compression: .lzw, tiled: true, bitsPerSample: bits)] {
                let path = folder.file("large.tif")
                try TIFFFile.write(raster, to: path, options: options)
                #expect(try TIFFFile.read(path) == raster)
            }
        }
    }

    /// Uniform images (empty masks) compress close to the codecs' limits and must not be taken for files
    /// too short for their size.
    @Test func uniformImagesStillDecode() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("uniform.tif")
        let side = 1024
        let zeros = Raster(width: side, height: side, channels: 1, samples: Array(repeating: 0, count: side * side))
        for compression in TIFFCompression.allCases where compression != .none {
            let options = TIFFWriteOptions(compression: compression, rowsPerStrip: side)
            try TIFFFile.write(zeros, to: path, options: options)
            #expect(try TIFFFile.read(path) == zeros, "\(compression)")
        }
    }

    /// Small files declaring huge images, for every codec, are refused by the checks that run before the
    /// pixel buffer is allocated (their message says so), whatever libtiff would make of the data.
    @Test func decompressionBombsAreRefusedBeforeAllocating() throws {
        let folder = try TemporaryFolder()
        // (name, compression tag, width, height, bits, samples, stored bytes, expected reason)
        let bombs: [(String, UInt32, UInt32, UInt32, UInt32, UInt32, Int, String)] = [
            ("zstd-few-bytes", 50_000, 8192, 8192, 8, 3, 16, "decompression bomb"),
            ("lzma-few-bytes", 34_925, 8192, 8192, 8, 3, 16, "decompression bomb"),
            ("zstd-16384", 50_000, 16_384, 16_384, 8, 1, 16, "pixels per image"),
            ("lzma-16384", 34_925, 16_384, 16_384, 8, 1, 16, "pixels per image"),
            ("deflate-512k-16384", 8, 16_384, 16_384, 8, 1, 512 << 10, "pixels per image"),
            ("lzw-512k-16384", 5, 16_384, 16_384, 8, 1, 512 << 10, "pixels per image"),
            ("deflate-256k", 8, 8192, 8192, 16, 3, 256 << 10, "decompression bomb"),
            ("lzw-256k", 5, 8192, 8192, 16, 3, 256 << 10, "decompression bomb"),
            ("packbits-2m", 32_773, 8192, 8192, 8, 3, 2 << 20, "decompression bomb"),
        ]
        for (name, compression, width, height, bits, samples, stored, reason) in bombs {
            var tiff = HandmadeTIFF(width: width, height: height, bitsPerSample: bits, samplesPerPixel: samples,
                                    photometric: samples == 3 ? 2 : 1)
            tiff.set(259, .short, [compression])
            tiff.pixelData = Array(repeating: 0x5A, count: stored)
            let path = folder.file("\(name).tif")
            try Bytes.write(tiff.bytes(), to: path)
            let message = expectRefusal(path, ".format", reason)
            #expect(reason != "decompression bomb" || message.contains("refused before decoding"), "\(message)")
        }
    }

    /// Images within the codecs' bounds still decode: an empty 2048×2048 mask compresses to a few hundred
    /// bytes with ZSTD or LZMA, far past their ratio bound, but within the allowance for small images.
    @Test func highlyCompressedSlicesWithinTheAllowanceDecode() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("empty-mask.tif")
        let side = 2048
        let zeros = Raster(width: side, height: side, channels: 1, samples: Array(repeating: 0, count: side * side))
        for compression in [TIFFCompression.zstd, .lzma] {
            try TIFFFile.write(zeros, to: path, options: TIFFWriteOptions(compression: compression, rowsPerStrip: side))
            let stored = try Bytes.read(path).count
            #expect(stored * 4096 < side * side, "\(compression): \(stored) bytes")
            #expect(try TIFFFile.read(path) == zeros, "\(compression)")
        }
    }

    @Test func writingRoundsAndClamps() throws {
        let folder = try TemporaryFolder()
        let values: [Float] = [-5, 0.4, 0.6, 254.4, 300, .infinity, -.infinity, 70_000]
        for (bits, expected) in [(8, [0, 0, 1, 254, 255, 255, 0, 255]),
                                 (16, [0, 0, 1, 254, 300, 65_535, 0, 65_535])] as [(Int, [Float])] {
            let path = folder.file("clamped.tif")
            try TIFFFile.write(Raster(width: 4, height: 2, channels: 1, samples: values), to: path,
                               options: TIFFWriteOptions(bitsPerSample: bits))
            let decoded = try TIFFFile.read(path)
            #expect(decoded.samples == expected)
            #expect(decoded.bitsPerSample == bits)
        }
    }

    @Test func writeReplacesAnExistingFile() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("replaced.tif")
        let first = randomRaster(width: 9, height: 7, channels: 3, bitsPerSample: 8, seed: 1)
        let second = randomRaster(width: 5, height: 3, channels: 1, bitsPerSample: 8, seed: 2)
        try TIFFFile.write(first, to: path)
        try TIFFFile.write(second, to: path, options: TIFFWriteOptions(compression: .lzw))
        #expect(try TIFFFile.read(path) == second)
        #expect(try folder.contents() == ["replaced.tif"])
    }

    @Test func writeRefusesBadRastersAndOptions() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("refused.tif")
        let gray = Raster(width: 2, height: 2, channels: 1, samples: [1, 2, 3, 4])
        let cases: [(Raster, TIFFWriteOptions, String)] = [
            (Raster(width: 2, height: 1, channels: 2, samples: [1, 2, 3, 4]), .init(), "2 channels"),
            (Raster(width: 2, height: 2, channels: 1, samples: [1, 2, 3]), .init(), "3 samples"),
            (Raster(width: 0, height: 2, channels: 1, samples: []), .init(), "0×2"),
            (gray, TIFFWriteOptions(bitsPerSample: 12), "bitsPerSample is 12"),
            (gray, TIFFWriteOptions(tiled: true, tileSize: 20), "tileSize is 20"),
        ]
        for (raster, options, reason) in cases {
            let error = #expect(throws: UnetsegError.self) { try TIFFFile.write(raster, to: path, options: options) }
            guard case .invalidArgument(let message)? = error else {
                Issue.record("expected .invalidArgument, got \(String(describing: error))")
                continue
            }
            #expect(message.contains(path) && message.contains(reason), "\(message)")
        }
        let nan = Raster(width: 2, height: 1, channels: 1, samples: [1, .nan])
        #expect(throws: UnetsegError.numeric("cannot write TIFF file '\(path)': sample 1 of the raster is NaN")) {
            try TIFFFile.write(nan, to: path)
        }
        let missingFolder = folder.file("no/such/folder/x.tif")
        let error = #expect(throws: UnetsegError.self) { try TIFFFile.write(gray, to: missingFolder) }
        guard case .io(let message)? = error else {
            Issue.record("expected .io, got \(String(describing: error))")
            return
        }
        #expect(message.contains(missingFolder))
        #expect(try folder.contents().isEmpty)
    }

    // MARK: - Colour models the writer does not make

    @Test func paletteImagesBecomeRGB() throws {
        let folder = try TemporaryFolder()
        // A 16-bit colour map (entries · 257) and an old-style one holding 0…255 both decode to 8-bit RGB.
        for scale in [UInt32(257), 1] {
            var tiff = HandmadeTIFF(width: 3, height: 2, bitsPerSample: 8, samplesPerPixel: 1, photometric: 3)
            let red = (0..<256).map { UInt32($0) * scale }
            let green = (0..<256).map { UInt32(255 - $0) * scale }
            let blue = (0..<256).map { UInt32($0 / 2) * scale }
            tiff.set(320, .short, red + green + blue)
            tiff.pixelData = [0, 1, 2, 100, 200, 255]
            let path = folder.file("palette-\(scale).tif")
            try Bytes.write(tiff.bytes(), to: path)
            let decoded = try TIFFFile.read(path)
            #expect(decoded.channels == 3 && decoded.bitsPerSample == 8)
            #expect(decoded.samples == [0, 1, 2, 100, 200, 255, 255, 254, 253, 155, 55, 0, 0, 0, 1, 50, 100, 127])
        }
        // 16-bit indexes give the 16-bit colour-map entries.
        var wide = HandmadeTIFF(width: 3, height: 1, bitsPerSample: 16, samplesPerPixel: 1, photometric: 3)
        let entries = (0..<65_536).map { UInt32($0) }
        wide.set(320, .short, entries + entries.reversed() + entries.map { $0 / 2 })
        wide.pixelData = [0, 0, 0xFF, 0xFF, 0xE8, 0x03]  // 0, 65535, 1000
        try Bytes.write(wide.bytes(), to: folder.file("palette-16.tif"))
        #expect(try TIFFFile.read(folder.file("palette-16.tif")) == Raster(
            width: 3, height: 1, channels: 3, bitsPerSample: 16,
            samples: [0, 65_535, 1000, 65_535, 0, 64_535, 0, 32_767, 500]))
    }

    @Test func minIsWhiteIsInverted() throws {
        let folder = try TemporaryFolder()
        var tiff = HandmadeTIFF(width: 2, height: 2, bitsPerSample: 8, samplesPerPixel: 1, photometric: 0)
        tiff.pixelData = [0, 10, 200, 255]
        let path = folder.file("miniswhite.tif")
        try Bytes.write(tiff.bytes(), to: path)
        #expect(try TIFFFile.read(path) == Raster(width: 2, height: 2, channels: 1, samples: [255, 245, 55, 0]))
    }

    @Test func alphaIsDropped() throws {
        let folder = try TemporaryFolder()
        var rgba = HandmadeTIFF(width: 2, height: 1, bitsPerSample: 8, samplesPerPixel: 4, photometric: 2)
        rgba.set(338, .short, [2])  // ExtraSamples: unassociated alpha
        rgba.pixelData = [1, 2, 3, 99, 4, 5, 6, 98]
        try Bytes.write(rgba.bytes(), to: folder.file("rgba.tif"))
        #expect(try TIFFFile.read(folder.file("rgba.tif"))
            == Raster(width: 2, height: 1, channels: 3, samples: [1, 4, 2, 5, 3, 6]))

        var grayAlpha = HandmadeTIFF(width: 2, height: 1, bitsPerSample: 16, samplesPerPixel: 2, photometric: 1)
        grayAlpha.set(338, .short, [1])  // associated alpha
        grayAlpha.pixelData = [0x34, 0x12, 0xFF, 0xFF, 0x00, 0x80, 0x00, 0x00]  // little-endian 16-bit
        try Bytes.write(grayAlpha.bytes(), to: folder.file("gray-alpha.tif"))
        #expect(try TIFFFile.read(folder.file("gray-alpha.tif"))
            == Raster(width: 2, height: 1, channels: 1, bitsPerSample: 16, samples: [0x1234, 0x8000]))
    }

    // MARK: - Bad files

    /// Reads `path` expecting `kind` (".format" or ".io") with a message naming the file and containing
    /// `reason`; returns the message.
    @discardableResult
    func expectRefusal(_ path: String, _ kind: String, _ reason: String = "",
                       sourceLocation: SourceLocation = #_sourceLocation) -> String {
        do throws(UnetsegError) {
            let raster = try TIFFFile.read(path)
            Issue.record("read \(path) as \(raster.width)×\(raster.height)", sourceLocation: sourceLocation)
            return ""
        } catch {
            let actualKind = switch error { case .format: ".format" case .io: ".io" default: "\(error)" }
            #expect(actualKind == kind, "\(error.message)", sourceLocation: sourceLocation)
            #expect(error.message.contains("'\(path)'"), "\(error.message)", sourceLocation: sourceLocation)
            #expect(reason.isEmpty || error.message.contains(reason), "\(error.message)",
                    sourceLocation: sourceLocation)
            return error.message
        }
    }

    @Test func badFilesAreRefusedSilently() throws {
        let folder = try TemporaryFolder()
        let valid = randomRaster(width: 37, height: 23, channels: 3, bitsPerSample: 8, seed: 3)
        let validPath = folder.file("valid.tif")
        try TIFFFile.write(valid, to: validPath)
        let validBytes = try Bytes.read(validPath)

        var generator = RandomGenerator(seed: 9)
        try Bytes.write((0..<4096).map { _ in UInt8(truncatingIfNeeded: generator.next()) },
                        to: folder.file("random.bin"))
        try Bytes.write([], to: folder.file("empty.tif"))
        #expect(mkfifo(folder.file("fifo"), 0o600) == 0)
        let truncations = [1, 4, 7, 8, 12, 100, validBytes.count / 2, validBytes.count - 20]
        for length in truncations {
            try Bytes.write(Array(validBytes.prefix(length)), to: folder.file("truncated-\(length).tif"))
        }
        var pastEnd = validBytes
        #expect(patchTag(273, to: UInt32(validBytes.count + 100), in: &pastEnd))
        try Bytes.write(pastEnd, to: folder.file("strip-past-end.tif"))
        var bigClaim = HandmadeTIFF(width: 8192, height: 8192, bitsPerSample: 16, samplesPerPixel: 3,
                                    photometric: 2)
        bigClaim.set(259, .short, [5])  // LZW: 384 MiB of samples from 4 KiB is impossible
        bigClaim.pixelData = Array(repeating: 0x80, count: 4096)
        try Bytes.write(bigClaim.bytes(), to: folder.file("big-claim.tif"))
        var headerFirst = HandmadeTIFF(width: 40, height: 30, bitsPerSample: 8, samplesPerPixel: 1, photometric: 1)
        headerFirst.pixelData = Array(repeating: 7, count: 40 * 30)
        try Bytes.write(Array(headerFirst.bytes().dropLast(500)), to: folder.file("data-cut.tif"))

        var huge = HandmadeTIFF(width: 65_536, height: 65_536, bitsPerSample: 8, samplesPerPixel: 1, photometric: 1)
        huge.pixelData = [0, 0, 0, 0]
        try Bytes.write(huge.bytes(), to: folder.file("huge.tif"))
        func handmade(_ name: String, bits: UInt32, samples: UInt32 = 1, photometric: UInt32 = 1,
                      _ extra: (inout HandmadeTIFF) -> Void = { _ in }) throws {
            var tiff = HandmadeTIFF(width: 2, height: 2, bitsPerSample: bits, samplesPerPixel: samples,
                                    photometric: photometric)
            extra(&tiff)
            tiff.pixelData = Array(repeating: 0, count: 4 * Int(samples * max(bits, 8) / 8))
            try Bytes.write(tiff.bytes(), to: folder.file(name))
        }
        try handmade("float.tif", bits: 32) { $0.set(339, .short, [3]) }
        try handmade("signed.tif", bits: 16) { $0.set(339, .short, [2]) }
        try handmade("1-bit.tif", bits: 1)
        try handmade("4-bit.tif", bits: 4)
        try handmade("12-bit.tif", bits: 12)
        try handmade("5-samples.tif", bits: 8, samples: 5)
        try handmade("cmyk.tif", bits: 8, samples: 4, photometric: 5)
        try handmade("jpeg.tif", bits: 8) { $0.set(259, .short, [7]) }

        let (_, stderrOutput) = try capturingStandardError(in: folder) {
            expectRefusal(folder.file("missing.tif"), ".io", "No such file")
            expectRefusal(folder.path, ".io", "not a regular file")
            expectRefusal(folder.file("fifo"), ".io", "not a regular file")
            expectRefusal(folder.file("empty.tif"), ".format", "empty")
            expectRefusal(folder.file("random.bin"), ".format", "not a TIFF file")
            for length in truncations { expectRefusal(folder.file("truncated-\(length).tif"), ".format") }
            expectRefusal(folder.file("strip-past-end.tif"), ".format", "past the end of the file")
            expectRefusal(folder.file("data-cut.tif"), ".format", "past the end of the file")
            expectRefusal(folder.file("huge.tif"), ".format", "65536×65536")
            expectRefusal(folder.file("big-claim.tif"), ".format", "too few to decode")
            expectRefusal(folder.file("float.tif"), ".format", "32-bit floating-point")
            expectRefusal(folder.file("signed.tif"), ".format", "signed integer")
            expectRefusal(folder.file("1-bit.tif"), ".format", "1-bit")
            expectRefusal(folder.file("4-bit.tif"), ".format", "4-bit")
            expectRefusal(folder.file("12-bit.tif"), ".format", "12-bit")
            expectRefusal(folder.file("5-samples.tif"), ".format", "5 samples per pixel")
            expectRefusal(folder.file("cmyk.tif"), ".format", "CMYK")
            expectRefusal(folder.file("jpeg.tif"), ".format", "compression scheme 7")
        }
        #expect(foreignLines(stderrOutput).isEmpty, "printed: \(stderrOutput)")
    }

    @Test func stderrCaptureSeesWhatLibTIFFWouldPrint() throws {
        let folder = try TemporaryFolder()
        let (_, output) = try capturingStandardError(in: folder) {
            let text = "TIFFReadDirectory: /tmp/x.tif: Sanity check on directory count failed.\n"
            _ = text.withCString { write(2, $0, strlen($0)) }
        }
        #expect(foreignLines(output) == ["TIFFReadDirectory: /tmp/x.tif: Sanity check on directory count failed."])
        #expect(foreignLines("\u{1B}[1;32m◇\u{1B}[0m Test x() started.\n  ↳ detail\n").isEmpty)
    }

    @Test func libtiffMessagesGoIntoTheError() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("cut.tif")
        let raster = randomRaster(width: 37, height: 23, channels: 1, bitsPerSample: 8, seed: 4)
        try TIFFFile.write(raster, to: path)
        try Bytes.write(Array(try Bytes.read(path).dropLast(30)), to: path)
        let (message, stderrOutput) = try capturingStandardError(in: folder) { expectRefusal(path, ".format") }
        #expect(message.contains("(libtiff: "), "\(message)")
        #expect(foreignLines(stderrOutput).isEmpty, "printed: \(stderrOutput)")
    }

    /// Corrupts a valid LZW-compressed tiled file at random bytes: every variant is decoded or refused with
    /// `.format`, never crashes, hangs or prints.
    @Test func corruptedFilesNeverCrash() throws {
        let folder = try TemporaryFolder()
        let raster = randomRaster(width: 37, height: 23, channels: 3, bitsPerSample: 16, seed: 6)
        let validPath = folder.file("valid.tif")
        try TIFFFile.write(raster, to: validPath,
                           options: TIFFWriteOptions(compression: .lzw, tiled: true, tileSize: 16))
        let validBytes = try Bytes.read(validPath)
        var generator = RandomGenerator(seed: 21)
        let path = folder.file("corrupt.tif")
        let (outcomes, stderrOutput) = try capturingStandardError(in: folder) { () throws -> (Int, Int) in
            var decoded = 0, refused = 0
            for _ in 0..<300 {
                var bytes = validBytes
                for _ in 0..<1 + generator.integer(below: 4) {
                    bytes[generator.integer(below: bytes.count)] = UInt8(truncatingIfNeeded: generator.next())
                }
                try Bytes.write(bytes, to: path)
                do throws(UnetsegError) {
                    let result = try TIFFFile.read(path)
                    #expect(result.samples.count == result.channels * result.width * result.height)
                    decoded += 1
                } catch {
                    guard case .format(let message) = error, message.contains(path) else {
                        Issue.record("unexpected \(error)")
                        continue
                    }
                    refused += 1
                }
            }
            return (decoded, refused)
        }
        #expect(outcomes.0 + outcomes.1 == 300)
        #expect(outcomes.1 > 0, "some corruptions are detected")
        #expect(foreignLines(stderrOutput).isEmpty, "printed: \(stderrOutput)")
    }

    // MARK: - Threads

    /// Eight writers of one path at once all succeed, the file left decodes to one of their rasters and no
    /// temporary file remains; a write that fails names the file.
    @Test func concurrentWritersOfOnePathEachLeaveAWholeFile() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("P_1_mask.tif")
        let rasters = (0..<8).map { randomRaster(width: 40 + $0, height: 30, channels: 1, bitsPerSample: 8, seed: UInt64($0)) }
        let failures = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: rasters.count * 4) { i in
            do throws(UnetsegError) {
                try TIFFFile.write(rasters[i % rasters.count], to: path, options: TIFFWriteOptions(compression: .deflate))
            } catch {
                failures.withLock { $0.append(error.message) }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        #expect(rasters.contains(try TIFFFile.read(path)))
        #expect(try FileSystem.listDirectory(folder.path) == ["P_1_mask.tif"])

        let unwritable = folder.file("missing/P_1_mask.tif")
        #expect(throws: UnetsegError.self) { try TIFFFile.write(rasters[0], to: unwritable) }
        do throws(UnetsegError) { try TIFFFile.write(rasters[0], to: unwritable) } catch {
            #expect(error.message.contains(unwritable), "\(error)")
        }
    }

    @Test func concurrentReadsOfOneFile() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("shared.tif")
        let raster = randomRaster(width: 37, height: 23, channels: 3, bitsPerSample: 16, seed: 8)
        try TIFFFile.write(raster, to: path, options: TIFFWriteOptions(compression: .deflate, bitsPerSample: 16))
        let results = Locked<[Raster?]>(Array(repeating: nil, count: 8))
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            let decoded = try? TIFFFile.read(path)
            results.withLock { $0[i] = decoded }
        }
        #expect(results.withLock { $0 } == Array(repeating: raster, count: 8))
    }

    @Test func concurrentFailuresKeepTheirOwnMessages() throws {
        let folder = try TemporaryFolder()
        let raster = randomRaster(width: 37, height: 23, channels: 1, bitsPerSample: 8, seed: 10)
        try TIFFFile.write(raster, to: folder.file("valid.tif"))
        let validBytes = try Bytes.read(folder.file("valid.tif"))
        let paths = (0..<8).map { folder.file("broken-\($0).tif") }
        for path in paths { try Bytes.write(Array(validBytes.dropLast(30)), to: path) }
        let messages = Locked<[String]>(Array(repeating: "", count: paths.count))
        let (_, stderrOutput) = try capturingStandardError(in: folder) {
            DispatchQueue.concurrentPerform(iterations: paths.count * 4) { i in
                let k = i % paths.count
                do throws(UnetsegError) {
                    _ = try TIFFFile.read(paths[k])
                } catch {
                    messages.withLock { $0[k] = error.message }
                }
            }
        }
        for (k, message) in messages.withLock({ $0 }).enumerated() {
            #expect(message.contains(paths[k]) && message.contains("libtiff"), "\(message)")
            for other in paths.indices where other != k {
                #expect(!message.contains(paths[other]), "\(message)")
            }
        }
        #expect(foreignLines(stderrOutput).isEmpty, "printed: \(stderrOutput)")
    }
}
