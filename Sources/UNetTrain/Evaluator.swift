#if canImport(Glibc)
import Glibc
#endif
import UNetData
import UNetNN
import UNetTensor
import _UNetSupport

/// The results of evaluating a model on a folder of slices.
public struct EvaluationResult: Sendable {
    /// Dice of each patient's whole volume (prediction > 0.5), by patient id.
    public var volumeDice: [(patient: String, dice: Double)]
    /// Mean of `volumeDice` (the measure of Buda et al. 2019).
    public var meanVolumeDice: Double
    /// Median of `volumeDice`.
    public var medianVolumeDice: Double
    /// Mean per-slice Dice over slices where prediction or truth is non-empty.
    public var meanSliceDice: Double
    /// Mean per-slice binary cross-entropy.
    public var bce: Double
    /// Mean per-slice dice loss (the post's `calc_dice_loss`, on probabilities).
    public var diceLoss: Double
    /// Number of slices evaluated.
    public var sliceCount: Int

    /// `metrics.json`'s content.
    public var json: JSONValue {
        func number(_ x: Double) -> JSONValue { x.isFinite ? .number(x) : .null }
        return [
            "mean_volume_dice": number(meanVolumeDice), "median_volume_dice": number(medianVolumeDice),
            "volume_dice": .object(volumeDice.map { ($0.patient, number($0.dice)) }),
            "mean_slice_dice": number(meanSliceDice), "bce": number(bce), "dice_loss": number(diceLoss),
            "slices": .number(Double(sliceCount)), "patients": .number(Double(volumeDice.count)),
        ]
    }
}

/// Runs a model over every slice of a dataset in order and scores it (DESIGN §6).
public enum Evaluator {
    /// Evaluates `model` on `dataset` (its slices in order; sampling and augmentation are not used), in
    /// batches of `batchSize`. With `predictionsDir`, writes each predicted mask as a 0/255 TIFF at
    /// `<predictionsDir>/<patient>/<patient>_<n>_pred.tif`; a `predictionsDir` that is, contains or lies inside
    /// the dataset's folder, or reaches it through links, is refused before anything is written.
    /// `onProgress(done, total)` may return false to stop (`.cancelled`).
    public static func evaluate(_ model: UNet, on dataset: BrainSegDataset, batchSize: Int = 8,
                                predictionsDir: String? = nil,
                                onProgress: (Int, Int) -> Bool = { _, _ in true }) throws(UnetsegError) -> EvaluationResult {
        try checkArgument(batchSize >= 1, "batch size must be at least 1, got \(batchSize)")
        if let predictionsDir {
            try ProtectedInput(dataset.root).requireApart(from: predictionsDir, subfolders: dataset.slices.map(\.patient),
                                                          role: "predictions folder")
        }
        model.eval()
        var perPatient: [String: SegmentationMetrics.Overlap] = [:]
        var patientOrder: [String] = []
        var sliceDice: [Double] = [], bces: [Double] = [], diceLosses: [Double] = []
        let plane = dataset.height * dataset.width
        var start = 0
        while start < dataset.count {
            let indices = Array(start..<min(start + batchSize, dataset.count))
            var pairs: [(image: Tensor, mask: Tensor)] = []
            for i in indices { pairs.append(try dataset.load(slice: i)) }
            let images = try Tensor.stack(pairs.map(\.image))
            let masks = try Tensor.stack(pairs.map(\.mask))
            let output = try Autograd.withNoGrad { () throws(UnetsegError) in try model(images) }
            for (k, i) in indices.enumerated() {
                let slice = dataset.slices[i]
                let p = output.storage.pointer + k * plane, t = masks.storage.pointer + k * plane
                let overlap = SegmentationMetrics.Overlap(prediction: p, truth: t, count: plane)
                if perPatient[slice.patient] == nil { patientOrder.append(slice.patient) }
                perPatient[slice.patient, default: .init()] += overlap
                if !overlap.isEmpty { sliceDice.append(overlap.dice) }
                let losses = sliceLosses(p, t, plane)
                bces.append(losses.bce)
                diceLosses.append(losses.dice)
                if let predictionsDir {
                    try writePrediction(p, width: dataset.width, height: dataset.height, to: predictionsDir,
                                        patient: slice.patient, number: slice.number)
                }
            }
            start += indices.count
            guard onProgress(start, dataset.count) else { throw .cancelled("evaluation stopped after \(start) slices") }
        }
        let volumes = patientOrder.map { ($0, perPatient[$0]?.dice ?? .nan) }
        return EvaluationResult(
            volumeDice: volumes, meanVolumeDice: SegmentationMetrics.mean(volumes.map(\.1)),
            medianVolumeDice: SegmentationMetrics.median(volumes.map(\.1)),
            meanSliceDice: SegmentationMetrics.mean(sliceDice), bce: SegmentationMetrics.mean(bces),
            diceLoss: SegmentationMetrics.mean(diceLosses), sliceCount: dataset.count)
    }

    /// BCE (logs clamped at −100) and dice loss (smooth 1) of one slice's probabilities.
    static func sliceLosses(_ p: UnsafePointer<Float>, _ t: UnsafePointer<Float>, _ n: Int) -> (bce: Double, dice: Double) {
        var bce = 0.0, intersection = 0.0, sumP = 0.0, sumT = 0.0
        for i in 0..<n {
            let x = Double(p[i]), y = Double(t[i])
            bce -= y * max(Double(logf(p[i])), -100) + (1 - y) * max(Double(logf(1 - p[i])), -100)
            intersection += x * y; sumP += x; sumT += y
        }
        return (bce / Double(n), 1 - (2 * intersection + 1) / (sumP + sumT + 1))
    }

    /// Writes `prediction > 0.5` as a 0/255 mask TIFF `<folder>/<patient>/<patient>_<n>_pred.tif`
    /// (`SliceFileName.predictionName`) and returns its path. Callers check `folder` against their input
    /// first (`ProtectedInput.requireApart(from:subfolders:role:)`).
    @discardableResult
    public static func writePrediction(_ prediction: UnsafePointer<Float>, width: Int, height: Int, to folder: String,
                                       patient: String, number: Int) throws(UnetsegError) -> String {
        let dir = FileSystem.joined(folder, patient)
        try FileSystem.makeDirectories(dir)
        let path = FileSystem.joined(dir, SliceFileName.predictionName(patient: patient, slice: number))
        try writeMask(prediction, width: width, height: height, to: path)
        return path
    }

    /// Writes `prediction > 0.5` as a 0/255 single-channel LZW TIFF at `path`.
    public static func writeMask(_ prediction: UnsafePointer<Float>, width: Int, height: Int, to path: String) throws(UnetsegError) {
        let samples = (0..<(width * height)).map { prediction[$0] > 0.5 ? Float(255) : 0 }
        try TIFFFile.write(Raster(width: width, height: height, channels: 1, samples: samples), to: path,
                           options: TIFFWriteOptions(compression: .lzw))
    }

    /// Writes `result.json` as `metrics.json` into `folder`.
    public static func writeMetrics(_ result: EvaluationResult, to folder: String) throws(UnetsegError) {
        try FileSystem.makeDirectories(folder)
        try FileSystem.writeTextAtomically(result.json.serialized(pretty: true) + "\n",
                                           to: FileSystem.joined(folder, "metrics.json"))
    }
}
