import ArgumentParser
import UNetData
import UNetTensor
import UNetTrain

/// `unetseg split`: the post's per-patient train/validation split, without touching the source.
struct SplitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split",
        abstract: "Split patients into <out>/train and <out>/valid (links to the source) and write <out>/split.json.")

    @Option(help: "Dataset root with one folder per patient.") var data: String
    @Option(help: "Output folder (its train/, valid/ and split.json must not exist or be empty).") var out: String
    @Option(help: "Patients for validation.") var valid = 30
    @Option(help: "Seed of the choice.") var seed: UInt64 = 777
    @Flag(help: "Replace an earlier split in --out (empties its train/ and valid/, rewrites split.json).") var overwrite = false

    func run() throws {
        let patients = try PatientSplit.patients(in: data)
        let split = try PatientSplit.make(patients: patients, nValid: valid, seed: seed)
        let train = FileSystem.joined(out, "train"), validDir = FileSystem.joined(out, "valid")
        try split.applyAndRecord(root: data, trainDir: train, validDir: validDir, overwrite: overwrite)
        print("\(split.train.count) training patients in \(train), \(split.valid.count) validation patients in \(validDir)")
    }
}

/// `unetseg inspect`: decodes every slice and mask of a folder, as a check before a long run.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Decode every slice and mask under a folder and summarise it; fails on the first bad file.")

    @Argument(help: "Dataset folder (kaggle_3m layout).") var folder: String

    func run() throws {
        let dataset = try BrainSegDataset(root: folder)
        var bar = ProgressBar(title: "decode", total: dataset.count)
        var channels = Set<Int>(), bits = Set<Int>()
        for i in 0..<dataset.count {
            let raster = try TIFFFile.read(dataset.slices[i].imagePath)
            _ = try dataset.load(slice: i)
            channels.insert(raster.channels)
            bits.insert(raster.bitsPerSample)
            bar.update(i + 1)
        }
        let patients = Set(dataset.slices.map(\.patient)).count
        let lesionSlices = dataset.slices.filter { $0.lesionPixels > 0 }.count
        print("\(folder): \(patients) patients, \(dataset.count) slices, \(lesionSlices) with lesion "
              + cFormat("(%.1f%%)", 100 * Double(lesionSlices) / Double(dataset.count)))
        print("images \(dataset.width)×\(dataset.height), channels \(channels.sorted().map(String.init).joined(separator: "/")), "
              + "\(bits.sorted().map(String.init).joined(separator: "/"))-bit; masks \(dataset.width)×\(dataset.height)")
    }
}

/// `unetseg synth`: a synthetic LGG-like dataset in the kaggle_3m layout.
struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write a synthetic LGG-like MRI dataset (kaggle_3m layout) for trying the library without the real one.")

    @Option(help: "Output folder.") var out: String
    @Option(help: "Number of patients.") var patients = 110
    @Option(help: "Fewest slices per patient.") var minSlices = 20
    @Option(help: "Most slices per patient (up to 88).") var maxSlices = 40
    @Option(help: "Image side in pixels.") var size = 256
    @Option(help: "Seed.") var seed: UInt64 = 1

    func run() throws {
        let options = try SyntheticDatasetOptions(patients: patients, minSlices: minSlices, maxSlices: maxSlices,
                                                  size: size, seed: seed)
        var bar = ProgressBar(title: "synth", total: patients)
        let written = try SyntheticDataset.write(to: out, options: options, onPatient: { done, _ in bar.update(done); return true })
        print("\(written.count) patients, \(written.reduce(0) { $0 + $1.sliceCount }) slices in \(out)")
    }
}

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
        try PNGFile.write(try Pictures.augmentationGrid(image: image, mask: mask, generator: &generator), to: out)
        print("augmentation grid written to \(out)")
    }
}
