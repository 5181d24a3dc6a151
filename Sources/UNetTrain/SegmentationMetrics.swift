/// Overlap scores of binary segmentations, as in Buda et al. (2019): Dice, precision, sensitivity and volume
/// difference, per volume (all slices of a patient together) and per slice.
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

        /// |P ∩ T| / |P|, the share of predicted pixels that are lesion; when nothing is predicted, 1 if the
        /// truth is empty too (nothing to find, nothing found) and 0 otherwise (as Dice is).
        public var precision: Double {
            predicted == 0 ? (truth == 0 ? 1 : 0) : Double(intersection) / Double(predicted)
        }

        /// |P ∩ T| / |T|, the share of lesion pixels found (recall); when the truth is empty, 1 if nothing is
        /// predicted and 0 otherwise.
        public var sensitivity: Double {
            truth == 0 ? (predicted == 0 ? 1 : 0) : Double(intersection) / Double(truth)
        }

        /// |P| − |T| in pixels (voxels for a volume): positive when the prediction is too large.
        public var volumeDifference: Int { predicted - truth }

        /// ||P| − |T|| / max(|T|, 1): the volume error relative to the true volume, or in voxels for a
        /// lesion-free truth (so it is always finite; 0 when both are empty).
        public var relativeVolumeDifference: Double {
            Double(abs(predicted - truth)) / Double(max(truth, 1))
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
