import CTIFF
#if canImport(Glibc)
import Glibc
#endif
import UNetTensor
import _UNetSupport

/// Decodes the first image of a TIFF file into a planar `Raster`: checks the file (signature, tags, that
/// every strip or tile lies inside it) before allocating pixels, then reads strips or tiles with libtiff
/// and rearranges their samples into CHW planes.
enum TIFFDecoder {
    static func decode(_ path: String) throws(UnetsegError) -> Raster {
        let fail = { (reason: String) -> UnetsegError in .format("TIFF file '\(path)': \(reason)") }
        // O_NONBLOCK: opening a FIFO must not wait for a writer (it is then refused as not a regular file).
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            throw .io("cannot open TIFF file '\(path)': \(systemErrorDescription(errno))")
        }
        var ownsDescriptor = true
        defer { if ownsDescriptor { close(fd) } }
        let fileSize = try checkedFileSize(fd, path: path, fail: fail)
        try checkSignature(fd, fileSize: fileSize, fail: fail)

        // "m": read with read(2), not mmap, so a file shrinking under us cannot raise SIGBUS.
        let tiff = try CapturingTIFF(fd: fd, path: path, mode: "rm", failure: fail)
        ownsDescriptor = false
        let failWithLibTIFF = { (reason: String) -> UnetsegError in fail(tiff.describe(reason)) }
        let layout = try TIFFImageLayout(tiff, fail: failWithLibTIFF)
        try checkBlocksInside(tiff, layout, fileSize: fileSize, fail: failWithLibTIFF)
        var palette: TIFFPalette?
        if layout.colour == .palette {
            palette = try TIFFPalette(tiff, bitsPerSample: layout.bitsPerSample, fail: failWithLibTIFF)
        }

