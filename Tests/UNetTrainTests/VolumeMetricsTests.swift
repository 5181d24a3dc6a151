import Testing
@testable import UNetTrain
import _UNetSupport

/// Per-volume scores on hand-made masks whose values are known by hand.
@Suite struct VolumeMetricsTests {
    /// A `depth × height × width` volume with the voxels `(z, y, x)` for which `inside` is true.
    func volume(_ d: Int, _ h: Int, _ w: Int, _ inside: (Int, Int, Int) -> Bool) -> [Bool] {
        var flags: [Bool] = []
        for z in 0..<d { for y in 0..<h { for x in 0..<w { flags.append(inside(z, y, x)) } } }
        return flags
    }

    /// A 4×4 square shifted right by 2 pixels in one slice: every voxel is on the surface (the slice is one
    /// voxel thick); the true square's columns are 2, 1, 0, 0 pixels from the predicted one and the
    /// predicted square's 0, 0, 1, 2 from the true one: 32 distances, 16 zeros, 8 ones, 8 twos, whose 95th
    /// percentile (position 29.45) is 2. Dice 2·8/32, precision and sensitivity 8/16.
    @Test func aShiftedSquare() {
        let truth = volume(1, 10, 10) { _, y, x in (2...5).contains(y) && (2...5).contains(x) }
        let prediction = volume(1, 10, 10) { _, y, x in (2...5).contains(y) && (4...7).contains(x) }
        let distance = SurfaceDistance(depth: 1, height: 10, width: 10)
        #expect(distance.hausdorff95(prediction: prediction, truth: truth) == 2)
        let overlap = SegmentationMetrics.Overlap(prediction: prediction.map { $0 ? 1 : 0 }, truth: truth.map { $0 ? 1 : 0 }, count: 100)
        #expect(overlap.dice == 0.5 && overlap.precision == 0.5 && overlap.sensitivity == 0.5)
        #expect(overlap.volumeDifference == 0 && overlap.relativeVolumeDifference == 0)
    }

    /// One stray predicted voxel 5 pixels from an exactly found square: 33 distances, 32 zeros and one 5.
    /// Hausdorff-95 ignores it (position 30.4 is among the zeros) where the plain Hausdorff distance is 5.
    @Test func aSingleOutlierDoesNotMoveTheNinetyFifthPercentile() {
        let square: (Int, Int, Int) -> Bool = { _, y, x in (1...4).contains(y) && (1...4).contains(x) }
        let truth = volume(1, 12, 12, square)
        let prediction = volume(1, 12, 12) { z, y, x in square(z, y, x) || (y == 4 && x == 9) }
        #expect(SurfaceDistance(depth: 1, height: 12, width: 12).hausdorff95(prediction: prediction, truth: truth) == 0)
        let overlap = SegmentationMetrics.Overlap(prediction: prediction.map { $0 ? 1 : 0 }, truth: truth.map { $0 ? 1 : 0 }, count: 144)
        #expect(overlap.precision == 16.0 / 17.0 && overlap.sensitivity == 1)
        #expect(overlap.volumeDifference == 1 && overlap.relativeVolumeDifference == 1.0 / 16.0)
    }

    /// Distances run across slices too, one unit per slice; diagonal distances are Euclidean.
    @Test func distancesAcrossSlicesAndDiagonals() {
        let distance = SurfaceDistance(depth: 3, height: 5, width: 5)
        let truth = volume(3, 5, 5) { z, y, x in z == 0 && y == 2 && x == 2 }
        #expect(distance.hausdorff95(prediction: volume(3, 5, 5) { z, y, x in z == 2 && y == 2 && x == 2 }, truth: truth) == 2)
        let diagonal = distance.hausdorff95(prediction: volume(3, 5, 5) { z, y, x in z == 1 && y == 3 && x == 4 }, truth: truth)
        #expect(abs(diagonal - 6.0.squareRoot()) < 1e-6)
    }

    /// The inside of a solid cube is not surface: a 3×3×3 cube against the same cube with its centre voxel
    /// missing has surfaces 0 apart, whatever the hole.
    @Test func onlySurfaceVoxelsCount() {
        let cube: (Int, Int, Int) -> Bool = { z, y, x in (1...3).contains(z) && (1...3).contains(y) && (1...3).contains(x) }
        let distance = SurfaceDistance(depth: 5, height: 5, width: 5)
        #expect(distance.surface(of: volume(5, 5, 5, cube)).count == 26)
        let hollow = volume(5, 5, 5) { z, y, x in cube(z, y, x) && !(z == 2 && y == 2 && x == 2) }
        #expect(distance.hausdorff95(prediction: hollow, truth: volume(5, 5, 5, cube)) == 0)
    }

