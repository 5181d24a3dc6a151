import CTIFF
#if canImport(Glibc)
import Glibc
#endif
import UNetTensor
import _UNetSupport

/// Encodes a `Raster` as a TIFF with libtiff: checks the raster and options, writes a temporary file next
/// to the destination, strip by strip or tile by tile, then flushes it and renames it into place
/// (`FileSystem.createTemporary` and `commit`).
enum TIFFEncoder {
    static func encode(_ raster: Raster, to path: String, options: TIFFWriteOptions) throws(UnetsegError) {
        try validate(raster, options: options, path: path)
        let fail = { (reason: String) -> UnetsegError in .io("cannot write TIFF file '\(path)': \(reason)") }
        let (temporaryPath, fd) = try FileSystem.createTemporary(besides: path)
        // libtiff closes `fd` with the file and ignores close errors: a duplicate is kept for `commit`, which
        // flushes it, closes it reporting errors, and renames the file into place.
        let kept = dup(fd)
        guard kept >= 0 else {
            close(fd)
            unlink(temporaryPath)
            throw fail("cannot duplicate its descriptor: \(systemErrorDescription(errno))")
        }
        var committed = false
        defer {
            if !committed {
                close(kept)
                unlink(temporaryPath)
            }
        }
        // libtiff's messages ("Error writing TIFF header", "IO error writing directory") do not say why a
        // write failed: the system's reason (a full disk, a quota, a read-only file system) is added from
        // errno, cleared beforehand.
        errno = 0
        let failWriting = { (reason: String) -> UnetsegError in fail(reason + writeFailure(errno)) }
        let tiff: CapturingTIFF
        do {
            tiff = try CapturingTIFF(fd: fd, path: path, mode: options.bigEndian ? "wb" : "wl", failure: failWriting)
        } catch {
            close(fd)
            throw error
        }
        defer { tiff.close() }
        try writeImage(raster, options: options, to: tiff, fail: { reason in failWriting(tiff.describe(reason)) })
        tiff.close()
        guard tiff.errorCount == 0 else { throw failWriting(tiff.describe("libtiff reported an error while closing it")) }
        committed = true
        try FileSystem.commit(kept, temporary: temporaryPath, to: path)
    }

    /// ": <the system's reason>" for the errors a write reports when the disk or file system refuses it,
    /// else "" (errno may hold anything after calls that succeeded).
    private static func writeFailure(_ code: Int32) -> String {
        [ENOSPC, EDQUOT, EFBIG, EIO, EROFS, EACCES, EPERM].contains(code) ? ": \(systemErrorDescription(code))" : ""
    }

    /// Refuses rasters and options that cannot be written (or read back).
    private static func validate(_ raster: Raster, options: TIFFWriteOptions,
                                 path: String) throws(UnetsegError) {
        let what = "cannot write TIFF file '\(path)'"
        let maximum = TIFFFile.maximumDimension
        try checkArgument(raster.channels == 1 || raster.channels == 3,
                    "\(what): the raster has \(raster.channels) channels; 1 (grayscale) or 3 (RGB) can be written")
        try checkArgument((1...maximum).contains(raster.width) && (1...maximum).contains(raster.height),
                    "\(what): the raster is \(raster.width)×\(raster.height); sides must be 1…\(maximum)")
        try checkArgument(raster.width * raster.height <= TIFFFile.maximumPixels,
                    "\(what): the raster is \(raster.width)×\(raster.height), over \(TIFFFile.maximumPixels) pixels")
        try checkArgument(raster.samples.count == raster.channels * raster.height * raster.width,
                    "\(what): the raster holds \(raster.samples.count) samples, not "
                        + "\(raster.channels)×\(raster.height)×\(raster.width)")
        try checkArgument(options.bitsPerSample == 8 || options.bitsPerSample == 16,
                    "\(what): bitsPerSample is \(options.bitsPerSample); it must be 8 or 16")
        try checkArgument(!options.tiled || (16...1024).contains(options.tileSize) && options.tileSize % 16 == 0,
                    "\(what): tileSize is \(options.tileSize); it must be a multiple of 16 from 16 to 1024")
        try checkArgument(options.rowsPerStrip >= 0, "\(what): rowsPerStrip is \(options.rowsPerStrip)")
        if let nan = raster.samples.firstIndex(where: \.isNaN) {
            throw .numeric("\(what): sample \(nan) of the raster is NaN")
        }
    }

