import Testing
import UNetData
import UNetNN
import UNetTensor
import UNetTrain
import _TestSupport
import _UNetSupport

/// Predictions and evaluation outputs never land where they could replace an input (issue 17, item 1).
@Suite struct InputProtectionTests {
    /// A dataset of two patients, its split into links, and a tiny model.
    func makeData() throws -> (folder: TemporaryFolder, data: String, model: UNet) {
        let folder = try TemporaryFolder()
        let data = folder.file("data")
        try TinyDataset.write(to: data, patients: 2, slices: 2, seed: 3)
        let split = try PatientSplit.make(patients: try PatientSplit.patients(in: data), nValid: 1, seed: 1)
        try split.applyAndRecord(root: data, trainDir: folder.file("split/train"), validDir: folder.file("split/valid"),
                                 overwrite: false)
        var generator = RandomGenerator(seed: 4)
        return (folder, data, try UNet(UNetConfig(depth: 2, nFilters: 2), generator: &generator))
    }

    func refusal(_ error: any Error, naming names: String...) -> Bool {
        guard case .invalidArgument(let message)? = error as? UnetsegError else { return false }
        return names.allSatisfy { message.contains($0) }
    }

    @Test func predictRefusesOutputsOverlappingTheInput() throws {
        let (folder, data, model) = try makeData()
        let patient = try PatientSplit.patients(in: data)[0]
        try FileSystem.createSymbolicLink(at: folder.file("alias"), pointingTo: data)
        let before = try FileTreeDigest.of(data)
        let validPatient = try FileSystem.listDirectory(folder.file("split/valid"))[0]
        let cases: [(input: String, out: String)] = [
            (data, data),                                                   // the same folder
            (FileSystem.joined(data, patient), data),                       // contains the input
            (data, FileSystem.joined(data, patient)),                       // inside the input
            (data, folder.path),                                            // contains it from above
            (data, folder.file("alias/new")),                               // inside it through a link
            (folder.file("split/valid"), data),                             // the split's links lead into data
            (folder.file("split/valid"), FileSystem.joined(data, validPatient)),
            (data, folder.file("split/valid")),                             // writing through the split's links
        ]
        for (input, out) in cases {
            #expect(performing: { try Predictor.predict(model, input: input, outDir: out) },
                    throws: { refusal($0, naming: out, input) })
            #expect(try FileTreeDigest.of(data) == before, "\(input) -> \(out)")
        }
        #expect(try FileSystem.listDirectory(FileSystem.joined(data, patient)).allSatisfy { !$0.contains("_pred") })
    }

    @Test func evaluateRefusesAPredictionsFolderOverlappingTheData() throws {
        let (folder, data, model) = try makeData()
        let before = try FileTreeDigest.of(data)
        for (root, predictions) in [(data, data), (data, FileSystem.joined(data, "p")),
                                    (folder.file("split/valid"), data), (folder.file("split/train"), folder.path)] {
            let dataset = try BrainSegDataset(root: root)
            #expect(performing: { try Evaluator.evaluate(model, on: dataset, predictionsDir: predictions) },
                    throws: { refusal($0, naming: predictions, root) })
        }
        #expect(try FileTreeDigest.of(data) == before)
    }

    @Test func predictionsAreNamedApartFromLabelsAndIgnoredByTheScanner() throws {
        let (folder, data, model) = try makeData()
        let written = try Predictor.predict(model, input: data, outDir: folder.file("pred"))
        #expect(written.count == 4 && written.allSatisfy { $0.hasSuffix("_pred.tif") })
        #expect(SliceFileName("TCGA_TT_1000_20000101_1_pred.tif") == nil)
        // Predictions copied into the dataset are not taken for slices or labels.
        let before = try BrainSegDataset(root: data).slices
        for path in written {
            let patient = FileSystem.baseName(FileSystem.parentDirectory(path))
            try FileSystem.copyFile(from: path, to: FileSystem.joined(FileSystem.joined(data, patient), FileSystem.baseName(path)))
        }
        #expect(try BrainSegDataset(root: data).slices == before)
        #expect(try Predictor.images(in: data).count == 4)
    }
}