        let sampleCount = layout.outputChannels * layout.height * layout.width
        // The raster and one block buffer; both bounded by `TIFFFile.maximumPixels`, so no overflow.
        try MemoryBudget.reserve(sampleCount * MemoryLayout<Float>.stride + layout.blockBytes,
                                 for: "decoding TIFF file '\(path)' (\(layout.width)×\(layout.height) pixels)")
        var samples = [Float](repeating: 0, count: sampleCount)
        try samples.withUnsafeMutableBufferPointer { (out) throws(UnetsegError) in
            guard let base = out.baseAddress else { return }
            try readBlocks(tiff, layout, into: base, fail: failWithLibTIFF)
            let pixels = layout.width * layout.height
            if let palette {
                palette.expand(base, pixels: pixels)
            } else if layout.colour == .minIsWhite {
                let white = Float((1 << layout.bitsPerSample) - 1)
                for i in 0..<pixels { base[i] = white - base[i] }
            }
        }
        let bits = palette?.outputBitsPerSample ?? layout.bitsPerSample
        return Raster(width: layout.width, height: layout.height, channels: layout.outputChannels,
                      bitsPerSample: bits, samples: samples)
    }

    /// The size of the open file, refusing folders, empty files and files too short for a TIFF header.
    private static func checkedFileSize(_ fd: Int32, path: String,
                                        fail: (String) -> UnetsegError) throws(UnetsegError) -> Int {
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            throw .io("cannot read TIFF file '\(path)': \(systemErrorDescription(errno))")
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw .io("cannot read TIFF file '\(path)': it is not a regular file")
        }
        let size = Int(status.st_size)
        guard size > 0 else { throw fail("the file is empty (0 bytes)") }
        guard size >= 8 else { throw fail("the file is truncated: \(size) bytes, shorter than a TIFF header") }
        return size
    }

    /// Checks the byte-order mark and version of a classic ("II*\0", "MM\0*") or BigTIFF header.
    private static func checkSignature(_ fd: Int32, fileSize: Int,
                                       fail: (String) -> UnetsegError) throws(UnetsegError) {
        var header: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
        let count = withUnsafeMutableBytes(of: &header) { pread(fd, $0.baseAddress, 4, 0) }
        guard count == 4 else { throw fail("cannot read its header: \(systemErrorDescription(errno))") }
        let littleEndian = header.0 == 0x49 && header.1 == 0x49 && header.3 == 0
        let bigEndian = header.0 == 0x4D && header.1 == 0x4D && header.2 == 0
        let version = littleEndian ? header.2 : header.3
        guard littleEndian || bigEndian, version == 42 || version == 43 else {
            let bytes = [header.0, header.1, header.2, header.3].map { hex($0) }.joined(separator: " ")
            throw fail("not a TIFF file (it starts with bytes \(bytes), not a TIFF signature)")
        }
        if version == 43, fileSize < 16 {
            throw fail("the file is truncated: \(fileSize) bytes, shorter than a BigTIFF header")
        }
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }

    /// Refuses files whose strips or tiles (those the decoder reads) extend past the end of the file, or
    /// hold too few bytes to decode to the image's size with its compression.
    private static func checkBlocksInside(_ tiff: CapturingTIFF, _ layout: TIFFImageLayout, fileSize: Int,
                                          fail: (String) -> UnetsegError) throws(UnetsegError) {
        let size = UInt64(fileSize)
        var storedBytes = 0
        for plane in layout.planesToRead {
            for index in plane * layout.blocksPerPlane..<(plane + 1) * layout.blocksPerPlane {
                let offset = TIFFGetStrileOffset(tiff.handle, UInt32(index))
                let byteCount = TIFFGetStrileByteCount(tiff.handle, UInt32(index))
                guard offset <= size, byteCount <= size - offset else {
                    throw fail("\(layout.blockName) \(index) (\(byteCount) bytes at offset \(offset)) extends "
                        + "past the end of the file (\(fileSize) bytes): the file is truncated or corrupt")
                }
                storedBytes += Int(byteCount)
            }
        }
        let decodedBytes = layout.planesToRead.count * layout.bytesPerSample * layout.samplesPerBlockPixel
            * (layout.tiled ? layout.blocksPerPlane * layout.blockWidth * layout.blockHeight
                            : layout.width * layout.height)
        let bound = layout.maximumDecodedBytes(storedBytes: storedBytes)
        guard bound >= decodedBytes else {
            throw fail("its \(layout.blockName)s hold \(storedBytes) bytes, too few to decode to its "
                + "\(layout.width)×\(layout.height) image (\(decodedBytes) bytes; at most \(bound) with its "
                + "compression): the file is truncated, corrupt or a decompression bomb; refused before decoding")
        }
    }

    /// Decodes every strip or tile holding kept samples into `out` (planar, `outputChannels` planes).
    private static func readBlocks(_ tiff: CapturingTIFF, _ layout: TIFFImageLayout,
                                   into out: UnsafeMutablePointer<Float>,
                                   fail: (String) -> UnetsegError) throws(UnetsegError) {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: layout.blockBytes, alignment: 16)
        defer { buffer.deallocate() }
        let interleave = layout.samplesPerBlockPixel
        for plane in layout.planesToRead {
            for blockRow in 0..<layout.blocksDown {
                for blockColumn in 0..<layout.blocksAcross {
                    let index = plane * layout.blocksPerPlane + blockRow * layout.blocksAcross + blockColumn
                    let x = blockColumn * layout.blockWidth, y = blockRow * layout.blockHeight
                    let rows = min(layout.blockHeight, layout.height - y)
                    let expected = layout.tiled ? layout.blockBytes
                        : rows * layout.width * interleave * layout.bytesPerSample
                    let decoded = layout.tiled
                        ? TIFFReadEncodedTile(tiff.handle, UInt32(index), buffer, tmsize_t(expected))
                        : TIFFReadEncodedStrip(tiff.handle, UInt32(index), buffer, tmsize_t(expected))
                    guard decoded == expected else {
                        throw fail("cannot decode \(layout.blockName) \(index)")
                    }
                    let block = TIFFBlock(
                        x: x, y: y, columns: min(layout.blockWidth, layout.width - x), rows: rows,
                        rowStride: layout.blockWidth * interleave, interleave: interleave,
                        firstPlane: plane, planes: layout.planarSeparate ? 1 : layout.decodedSamples)
                    if layout.bytesPerSample == 1 {
                        let samples = buffer.bindMemory(to: UInt8.self, capacity: expected)
                        block.scatter(samples, into: out, width: layout.width, height: layout.height)
                    } else {
                        let samples = buffer.bindMemory(to: UInt16.self, capacity: expected / 2)
                        block.scatter(samples, into: out, width: layout.width, height: layout.height)
                    }
                }
            }
        }
    }
}
