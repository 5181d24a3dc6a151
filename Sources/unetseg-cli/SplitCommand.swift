import ArgumentParser
import UNetData
import UNetTensor
import UNetTrain
import _UNetSupport

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
