import ArgumentParser
import UNetData
import UNetNN
import UNetTensor
import UNetTrain

/// `unetseg train`: the post's training loop on two folders of patients.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the U-Net on kaggle_3m-style folders (defaults are the post's).",
        discussion: """
            Writes model_<epoch>.safetensors every epoch, best.safetensors (lowest validation loss), log.csv, \
            log.json and training_state.safetensors into --out. Ctrl-C stops at the end of the batch and saves; \
            --resume continues exactly where the run stopped. A non-empty --out is refused unless --resume \
            continues the run in it or --overwrite replaces it (deleting that run's checkpoints, state and logs).

            Under Open MPI's mpirun (mpirun -np N unetseg train ..., detected by OMPI_COMM_WORLD_SIZE) the N \
            processes train one model: --batch-size is the global batch, each rank computes its shard of it, \
            and rank 0 alone prints and writes the run folder (the others print only errors). Without \
            --threads each rank takes its share of the machine's CPUs.

            --recipe buda2019 is the combination of Buda et al. 2019's choices that measured best on the realistic \
            testbed at 256x256 (README): their batch-norm U-Net without dropout (--batch-norm --dropout 0), Adam \
            (peak lr 0.001), per-volume percentile normalisation (--normalize percentile) and the post's loss. \
            Their dice-only loss (--dice-weight 1) and largest-component post-processing (evaluate and predict \
            --postprocess) measured worse there and stay separate options. Options given explicitly override \
            the recipe (--no-batch-norm turns its batch norm off).

            --normalize and --batch-norm are stored in the checkpoints: evaluate and predict read data the same \
            way and build the same model by default.
            """)

    @Option(help: "Folder of training patients.") var train: String
    @Option(help: "Folder of validation patients (\"\" for none).") var valid: String
    @Option(help: "Run folder for checkpoints and logs.") var out: String
    @Option(help: "Epochs.") var epochs = 20
    @Option(help: "Slices per batch.") var batchSize = 4
    @Option(help: "Choices of a whole recipe: post (SGD, dropout 0.6, per-slice min-max) or buda2019 (batch-norm U-Net without dropout, Adam, per-volume percentile normalisation: the choices of Buda et al. 2019 that measured best together). Options given explicitly override it.") var recipe = "post"
    @Option(help: "Peak learning rate (one-cycle max_lr; default 0.1 for sgd, 0.001 for adam).") var lr: Double?
    @Option(help: "Optimizer driven by the one-cycle schedule: sgd (momentum 0.9, the post's) or adam (PyTorch's Adam, betas 0.9 and 0.999, eps 1e-8; Buda et al. 2019). Default: the recipe's.") var optimizer: String?
    @Option(help: "U-Net depth.") var depth = 5
    @Option(help: "log2 of the first block's channels.") var filters = 6
    @Option(help: "Dropout probability. Default: the recipe's (0.6 for post, 0 for buda2019).") var dropout: Float?
    @Flag(inversion: .prefixedNo, help: "Batch norm after every 3×3 convolution (conv without bias → BatchNorm2d → ReLU: Buda et al. 2019's U-Net), or not. The checkpoint records it; evaluate and predict need no flag. Default: the recipe's (none for post, batch norm for buda2019).")
    var batchNorm: Bool?
    @Option(help: "Weight w of the dice loss in w·dice + (1−w)·bce, in [0, 1]; 1 is the dice-only loss of Buda et al. 2019. Default: the recipe's (0.3 for post).") var diceWeight: Float?
    @Option(help: "Augmentation scale,angle,flip, or \"none\".") var augment = "0.05,15,0.5"
    @Flag(help: "Visit training slices in order instead of lesion-weighted sampling.") var noRandomSampling = false
    @Option(help: "Resize every slice to N×N when reading (default: keep the files' size).") var resize: Int?
    @Option(help: "Intensity normalisation when reading: minmax (each slice scaled to [0, 1], the post's), zscore (each channel z-scored over the patient's volume) or percentile (the volume clipped to its 10th and 99th percentiles, then z-scored per channel; Buda et al. 2019). Stored in the checkpoints. Default: the recipe's (minmax for post, percentile for buda2019).") var normalize: String?
    @Option(help: "Seed of every random choice.") var seed: UInt64 = 777
    @Option(help: "Compute threads (default: one per CPU).") var threads: Int?
    @Option(help: "Data-loading threads.") var workers = 1
    @Flag(help: "Continue the run saved in --out.") var resume = false
    @Flag(help: "Start a new run in a non-empty --out, deleting the earlier run's checkpoints, state and logs.") var overwrite = false
    @Flag(help: "Check after every epoch that all ranks hold the same weights and print their hashes (always on in debug builds).")
    var checkReplicas = false

    func run() throws {
        var options = TrainingOptions(trainDir: train, validDir: valid, outDir: out)
        options.epochs = epochs
        options.batchSize = batchSize
        try Recipe(named: recipe).apply(to: &options)
        if let optimizer {
            options.optimizer = try OptimizerKind(named: optimizer)
            options.learningRate = options.optimizer.defaultLearningRate
        }
        if let lr { options.learningRate = lr }
        if let diceWeight { options.diceWeight = diceWeight }
        if let normalize { options.normalization = try IntensityNormalization(named: normalize) }
        options.model.depth = depth
        options.model.nFilters = filters
        if let dropout { options.model.dropout = dropout }
        if let batchNorm { options.model.batchNorm = batchNorm }
        options.augmentation = try AugmentationParameters(parsing: augment)
        options.randomSampling = !noRandomSampling
        options.seed = seed
        options.imageSize = resize
        options.threads = threads
        options.loaderWorkers = workers
        options.resume = resume
        options.overwrite = overwrite
        options.distributed = MPICommunicator.launchedByMPIRun
        options.checkReplicas = options.checkReplicas || checkReplicas
        let trainer = try Trainer(options: options)
        if threads == nil && trainer.communicator.size > 1 {
            Parallel.setThreadCount(max(1, Parallel.onlineProcessors / trainer.communicator.localSize))
        }
        let speaks = trainer.isWriter
        let threadCount = Parallel.threadCount
        if speaks {
            print("training \(trainer.model.parameterCount) parameters on \(trainer.trainLoader.itemCount) slices"
                  + " (\(trainer.trainLoader.batchCount) batches/epoch), BLAS \(BLAS.coreName), on"
                  + " \(trainer.communicator.rankDescription) × \(threadCount) thread\(threadCount == 1 ? "" : "s")")
        }
        Interrupt.install()
        var bar = ProgressBar(title: "batch", total: trainer.trainLoader.batchCount)
        try trainer.run(
            onBatch: { p in
                if speaks {
                    bar.update(p.batch, detail: cFormat("epoch %d/%d loss %.4f %.1f slices/s", p.epoch, epochs,
                                                        p.runningMean.loss, p.slicesPerSecond))
                }
                return true
            },
            onEpoch: { report in
                guard speaks else { return true }
                for line in report.postLines { print("\n" + line) }
                if options.checkReplicas {
                    print("weights identical on \(trainer.communicator.rankDescription): "
                          + trainer.replicaHashes.map { String($0, radix: 16) }.joined(separator: " "))
                }
                return true
            },
            shouldStop: { Interrupt.isRequested })
        if speaks { print("\ncheckpoints and log in \(out)") }
    }
}

extension AugmentationParameters {
    /// Parses `scale,angle,flip` (e.g. `0.05,15,0.5`); "none" gives nil.
    init?(parsing text: String) throws {
        if text == "none" { return nil }
        let parts = text.split(separator: ",").map { Float(String($0.filter { $0 != " " })) }
        guard parts.count == 3, let s = parts[0], let a = parts[1], let f = parts[2] else {
            throw ValidationError("--augment must be scale,angle,flip (e.g. 0.05,15,0.5) or none, got \(text)")
        }
        self.init(scale: s, angle: a, flip: f)
        try validate()
    }
}
