import CUNetSegTypes
import UNetData
import UNetNN
import UNetTensor
import UNetTrain
import _UNetSupport

// The post's whole training run in one call (the Trainer the CLI uses), with callbacks per batch and
// per epoch.

extension unetseg_loss_values {
    /// The three means of `summary`.
    init(_ summary: LossSummary) {
        self.init(bce: summary.bce, dice: summary.dice, loss: summary.loss)
    }

    /// NaN for all three (no validation).
    static let missing = unetseg_loss_values(bce: .nan, dice: .nan, loss: .nan)
}

extension unetseg_batch_progress {
    /// The C view of the trainer's batch progress.
    init(_ progress: BatchProgress) {
        self.init(epoch: Int32(clamping: progress.epoch), batch: Int32(clamping: progress.batch),
                  batch_count: Int32(clamping: progress.batchCount), losses: unetseg_loss_values(progress.losses),
                  running_mean: unetseg_loss_values(progress.runningMean), slices_per_second: progress.slicesPerSecond)
    }
}

extension unetseg_epoch_metrics {
    /// The C view of an epoch's report.
    init(_ report: EpochReport) {
        self.init(epoch: Int32(clamping: report.epoch), train: unetseg_loss_values(report.train),
                  has_valid: report.valid != nil, valid: report.valid.map(unetseg_loss_values.init) ?? .missing,
                  lr: report.learningRate, seconds: report.seconds)
    }
}

extension unetseg_augmentation_params {
    /// The C view of an optional augmentation (disabled with the post's values when nil).
    init(_ augmentation: AugmentationParameters?) {
        guard let augmentation else { self.init(postsValuesEnabled: false); return }
        self.init(enabled: true, scale: augmentation.scale, angle: augmentation.angle, flip: augmentation.flip)
    }
}

extension unetseg_train_params {
    /// The trainer's options these parameters describe, validated (the folders must be given; model.seed
    /// is ignored).
    func validatedOptions() throws(UnetsegError) -> TrainingOptions {
        var options = TrainingOptions(trainDir: try pathArgument(train_dir, "params->train_dir"),
                                      validDir: try optionalPathArgument(valid_dir, "params->valid_dir") ?? "",
                                      outDir: try pathArgument(out_dir, "params->out_dir"))
        options.epochs = Int(epochs)
        options.batchSize = Int(batch_size)
        options.learningRate = lr
        options.momentum = momentum
        switch optimizer {
        case 0: options.optimizer = .sgd
        case 1: options.optimizer = .adam
        default: throw .invalidArgument("params->optimizer must be 0 (SGD) or 1 (Adam), got \(optimizer)")
        }
        options.model = try model.validatedConfig()
        options.diceWeight = dice_weight
        options.augmentation = try augmentation.validated()
        options.randomSampling = random_sampling
        options.seed = seed
        try checkArgument(threads >= 0, "threads must be 0 (keep the current setting) or in 1...1024, got \(threads)")
        options.threads = threads == 0 ? nil : Int(threads)
        options.loaderWorkers = Int(loader_workers)
        options.resume = resume
        options.checkpointEveryEpoch = checkpoint_every_epoch
        options.overwrite = overwrite
        options.distributed = distributed
        options.normalization = try IntensityNormalization(code: normalization, "params->normalization")
        try options.validate()
        return options
    }

    /// Trains as these parameters (validated) say, calling `onBatch` after every batch and `onEpoch` after
    /// every epoch (either returning false stops the run) and logging the post's epoch lines: the work of
    /// unetseg_train. Returns the trained model and every epoch's metrics.
    func train(onBatch: (unetseg_batch_progress) -> Bool, onEpoch: (unetseg_epoch_metrics) -> Bool)
        throws(UnetsegError) -> (model: ModelHandle, history: [unetseg_epoch_metrics]) {
        let options = try validatedOptions()
        let trainer = try Trainer(options: options)
        let speaks = trainer.isWriter
        if speaks {
            Log.emit(UNETSEG_LOG_INFO, "training \(trainer.model.parameterCount) parameters on \(trainer.trainLoader.itemCount) slices (\(trainer.trainLoader.batchCount) batches per epoch) into \(options.outDir) on \(trainer.communicator.rankDescription)")
        }
        let history = try trainer.run(
            onBatch: { progress in onBatch(unetseg_batch_progress(progress)) },
            onEpoch: { report in
                if speaks { for line in report.postLines { Log.emit(UNETSEG_LOG_INFO, line) } }
                return onEpoch(unetseg_epoch_metrics(report))
            })
        return (ModelHandle(trainer.model, seed: -1, normalization: options.normalization), history.map(unetseg_epoch_metrics.init))
    }
}

