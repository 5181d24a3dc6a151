/// A decoded image as raw sample values: `channels` planes of `height × width` samples, planar (CHW) and
/// row-major, whatever the file's own layout. Values are the file's integers as floats (0…255 for 8-bit,
/// 0…65535 for 16-bit samples).
public struct Raster: Sendable, Equatable {
    /// Columns.
    public var width: Int
    /// Rows.
    public var height: Int
    /// Samples per pixel after decoding: 1 (grayscale) or 3 (RGB); an alpha channel is dropped.
    public var channels: Int
    /// Bits per sample in the file it came from (8 or 16); 8 for rasters made in memory.
    public var bitsPerSample: Int
    /// `channels · height · width` values, channel-major.
    public var samples: [Float]

    /// A raster of the given size holding `samples` (channel-major); the count must match.
    public init(width: Int, height: Int, channels: Int, bitsPerSample: Int = 8, samples: [Float]) {
        self.width = width
        self.height = height
        self.channels = channels
        self.bitsPerSample = bitsPerSample
        self.samples = samples
    }
}
