import UNetData
import UNetNN
import UNetTensor
import _UNetSupport

/// Everything a training run needs; the defaults are the post's.
public struct TrainingOptions: Sendable, Equatable {
    /// Folder of training patients (kaggle_3m layout).
    public var trainDir: String
    /// Folder of validation patients.
    public var validDir: String
    /// Folder for checkpoints and logs (created if missing).
    public var outDir: String
    /// Number of epochs (20).
    public var epochs = 20
    /// Slices per batch (4).
    public var batchSize = 4
    /// Peak learning rate of the one-cycle schedule and SGD's rate (0.1).
    public var learningRate: Double = 0.1
    /// SGD momentum (0.9; the one-cycle schedule cycles it between 0.95 and 0.85).
    public var momentum: Float = 0.9
    /// The optimiser the one-cycle schedule drives (the post's SGD).
    public var optimizer = OptimizerKind.sgd
    /// The model.
    public var model = UNetConfig()
    /// Weight of the dice loss in the total (0.3).
    public var diceWeight: Float = 0.3
    /// Training augmentation (`c(0.05, 15, 0.5)`), or nil for none.
    public var augmentation: AugmentationParameters? = AugmentationParameters()
    /// Lesion-weighted sampling of training slices (the post's `random_sampling = TRUE`).
    public var randomSampling = true
    /// Resize every slice to `imageSize × imageSize` when reading (nil: use the files' size, which must be the
    /// same for all slices).
    public var imageSize: Int?
    /// How slice intensities are scaled when read (the post's per-slice min-max); stored in the checkpoints.
    public var normalization = IntensityNormalization.minmax
    /// Seed of every random choice of the run (777).
    public var seed: UInt64 = 777
    /// Compute threads (nil: one per CPU).
    public var threads: Int?
    /// Background data-loading threads.
    public var loaderWorkers = 1
    /// Continue from the training state in `outDir`.
    public var resume = false
    /// Start a new run in a non-empty `outDir`, deleting the earlier run's checkpoints, state and logs
    /// first (other files stay). Without it (and without `resume`) a non-empty `outDir` is refused.
    public var overwrite = false
    /// Write `model_<epoch>.safetensors` after every epoch (the post's `torch_save` per epoch).
    public var checkpointEveryEpoch = true
    /// Train as one rank of an Open MPI job (`MPICommunicator.world()`, initialising MPI if the host has
    /// not): every rank computes its shard of each global batch of `batchSize`, rank 0 writes the files.
    public var distributed = false
    /// Check after every epoch that every rank holds bitwise the same weights and buffers (a hash exchange; on by
    /// default in debug builds).
    public var checkReplicas = _isDebugAssertConfiguration()

    /// Options for a run from `trainDir` and `validDir` into `outDir`, with the post's settings.
    public init(trainDir: String, validDir: String, outDir: String) {
        self.trainDir = trainDir
        self.validDir = validDir
        self.outDir = outDir
    }

    /// Throws unless every option is usable.
    public func validate() throws(UnetsegError) {
        try checkArgument(!trainDir.isEmpty, "no training folder given")
        try checkArgument(!outDir.isEmpty, "no output folder given")
        try checkArgument(!(resume && overwrite), "resume and overwrite exclude each other: resume continues the run in \(outDir), overwrite replaces it")
        try checkArgument(epochs >= 1 && epochs <= 100_000, "epochs must be in 1...100000, got \(epochs)")
        try checkArgument(batchSize >= 1 && batchSize <= 4096, "batch size must be in 1...4096, got \(batchSize)")
        try checkArgument(learningRate > 0 && learningRate.isFinite, "learning rate must be positive, got \(learningRate)")
        try checkArgument(momentum >= 0 && momentum < 1, "momentum must be in [0, 1), got \(momentum)")
        try checkArgument(diceWeight >= 0 && diceWeight <= 1, "dice weight must be in [0, 1], got \(diceWeight)")
        try checkArgument(threads.map { $0 >= 1 && $0 <= 1024 } ?? true, "threads must be in 1...1024")
        try checkArgument(loaderWorkers >= 0 && loaderWorkers <= DataLoader.maximumWorkers,
                    "loader workers must be in 0...\(DataLoader.maximumWorkers), got \(loaderWorkers)")
        try model.validate()
        try augmentation?.validate()
    }

    /// The run's optimiser over `parameters`: SGD with `momentum`, or Adam with PyTorch's betas (0.9, 0.999;
    /// the schedule cycles the first as it cycles SGD's momentum) and eps 1e-8; at `learningRate`.
    func makeOptimizer(_ parameters: [Tensor]) throws(UnetsegError) -> any Optimizer {
        switch optimizer {
        case .sgd: return try SGD(parameters, learningRate: Float(learningRate), momentum: momentum)
        case .adam: return try Adam(parameters, learningRate: Float(learningRate))
        }
    }

    /// The options beyond the post's that change a run, as fingerprint members: only those that differ from
    /// the post's, so that a run saved before these options existed still resumes.
    var recipeFingerprint: [(key: String, value: JSONValue)] {
        var members: [(key: String, value: JSONValue)] = []
        if optimizer != .sgd { members.append(("optimizer", .string(optimizer.rawValue))) }
        if normalization != .minmax { members.append(("normalization", .string(normalization.rawValue))) }
        return members
    }
}

/// The optimisers a training run can use.
public enum OptimizerKind: String, Sendable, CaseIterable, NamedChoice {
    /// SGD with momentum (the post's; PyTorch's rules).
    case sgd
    /// Adam (PyTorch's rules; Buda et al. 2019 trained with Adam).
    case adam

    /// What the option is called in errors.
    public static let choiceName = "optimizer"

    /// Its usual peak learning rate for the one-cycle schedule: 0.1 for SGD (the post's), 1e-3 for Adam
    /// (PyTorch's default rate; Buda et al. used a constant 1e-4 over many more epochs).
    public var defaultLearningRate: Double {
        switch self {
        case .sgd: return 0.1
        case .adam: return 1e-3
        }
    }
}
