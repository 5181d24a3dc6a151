import CTIFF
import UNetTensor
import _UNetSupport

/// How the first image of an open TIFF stores its samples, read from its tags and checked against what
/// `TIFFDecoder` handles. The image is cut into blocks: strips (full-width bands of rows) or tiles, one set
/// per sample plane when planar-separate, numbered plane-major then row-major as in the file.
struct TIFFImageLayout {
    /// Colour interpretation of the stored samples.
    enum Colour { case minIsBlack, minIsWhite, rgb, palette }

    let width: Int
    let height: Int
    /// Samples per pixel in the file, extra (alpha) samples included: 1…4.
    let samplesPerPixel: Int
    /// 8 or 16.
    let bitsPerSample: Int
    let colour: Colour
    let planarSeparate: Bool
    let tiled: Bool
    /// Largest ratio of decoded to stored bytes accepted for the file's compression (see `maximumExpansion`).
    let maximumExpansion: Int
    /// Whether `maximumExpansion` is the codec's own limit rather than a policy (see `maximumExpansion`).
    let provenExpansion: Bool
    /// Tile width, or the image width for strips.
    let blockWidth: Int
    /// Tile height, or rows per strip (at most the image height).
    let blockHeight: Int

    /// Compression schemes decoded: none, LZW, Deflate (both tags), PackBits, and the lossless LZMA and ZSTD
    /// codecs when libtiff was built with them.
    static let supportedCompressions: [Int32] = [
        COMPRESSION_NONE, COMPRESSION_LZW, COMPRESSION_ADOBE_DEFLATE, COMPRESSION_DEFLATE,
        COMPRESSION_PACKBITS, COMPRESSION_LZMA, COMPRESSION_ZSTD,
    ]

    /// Samples decoded per pixel: 3 for RGB, 1 otherwise (grayscale, palette index); the rest are dropped.
    var decodedSamples: Int { colour == .rgb ? 3 : 1 }
    /// Channels of the decoded raster: 3 for RGB and palette, 1 for grayscale.
    var outputChannels: Int { colour == .rgb || colour == .palette ? 3 : 1 }
    var bytesPerSample: Int { bitsPerSample / 8 }
    /// Samples per pixel inside one decoded block.
    var samplesPerBlockPixel: Int { planarSeparate ? 1 : samplesPerPixel }
    var blocksAcross: Int { (width + blockWidth - 1) / blockWidth }
    var blocksDown: Int { (height + blockHeight - 1) / blockHeight }
    var blocksPerPlane: Int { blocksAcross * blocksDown }
    /// Strips or tiles in the file.
    var blockCount: Int { blocksPerPlane * (planarSeparate ? samplesPerPixel : 1) }
    /// Bytes of one full decoded block (the last strip may be shorter).
    var blockBytes: Int { blockWidth * blockHeight * samplesPerBlockPixel * bytesPerSample }
    /// The sample planes holding decoded samples: each of them when planar-separate, the one interleaved
    /// plane otherwise.
    var planesToRead: Range<Int> { planarSeparate ? 0..<decodedSamples : 0..<1 }
    /// "strip" or "tile", for messages.
    var blockName: String { tiled ? "tile" : "strip" }

