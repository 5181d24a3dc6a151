import Testing
import UNetData
import UNetNN
import UNetTensor
import UNetTrain
import _TestSupport
import _UNetSupport

/// The training loop: files it writes, exact resume, NaN stop, evaluation outputs.
@Suite struct TrainerTests {
    func options(_ data: TemporaryFolder, out: String, epochs: Int = 3) -> TrainingOptions {
        var o = TrainingOptions(trainDir: data.file("train"), validDir: data.file("valid"), outDir: out)
        o.epochs = epochs
        o.batchSize = 2
        o.model = UNetConfig(depth: 2, nFilters: 2)
        o.seed = 5
        o.loaderWorkers = 1
        return o
    }

    func makeData() throws -> TemporaryFolder {
        let data = try TemporaryFolder()
        try TinyDataset.write(to: data.file("train"), patients: 2, slices: 3, seed: 1)
        try TinyDataset.write(to: data.file("valid"), patients: 1, slices: 4, seed: 2)
        return data
    }

    @Test func writesCheckpointsLogsAndThePostsLines() throws {
        let data = try makeData()
        let out = data.file("run")
        let history = try Trainer(options: options(data, out: out, epochs: 2)).run()
        #expect(history.count == 2 && history.allSatisfy { $0.train.loss.isFinite && $0.valid?.loss.isFinite == true })
        for name in ["model_1.safetensors", "model_2.safetensors", "best.safetensors", "log.csv", "log.json",
                     "training_state.safetensors"] {
            #expect(FileSystem.exists(FileSystem.joined(out, name)), "\(name)")
        }
        let csv = try FileSystem.readText(FileSystem.joined(out, "log.csv")).split(separator: "\n")
        #expect(csv.count == 3 && csv[0].hasPrefix("epoch,train_loss"))
        #expect(try TrainingLog.parse(FileSystem.readText(FileSystem.joined(out, "log.json")), source: "log") == history)
        let line = history[0].postLines[0]
        #expect(line.hasPrefix("Epoch 1, training: loss:") && line.contains(", bce: ") && line.contains(", dice: "))
        let model = try Checkpoint.load(FileSystem.joined(out, "model_2.safetensors"))
        #expect(model.config == UNetConfig(depth: 2, nFilters: 2))
    }

