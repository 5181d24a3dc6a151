import UNetTensor
import _UNetSupport

/// Per-patient intensity normalisation (`IntensityNormalization.zscore` and `.percentile`, after Buda et al.
/// 2019): a patient's statistics come once from the raw sample values of every slice of the patient and are
/// applied to each slice image as it is read (before resizing and augmentation, as the post scales before it
/// augments). With `.minmax` images are read as before, min-max scaled per slice.
///
/// Statistics are exact: they come from integer histograms of the samples (TIFF samples are integers in
/// 0...65535), so they do not depend on the order slices are read in. Each patient's are computed once,
/// under a lock of its own, and cached; loader workers asking for the same patient wait for the first, and
/// different patients are computed in parallel. A failure is not cached.
public final class VolumeNormalization: Sendable {
    /// The statistics of one patient's volume.
    public struct Statistics: Sendable, Equatable {
        /// The clipping bounds (10th and 99th percentile over all voxels of all three channels, numpy's
        /// default linear interpolation), or nil when values are not clipped (`zscore`).
        public var clip: ClosedRange<Double>?
        /// Per channel: the mean of the (clipped) values.
        public var means: [Double]
        /// Per channel: the population standard deviation of the (clipped) values. A channel whose values are
        /// all equal has 0 here, and is divided by 1 instead (it becomes all zeros).
        public var deviations: [Double]
    }

    /// The percentiles `percentile` clips a volume to (Buda et al. 2019).
    public static let clipPercentiles = (lower: 10.0, upper: 99.0)

    /// The normalisation applied.
    public let method: IntensityNormalization
    /// Each patient's statistics (nil until computed), each behind its own lock.
    private let patients = Locked<[String: Locked<Statistics?>]>([:])

    /// A normaliser applying `method`.
    public init(_ method: IntensityNormalization) { self.method = method }

    /// The slice image at `path` as `[3, H, W]` (grayscale repeated to three channels), normalised: min-max
    /// scaled per slice (`minmax`), or with the statistics of `patient`, whose slice images are at the paths
    /// `volume()` gives (called only when they are not cached yet). Throws `.io`/`.format` naming the file
    /// that cannot be read.
    public func image(at path: String, patient: String, volume: () -> [String]) throws(UnetsegError) -> Tensor {
        guard method != .minmax else { return try SliceImage.loadImage(path) }
        let image = try SliceImage.rawImageTensor(try TIFFFile.read(path), source: path)
        Self.apply(try statistics(patient: patient, volume: volume), to: image)
        return image
    }

    /// The statistics of `patient`, computed from the images at `volume()` on first use and then cached.
    public func statistics(patient: String, volume: () -> [String]) throws(UnetsegError) -> Statistics {
        let slot = patients.withLock { table in
            if let slot = table[patient] { return slot }
            let slot = Locked<Statistics?>(nil)
            table[patient] = slot
            return slot
        }
        return try slot.withLock { (held: inout Statistics?) throws(UnetsegError) -> Statistics in
            if let held { return held }
            var histogram = VolumeHistogram()
            for path in volume() { try histogram.add(try TIFFFile.read(path), source: path) }
            let computed = try histogram.statistics(method)
            held = computed
            return computed
        }
    }

    /// The statistics of the volume made of `rasters` under `method` (`zscore` or `percentile`); `source`
    /// names the volume in errors.
    public static func statistics(of rasters: [Raster], method: IntensityNormalization,
                                  source: String) throws(UnetsegError) -> Statistics {
        var histogram = VolumeHistogram()
        for raster in rasters { try histogram.add(raster, source: source) }
        return try histogram.statistics(method)
    }

    /// Normalises `image` (`[3, H, W]`, raw sample values) in place with `statistics`: clipped to
    /// `statistics.clip` when set, then `(x − mean) / deviation` per channel (a deviation of 0 counts as 1).
    public static func apply(_ statistics: Statistics, to image: Tensor) {
        let plane = image.count / 3
        let values = image.storage.pointer
        for c in 0..<min(3, statistics.means.count) {
            let mean = statistics.means[c], deviation = statistics.deviations[c] > 0 ? statistics.deviations[c] : 1
            let lower = statistics.clip?.lowerBound ?? -Double.infinity, upper = statistics.clip?.upperBound ?? Double.infinity
            for k in c * plane..<(c + 1) * plane {
                values[k] = Float((min(max(Double(values[k]), lower), upper) - mean) / deviation)
            }
        }
    }
}