    /// Reads and checks the tags of the current image of `tiff`; `fail` turns a reason into the error.
    init(_ tiff: CapturingTIFF, fail: (String) -> UnetsegError) throws(UnetsegError) {
        let maximum = TIFFFile.maximumDimension
        guard let width = tiff.uint32(TIFFTAG_IMAGEWIDTH), let height = tiff.uint32(TIFFTAG_IMAGELENGTH) else {
            throw fail("it has no image width or length")
        }
        guard width > 0, height > 0 else { throw fail("its image is empty (\(width)×\(height) pixels)") }
        guard width <= maximum, height <= maximum else {
            throw fail("its image is \(width)×\(height) pixels, over the \(maximum)-pixel limit on either side")
        }
        guard Int(width) * Int(height) <= TIFFFile.maximumPixels else {
            throw fail("its image is \(width)×\(height) pixels, over the limit of \(TIFFFile.maximumPixels) "
                + "pixels per image")
        }
        self.width = Int(width)
        self.height = Int(height)
        let depth = tiff.uint32(TIFFTAG_IMAGEDEPTH) ?? 1
        guard depth == 1 else { throw fail("it holds a 3-D image (depth \(depth))") }

        let bits = Int(tiff.uint16(TIFFTAG_BITSPERSAMPLE) ?? 1)
        let format = Int32(tiff.uint16(TIFFTAG_SAMPLEFORMAT) ?? UInt16(SAMPLEFORMAT_UINT))
        guard format == SAMPLEFORMAT_UINT else {
            throw fail("it has \(bits)-bit \(Self.sampleFormatName(format)) samples; only unsigned integers "
                + "are supported")
        }
        guard bits == 8 || bits == 16 else {
            throw fail("it has \(bits)-bit samples; only 8- and 16-bit samples are supported")
        }
        bitsPerSample = bits
        let samples = Int(tiff.uint16(TIFFTAG_SAMPLESPERPIXEL) ?? 1)
        guard (1...4).contains(samples) else {
            throw fail("it has \(samples) samples per pixel; at most 4 are supported")
        }
        samplesPerPixel = samples

        var photometric: UInt16 = 0
        guard ctiff_get_photometric(tiff.handle, &photometric) == 1 else {
            throw fail("it has no photometric interpretation tag")
        }
        switch Int32(photometric) {
        case PHOTOMETRIC_MINISBLACK: colour = .minIsBlack
        case PHOTOMETRIC_MINISWHITE: colour = .minIsWhite
        case PHOTOMETRIC_RGB where samples >= 3: colour = .rgb
        case PHOTOMETRIC_PALETTE: colour = .palette
        case PHOTOMETRIC_RGB: throw fail("it is RGB with only \(samples) samples per pixel")
        default:
            throw fail("it has photometric interpretation \(photometric) (\(Self.photometricName(photometric))); "
                + "only grayscale, RGB and palette images are supported")
        }

        let compression = Int32(tiff.uint16(TIFFTAG_COMPRESSION) ?? UInt16(COMPRESSION_NONE))
        guard Self.supportedCompressions.contains(compression),
              TIFFIsCODECConfigured(UInt16(truncatingIfNeeded: compression)) == 1
        else {
            throw fail("it uses compression scheme \(compression), which is not supported "
                + "(supported: none, LZW, Deflate, PackBits, LZMA, ZSTD)")
        }
        maximumExpansion = Self.maximumExpansion(compression)
        provenExpansion = maximumExpansion != Self.unboundedCodecExpansion
        let planar = Int32(tiff.uint16(TIFFTAG_PLANARCONFIG) ?? UInt16(PLANARCONFIG_CONTIG))
        planarSeparate = planar == PLANARCONFIG_SEPARATE && samples > 1

        tiled = TIFFIsTiled(tiff.handle) != 0
        if tiled {
            let tileWidth = Int(tiff.uint32(TIFFTAG_TILEWIDTH) ?? 0)
            let tileHeight = Int(tiff.uint32(TIFFTAG_TILELENGTH) ?? 0)
            guard tileWidth > 0, tileHeight > 0,
                  tileWidth <= Self.largestTileSide(for: self.width),
                  tileHeight <= Self.largestTileSide(for: self.height)
            else {
                throw fail("its \(tileWidth)×\(tileHeight) tiles do not fit a \(width)×\(height) image")
            }
            blockWidth = tileWidth
            blockHeight = tileHeight
        } else {
            let rowsPerStrip = Int(tiff.uint32(TIFFTAG_ROWSPERSTRIP) ?? UInt32.max)
            guard rowsPerStrip > 0 else { throw fail("it has 0 rows per strip") }
            blockWidth = self.width
            blockHeight = min(rowsPerStrip, self.height)
        }

        let fileBlocks = Int(tiled ? TIFFNumberOfTiles(tiff.handle) : TIFFNumberOfStrips(tiff.handle))
        guard fileBlocks == blockCount else {
            throw fail("it has \(fileBlocks) \(blockName)s where its size calls for \(blockCount)")
        }
        let libtiffBlockBytes = Int(tiled ? TIFFTileSize(tiff.handle) : TIFFStripSize(tiff.handle))
        guard libtiffBlockBytes == blockBytes else {
            throw fail("its \(blockName) size (\(libtiffBlockBytes) bytes) disagrees with its layout "
                + "(\(blockBytes) bytes)")
        }
    }