    @Test(arguments: [OptimizerKind.sgd, .adam])
    func resumeAfterAnEpochOrMidEpochGivesTheSameRun(optimizer: OptimizerKind) throws {
        let data = try makeData()
        func options(_ data: TemporaryFolder, out: String) -> TrainingOptions {
            var o = self.options(data, out: out)
            o.optimizer = optimizer
            o.learningRate = optimizer.defaultLearningRate
            return o
        }
        let straight = try Trainer(options: options(data, out: data.file("a"))).run()

        let b = options(data, out: data.file("b"))
        #expect(throws: UnetsegError.self) { try Trainer(options: b).run(onEpoch: { $0.epoch < 1 }) }
        var resumed = b
        resumed.resume = true
        try Trainer(options: resumed).run()
        let afterEpoch = try TrainingLog.parse(FileSystem.readText(FileSystem.joined(b.outDir, "log.json")), source: "b")
        #expect(afterEpoch.map(\.train) == straight.map(\.train))
        #expect(afterEpoch.map(\.valid) == straight.map(\.valid))

        let c = options(data, out: data.file("c"))
        var calls = 0
        #expect(throws: UnetsegError.self) {
            try Trainer(options: c).run(onBatch: { p in calls += 1; return !(p.epoch == 2 && p.batch == 1) })
        }
        var resumedC = c
        resumedC.resume = true
        let midEpoch = try Trainer(options: resumedC).run()
        #expect(midEpoch.map(\.train) == straight.map(\.train))
        #expect(midEpoch.map(\.valid) == straight.map(\.valid))
    }

    @Test func resumeRefusesOtherOptionsOrMissingState() throws {
        let data = try makeData()
        var o = options(data, out: data.file("r"), epochs: 1)
        o.resume = true
        #expect(throws: UnetsegError.self) { try Trainer(options: o) }
        o.resume = false
        try Trainer(options: o).run()
        o.resume = true
        o.batchSize = 3
        #expect { try Trainer(options: o) } throws: { ($0 as? UnetsegError)?.message.contains("other options") == true }
        o.batchSize = 2
        o.optimizer = .adam
        #expect { try Trainer(options: o) } throws: { ($0 as? UnetsegError)?.message.contains("other options") == true }
        // The post's options leave the fingerprint as it was before the recipe options existed, so runs saved
        // by earlier versions still resume.
        let saved = try SafeTensors.read(path: FileSystem.joined(o.outDir, "training_state.safetensors"))
        #expect(saved.metadata["options"]?.contains("optimizer") == false)
        #expect(saved.tensors.allSatisfy { $0.name.hasPrefix("momentum.") } && !saved.tensors.isEmpty)
    }

    @Test func nonFiniteLossStopsWithANumericError() throws {
        let data = try makeData()
        let o = options(data, out: data.file("nan"), epochs: 2)
        let trainer = try Trainer(options: o)
        #expect {
            // After epoch 1, poison a weight: epoch 2's first loss is NaN.
            try trainer.run(onEpoch: { _ in trainer.model.last.bias?.storage.pointer[0] = .nan; return true })
        } throws: { error in
            guard case .numeric(let message)? = error as? UnetsegError else { return false }
            return message.contains("epoch 2, batch 1") && message.contains("model_1.safetensors")
        }
        #expect(FileSystem.exists(FileSystem.joined(o.outDir, "model_1.safetensors")))
        #expect(!FileSystem.exists(FileSystem.joined(o.outDir, "model_2.safetensors")))
    }

    @Test func evaluationWritesMetricsMasksAndPictures() throws {
        let data = try makeData()
        let out = data.file("run")
        try Trainer(options: options(data, out: out, epochs: 1)).run()
        let model = try Checkpoint.load(FileSystem.joined(out, "best.safetensors"))
        let dataset = try BrainSegDataset(root: data.file("valid"))
        let evalDir = data.file("eval")
        let result = try Evaluator.evaluate(model, on: dataset, batchSize: 3, predictionsDir: FileSystem.joined(evalDir, "predictions"))
        try Evaluator.writeMetrics(result, to: evalDir)
        try Pictures.writeEvaluationFigures(model, dataset, result: result, modelPath: FileSystem.joined(out, "best.safetensors"),
                                            to: evalDir)
        #expect(result.sliceCount == 4 && result.volumeDice.count == 1)
        #expect(result.meanVolumeDice >= 0 && result.meanVolumeDice <= 1)
        let metrics = try JSONValue.parse(try FileSystem.readText(FileSystem.joined(evalDir, "metrics.json")))
        for key in ["mean_volume_dice", "median_volume_dice", "volume_dice", "mean_slice_dice", "bce", "dice_loss",
                    "mean_precision", "median_precision", "mean_sensitivity", "median_sensitivity", "mean_hausdorff95",
                    "median_hausdorff95", "mean_absolute_volume_difference", "median_absolute_volume_difference",
                    "mean_relative_volume_difference", "median_relative_volume_difference", "volumes"] {
            #expect(metrics[key] != nil, "\(key)")
        }
        let scores = try #require(metrics["volumes"]?[dataset.slices[0].patient])
        for key in ["dice", "precision", "sensitivity", "hausdorff95", "diagonal", "volume_difference",
                    "absolute_volume_difference", "relative_volume_difference", "predicted_voxels", "true_voxels"] {
            #expect(scores[key]?.doubleValue?.isFinite == true, "\(key)")
        }
        #expect(scores["dice"]?.doubleValue == result.meanVolumeDice)
        let patient = dataset.slices[0].patient
        let mask = try TIFFFile.read(FileSystem.joined(evalDir, "predictions/\(patient)/\(patient)_1_pred.tif"))
        #expect(Set(mask.samples).isSubset(of: [0, 255]))
        for png in ["predictions.png", "contours.png", "loss_curves.png", "volume_dice.png", "overlays/\(patient).png"] {
            let picture = decodePNG(try FileSystem.readBytes(FileSystem.joined(evalDir, png)))
            #expect(picture.map { $0.width > 100 && $0.height > 100 } == true, "\(png)")
        }
    }

    @Test func perfectPredictionScoresOne() {
        var overlap = SegmentationMetrics.Overlap()
        let p: [Float] = [0.9, 0.1, 0.8, 0.2], t: [Float] = [1, 0, 1, 0]
        overlap += SegmentationMetrics.Overlap(prediction: p, truth: t, count: 4)
        #expect(overlap.dice == 1)
        let half = SegmentationMetrics.Overlap(prediction: [0.9, 0.9], truth: [1, 0], count: 2)
        #expect(abs(half.dice - 2.0 / 3.0) < 1e-12)
        #expect(SegmentationMetrics.Overlap().dice == 1 && SegmentationMetrics.median([3, 1, 2, 10]) == 2.5)
    }
}
