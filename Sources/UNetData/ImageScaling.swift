import UNetTensor

/// Per-image value scaling of the post: images min-max scaled to [0, 1], masks made binary.
public enum ImageScaling {
    /// Scales `image` in place to `(x − min) / (max − min + 1e−5)`, with min and max taken over all of its
    /// elements (all channels of one image, as the post's `min_max_scale`). An empty tensor is left alone.
    public static func minMaxScaleInPlace(_ image: Tensor) {
        minMaxScale(image.storage.buffer)
    }

    /// A min-max scaled copy of `image` (see `minMaxScaleInPlace(_:)`); the input is not changed.
    public static func minMaxScaled(_ image: Tensor) -> Tensor {
        let copy = image.clone()
        minMaxScale(copy.storage.buffer)
        return copy
    }

    /// Scales `values` in place to `(x − min) / (max − min + 1e−5)` over the whole buffer.
    public static func minMaxScale(_ values: UnsafeMutableBufferPointer<Float>) {
        guard let base = values.baseAddress, values.count > 0 else { return }
        let (low, high) = range(UnsafeBufferPointer(values))
        let denominator = high - low + 1e-5
        for i in 0..<values.count { base[i] = (base[i] - low) / denominator }
    }

    /// A {0, 1} copy of `mask`: 1 where a value is above 0 (a lesion pixel of a 0/255 mask), else 0.
    public static func binarizedMask(_ mask: Tensor) -> Tensor { mask > 0 }

    /// The smallest and largest value of a buffer, with SIMD accumulators ((0, 0) when empty or undefined).
    static func range(_ values: UnsafeBufferPointer<Float>) -> (min: Float, max: Float) {
        let n = values.count
        guard let base = values.baseAddress, n > 0 else { return (0, 0) }
        var lows = SIMD16<Float>(repeating: .infinity), highs = SIMD16<Float>(repeating: -.infinity)
        var i = 0
        let raw = UnsafeRawPointer(base)
        while i + 16 <= n {
            let v = raw.loadUnaligned(fromByteOffset: i * MemoryLayout<Float>.stride, as: SIMD16<Float>.self)
            lows = pointwiseMin(lows, v)
            highs = pointwiseMax(highs, v)
            i += 16
        }
        var low = lows.min(), high = highs.max()
        while i < n {
            low = Swift.min(low, base[i])
            high = Swift.max(high, base[i])
            i += 1
        }
        if !(low <= high) { return (0, 0) }
        return (low, high)
    }
}
