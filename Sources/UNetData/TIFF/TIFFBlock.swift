/// A rectangle of the image held in one decoded strip or tile buffer: sample `s` of pixel
/// `(x + c, y + r)` sits at `buffer[r · rowStride + c · interleave + s]`, and samples `0..<planes` belong to
/// raster planes `firstPlane..<firstPlane + planes` (raster: planar CHW, row-major).
struct TIFFBlock {
    let x: Int
    let y: Int
    let columns: Int
    let rows: Int
    /// Samples from one buffer row to the next.
    let rowStride: Int
    /// Samples from one pixel to the next.
    let interleave: Int
    let firstPlane: Int
    let planes: Int

    /// Copies the block's samples from `source` into the planar raster `out` of `width × height` pixels.
    func scatter<Sample: FixedWidthInteger & UnsignedInteger>(
        _ source: UnsafePointer<Sample>, into out: UnsafeMutablePointer<Float>, width: Int, height: Int
    ) {
        for plane in 0..<planes {
            let planeBase = out + (firstPlane + plane) * width * height
            for r in 0..<rows {
                let from = source + r * rowStride + plane
                let to = planeBase + (y + r) * width + x
                for c in 0..<columns { to[c] = Float(from[c * interleave]) }
            }
        }
    }

    /// Fills the block in `destination` from the planar raster `raster` of `width × height` pixels, rounding
    /// and clamping each value to the sample type's range (values must not be NaN).
    func gather<Sample: FixedWidthInteger & UnsignedInteger>(
        from raster: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Sample>, width: Int,
        height: Int
    ) {
        let largest = Float(Sample.max)
        for plane in 0..<planes {
            let planeBase = raster + (firstPlane + plane) * width * height
            for r in 0..<rows {
                let from = planeBase + (y + r) * width + x
                let to = destination + r * rowStride + plane
                for c in 0..<columns {
                    assert(!from[c].isNaN, "NaN samples are refused before encoding")
                    to[c * interleave] = Sample(min(max(from[c].rounded(), 0), largest))
                }
            }
        }
    }
}
