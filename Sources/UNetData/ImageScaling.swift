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

    /// The smallest and largest value of a buffer, over four interleaved accumulators ((0, 0) when empty
    /// or undefined).
    static func range(_ values: UnsafeBufferPointer<Float>) -> (min: Float, max: Float) {
        let n = values.count
        guard let base = values.baseAddress, n > 0 else { return (0, 0) }
        var l0 = Float.infinity, l1 = l0, l2 = l0, l3 = l0
        var h0 = -Float.infinity, h1 = h0, h2 = h0, h3 = h0
        var i = 0
        while i + 4 <= n {
            let a = base[i], b = base[i + 1], c = base[i + 2], d = base[i + 3]
            l0 = a < l0 ? a : l0; l1 = b < l1 ? b : l1; l2 = c < l2 ? c : l2; l3 = d < l3 ? d : l3
            h0 = a > h0 ? a : h0; h1 = b > h1 ? b : h1; h2 = c > h2 ? c : h2; h3 = d > h3 ? d : h3
            i += 4
        }
        while i < n {
            l0 = base[i] < l0 ? base[i] : l0
            h0 = base[i] > h0 ? base[i] : h0
            i += 1
        }
        let low = Swift.min(Swift.min(l0, l1), Swift.min(l2, l3))
        let high = Swift.max(Swift.max(h0, h1), Swift.max(h2, h3))
        if !(low <= high) { return (0, 0) }
        return (low, high)
    }
}
