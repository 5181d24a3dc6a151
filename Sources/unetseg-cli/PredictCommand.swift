import ArgumentParser
import UNetData
import UNetNN
import UNetTensor
import UNetTrain
import _UNetSupport

/// `unetseg predict`: masks for images without masks.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict", abstract: "Segment a slice TIFF or a folder of them; writes 0/255 mask TIFFs.",
        discussion: """
            Writes <out>/<patient>/<patient>_<n>_pred.tif for each Kaggle-named slice <patient>_<n>.tif \
            (<out>/<name>_pred.tif for other names): never named like a label (<patient>_<n>_mask.tif), so a \
            dataset scan ignores them. --out must lie outside --input (and outside every folder --input links \
            to): it is refused otherwise, so inputs are never replaced.
            """)

    @Option(help: "Model checkpoint (.safetensors).") var model: String
    @Option(help: "A slice TIFF or a folder (searched recursively; existing masks are ignored).") var input: String
    @Option(help: "Output folder, outside --input.") var out: String
    @Option(help: "Compute threads (default: one per CPU).") var threads: Int?
    @Option(help: "Recipe whose post-processing to use: post or buda2019 (none for both: largest-component measured worse on the realistic testbed).") var recipe = "post"
    @Option(help: "Post-processing of each patient's binarised volume: none, or largest-component (keep its largest 6-connected component, as Buda et al. 2019). Default: the recipe's.") var postprocess: String?
    @Option(help: "Intensity normalisation when reading: minmax, zscore or percentile (see train --normalize). Default: the one stored in the checkpoint (minmax for a checkpoint without one); a different one is refused.") var normalize: String?

    func run() throws {
        let postProcessing = try postprocess.map { name throws(UnetsegError) in try PostProcessing(named: name) }
            ?? Recipe(named: recipe).postProcessing
        if let threads { Parallel.setThreadCount(threads) }
        let (network, trained) = try Checkpoint.loadRecordingNormalization(model)
        let normalization = try Checkpoint.normalization(
            requested: try normalize.map { name throws(UnetsegError) in try IntensityNormalization(named: name) },
            trained: trained, source: model)
        var bar = ProgressBar(title: "predict", total: 1)
        let written = try Predictor.predict(network, input: input, outDir: out,
                                            postProcessing: postProcessing, normalization: normalization,
                                            onProgress: { done, total in
            if bar.total != total { bar = ProgressBar(title: "predict", total: total) }
            bar.update(done)
            return true
        })
        print("\(written.count) masks written to \(out)")
    }
}