    /// A bound on decoded ÷ stored bytes for `compression`, used to refuse a small file claiming a huge image
    /// before allocating for it (a decompression bomb):
    /// - codecs with a proven limit get one just above it: 1 uncompressed, 64 for PackBits (2 bytes → 128),
    ///   1100 for Deflate (at most about 1032), 1500 for LZW (at most about 1370 with TIFF's 12-bit codes);
    /// - codecs without one (ZSTD, LZMA, and any other codec libtiff may link) get `unboundedCodecExpansion`,
    ///   and images of up to `unboundedCodecAllowance` decoded bytes are accepted whatever their size on disk
    ///   (an empty 256×256 mask compresses to a few dozen bytes).
    static func maximumExpansion(_ compression: Int32) -> Int {
        switch compression {
        case COMPRESSION_NONE: 1
        case COMPRESSION_PACKBITS: 64
        case COMPRESSION_DEFLATE, COMPRESSION_ADOBE_DEFLATE: 1100
        case COMPRESSION_LZW: 1500
        default: unboundedCodecExpansion
        }
    }

    /// The decoded ÷ stored bytes accepted from codecs whose format sets no limit (ZSTD, LZMA, others).
    static let unboundedCodecExpansion = 4096

    /// Decoded bytes accepted from codecs without a proven limit regardless of the stored size (16 MiB: a
    /// 2048×2048 16-bit RGB image, far above a 256×256 slice).
    static let unboundedCodecAllowance = 16 << 20

    /// Largest number of decoded bytes `storedBytes` of this file's compression may hold (see
    /// `maximumExpansion`).
    func maximumDecodedBytes(storedBytes: Int) -> Int {
        let (bound, overflow) = storedBytes.multipliedReportingOverflow(by: maximumExpansion)
        if overflow { return Int.max }
        return provenExpansion ? bound : max(bound, Self.unboundedCodecAllowance)
    }

    /// Tiles are at most the image side rounded up to 16, or 1024, whichever is larger, so that a tiny image
    /// cannot make the decoder allocate a huge tile buffer.
    static func largestTileSide(for side: Int) -> Int { max((side + 15) / 16 * 16, 1024) }

    static func sampleFormatName(_ format: Int32) -> String {
        switch format {
        case SAMPLEFORMAT_INT: "signed integer"
        case SAMPLEFORMAT_IEEEFP: "floating-point"
        case SAMPLEFORMAT_VOID: "untyped"
        case SAMPLEFORMAT_COMPLEXINT: "complex integer"
        case SAMPLEFORMAT_COMPLEXIEEEFP: "complex floating-point"
        default: "sample format \(format)"
        }
    }

    static func photometricName(_ photometric: UInt16) -> String {
        switch Int32(photometric) {
        case PHOTOMETRIC_MASK: "transparency mask"
        case PHOTOMETRIC_SEPARATED: "CMYK/separated"
        case PHOTOMETRIC_YCBCR: "YCbCr"
        case PHOTOMETRIC_CIELAB, PHOTOMETRIC_ICCLAB, PHOTOMETRIC_ITULAB: "L*a*b*"
        case PHOTOMETRIC_LOGL, PHOTOMETRIC_LOGLUV: "LogLuv"
        case PHOTOMETRIC_CFA: "colour filter array"
        default: "unknown"
        }
    }
}
