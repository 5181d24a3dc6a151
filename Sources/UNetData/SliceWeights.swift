import UNetTensor
import _UNetSupport

/// The post's `calc_slice_weights`: sampling weights that favour slices with large lesions while giving
/// every slice a floor.
///
/// For lesion amounts m₁…mₙ (m = sum of mask/255 over a slice, the number of lesion pixels of a 0/255
/// mask) with total M, slice i gets w = (mᵢ + 0.1·M/n) / (1.1·M); the weights sum to 1. A set without any
/// lesion (M = 0, where the post divides by zero) gets uniform weights 1/n.
public enum SliceWeights {
    /// The weights for `lesionAmounts` (one non-negative, finite value per slice), in the same order.
    public static func weights(lesionAmounts: [Double]) throws(UnetsegError) -> [Double] {
        for (i, m) in lesionAmounts.enumerated() {
            try checkArgument(m.isFinite && m >= 0, "slice weights: lesion amount \(m) of slice \(i) is not a finite value ≥ 0")
        }
        let n = Double(lesionAmounts.count)
        let total = lesionAmounts.reduce(0, +)
        guard total > 0 else { return [Double](repeating: 1 / n, count: lesionAmounts.count) }
        let floor = 0.1 * total / n, denominator = 1.1 * total
        return lesionAmounts.map { ($0 + floor) / denominator }
    }

    /// The lesion amount of one mask: the sum of its samples divided by the full-scale value of its bit
    /// depth (255 for 8-bit, 65535 for 16-bit), averaged over its channels (grayscale and RGB masks agree).
    public static func lesionAmount(of mask: Raster) -> Double {
        guard mask.channels > 0 else { return 0 }
        let fullScale = mask.bitsPerSample >= 16 ? 65535.0 : 255.0
        var sum = 0.0
        for v in mask.samples { sum += Double(v) }
        return sum / fullScale / Double(mask.channels)
    }
}