    /// Sets the tags and writes every strip or tile, then the directory.
    private static func writeImage(_ raster: Raster, options: TIFFWriteOptions, to tiff: CapturingTIFF,
                                   fail: (String) -> UnetsegError) throws(UnetsegError) {
        let width = raster.width, height = raster.height, channels = raster.channels
        let bytesPerSample = options.bitsPerSample / 8
        let separate = options.planarSeparate && channels > 1
        let interleave = separate ? 1 : channels
        let blockWidth = options.tiled ? options.tileSize : width
        let blockHeight = options.tiled ? options.tileSize
            : options.rowsPerStrip > 0 ? min(options.rowsPerStrip, height)
            : min(max(1, 65_536 / (width * interleave * bytesPerSample)), height)

        let (scheme, predictor): (Int32, Bool) = switch options.compression {
        case .none: (COMPRESSION_NONE, false)
        case .lzw: (COMPRESSION_LZW, true)
        case .deflate: (COMPRESSION_ADOBE_DEFLATE, true)
        case .packBits: (COMPRESSION_PACKBITS, false)
        case .zstd: (COMPRESSION_ZSTD, true)
        case .lzma: (COMPRESSION_LZMA, true)
        }
        guard TIFFIsCODECConfigured(UInt16(scheme)) == 1 else {
            throw fail("this libtiff cannot write \(options.compression) compression")
        }
        var tagsSet = tiff.set(TIFFTAG_IMAGEWIDTH, uint32: UInt32(width))
            && tiff.set(TIFFTAG_IMAGELENGTH, uint32: UInt32(height))
            && tiff.set(TIFFTAG_BITSPERSAMPLE, uint16: UInt16(options.bitsPerSample))
            && tiff.set(TIFFTAG_SAMPLESPERPIXEL, uint16: UInt16(channels))
            && tiff.set(TIFFTAG_SAMPLEFORMAT, uint16: UInt16(SAMPLEFORMAT_UINT))
            && tiff.set(TIFFTAG_PHOTOMETRIC,
                        uint16: UInt16(channels == 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK))
            && tiff.set(TIFFTAG_PLANARCONFIG,
                        uint16: UInt16(separate ? PLANARCONFIG_SEPARATE : PLANARCONFIG_CONTIG))
            && tiff.set(TIFFTAG_ORIENTATION, uint16: UInt16(ORIENTATION_TOPLEFT))
            && tiff.set(TIFFTAG_COMPRESSION, uint16: UInt16(scheme))
        if predictor {
            tagsSet = tagsSet && tiff.set(TIFFTAG_PREDICTOR, uint16: UInt16(PREDICTOR_HORIZONTAL))
        }
        if options.tiled {
            tagsSet = tagsSet && tiff.set(TIFFTAG_TILEWIDTH, uint32: UInt32(blockWidth))
                && tiff.set(TIFFTAG_TILELENGTH, uint32: UInt32(blockHeight))
        } else {
            tagsSet = tagsSet && tiff.set(TIFFTAG_ROWSPERSTRIP, uint32: UInt32(blockHeight))
        }
        guard tagsSet else { throw fail("libtiff refused a tag") }

        let blocksAcross = (width + blockWidth - 1) / blockWidth
        let blocksDown = (height + blockHeight - 1) / blockHeight
        let blockBytes = blockWidth * blockHeight * interleave * bytesPerSample
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: blockBytes, alignment: 16)
        defer { buffer.deallocate() }
        try raster.samples.withUnsafeBufferPointer { (samples) throws(UnetsegError) in
            guard let source = samples.baseAddress else { return }
            for plane in 0..<(separate ? channels : 1) {
                for blockRow in 0..<blocksDown {
                    for blockColumn in 0..<blocksAcross {
                        let index = (plane * blocksDown + blockRow) * blocksAcross + blockColumn
                        let x = blockColumn * blockWidth, y = blockRow * blockHeight
                        let rows = min(blockHeight, height - y)
                        let block = TIFFBlock(
                            x: x, y: y, columns: min(blockWidth, width - x), rows: rows,
                            rowStride: blockWidth * interleave, interleave: interleave,
                            firstPlane: plane, planes: separate ? 1 : channels)
                        if options.tiled { memset(buffer, 0, blockBytes) }
                        if bytesPerSample == 1 {
                            let samples = buffer.bindMemory(to: UInt8.self, capacity: blockBytes)
                            block.gather(from: source, into: samples, width: width, height: height)
                        } else {
                            let samples = buffer.bindMemory(to: UInt16.self, capacity: blockBytes / 2)
                            block.gather(from: source, into: samples, width: width, height: height)
                        }
                        let written = options.tiled
                            ? TIFFWriteEncodedTile(tiff.handle, UInt32(index), buffer, tmsize_t(blockBytes))
                            : TIFFWriteEncodedStrip(tiff.handle, UInt32(index), buffer,
                                                    tmsize_t(rows * width * interleave * bytesPerSample))
                        guard written >= 0 else {
                            throw fail("cannot encode \(options.tiled ? "tile" : "strip") \(index)")
                        }
                    }
                }
            }
        }
        guard TIFFWriteDirectory(tiff.handle) == 1, tiff.errorCount == 0 else {
            throw fail("cannot write the image directory")
        }
    }
}
