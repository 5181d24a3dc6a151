import ArgumentParser
import UNetData
import UNetNN
import UNetTensor
import UNetTrain
import _UNetSupport

/// `unetseg evaluate`: Dice per volume and per slice, predicted masks and pictures.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score a model on a folder: metrics.json, predicted masks and pictures.",
        discussion: """
            Writes metrics.json (mean_volume_dice, median_volume_dice, volume_dice, mean_slice_dice, bce, \
            dice_loss; per patient under "volumes": dice, precision, sensitivity, hausdorff95, volume \
            differences; mean_ and median_ of precision, sensitivity, hausdorff95, absolute_volume_difference \
            and relative_volume_difference), predictions/<patient>/<patient>_<n>_pred.tif (0/255), \
            predictions.png (image / true / predicted for 8 lesion slices), contours.png (true outline green, \
            predicted red), volume_dice.png (sorted Dice per patient), overlays/<patient>.png and, when the \
            model's run folder has a log.json, loss_curves.png. Hausdorff-95 is in voxels (pixels in a \
            slice, one slice along the stack): 0 when prediction and truth are both empty, the volume's \
            diagonal when only one is. --out must lie outside --data (and outside \
            every folder --data links to): it is refused otherwise, so inputs are never replaced.
            """)

    @Option(help: "Model checkpoint (.safetensors).") var model: String
    @Option(help: "Folder of patients with masks.") var data: String
    @Option(help: "Output folder, outside --data.") var out: String
    @Option(help: "Slices per forward pass.") var batchSize = 8
    @Option(help: "Compute threads (default: one per CPU).") var threads: Int?
    @Option(help: "Recipe whose post-processing to use: post or buda2019 (none for both: largest-component measured worse on the realistic testbed).") var recipe = "post"
    @Option(help: "Post-processing of each patient's binarised volume: none, or largest-component (keep its largest 6-connected component, as Buda et al. 2019). Default: the recipe's.") var postprocess: String?
    @Option(help: "Intensity normalisation when reading: minmax, zscore or percentile (see train --normalize). Default: the one stored in the checkpoint (minmax for a checkpoint without one); a different one is refused.") var normalize: String?
    @Flag(help: "Do not write the predicted mask TIFFs.") var noMasks = false
    @Option(help: "Resize every slice to N×N when reading, as in training (default: keep the files' size).") var resize: Int?

    func run() throws {
        let postProcessing = try postprocess.map { name throws(UnetsegError) in try PostProcessing(named: name) }
            ?? Recipe(named: recipe).postProcessing
        if let threads { Parallel.setThreadCount(threads) }
        let (network, trained) = try Checkpoint.loadRecordingNormalization(model)
        let normalization = try Checkpoint.normalization(
            requested: try normalize.map { name throws(UnetsegError) in try IntensityNormalization(named: name) },
            trained: trained, source: model)
        let dataset = try BrainSegDataset(root: data, size: resize, normalization: normalization)
        try ProtectedInput(data).requireApart(from: out, role: "output folder")
        var bar = ProgressBar(title: "evaluate", total: dataset.count)
        let result = try Evaluator.evaluate(network, on: dataset, batchSize: batchSize,
                                            predictionsDir: noMasks ? nil : FileSystem.joined(out, "predictions"),
                                            postProcessing: postProcessing,
                                            onProgress: { done, _ in bar.update(done); return true })
        try Evaluator.writeMetrics(result, to: out)
        try Pictures.writeEvaluationFigures(network, dataset, result: result, modelPath: model, to: out)
        print(cFormat("mean volume Dice %.4f, median %.4f, mean slice Dice %.4f, bce %.4f, dice loss %.4f over %d patients",
                      result.meanVolumeDice, result.medianVolumeDice, result.meanSliceDice, result.bce,
                      result.diceLoss, result.volumeDice.count))
        print("metrics, masks and pictures in \(out)")
    }
}
