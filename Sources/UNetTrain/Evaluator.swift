#if canImport(Glibc)
import Glibc
#endif
import UNetData
import UNetNN
import UNetTensor
import _UNetSupport

/// The results of evaluating a model on a folder of slices.
public struct EvaluationResult: Sendable {
    /// The scores of each patient's whole volume (prediction > 0.5), in the dataset's order.
    public var volumes: [VolumeScores]
    /// Mean of the volumes' Dice (the measure of Buda et al. 2019).
    public var meanVolumeDice: Double
    /// Median of the volumes' Dice.
    public var medianVolumeDice: Double
    /// Mean per-slice Dice over slices where prediction or truth is non-empty.
    public var meanSliceDice: Double
    /// Mean per-slice binary cross-entropy.
    public var bce: Double
    /// Mean per-slice dice loss (the post's `calc_dice_loss`, on probabilities).
    public var diceLoss: Double
    /// Number of slices evaluated.
    public var sliceCount: Int

    /// Dice of each patient's volume, by patient id.
    public var volumeDice: [(patient: String, dice: Double)] { volumes.map { ($0.patient, $0.dice) } }

    /// Mean over volumes of `score` (NaN without volumes).
    public func mean(_ score: KeyPath<VolumeScores, Double>) -> Double {
        SegmentationMetrics.mean(volumes.map { $0[keyPath: score] })
    }

    /// Median over volumes of `score` (NaN without volumes).
    public func median(_ score: KeyPath<VolumeScores, Double>) -> Double {
        SegmentationMetrics.median(volumes.map { $0[keyPath: score] })
    }

    /// The per-volume scores summarised in `metrics.json` as `mean_<name>` and `median_<name>`.
    public static let summarisedScores: [(name: String, score: any KeyPath<VolumeScores, Double> & Sendable)] = [
        ("precision", \.precision), ("sensitivity", \.sensitivity), ("hausdorff95", \.hausdorff95),
        ("absolute_volume_difference", \.absoluteVolumeDifference),
        ("relative_volume_difference", \.relativeVolumeDifference),
    ]

    /// `metrics.json`'s content: the summary numbers, `volume_dice` (patient → Dice), `volumes` (patient →
    /// every score of its volume, see `VolumeScores.json`) and `mean_`/`median_` of each of
    /// `summarisedScores`. Every per-volume score is finite; a summary without data (no slice with a lesion)
    /// is null.
    public var json: JSONValue {
        func number(_ x: Double) -> JSONValue { x.isFinite ? .number(x) : .null }
        var fields: [(String, JSONValue)] = [
            ("mean_volume_dice", number(meanVolumeDice)), ("median_volume_dice", number(medianVolumeDice)),
            ("volume_dice", .object(volumeDice.map { ($0.patient, number($0.dice)) })),
            ("mean_slice_dice", number(meanSliceDice)), ("bce", number(bce)), ("dice_loss", number(diceLoss)),
            ("slices", .number(Double(sliceCount))), ("patients", .number(Double(volumes.count))),
        ]
        for (name, score) in Self.summarisedScores {
            fields.append(("mean_" + name, number(mean(score))))
            fields.append(("median_" + name, number(median(score))))
        }
        fields.append(("hausdorff95_unit", .string("voxel")))
        fields.append(("volumes", .object(volumes.map { ($0.patient, $0.json) })))
        return .object(fields)
    }
}

