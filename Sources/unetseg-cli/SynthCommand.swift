import ArgumentParser
import UNetData
import UNetTensor
import UNetTrain
import _UNetSupport

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
    @Option(help: "Generator style: simple (the first phantom) or realistic (MRI-like contrasts, bias, noise, lumpy lesions).")
    var style = "simple"

    func run() throws {
        guard let style = SyntheticStyle(name: style) else {
            throw ValidationError("--style must be simple or realistic, got \(style)")
        }
        let options = try SyntheticDatasetOptions(patients: patients, minSlices: minSlices, maxSlices: maxSlices,
                                                  size: size, seed: seed, style: style)
        var bar = ProgressBar(title: "synth", total: patients)
        let written = try SyntheticDataset.write(to: out, options: options, onPatient: { done, _ in bar.update(done); return true })
        print("\(written.count) patients, \(written.reduce(0) { $0 + $1.sliceCount }) slices in \(out)")
    }
}
