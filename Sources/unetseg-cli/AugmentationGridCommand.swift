import ArgumentParser
import UNetData
import UNetTensor
import UNetTrain
import _UNetSupport

/// `unetseg augmentation-grid`: the post's figure of 24 random augmentations of one validation slice.
struct AugmentationGridCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "augmentation-grid",
        abstract: "Draw 24 random augmentations (resize 0.2, flip 0.5, rotate 90) of one slice to a PNG, as in the post.")

    @Option(help: "Dataset folder.") var data: String
    @Option(help: "Output PNG file.") var out: String
    @Option(help: "1-based slice index in the dataset (the post uses 77); clamped to the dataset.") var index = 77
    @Option(help: "Seed.") var seed: UInt64 = 777

    func run() throws {
        let dataset = try BrainSegDataset(root: data)
        let (image, mask) = try dataset.load(slice: min(max(index, 1), dataset.count) - 1)
        var generator = RandomGenerator(seed: seed)
        try Pictures.augmentationGrid(image: image, mask: mask, generator: &generator).write(to: out)
        print("augmentation grid written to \(out)")
    }
}
