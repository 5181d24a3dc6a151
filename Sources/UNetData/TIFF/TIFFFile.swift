import UNetTensor
import _UNetSupport

/// How `TIFFFile.write` compresses the image data.
public enum TIFFCompression: Sendable, CaseIterable {
    /// Uncompressed.
    case none
    /// LZW with horizontal differencing (predictor 2).
    case lzw
    /// Deflate (zlib) with horizontal differencing (predictor 2).
    case deflate
    /// PackBits run-length encoding.
    case packBits
    /// Zstandard with horizontal differencing (predictor 2), when libtiff was built with it.
    case zstd
    /// LZMA2 with horizontal differencing (predictor 2), when libtiff was built with it.
    case lzma
}

/// Layout and encoding choices for `TIFFFile.write`.
public struct TIFFWriteOptions: Sendable, Equatable {
    /// Compression of the image data (default: none).
    public var compression: TIFFCompression
    /// One plane per channel (PlanarConfiguration 2) instead of interleaved pixels (default: interleaved).
    public var planarSeparate: Bool
    /// Square tiles of `tileSize` pixels instead of strips of rows (default: strips).
    public var tiled: Bool
    /// Bits per sample: 8 or 16 (default 8).
    public var bitsPerSample: Int
    /// Big-endian ("MM") instead of little-endian ("II") byte order (default: little-endian).
    public var bigEndian: Bool
    /// Side of the square tiles when `tiled`: a positive multiple of 16 (default 256).
    public var tileSize: Int
    /// Rows per strip when not `tiled`; 0 (the default) picks about 64 KiB per strip.
    public var rowsPerStrip: Int

    /// Options with the given choices; the defaults write an uncompressed, interleaved, 8-bit, little-endian
    /// TIFF in strips.
    public init(compression: TIFFCompression = .none, planarSeparate: Bool = false, tiled: Bool = false,
                bitsPerSample: Int = 8, bigEndian: Bool = false, tileSize: Int = 256, rowsPerStrip: Int = 0) {
        self.compression = compression
        self.planarSeparate = planarSeparate
        self.tiled = tiled
        self.bitsPerSample = bitsPerSample
        self.bigEndian = bigEndian
        self.tileSize = tileSize
        self.rowsPerStrip = rowsPerStrip
    }
}

/// Reading and writing TIFF images through libtiff.
///
/// Reads the first image of a file: 8- or 16-bit unsigned samples, grayscale (min-is-black or min-is-white),
/// RGB or palette colour, with alpha or other extra samples dropped; strips or tiles, interleaved or planar,
/// uncompressed, LZW, Deflate, PackBits (or another lossless codec built into libtiff), either byte order.
/// Anything else is refused with `UnetsegError.format` naming the file and the reason; libtiff's own
/// messages go into that error, never to stderr. Safe to call from several threads at once.
public enum TIFFFile {
    /// Largest width or height accepted when reading or writing; larger images are refused before any
    /// pixel buffer is allocated.
    public static let maximumDimension = 16_384

    /// Largest number of pixels (width × height) accepted when reading or writing: 8192×8192, whose samples
    /// take 768 MiB as float32 RGB. Together with a bound on each codec's expansion (a ZSTD, LZMA, Deflate
    /// or LZW file must be large enough on disk to hold the image it declares), this keeps a small file
    /// from making the reader allocate gigabytes.
    public static let maximumPixels = 1 << 26

    /// Decodes the first image of the file at `path` into a planar (CHW) raster of the file's sample values
    /// (palette images become 8-bit RGB, or 16-bit RGB for 16-bit indexes; min-is-white is inverted).
    /// Throws `.io` when the file cannot be opened and `.format` when its content cannot be decoded.
    public static func read(_ path: String) throws(UnetsegError) -> Raster {
        try TIFFDecoder.decode(path)
    }

    /// Writes `raster` (1 channel: grayscale, or 3: RGB) to `path`, replacing any existing file atomically
    /// (written to a temporary file in the same folder, then renamed). Samples are rounded and clamped to
    /// `0…2^bitsPerSample − 1`; NaN samples are refused with `.numeric`.
    public static func write(_ raster: Raster, to path: String,
                             options: TIFFWriteOptions = .init()) throws(UnetsegError) {
        try TIFFEncoder.encode(raster, to: path, options: options)
    }
}
