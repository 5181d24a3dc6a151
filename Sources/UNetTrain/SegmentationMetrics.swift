/// Dice scores of binary segmentations, as in Buda et al. (2019): per volume (all slices of a patient
/// together) and per slice.
public enum SegmentationMetrics {
    /// Counts for one slice or volume: predicted pixels, true pixels and their overlap.
    public struct Overlap: Sendable, Equatable {
        /// Pixels predicted as lesion.
        public var predicted = 0
        /// Pixels that are lesion in the ground truth.
        public var truth = 0
        /// Pixels in both.
        public var intersection = 0

        /// Empty counts.
        public init() {}

        /// Counts of `prediction > threshold` against `truth > 0.5` over `count` pixels.
        public init(prediction: UnsafePointer<Float>, truth: UnsafePointer<Float>, count: Int, threshold: Float = 0.5) {
            for i in 0..<count {
                let p = prediction[i] > threshold, t = truth[i] > 0.5
                if p { predicted += 1 }
                if t { self.truth += 1 }
                if p && t { intersection += 1 }
            }
        }

        /// Adds another slice's counts.
        public static func += (a: inout Overlap, b: Overlap) {
            a.predicted += b.predicted; a.truth += b.truth; a.intersection += b.intersection
        }

        /// 2·|P ∩ T| / (|P| + |T|); 1 when both are empty (nothing to find, nothing found).
        public var dice: Double {
            predicted + truth == 0 ? 1 : 2 * Double(intersection) / Double(predicted + truth)
        }

        /// Whether both prediction and truth are empty.
        public var isEmpty: Bool { predicted == 0 && truth == 0 }
    }

    /// Mean of `values` (NaN when empty).
    public static func mean(_ values: [Double]) -> Double {
        values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
    }

    /// Median of `values` (NaN when empty).
    public static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let s = values.sorted(), m = s.count / 2
        return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
    }
}
