import ArgumentParser
import UNetTensor

/// The `unetseg` command: data preparation, training, evaluation and benchmarks on the Swift modules.
@main
struct UnetsegCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unetseg",
        abstract: "Train and run the U-Net of \"Brain image segmentation with torch\" on brain MRI slices.",
        subcommands: [SynthCommand.self, SplitCommand.self, InspectCommand.self, AugmentationGridCommand.self, TrainCommand.self, EvaluateCommand.self, PredictCommand.self, BenchCommand.self])
}

/// `unetseg bench`: performance tables.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure the engine's speed.", subcommands: [BenchOpsCommand.self, BenchTrainCommand.self, BenchLoaderCommand.self])
}