    /// Empty masks: both empty is perfect agreement (distance 0, Dice, precision and sensitivity 1); an empty
    /// prediction of a lesion scores 0 and the volume's diagonal; a prediction on a lesion-free volume too.
    @Test func emptyMasksFollowTheDocumentedConventions() {
        let distance = SurfaceDistance(depth: 2, height: 6, width: 9)
        let empty = volume(2, 6, 9) { _, _, _ in false }
        let lesion = volume(2, 6, 9) { z, y, x in z == 1 && y < 3 && x < 4 }
        #expect(distance.diagonal == (4.0 + 36 + 81).squareRoot())
        #expect(distance.hausdorff95(prediction: empty, truth: empty) == 0)
        #expect(distance.hausdorff95(prediction: empty, truth: lesion) == distance.diagonal)
        #expect(distance.hausdorff95(prediction: lesion, truth: empty) == distance.diagonal)
        #expect(distance.hausdorff95(prediction: [true], truth: lesion).isNaN)   // wrong size: no trap
        let none = SegmentationMetrics.Overlap()
        #expect(none.dice == 1 && none.precision == 1 && none.sensitivity == 1 && none.relativeVolumeDifference == 0)
        var missed = SegmentationMetrics.Overlap()
        missed.truth = 12
        #expect(missed.dice == 0 && missed.precision == 0 && missed.sensitivity == 0)
        #expect(missed.volumeDifference == -12 && missed.relativeVolumeDifference == 1)
        var falseAlarm = SegmentationMetrics.Overlap()
        falseAlarm.predicted = 7
        #expect(falseAlarm.precision == 0 && falseAlarm.sensitivity == 0 && falseAlarm.relativeVolumeDifference == 7)
    }

    @Test func percentileInterpolatesLinearly() {
        #expect(SurfaceDistance.percentile([4, 1, 3, 2], 0.5) == 2.5)
        #expect(SurfaceDistance.percentile([0, 10], 0.95) == 9.5)
        #expect(SurfaceDistance.percentile([7], 0.95) == 7 && SurfaceDistance.percentile([], 0.95).isNaN)
    }

    /// The one-dimensional transform against brute force on a line with sites at 1, 6 and 7.
    @Test func lineTransformMatchesBruteForce() {
        var f = [Float](repeating: .infinity, count: 12)
        f[1] = 0; f[6] = 4; f[7] = 0
        var out = f
        SurfaceDistance.transformLine(f, into: &out)
        var brute = [Float](repeating: .infinity, count: 12)
        for q in 0..<12 {
            for site in [1, 6, 7] { brute[q] = min(brute[q], Float((q - site) * (q - site)) + f[site]) }
        }
        #expect(out == brute)
    }

    /// Slices gathered into a volume in order: a lesion voxel on slice 0 predicted on slice 2 of a 3-slice
    /// stack of 4×4 slices is 2 apart; metrics.json carries every score per volume and their means and
    /// medians, all finite.
    @Test func volumesFromSlicesAndTheirJSON() throws {
        var collector = VolumeCollector(patient: "TCGA_X", height: 4, width: 4)
        let empty = [Float](repeating: 0, count: 16)
        var dot = empty
        dot[5] = 1
        for (p, t) in [(empty, dot), (empty, empty), (dot, empty)] {
            collector.add(prediction: p, truth: t, overlap: SegmentationMetrics.Overlap(prediction: p, truth: t, count: 16))
        }
        let found = collector.scores()
        #expect(found.hausdorff95 == 2 && found.dice == 0 && found.overlap.truth == 1 && found.overlap.predicted == 1)
        #expect(found.diagonal == (9.0 + 16 + 16).squareRoot())
        var missed = VolumeCollector(patient: "TCGA_Y", height: 4, width: 4)
        missed.add(prediction: empty, truth: dot, overlap: SegmentationMetrics.Overlap(prediction: empty, truth: dot, count: 16))
        let result = EvaluationResult(volumes: [found, missed.scores()], meanVolumeDice: 0, medianVolumeDice: 0,
                                      meanSliceDice: 0, bce: 0.5, diceLoss: 0.5, sliceCount: 4)
        let json = try JSONValue.parse(result.json.serialized(pretty: true))
        #expect(json["mean_hausdorff95"]?.doubleValue == (2 + (1.0 + 16 + 16).squareRoot()) / 2)
        #expect(json["mean_sensitivity"]?.doubleValue == 0 && json["median_precision"]?.doubleValue == 0)
        #expect(json["mean_absolute_volume_difference"]?.doubleValue == 0.5)
        #expect(json["mean_relative_volume_difference"]?.doubleValue == 0.5)
        #expect(json["volumes"]?["TCGA_Y"]?["volume_difference"]?.doubleValue == -1)
        #expect(json["volumes"]?["TCGA_X"]?["hausdorff95"]?.doubleValue == 2)
        #expect(json["volume_dice"]?["TCGA_Y"]?.doubleValue == 0 && json["hausdorff95_unit"]?.stringValue == "voxel")
    }
}
