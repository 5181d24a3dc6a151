#if canImport(Glibc)
import Glibc
#endif
import UNetData
import UNetNN
import UNetTensor
import _UNetSupport

/// Progress of one training batch, for progress bars and callbacks.
public struct BatchProgress: Sendable {
    /// 1-based epoch.
    public var epoch: Int
    /// 1-based batch within the epoch.
    public var batch: Int
    /// Batches per epoch.
    public var batchCount: Int
    /// This batch's losses.
    public var losses: LossSummary
    /// Mean losses of the epoch so far.
    public var runningMean: LossSummary
    /// Training slices per second over the epoch so far.
    public var slicesPerSecond: Double
}

/// The post's training loop: per batch zero-grad, forward, BCE + dice loss, backward, SGD step and
/// one-cycle step; per epoch the mean losses on the training and validation sets, a checkpoint
/// (`model_<epoch>.safetensors`, `best.safetensors` by validation loss), `log.csv`/`log.json` and the training
/// state for `resume`. Everything random is keyed by `options.seed` alone, used as it is by every part:
/// the model is `UNet(config, generator: RandomGenerator(seed: seed))` (as `unetseg_model_create` with that
/// seed), and both datasets and the training loader take `seed` (they draw distinct streams from it). So the
/// post's loop written by hand with the same seed in each part gives exactly the losses of this trainer.
public final class Trainer {
    /// The run's options.
    public let options: TrainingOptions
    /// The model being trained.
    public let model: UNet
    /// SGD with momentum (the post's) or Adam.
    public let optimizer: any Optimizer
    /// One-cycle schedule stepped after every batch.
    public let scheduler: OneCycleLR
    /// Training batches (lesion-weighted sampling and augmentation as configured).
    public let trainLoader: DataLoader
    /// Validation batches (no augmentation, in order), or nil without a validation folder.
    public let validLoader: DataLoader?
    /// Epochs finished so far (including those before a resume).
    public private(set) var history: [EpochReport] = []
    /// The ranks training this model (one process unless `options.distributed`).
    public let communicator: any Communicator
    /// Every rank's weight hash after the last epoch, when `options.checkReplicas` (all equal, or the
    /// epoch threw).
    public private(set) var replicaHashes: [UInt64] = []
    /// Whether this process writes the run's files (rank 0).
    public var isWriter: Bool { communicator.rank == 0 }
    private let gradientBuffers = RankOrderSumBuffers()
    /// The fixed-order sum of the model buffers' weighted mean (batch norm's running statistics).
    private let modelBufferSums = RankOrderSumBuffers()

    private var nextEpoch = 1
    private var nextBatch = 0
    private var partialLosses: [LossSummary] = []
    /// The per-epoch model file this trainer wrote last: the only one `checkpointEveryEpoch == false` may
    /// delete, so nothing written before (an earlier run, the part before a resume) is ever deleted.
    private var lastEpochFileWritten: String?