/// Runs a model over every slice of a dataset in order and scores it (DESIGN §6).
public enum Evaluator {
    /// Evaluates `model` on `dataset` (its slices in order; sampling and augmentation are not used), in
    /// batches of `batchSize`. Each patient's binarised volume gets `postProcessing` before it is scored and
    /// written (the losses are those of the network's probabilities). With `predictionsDir`, writes each
    /// predicted mask as a 0/255 TIFF at `<predictionsDir>/<patient>/<patient>_<n>_pred.tif`; a
    /// `predictionsDir` that is, contains or lies inside the dataset's folder, or reaches it through links, is
    /// refused before anything is written. `onProgress(done, total)` may return false to stop (`.cancelled`).
    public static func evaluate(_ model: UNet, on dataset: BrainSegDataset, batchSize: Int = 8,
                                predictionsDir: String? = nil, postProcessing: PostProcessing = .none,
                                onProgress: (Int, Int) -> Bool = { _, _ in true }) throws(UnetsegError) -> EvaluationResult {
        try checkArgument(batchSize >= 1, "batch size must be at least 1, got \(batchSize)")
        if let predictionsDir {
            try ProtectedInput(dataset.root).requireApart(from: predictionsDir, subfolders: dataset.slices.map(\.patient),
                                                          role: "predictions folder")
        }
        model.eval()
        var volumes: [VolumeScores] = []
        var sliceDice: [Double] = [], bces: [Double] = [], diceLosses: [Double] = []
        let plane = dataset.height * dataset.width
        // The current patient's slices (the dataset keeps each patient's slices together, in order): their
        // indices, probabilities and masks, scored once the volume is complete.
        var patientSlices: [Int] = [], prediction: [Float] = [], truth: [Float] = []
        func scorePatient() throws(UnetsegError) {
            guard let first = patientSlices.first else { return }
            let patient = dataset.slices[first].patient
            try postProcessing.apply(toProbabilities: &prediction, depth: patientSlices.count,
                                     height: dataset.height, width: dataset.width)
            var collector = VolumeCollector(patient: patient, height: dataset.height, width: dataset.width)
            try prediction.withUnsafeBufferPointer { (p) throws(UnetsegError) in
                try truth.withUnsafeBufferPointer { (t) throws(UnetsegError) in
                    guard let p = p.baseAddress, let t = t.baseAddress else { return }
                    for (k, i) in patientSlices.enumerated() {
                        let pk = p + k * plane, tk = t + k * plane
                        let overlap = SegmentationMetrics.Overlap(prediction: pk, truth: tk, count: plane)
                        collector.add(prediction: pk, truth: tk, overlap: overlap)
                        if !overlap.isEmpty { sliceDice.append(overlap.dice) }
                        if let predictionsDir {
                            try writePrediction(pk, width: dataset.width, height: dataset.height, to: predictionsDir,
                                                patient: patient, number: dataset.slices[i].number)
                        }
                    }
                }
            }
            volumes.append(collector.scores())
            patientSlices = []; prediction = []; truth = []
        }
        var start = 0
        while start < dataset.count {
            let indices = Array(start..<min(start + batchSize, dataset.count))
            var pairs: [(image: Tensor, mask: Tensor)] = []
            for i in indices { pairs.append(try dataset.load(slice: i)) }
            let images = try Tensor.stack(pairs.map(\.image))
            let masks = try Tensor.stack(pairs.map(\.mask))
            let output = try Autograd.withNoGrad { () throws(UnetsegError) in try model(images) }
            for (k, i) in indices.enumerated() {
                if let first = patientSlices.first, dataset.slices[first].patient != dataset.slices[i].patient {
                    try scorePatient()
                }
                let p = output.storage.pointer + k * plane, t = masks.storage.pointer + k * plane
                let losses = sliceLosses(p, t, plane)
                bces.append(losses.bce)
                diceLosses.append(losses.dice)
                patientSlices.append(i)
                prediction.append(contentsOf: UnsafeBufferPointer(start: p, count: plane))
                truth.append(contentsOf: UnsafeBufferPointer(start: t, count: plane))
            }
            start += indices.count
            guard onProgress(start, dataset.count) else { throw .cancelled("evaluation stopped after \(start) slices") }
        }
        try scorePatient()
        let dice = volumes.map(\.dice)
        return EvaluationResult(
            volumes: volumes, meanVolumeDice: SegmentationMetrics.mean(dice), medianVolumeDice: SegmentationMetrics.median(dice),
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
