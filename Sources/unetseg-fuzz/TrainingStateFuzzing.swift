import UNetTensor
import UNetTrain

/// The training-state file that `--resume` reads, arbitrary bytes: a state or an error naming the file.
enum TrainingStateFuzzing {
    static func run(_ input: [UInt8], scratch: ScratchFolder) throws(FuzzViolation) {
        let path = scratch.file(TrainingState.fileName)
        try ScratchFolder.write(input, to: path)
        do { _ = try TrainingState.load(from: path) } catch { try requireNamed(path, in: error) }
    }
}
