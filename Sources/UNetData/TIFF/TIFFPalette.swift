import CTIFF
import UNetTensor
import _UNetSupport

/// The colour map of a palette TIFF, ready to expand indexes into RGB planes. 8-bit images give 8-bit RGB
/// (16-bit colour-map entries scaled to 0…255; maps that already hold only 0…255, as some writers make,
/// are used as they are); 16-bit images give the 16-bit entries unchanged.
struct TIFFPalette {
    let red: [Float]
    let green: [Float]
    let blue: [Float]
    /// Bits per sample of the expanded RGB values: 8 or 16.
    let outputBitsPerSample: Int

    /// Reads the colour map of `tiff`, whose indexes have `bitsPerSample` bits.
    init(_ tiff: CapturingTIFF, bitsPerSample: Int, fail: (String) -> UnetsegError) throws(UnetsegError) {
        var r: UnsafePointer<UInt16>?, g: UnsafePointer<UInt16>?, b: UnsafePointer<UInt16>?
        guard ctiff_get_colormap(tiff.handle, &r, &g, &b) == 1, let r, let g, let b else {
            throw fail("it is a palette image without a colour map")
        }
        let entries = 1 << bitsPerSample
        let maps = [r, g, b].map { Array(UnsafeBufferPointer(start: $0, count: entries)) }
        outputBitsPerSample = bitsPerSample
        let scaled: [[Float]]
        if bitsPerSample == 8, maps.contains(where: { $0.contains { $0 > 255 } }) {
            scaled = maps.map { $0.map { Float((Int($0) * 255 + 32_767) / 65_535) } }
        } else {
            scaled = maps.map { $0.map(Float.init) }
        }
        red = scaled[0]
        green = scaled[1]
        blue = scaled[2]
    }

    /// Replaces the indexes in plane 0 of the planar raster `base` (3 planes of `pixels` samples) by their
    /// red, green and blue values.
    func expand(_ base: UnsafeMutablePointer<Float>, pixels: Int) {
        let last = red.count - 1
        for i in 0..<pixels {
            let index = min(max(Int(base[i]), 0), last)
            base[i] = red[index]
            base[pixels + i] = green[index]
            base[2 * pixels + i] = blue[index]
        }
    }
}