    /// Prepares a run: opens both datasets, builds (or, with `options.resume`, restores) model, optimiser
    /// and schedule, and creates `options.outDir`. A non-empty `outDir` is refused (`.io`, naming it)
    /// unless `options.resume` continues the run in it or `options.overwrite` replaces it (the earlier
    /// run's files, `isRunFile`, are deleted first).
    ///
    /// With `options.distributed` (or a `communicator` of several ranks) this is one rank of a run: every
    /// rank opens the folders and loads its shard of each batch; only rank 0 prepares and writes the run
    /// folder. A failure on any rank makes every rank throw it (`Communicator.agree`).
    public init(options: TrainingOptions, communicator: (any Communicator)? = nil) throws(UnetsegError) {
        let ranks: any Communicator
        if let communicator { ranks = communicator }
        else if options.distributed { ranks = try MPICommunicator.world() }
        else { ranks = SingleProcessCommunicator() }
        self.communicator = ranks
        do {
            try options.validate()
            self.options = options
            let shard = try BatchShard(rank: ranks.rank, ranks: ranks.size)
            if let threads = options.threads { Parallel.setThreadCount(threads) }
            let trainSet = try BrainSegDataset(root: options.trainDir, augmentation: options.augmentation,
                                               randomSampling: options.randomSampling, seed: options.seed,
                                               size: options.imageSize, normalization: options.normalization)
            let (h, w) = (trainSet.height, trainSet.width)
            let (memory, overflow) = options.model.estimatedMemory(batch: options.batchSize, height: h, width: w,
                                                                   training: true)
                .addingReportingOverflow(DataLoader.estimatedMemory(itemElements: 4 * h * w,
                                                                    batchSize: options.batchSize,
                                                                    workers: options.loaderWorkers))
            try MemoryBudget.require(overflow ? Int.max : memory, for: "training on batches of \(options.batchSize) "
                + "images of \(h)x\(w) with \(options.loaderWorkers) loader workers")
            trainLoader = try DataLoader(source: trainSet, batchSize: options.batchSize, shuffle: false,
                                         workers: options.loaderWorkers, seed: options.seed, shard: shard)
            if options.validDir.isEmpty {
                validLoader = nil
            } else {
                let validSet = try BrainSegDataset(root: options.validDir, augmentation: nil, randomSampling: false,
                                                   seed: options.seed, size: options.imageSize,
                                                   normalization: options.normalization)
                validLoader = try DataLoader(source: validSet, batchSize: options.batchSize,
                                             workers: options.loaderWorkers, shard: shard)
            }
            var modelGenerator = RandomGenerator(seed: options.seed)
            model = try UNet(options.model, generator: &modelGenerator)
            optimizer = try options.makeOptimizer(model.parameters)
            scheduler = try OneCycleLR(optimizer: optimizer, maxLR: options.learningRate, epochs: options.epochs,
                                       stepsPerEpoch: trainLoader.batchCount)
            if ranks.rank == 0 {
                if !options.resume { try Trainer.prepareNewRunFolder(options.outDir, overwrite: options.overwrite) }
                try FileSystem.makeDirectories(options.outDir)
            }
            if options.resume { try restore() }
        } catch {
            try ranks.agree(error)
            throw error
        }
        try ranks.agree(nil)
    }