/// The post's run: 20 epochs of batches of 4, one-cycle up to lr 0.1 with SGD momentum 0.9 (optimizer 0),
/// the post's model, loss 0.3 * dice + 0.7 * bce, augmentation (0.05, 15, 0.5), lesion-weighted sampling,
/// seed 777, the current threads, 1 loader thread, no resume, no overwrite, a checkpoint per epoch, one
/// process, normalization 0 (min-max per slice). The three folders are NULL: set train_dir and out_dir (and valid_dir for validation losses).
@c public func unetseg_train_default_params() -> unetseg_train_params {
    let post = TrainingOptions(trainDir: "", validDir: "", outDir: "")
    return unetseg_train_params(
        train_dir: nil, valid_dir: nil, out_dir: nil, epochs: Int32(post.epochs), batch_size: Int32(post.batchSize),
        lr: post.learningRate, momentum: post.momentum, model: unetseg_model_params(post.model, seed: -1),
        dice_weight: post.diceWeight, augmentation: unetseg_augmentation_params(post.augmentation),
        random_sampling: post.randomSampling, seed: post.seed, threads: 0, loader_workers: Int32(post.loaderWorkers),
        resume: post.resume, checkpoint_every_epoch: post.checkpointEveryEpoch, overwrite: post.overwrite,
        distributed: post.distributed, optimizer: 0, normalization: post.normalization.code)
}

/// Trains the post's U-Net on params->train_dir as the post and the unetseg CLI do: per batch zero_grad,
/// forward, loss, backward, SGD step and one-cycle step; per epoch the mean losses on both folders. Writes
/// into params->out_dir model_EPOCH.safetensors, best.safetensors (lowest validation loss), log.csv,
/// log.json and training_state.safetensors (for resume). A non-empty out_dir is refused
/// (UNETSEG_STATUS_IO, naming it) unless params->resume continues the run in it or params->overwrite
/// replaces it; nothing of an earlier run is deleted otherwise. Everything random derives from params->seed:
/// the same params give the same losses, here and in the CLI (unetseg train with the same seed).
///
/// on_batch (may be NULL) is called after every batch and on_epoch (may be NULL) after every epoch, both
/// with user_data; either returning false stops the run (its state is saved; params->resume continues it).
/// They are called on this thread and may call into the library. The epoch lines of the post
/// ("Epoch 1, training: loss:0.304232, bce: 0.148578, dice: 0.667423") also go to the log callback (info).
/// With params->threads > 0 the library's thread count is set to it and stays so.
///
/// With params->distributed, this process is one rank of an Open MPI job (mpirun -np N program): every
/// rank calls unetseg_train with the same params; each computes its share of every global batch of
/// batch_size, gradients are summed in a fixed order, and every rank ends with the same weights and the same
/// metrics (those of one process with that batch, to float rounding). Only rank 0 writes out_dir and logs
/// the epoch lines; the callbacks run on every rank, and a callback returning false on any rank stops all.
/// An error on any rank (a file it cannot read, named) is returned by every rank, its message starting
/// "rank R of N: ". UNETSEG_STATUS_IO when Open MPI (libmpi.so.40) cannot be loaded.
///
/// Returns UNETSEG_STATUS_OK, with the last epoch's metrics in *out_last_epoch and a new handle to the
/// trained model in *out_model (free it with unetseg_model_free; in training mode), each of which may be
/// NULL when not wanted. UNETSEG_STATUS_INVALID_ARGUMENT for a NULL params, a missing folder name, a field
/// out of range (named), a folder without slices, resume and overwrite both set, or resume without a
/// saved state or with other params; UNETSEG_STATUS_FORMAT when the saved state and weights do not belong
/// to the same step (a crash while saving: resuming would replay batches);
/// UNETSEG_STATUS_IO or UNETSEG_STATUS_FORMAT for folders or files that cannot be read or written, or a
/// non-empty out_dir without resume or overwrite (named);
/// UNETSEG_STATUS_NUMERIC when the loss becomes NaN or infinite (the last epoch's checkpoint stays);
/// UNETSEG_STATUS_CANCELLED when a callback returned false; UNETSEG_STATUS_OUT_OF_MEMORY, before training
/// starts, when a training step on batch_size images and the loader's batches would exceed the memory
/// limit (see UNETSEG_MEMORY_LIMIT in the README). *out_model is NULL on failure.
@c public func unetseg_train(_ params: UnsafePointer<unetseg_train_params>?, _ on_batch: unetseg_batch_callback?,
                             _ on_epoch: unetseg_epoch_callback?, _ user_data: UnsafeMutableRawPointer?,
                             _ out_last_epoch: UnsafeMutablePointer<unetseg_epoch_metrics>?, _ out_model: ModelOut?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        out_model?.pointee = nil
        let (model, history) = try nonNull(params, "params").pointee.train(
            onBatch: { progress in
                guard let on_batch else { return true }
                var report = progress
                return on_batch(&report, user_data)
            },
            onEpoch: { metrics in
                guard let on_epoch else { return true }
                var report = metrics
                return on_epoch(&report, user_data)
            })
        if let out_last_epoch, let last = history.last { out_last_epoch.pointee = last }
        if let out_model { out_model.pointee = try Handles.register(model) }
    }
}
