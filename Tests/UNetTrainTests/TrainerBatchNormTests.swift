import Testing
import UNetData
import UNetNN
import UNetTensor
import UNetTrain
import _TestSupport
import _UNetSupport

/// The trainer with the batch-norm variant: validation runs in evaluation mode (the running statistics move
/// only on training batches) and `--resume` restores the buffers exactly.
@Suite struct TrainerBatchNormTests {
    /// `TrainerTests`' tiny run (depth 2, 4 first filters), 2 epochs, with batch norm.
    func options(_ data: TemporaryFolder, out: String) -> TrainingOptions {
        var o = TrainerTests().options(data, out: out, epochs: 2)
        o.model.batchNorm = true
        return o
    }

    func makeData() throws -> TemporaryFolder { try TrainerTests().makeData() }

    /// The state dict of a checkpoint, name → values.
    func state(_ path: String) throws -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: try Checkpoint.load(path).stateDict().map { ($0.name, $0.tensor.toArray()) })
    }

    @Test func onlyTrainingBatchesMoveTheRunningStatistics() throws {
        let data = try makeData()
        let o = options(data, out: data.file("run"))
        let trainer = try Trainer(options: o)
        try trainer.run()
        let saved = try state(FileSystem.joined(o.outDir, "model_2.safetensors"))
        let batchesPerEpoch = trainer.trainLoader.batchCount
        #expect(batchesPerEpoch >= 2)
        // Two epochs of training batches; the validation batches after each epoch did not count.
        #expect(saved["down_path.0.conv_block.conv_block.1.num_batches_tracked"] == [Float(2 * batchesPerEpoch)])
        #expect(saved["up_path.0.conv_block.conv_block.5.running_var"] != [Float](repeating: 1, count: 4))
        #expect(try Checkpoint.load(FileSystem.joined(o.outDir, "model_2.safetensors")).config.batchNorm)
    }

    @Test func resumeAfterAnEpochOrMidEpochRestoresTheBuffers() throws {
        let data = try makeData()
        let straight = try Trainer(options: options(data, out: data.file("a"))).run()
        let reference = try state(FileSystem.joined(data.file("a"), "model_2.safetensors"))

        let b = options(data, out: data.file("b"))
        #expect(throws: UnetsegError.self) { try Trainer(options: b).run(onEpoch: { $0.epoch < 1 }) }
        var resumed = b
        resumed.resume = true
        let afterEpoch = try Trainer(options: resumed).run()

        let c = options(data, out: data.file("c"))
        #expect(throws: UnetsegError.self) {
            try Trainer(options: c).run(onBatch: { p in !(p.epoch == 2 && p.batch == 1) })
        }
        var resumedC = c
        resumedC.resume = true
        let midEpoch = try Trainer(options: resumedC).run()

        for (name, history) in [("b", afterEpoch), ("c", midEpoch)] {
            #expect(history.last.map(\.train) == straight.last.map(\.train), "\(name)")
            #expect(history.last.map(\.valid) == straight.last.map(\.valid), "\(name)")
            #expect(try state(FileSystem.joined(data.file(name), "model_2.safetensors")) == reference, "\(name)")
        }
    }
}
