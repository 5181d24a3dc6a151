#if canImport(Glibc)
import Glibc
#endif
import Testing
import UNetData
import UNetNN
import UNetTensor
import UNetTrain
import _TestSupport
import _UNetSupport

/// The normalisation a model was trained with: recorded in its checkpoints, part of what a resume must match,
/// and used by evaluation and prediction unless contradicted.
@Suite struct NormalizationRecordTests {
    /// `TrainerTests`' one-epoch tiny run with `normalization`.
    func options(_ data: TemporaryFolder, out: String, _ normalization: IntensityNormalization) -> TrainingOptions {
        var o = TrainerTests().options(data, out: out, epochs: 1)
        o.normalization = normalization
        return o
    }

    func makeData() throws -> TemporaryFolder { try TrainerTests().makeData() }

    @Test func checkpointsRecordTheNormalisationAndMinMaxWritesNothingNew() throws {
        let data = try makeData()
        for normalization in IntensityNormalization.allCases {
            let out = data.file(normalization.rawValue)
            try Trainer(options: options(data, out: out, normalization)).run()
            for name in ["model_1.safetensors", "best.safetensors"] {
                let path = FileSystem.joined(out, name)
                let file = try SafeTensors.read(path: path)
                #expect(file.metadata[Checkpoint.normalizationKey] == (normalization == .minmax ? nil : normalization.rawValue))
                #expect(try Checkpoint.loadRecordingNormalization(path).normalization == normalization)
            }
        }
    }

    @Test func aRunCannotResumeWithAnotherNormalisation() throws {
        let data = try makeData()
        let out = data.file("run")
        var o = options(data, out: out, .zscore)
        o.epochs = 2
        #expect(throws: UnetsegError.self) { try Trainer(options: o).run(onEpoch: { $0.epoch < 1 }) }
        o.resume = true
        o.normalization = .percentile
        #expect { try Trainer(options: o) } throws: { ($0 as? UnetsegError)?.message.contains("cannot resume") == true }
        o.normalization = .zscore
        #expect(try Trainer(options: o).run().count == 2)
    }

    @Test func theRecordedNormalisationIsTheDefaultAndCannotBeContradicted() throws {
        #expect(try Checkpoint.normalization(requested: nil, trained: .percentile, source: "m") == .percentile)
        #expect(try Checkpoint.normalization(requested: .zscore, trained: .zscore, source: "m") == .zscore)
        #expect { try Checkpoint.normalization(requested: .minmax, trained: .zscore, source: "m.safetensors") } throws: {
            let message = ($0 as? UnetsegError)?.message ?? ""
            return message.contains("m.safetensors") && message.contains("zscore") && message.contains("minmax")
        }
        // A file that records nothing (a PyTorch state_dict) takes what is asked, minmax by default.
        #expect(try Checkpoint.normalization(requested: nil, trained: nil, source: "m") == .minmax)
        #expect(try Checkpoint.normalization(requested: .zscore, trained: nil, source: "m") == .zscore)
    }

    @Test func oldAndForeignFilesAndUnknownValues() throws {
        let folder = try TemporaryFolder()
        var generator = RandomGenerator(seed: 1)
        let model = try UNet(UNetConfig(depth: 2, nFilters: 2), generator: &generator)
        let old = folder.file("old.safetensors")
        try Checkpoint.save(model, to: old)
        #expect(try Checkpoint.loadRecordingNormalization(old).normalization == .minmax, "a checkpoint without the key")
        let foreign = SafeTensorsFile(tensors: model.stateDict().map { ($0.name, $0.tensor) })
        #expect(try Checkpoint.storedNormalization(foreign, source: "torch.safetensors") == nil)
        let odd = folder.file("odd.safetensors")
        try Checkpoint.save(model, to: odd, metadata: [Checkpoint.normalizationKey: "histogram"])
        #expect { try Checkpoint.loadRecordingNormalization(odd) } throws: {
            ($0 as? UnetsegError)?.message.contains(odd) == true
        }
    }

    func writtenMasks(_ folder: String, _ patients: [String], slices: Int) throws -> [[Float]] {
        try patients.flatMap { patient in
            try (1...slices).map { n in
                try TIFFFile.read(FileSystem.joined(FileSystem.joined(folder, patient),
                                                    SliceFileName.predictionName(patient: patient, slice: n))).samples
            }
        }
    }

    @Test func predictionNormalisesEachPatientsVolumeAsEvaluationDoes() throws {
        let folder = try TemporaryFolder()
        let data = folder.file("data")
        let slices = 3
        let patients = try TinyDataset.write(to: data, patients: 2, slices: slices, seed: 5)
        var generator = RandomGenerator(seed: 11)
        let model = try UNet(UNetConfig(depth: 2, nFilters: 2, dropout: 0), generator: &generator)
        let dataset = try BrainSegDataset(root: data, normalization: .zscore)
        // Shift the last layer's bias so that about half the voxels exceed 0.5: masks that show the input.
        let images = try Tensor.stack((0..<dataset.count).map { try dataset.load(slice: $0).image })
        model.eval()
        let probabilities = try Autograd.withNoGrad { () throws(UnetsegError) in try model(images) }.toArray().sorted()
        let median = probabilities[probabilities.count / 2]
        let bias = try #require(model.namedParameters().first { $0.name == "last.bias" }?.tensor)
        bias.storage.pointer[0] -= logf(median / (1 - median))
        try Evaluator.evaluate(model, on: dataset, predictionsDir: folder.file("evaluated"))
        try Predictor.predict(model, input: data, outDir: folder.file("zscore"), normalization: .zscore)
        try Predictor.predict(model, input: data, outDir: folder.file("minmax"))
        let evaluated = try writtenMasks(folder.file("evaluated"), patients, slices: slices)
        #expect(try writtenMasks(folder.file("zscore"), patients, slices: slices) == evaluated)
        #expect(try writtenMasks(folder.file("minmax"), patients, slices: slices) != evaluated)
    }
}
