import _UNetSupport

/// The scores of one patient's volume (all its slices stacked in order, prediction > 0.5): overlap counts,
/// Dice, precision, sensitivity, volume difference and Hausdorff-95 distance (see `SurfaceDistance`).
public struct VolumeScores: Sendable, Equatable {
    /// The patient id.
    public var patient: String
    /// Predicted, true and overlapping voxels.
    public var overlap: SegmentationMetrics.Overlap
    /// Hausdorff-95 distance in voxel units: 0 when both masks are empty, the volume's diagonal when exactly
    /// one is.
    public var hausdorff95: Double
    /// The diagonal of the volume in voxels, √(slices² + height² + width²).
    public var diagonal: Double

    /// Dice of the volume (1 when both masks are empty).
    public var dice: Double { overlap.dice }
    /// Precision (see `SegmentationMetrics.Overlap.precision`).
    public var precision: Double { overlap.precision }
    /// Sensitivity, or recall (see `SegmentationMetrics.Overlap.sensitivity`).
    public var sensitivity: Double { overlap.sensitivity }
    /// ||P| − |T|| in voxels.
    public var absoluteVolumeDifference: Double { Double(abs(overlap.volumeDifference)) }
    /// ||P| − |T|| / max(|T|, 1) (see `SegmentationMetrics.Overlap.relativeVolumeDifference`).
    public var relativeVolumeDifference: Double { overlap.relativeVolumeDifference }

    /// The volume's entry in `metrics.json`.
    public var json: JSONValue {
        [
            "dice": .number(dice), "precision": .number(precision), "sensitivity": .number(sensitivity),
            "hausdorff95": .number(hausdorff95), "diagonal": .number(diagonal), "volume_difference": .number(Double(overlap.volumeDifference)),
            "absolute_volume_difference": .number(absoluteVolumeDifference),
            "relative_volume_difference": .number(relativeVolumeDifference),
            "predicted_voxels": .number(Double(overlap.predicted)), "true_voxels": .number(Double(overlap.truth)),
        ]
    }
}

/// Gathers one patient's slices, in order, and scores the volume they make.
struct VolumeCollector {
    let patient: String
    let height: Int, width: Int
    private(set) var depth = 0
    private var prediction: [Bool] = [], truth: [Bool] = []
    private var overlap = SegmentationMetrics.Overlap()

    /// An empty volume of `height × width` slices for `patient`.
    init(patient: String, height: Int, width: Int) {
        self.patient = patient; self.height = height; self.width = width
    }

    /// Adds the next slice: probabilities `p` and mask `t`, `height · width` values each.
    mutating func add(prediction p: UnsafePointer<Float>, truth t: UnsafePointer<Float>, overlap sliceOverlap: SegmentationMetrics.Overlap) {
        let plane = height * width
        prediction.append(contentsOf: (0..<plane).lazy.map { p[$0] > 0.5 })
        truth.append(contentsOf: (0..<plane).lazy.map { t[$0] > 0.5 })
        overlap += sliceOverlap
        depth += 1
    }

    /// The volume's scores.
    func scores() -> VolumeScores {
        let distance = SurfaceDistance(depth: depth, height: height, width: width)
        return VolumeScores(patient: patient, overlap: overlap,
                            hausdorff95: distance.hausdorff95(prediction: prediction, truth: truth),
                            diagonal: distance.diagonal)
    }
}