    /// Whether `name` is one of the files a run writes into its folder: `model_<epoch>.safetensors`,
    /// `best.safetensors`, `interrupted.safetensors`, the training state, `log.csv` and `log.json`.
    public static func isRunFile(_ name: String) -> Bool {
        if ["best.safetensors", "interrupted.safetensors", TrainingState.fileName, "log.csv", "log.json"].contains(name) {
            return true
        }
        guard name.hasPrefix("model_") && name.hasSuffix(".safetensors") else { return false }
        let epoch = name.dropFirst("model_".count).dropLast(".safetensors".count)
        return !epoch.isEmpty && epoch.allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// Refuses a non-empty run folder unless `overwrite`, which deletes the earlier run's files in it.
    private static func prepareNewRunFolder(_ folder: String, overwrite: Bool) throws(UnetsegError) {
        guard FileSystem.exists(folder) else { return }
        guard FileSystem.isDirectory(folder) else { throw .io("run folder \(folder) exists and is not a folder") }
        let entries = try FileSystem.listDirectory(folder)
        guard !entries.isEmpty else { return }
        guard overwrite else {
            throw .io("run folder \(folder) is not empty (an earlier run?); resume to continue it, overwrite to replace it, or choose another folder")
        }
        for name in entries where isRunFile(name) { try FileSystem.removeTree(FileSystem.joined(folder, name)) }
    }

    /// The options that must be the same to resume a run, as JSON text.
    var fingerprint: String {
        let o = options
        let augmentation: JSONValue = o.augmentation.map {
            [.number(Double($0.scale)), .number(Double($0.angle)), .number(Double($0.flip))]
        } ?? .null
        var json: JSONValue = [
            "epochs": .number(Double(o.epochs)), "batch_size": .number(Double(o.batchSize)),
            "lr": .number(o.learningRate), "momentum": .number(Double(o.momentum)),
            "model": Checkpoint.configJSON(o.model), "dice_weight": .number(Double(o.diceWeight)),
            "augmentation": augmentation, "random_sampling": .bool(o.randomSampling),
            "seed": .string(String(o.seed)), "train_slices": .number(Double(trainLoader.itemCount)),
            "image_size": o.imageSize.map { .number(Double($0)) } ?? .null,
        ]
        if case .object(let members) = json { json = .object(members + o.recipeFingerprint) }
        return json.serialized(pretty: false)
    }

    private func path(_ name: String) -> String { FileSystem.joined(options.outDir, name) }

    private func restore() throws(UnetsegError) {
        let statePath = path(TrainingState.fileName)
        guard FileSystem.exists(statePath) else {
            throw .invalidArgument("nothing to resume: \(statePath) does not exist")
        }
        let state = try TrainingState.load(from: statePath)
        guard state.fingerprint == fingerprint else {
            throw .invalidArgument("cannot resume: \(statePath) was written with other options (\(state.fingerprint))")
        }
        let weightsPath = path(state.modelFile)
        let weights = try SafeTensors.read(path: weightsPath)
        let held = weights.metadata[TrainingState.positionKey]
        guard held == state.position else {
            throw .format("cannot resume exactly: \(weightsPath) holds \(held.map { "epoch:batch \($0)" } ?? "no resume position") but \(statePath) continues at epoch:batch "
                          + "\(state.position) (the run stopped while saving?); start again with overwrite")
        }
        let saved = try Checkpoint.model(from: weights, source: weightsPath, config: options.model)
        try model.loadStateDict(saved.stateDict())
        try optimizer.restore(state.optimizerState, parameterNames: model.namedParameters().map(\.name), source: statePath)
        try checkArgument(state.schedulerStep <= scheduler.totalSteps, "\(statePath): scheduler step past the end")
        while scheduler.stepCount < state.schedulerStep { try scheduler.step() }
        model.dropoutRandomness.generator = state.dropout
        nextEpoch = state.epoch
        nextBatch = state.batch
        partialLosses = state.partialLosses
        history = state.history
    }

    /// Where the run stands (next epoch and batch), as `TrainingState.position`.
    private var position: String { TrainingState.position(epoch: nextEpoch, batch: nextBatch) }

    private func saveState(modelFile: String) throws(UnetsegError) {
        try TrainingState(epoch: nextEpoch, batch: nextBatch, schedulerStep: scheduler.stepCount,
                          dropout: model.dropoutRandomness.generator, partialLosses: partialLosses,
                          history: history, modelFile: modelFile, fingerprint: fingerprint,
                          optimizerState: optimizer.state(parameterNames: model.namedParameters().map(\.name)))
            .save(to: path(TrainingState.fileName))
    }

    /// Runs the remaining epochs. `onBatch` sees every training batch and `onEpoch` every finished epoch;
    /// either returning false, or `shouldStop()` returning true after a batch, stops the run at the end of
    /// that batch: the state is saved (`interrupted.safetensors`) and `.cancelled` is thrown. A non-finite
    /// loss throws `.numeric`; the last epoch's checkpoint is kept.
    @discardableResult
    public func run(onBatch: (BatchProgress) -> Bool = { _ in true },
                    onEpoch: (EpochReport) -> Bool = { _ in true },
                    shouldStop: () -> Bool = { false }) throws(UnetsegError) -> [EpochReport] {
        while nextEpoch <= options.epochs {
            let epoch = nextEpoch
            let started = monotonicSeconds()
            model.train()
            let iterator = trainLoader.makeIterator(epoch: epoch, startingBatch: nextBatch)
            var slices = 0
            while let batch = try agreedBatch(from: iterator) {
                let losses = try trainStep(batch)
                guard losses.loss.isFinite else {
                    let last = history.last.map { "model_\($0.epoch).safetensors" } ?? "none yet"
                    throw .numeric("loss became \(losses.loss) in epoch \(epoch), batch \(nextBatch + 1); last good checkpoint: \(last)")
                }
                partialLosses.append(losses)
                slices += trainLoader.itemsInBatch(nextBatch)
                nextBatch += 1
                let progress = BatchProgress(epoch: epoch, batch: nextBatch, batchCount: trainLoader.batchCount,
                                             losses: losses, runningMean: LossSummary(meanOf: partialLosses),
                                             slicesPerSecond: Double(slices) / max(1e-9, monotonicSeconds() - started))
                let proceed = onBatch(progress)
                if try communicator.agree(nil, stop: !proceed || shouldStop()) {
                    try writing { () throws(UnetsegError) in
                        try Checkpoint.save(model, to: path("interrupted.safetensors"),
                                            metadata: checkpointMetadata([TrainingState.positionKey: position]))
                        try saveState(modelFile: "interrupted.safetensors")
                    }
                    throw .cancelled("training stopped in epoch \(epoch) after batch \(nextBatch); state saved in \(options.outDir) (resume to continue)")
                }
            }
            let train = LossSummary(meanOf: partialLosses)
            let valid = try validLoader.map { loader throws(UnetsegError) in try evaluateLosses(loader) }
            let report = EpochReport(epoch: epoch, train: train, valid: valid, learningRate: scheduler.learningRate,
                                     seconds: monotonicSeconds() - started)
            history.append(report)
            nextEpoch += 1
            nextBatch = 0
            partialLosses = []
            if options.checkReplicas { replicaHashes = try communicator.checkReplicasIdentical(model.stateDict().map(\.tensor)) }
            try writing { () throws(UnetsegError) in try writeEpochFiles(report) }
            if try communicator.agree(nil, stop: !onEpoch(report)) {
                throw .cancelled("training stopped after epoch \(epoch); state saved in \(options.outDir) (resume to continue)")
            }
        }
        return history
    }

    /// The next batch of `iterator` (this rank's shard), or nil after the last; a failure to read it on any
    /// rank throws on every rank.
    private func agreedBatch(from iterator: DataLoader.Iterator) throws(UnetsegError) -> DataLoader.Batch? {
        var batch: DataLoader.Batch?
        var failure: UnetsegError?
        do { batch = try iterator.next() } catch { failure = error }
        try communicator.agree(failure)
        return batch
    }

    /// Runs `write` on the writing rank (rank 0), then lets every rank know whether it failed.
    private func writing(_ write: () throws(UnetsegError) -> Void) throws(UnetsegError) {
        var failure: UnetsegError?
        if isWriter {
            do { try write() } catch { failure = error }
        }
        try communicator.agree(failure)
    }

    /// `metadata` and what the run's checkpoints record beyond the model: its normalisation
    /// (`Checkpoint.normalizationMetadata`).
    private func checkpointMetadata(_ metadata: [String: String]) -> [String: String] {
        metadata.merging(Checkpoint.normalizationMetadata(options.normalization)) { _, recorded in recorded }
    }

    private func writeEpochFiles(_ report: EpochReport) throws(UnetsegError) {
        let modelFile = "model_\(report.epoch).safetensors"
        try Checkpoint.save(model, to: path(modelFile),
                            metadata: checkpointMetadata(["epoch": String(report.epoch), TrainingState.positionKey: position]))
        let bestLoss = { (r: EpochReport) in r.valid?.loss ?? r.train.loss }
        if history.dropLast().allSatisfy({ bestLoss($0) > bestLoss(report) }) {
            try Checkpoint.save(model, to: path("best.safetensors"), metadata: checkpointMetadata(["epoch": String(report.epoch)]))
        }
        try saveState(modelFile: modelFile)
        try FileSystem.writeTextAtomically(TrainingLog.csv(history), to: path("log.csv"))
        try FileSystem.writeTextAtomically(TrainingLog.json(history), to: path("log.json"))
        if !options.checkpointEveryEpoch, let previous = lastEpochFileWritten, previous != modelFile {
            unlink(path(previous))
        }
        lastEpochFileWritten = modelFile
    }

    /// One optimisation step on `batch`, returning its losses (of the global batch, in a distributed run).
    func trainStep(_ batch: DataLoader.Batch) throws(UnetsegError) -> LossSummary {
        guard communicator.size > 1 else { return try singleProcessStep(batch) }
        optimizer.zeroGrad()
        let losses = try shardLosses(batch, batchNumber: nextBatch, loader: trainLoader)
        guard losses.summary.loss.isFinite else { return losses.summary }
        var failure: UnetsegError?
        do { try losses.local?.backward() } catch { failure = error }
        try communicator.agree(failure)
        try communicator.sumGradients(of: model.parameters, buffers: gradientBuffers)
        try communicator.averageBuffers(model.namedBuffers().map(\.tensor), items: batch.indices.count,
                                        sums: modelBufferSums)
        optimizer.step()
        try scheduler.step()
        return losses.summary
    }

    /// The one-process step: forward, the post's loss, backward, SGD and one-cycle steps.
    private func singleProcessStep(_ batch: DataLoader.Batch) throws(UnetsegError) -> LossSummary {
        optimizer.zeroGrad()
        let output = try model(batch.images)
        if output.containsNonFinite { return LossSummary(bce: .nan, dice: .nan, loss: .nan) }
        let loss = try segmentationLoss(output, batch.masks, diceWeight: options.diceWeight)
        let summary = LossSummary(bce: Double(try loss.bce.item()), dice: Double(try loss.dice.item()),
                                  loss: Double(try loss.total.item()))
        guard summary.loss.isFinite else { return summary }
        try loss.total.backward()
        optimizer.step()
        try scheduler.step()
        return summary
    }

    /// This rank's forward pass on its shard of global batch `batchNumber` of `loader` and the global
    /// batch's loss (`GlobalBatchLoss`). Dropout draws the one-process masks of the shard's items, and every
    /// rank then continues from rank 0's dropout stream (a rank with an empty shard ran no dropout).
    private func shardLosses(_ batch: DataLoader.Batch, batchNumber: Int, loader: DataLoader) throws(UnetsegError) -> GlobalBatchLoss {
        let globalItems = loader.itemsInBatch(batchNumber)
        model.dropoutRandomness.shard = (loader.shard.range(ofBatchOf: globalItems), globalItems)
        defer { model.dropoutRandomness.shard = nil }
        var partial: GlobalBatchLoss.Partial?
        var failure: UnetsegError?
        do {
            if !batch.indices.isEmpty { partial = try GlobalBatchLoss.partial(try model(batch.images), batch.masks) }
        } catch {
            failure = error
        }
        try communicator.agree(failure)
        var position = [model.dropoutRandomness.generator.position]
        try communicator.broadcast(&position, from: 0)
        model.dropoutRandomness.generator = RandomGenerator(seed: model.dropoutRandomness.generator.seed, position: position[0])
        return try GlobalBatchLoss(partial, diceWeight: options.diceWeight, communicator: communicator)
    }

    /// Mean losses over `loader` in evaluation mode without recording a graph (in a distributed run, each
    /// rank computes its shard of every batch and the batch's losses are the global ones).
    func evaluateLosses(_ loader: DataLoader) throws(UnetsegError) -> LossSummary {
        model.eval()
        defer { model.train() }
        var losses: [LossSummary] = []
        let iterator = loader.makeIterator(epoch: 0)
        var batchNumber = 0
        while let batch = try agreedBatch(from: iterator) {
            if communicator.size > 1 {
                let loss = try Autograd.withNoGrad { () throws(UnetsegError) in
                    try shardLosses(batch, batchNumber: batchNumber, loader: loader)
                }
                losses.append(loss.summary)
            } else {
                let loss = try Autograd.withNoGrad { () throws(UnetsegError) in
                    try segmentationLoss(try model(batch.images), batch.masks, diceWeight: options.diceWeight)
                }
                losses.append(LossSummary(bce: Double(try loss.bce.item()), dice: Double(try loss.dice.item()),
                                          loss: Double(try loss.total.item())))
            }
            batchNumber += 1
        }
        return LossSummary(meanOf: losses)
    }
}