/// Counts of each sample value (0...65535) of a volume, per image channel.
private struct VolumeHistogram {
    static let levels = 65536
    /// `counts[c * levels + v]`: voxels of channel `c` holding `v`.
    private var counts = [Int](repeating: 0, count: 3 * levels)
    private var voxelsPerChannel = 0

    /// Counts the three image channels of `raster` (grayscale counted in each); `.format` naming `source` for
    /// an image without pixels or a sample that is not an integer in 0...65535.
    mutating func add(_ raster: Raster, source: String) throws(UnetsegError) {
        let plane = try SliceImage.checkedPlane(raster, source: source)
        var bad: Float?
        counts.withUnsafeMutableBufferPointer { counts in
            raster.samples.withUnsafeBufferPointer { samples in
                for c in 0..<3 {
                    let from = SliceImage.sourceChannel(c, of: raster) * plane
                    for k in from..<from + plane {
                        let v = samples[k]
                        guard v >= 0, v < Float(Self.levels), v == v.rounded(.towardZero) else { bad = v; return }
                        counts[c * Self.levels + Int(v)] += 1
                    }
                }
            }
        }
        if let bad { throw .format("\(source): sample value \(bad) is not an integer in 0...65535, as per-volume normalisation needs") }
        voxelsPerChannel += plane
    }

    /// The volume's statistics for `method`.
    func statistics(_ method: IntensityNormalization) throws(UnetsegError) -> VolumeNormalization.Statistics {
        try checkArgument(method != .minmax, "minmax scales each slice on its own: it has no volume statistics")
        try checkArgument(voxelsPerChannel > 0, "a volume without slices has no statistics")
        let clip: ClosedRange<Double>? = method == .percentile
            ? percentile(VolumeNormalization.clipPercentiles.lower)...percentile(VolumeNormalization.clipPercentiles.upper)
            : nil
        var means: [Double] = [], deviations: [Double] = []
        for c in 0..<3 {
            let channel = counts[c * Self.levels..<(c + 1) * Self.levels]
            func value(_ v: Int) -> Double { clip.map { min(max(Double(v), $0.lowerBound), $0.upperBound) } ?? Double(v) }
            var sum = 0.0
            for (v, n) in zip(0..., channel) where n > 0 { sum += Double(n) * value(v) }
            let mean = sum / Double(voxelsPerChannel)
            var squares = 0.0
            for (v, n) in zip(0..., channel) where n > 0 { squares += Double(n) * (value(v) - mean) * (value(v) - mean) }
            means.append(mean)
            deviations.append((squares / Double(voxelsPerChannel)).squareRoot())
        }
        return .init(clip: clip, means: means, deviations: deviations)
    }

    /// The `q`-th percentile of all voxels of all channels, as numpy's `percentile` with its default
    /// (linear) method: the virtual index `n·q' + (1 − q') − 1` (q' = q / 100) between two order statistics,
    /// interpolated as numpy's `_lerp`.
    private func percentile(_ q: Double) -> Double {
        let n = 3 * voxelsPerChannel
        let quantile = q / 100
        let index = min(max(Double(n) * quantile + (1 - quantile) - 1, 0), Double(n - 1))
        let below = index.rounded(.down)
        let t = index - below
        let a = orderStatistic(Int(below)), b = orderStatistic(min(Int(below) + 1, n - 1))
        let difference = b - a
        return t >= 0.5 ? b - difference * (1 - t) : a + difference * t
    }

    /// The `rank`-th smallest (0-based) voxel value over all channels.
    private func orderStatistic(_ rank: Int) -> Double {
        var seen = 0
        for v in 0..<Self.levels {
            seen += counts[v] + counts[Self.levels + v] + counts[2 * Self.levels + v]
            if seen > rank { return Double(v) }
        }
        return Double(Self.levels - 1)
    }
}
