import Testing
import UNetData
import UNetNN
import UNetTensor
@testable import UNetTrain
import _TestSupport
import _UNetSupport

// A new run never destroys an earlier one, resume never pairs weights with a state of another step, and a
// damaged log.json never traps the loss curves (issue 17, items 2, 12 and 4). An extension of TrainerTests,
// for its options and data.
extension TrainerTests {
    @Test func aNewRunIntoAnEarlierOneIsRefusedAndChangesNothing() throws {
        let data = try makeData()
        let out = data.file("run")
        try Trainer(options: options(data, out: out, epochs: 3)).run()
        try FileSystem.writeTextAtomically("my notes", to: FileSystem.joined(out, "notes.txt"))
        let before = try FileTreeDigest.of(out)
        for everyEpoch in [true, false] {
            var again = options(data, out: out, epochs: 1)
            again.checkpointEveryEpoch = everyEpoch
            #expect(performing: { try Trainer(options: again).run() }, throws: { error in
                guard case .io(let message)? = error as? UnetsegError else { return false }
                return message.contains(out) && message.contains("overwrite")
            })
            #expect(try FileTreeDigest.of(out) == before)
        }
        // A folder holding only someone else's file is refused too.
        try FileSystem.makeDirectories(data.file("other"))
        try FileSystem.writeTextAtomically("x", to: data.file("other/readme.txt"))
        #expect(throws: UnetsegError.self) { try Trainer(options: options(data, out: data.file("other"))) }
        // resume and overwrite together are contradictory.
        var both = options(data, out: out)
        (both.resume, both.overwrite) = (true, true)
        #expect(throws: UnetsegError.self) { try Trainer(options: both) }
        #expect(try FileTreeDigest.of(out) == before)
    }

    @Test func overwriteReplacesTheEarlierRunsFilesOnly() throws {
        let data = try makeData()
        let out = data.file("run")
        try Trainer(options: options(data, out: out, epochs: 3)).run()
        try FileSystem.writeTextAtomically("my notes", to: FileSystem.joined(out, "notes.txt"))
        var again = options(data, out: out, epochs: 1)
        again.overwrite = true
        again.checkpointEveryEpoch = false
        try Trainer(options: again).run()
        #expect(try FileSystem.listDirectory(out) == ["best.safetensors", "log.csv", "log.json", "model_1.safetensors",
                                                      "notes.txt", TrainingState.fileName])
        #expect(try TrainingLog.parse(FileSystem.readText(FileSystem.joined(out, "log.json")), source: "log").count == 1)
        #expect(Trainer.isRunFile("model_12.safetensors") && !Trainer.isRunFile("model_a.safetensors")
                && !Trainer.isRunFile("notes.txt"))
    }

    @Test func resumeKeepsTheFilesOfThePartBeforeIt() throws {
        let data = try makeData()
        var o = options(data, out: data.file("run"), epochs: 3)
        o.checkpointEveryEpoch = false
        #expect(throws: UnetsegError.self) { try Trainer(options: o).run(onEpoch: { $0.epoch < 1 }) }
        o.resume = true
        try Trainer(options: o).run()
        // model_1 was written before the resume: only this trainer's own model_2 was replaced by model_3.
        let names = try FileSystem.listDirectory(o.outDir)
        #expect(names.contains("model_1.safetensors") && !names.contains("model_2.safetensors")
                && names.contains("model_3.safetensors"))
    }

    @Test func resumeRefusesWeightsNewerThanTheState() throws {
        let data = try makeData()
        var o = options(data, out: data.file("run"), epochs: 2)
        let statePath = FileSystem.joined(o.outDir, TrainingState.fileName)
        #expect(throws: UnetsegError.self) {
            try Trainer(options: o).run(onBatch: { !($0.epoch == 2 && $0.batch == 1) })
        }
        let olderState = try FileSystem.readBytes(statePath)
        o.resume = true
        #expect(throws: UnetsegError.self) {
            try Trainer(options: o).run(onBatch: { !($0.epoch == 2 && $0.batch == 2) })
        }
        // A crash after interrupted.safetensors (batch 2) was written but before the state was: the state on
        // disk is still batch 1's. Resuming from it would replay batch 2 on weights that already saw it.
        try FileSystem.writeAtomically(olderState, to: statePath)
        #expect(performing: { try Trainer(options: o) }, throws: { error in
            guard case .format(let message)? = error as? UnetsegError else { return false }
            return message.contains("interrupted.safetensors") && message.contains(statePath)
                && message.contains("2:2") && message.contains("2:1")
        })
    }

    func history(_ values: [Double], valid: [Double]? = nil) -> [EpochReport] {
        values.enumerated().map { i, v in
            EpochReport(epoch: i + 1, train: LossSummary(bce: 0.5, dice: 0.5, loss: v),
                        valid: valid.map { LossSummary(bce: 0.5, dice: 0.5, loss: $0[i]) }, learningRate: 0.1, seconds: 1)
        }
    }

    @Test func lossCurvesRefuseValuesOutsideTheirRangeNamingThem() throws {
        for bad in [-1e30, 1.7e308, .infinity, .nan, -1e3, -1e10, 2e6] {
            #expect(performing: { try Pictures.lossCurves(history([0.6, bad, 0.4])) }, throws: { error in
                guard case .format(let message)? = error as? UnetsegError else { return false }
                return message.contains("epoch 2") && message.contains("train loss")
            })
            #expect(throws: UnetsegError.self) { try Pictures.lossCurves(history([0.6, 0.5], valid: [0.7, bad])) }
        }
        let fine = try Pictures.lossCurves(history([0.9, 0.5, 0.3], valid: [1, 0.6, 0.4]))
        #expect(fine.width == 900 && fine.height == 560)
    }

    @Test func aDamagedLogBesideAModelIsAnErrorNamingIt() throws {
        let data = try makeData()
        let out = data.file("run")
        try Trainer(options: options(data, out: out, epochs: 1)).run()
        let log = FileSystem.joined(out, "log.json")
        let model = try Checkpoint.load(FileSystem.joined(out, "best.safetensors"))
        let dataset = try BrainSegDataset(root: data.file("valid"))
        let damaged = ["-1e30", "1.7e308", "-1e3", "-1e10"].map {
            "[{\"epoch\": 1, \"train\": [0.5, 0.5, \($0)], \"valid\": null, \"lr\": 0.1, \"seconds\": 1}]"
        } + ["[{\"epoch\": 1,"]  // not JSON at all (found by fuzzing the training state, which shares the parser)
        for text in damaged {
            try FileSystem.writeTextAtomically(text, to: log)
            #expect(performing: {
                try Pictures.writeEvaluationFigures(model, dataset, modelPath: FileSystem.joined(out, "best.safetensors"),
                                                    to: data.file("eval"))
            }, throws: { ($0 as? UnetsegError)?.message.contains(log) == true })
        }
    }
}
