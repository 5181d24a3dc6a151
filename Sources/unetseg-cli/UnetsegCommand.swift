import ArgumentParser
import UNetTensor
#if canImport(Glibc)
import Glibc
#endif

/// The `unetseg` command: data preparation, training, evaluation and benchmarks on the Swift modules.
@main
struct UnetsegCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unetseg",
        abstract: "Train and run the U-Net of \"Brain image segmentation with torch\" on brain MRI slices.",
        subcommands: [InfoCommand.self, SynthCommand.self, SplitCommand.self, InspectCommand.self, AugmentationGridCommand.self, TrainCommand.self, EvaluateCommand.self, PredictCommand.self, BenchCommand.self])

    /// Runs the command, after saying on stderr why UNETSEG_BLAS_CORETYPE was ignored, if it was.
    static func main() {
        if let diagnostic = BLAS.diagnostic {
            let line = Array("Warning: \(diagnostic)\n".utf8)
            _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
        }
        main(nil)
    }
}
