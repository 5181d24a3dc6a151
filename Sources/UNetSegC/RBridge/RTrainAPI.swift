import CUNetSegTypes
#if canImport(Glibc)
import Glibc
#endif
import UNetData
import UNetTensor
import UNetTrain
import _UNetSupport

// R (.C): the post's whole run in one call, evaluation, prediction, the patient split and the synthetic
// data set. Each does the work of a pointer-API function (unetseg_train, unetseg_evaluate, ...) through
// the Swift helper that function calls, with R's arguments.

/// The values of one epoch that unetseg_r_fit writes per row: epoch, the training loss, bce and dice, the
/// validation loss, bce and dice (NaN without validation), the learning rate and the seconds taken.
let rHistoryColumns = 9

/// R's history buffer of `capacity` rows that unetseg_r_fit's epoch callback fills (`rows` written).
struct RHistory {
    let buffer: UnsafeMutablePointer<Double>
    let capacity: Int
    var rows = 0

    /// Writes `m` as the next row, while there is room.
    mutating func append(_ m: unetseg_epoch_metrics) {
        guard rows < capacity else { return }
        let values = [Double(m.epoch), m.train.loss, m.train.bce, m.train.dice, m.valid.loss, m.valid.bce, m.valid.dice, m.lr, m.seconds]
        let row = buffer + rows * rHistoryColumns
        for (column, value) in values.enumerated() { row[column] = value }
        rows += 1
    }
}

/// R (.C): trains as unetseg_train (the trainer of the CLI's unetseg train): folders = (train_dir,
/// valid_dir or "", out_dir); integers = (epochs, batch_size, depth, n_filters, augment, random_sampling,
/// threads (0: keep), loader_workers, resume, overwrite, distributed, optimizer (0 SGD, 1 Adam),
/// normalization (0 minmax, 1 zscore, 2 percentile)); doubles = (lr, momentum, dropout, dice_weight, scale, angle,
/// flip, seed). Writes one row of 9 values per epoch (epoch, training loss, bce, dice, validation loss,
/// bce, dice, lr, seconds) into out_history, which holds integers[0] rows, the number of rows into
/// *out_epochs and a new handle to the trained model into *out_model. After every batch it checks for R's
/// user interrupt (Ctrl-C): one stops the run at the end of that batch with its state saved (as a callback
/// returning false does), UNETSEG_STATUS_CANCELLED and a message starting "interrupted".
@c public func unetseg_r_fit(_ folders: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ integers: UnsafePointer<Int32>?,
                             _ doubles: UnsafePointer<Double>?, _ out_history: UnsafeMutablePointer<Double>?,
                             _ out_epochs: UnsafeMutablePointer<Int32>?, _ out_model: UnsafeMutablePointer<Int32>?,
                             _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let paths = try nonNull(folders, "folders"), i = try nonNull(integers, "integers"), d = try nonNull(doubles, "doubles")
        let epochs = try nonNull(out_epochs, "out_epochs")
        var params = unetseg_train_default_params()
        (params.train_dir, params.valid_dir, params.out_dir) = (UnsafePointer(paths[0]), UnsafePointer(paths[1]), UnsafePointer(paths[2]))
        (params.epochs, params.batch_size, params.model.depth, params.model.n_filters) = (i[0], i[1], i[2], i[3])
        params.augmentation = unetseg_augmentation_params(enabled: i[4] != 0, scale: Float(d[4]), angle: Float(d[5]), flip: Float(d[6]))
        (params.random_sampling, params.threads, params.loader_workers, params.resume) = (i[5] != 0, i[6], i[7], i[8] != 0)
        (params.overwrite, params.distributed, params.optimizer) = (i[9] != 0, i[10] != 0, i[11])
        params.normalization = i[12]
        (params.lr, params.momentum, params.model.dropout, params.dice_weight) = (d[0], Float(d[1]), Float(d[2]), Float(d[3]))
        params.seed = try rSeed(d + 7)
        var history = RHistory(buffer: try nonNull(out_history, "out_history"), capacity: max(0, Int(i[0])))
        let rThread = pthread_self()
        var interrupted = false
        let model: ModelHandle
        do throws(UnetsegError) {
            // The callbacks run on this thread (the trainer calls them on its caller's), which is R's main
            // thread; only there may R's interrupt be checked.
            model = try params.train(
                onBatch: { _ in
                    guard pthread_equal(pthread_self(), rThread) != 0 else { return true }
                    interrupted = RInterrupt.isPending()
                    return !interrupted
                },
                onEpoch: { metrics in
                    history.append(metrics)
                    return true
                }).model
        } catch .cancelled(let message) where interrupted {
            throw .cancelled("interrupted: \(message)")
        }
        epochs.pointee = Int32(history.rows)
        try rReturn(model, to: out_model, "out_model")
    }
}

/// The evaluation result behind an R handle.
func rEvaluation(_ handle: UnsafePointer<Int32>?) throws(UnetsegError) -> EvaluationResult {
    try rObject(handle, EvaluationHandle.self, "evaluation").result
}

/// R (.C): evaluates *model on the slices under *data_dir in batches of *batch_size, as unetseg_evaluate
/// (the CLI's unetseg evaluate): writes (mean volume Dice, median volume Dice, mean slice Dice, bce, dice
/// loss, slices) into out_metrics and a new handle to the per-patient result into *out_evaluation.
/// Predicted masks go to *predictions_dir and metrics.json and the pictures to *output_dir when they are
/// not "". *postprocess is unetseg_evaluate_params.postprocess (0 none, 1 largest component), and
/// *normalization unetseg_evaluate_params.normalization (-1 the model's, 0 minmax, 1 zscore, 2 percentile).
@c public func unetseg_r_evaluate(_ model: UnsafePointer<Int32>?, _ data_dir: RString?, _ batch_size: UnsafePointer<Int32>?,
                                  _ predictions_dir: RString?, _ output_dir: RString?, _ postprocess: UnsafePointer<Int32>?,
                                  _ normalization: UnsafePointer<Int32>?,
                                  _ out_metrics: UnsafeMutablePointer<Double>?, _ out_evaluation: UnsafeMutablePointer<Int32>?,
                                  _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let handle = try rModel(model)
        let out = try nonNull(out_metrics, "out_metrics")
        var params = unetseg_evaluate_default_params()
        params.batch_size = try nonNull(batch_size, "batch_size").pointee
        params.predictions_dir = UnsafePointer(try nonNull(predictions_dir, "predictions_dir").pointee)
        params.output_dir = UnsafePointer(try nonNull(output_dir, "output_dir").pointee)
        params.postprocess = try nonNull(postprocess, "postprocess").pointee
        params.normalization = try nonNull(normalization, "normalization").pointee
        let folder = try rPath(data_dir, "data_dir")
        let result = try handle.evaluate(on: folder, params, onProgress: { _, _ in true })
        let metrics = unetseg_evaluation_metrics(result)
        let values = [metrics.mean_volume_dice, metrics.median_volume_dice, metrics.mean_slice_dice, metrics.bce,
                      metrics.dice_loss, Double(metrics.slice_count)]
        for (k, value) in values.enumerated() { out[k] = value }
        try rReturn(EvaluationHandle(result), to: out_evaluation, "out_evaluation")
    }
}

/// R (.C): frees evaluation handle *evaluation (0 and dead handles are ignored).
@c public func unetseg_r_evaluation_free(_ evaluation: UnsafePointer<Int32>?, _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in rRelease(evaluation, EvaluationHandle.self, function: #function) }
}

/// R (.C): writes the number of patients of an evaluation into *out_count (unetseg_evaluation_volume_count).
@c public func unetseg_r_evaluation_patient_count(_ evaluation: UnsafePointer<Int32>?, _ out_count: UnsafeMutablePointer<Int32>?,
                                                  _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let result = try rEvaluation(evaluation)
        try nonNull(out_count, "out_count").pointee = Int32(clamping: result.volumeDice.count)
    }
}

/// R (.C): patient *index (0-based) of an evaluation: its id into *out_patient (R passes 255 characters)
/// and the Dice of its volume into *out_dice (unetseg_evaluation_patient, unetseg_evaluation_volume_dice).
@c public func unetseg_r_evaluation_patient(_ evaluation: UnsafePointer<Int32>?, _ index: UnsafePointer<Int32>?,
                                            _ out_patient: RString?, _ out_dice: UnsafeMutablePointer<Double>?,
                                            _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let volume = try rEvaluation(evaluation).volume(try nonNull(index, "index").pointee)
        try rWrite(volume.patient, to: out_patient, "out_patient")
        try nonNull(out_dice, "out_dice").pointee = volume.dice
    }
}

/// R (.C): the scores of volume *index (0-based) of an evaluation into out_scores, 8 numbers: Dice,
/// precision, sensitivity, Hausdorff-95, diagonal, relative volume difference, predicted and true voxels
/// (unetseg_evaluation_volume_scores).
@c public func unetseg_r_evaluation_volume_scores(_ evaluation: UnsafePointer<Int32>?, _ index: UnsafePointer<Int32>?,
                                                  _ out_scores: UnsafeMutablePointer<Double>?,
                                                  _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let out = try nonNull(out_scores, "out_scores")
        let s = unetseg_volume_scores(try rEvaluation(evaluation).scores(try nonNull(index, "index").pointee))
        let values = [s.dice, s.precision, s.sensitivity, s.hausdorff95, s.diagonal, s.relative_volume_difference,
                      Double(s.predicted_voxels), Double(s.true_voxels)]
        for (k, value) in values.enumerated() { out[k] = value }
    }
}

/// R (.C): segments *input (a slice TIFF or a folder of slices) with *model and writes the predicted masks
/// under *out_dir, as unetseg_predict_folder (the CLI's unetseg predict); writes their number into
/// *out_written.
@c public func unetseg_r_predict(_ model: UnsafePointer<Int32>?, _ input: RString?, _ out_dir: RString?,
                                 _ out_written: UnsafeMutablePointer<Double>?, _ message: RString?,
                                 _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let handle = try rModel(model)
        let source = try rPath(input, "input"), destination = try rPath(out_dir, "out_dir")
        let written = try handle.predictFolder(source, into: destination, onProgress: { _, _ in true })
        try nonNull(out_written, "out_written").pointee = Double(written)
    }
}

/// R (.C): splits the patient folders of *root into integers[0] (n_valid) chosen with *seed for *valid_dir
/// and the rest for *train_dir, as unetseg_split_patients (links to the source, split.json beside
/// train_dir), replacing an earlier split when integers[1] (overwrite) is not 0; writes the two counts into
/// out_counts.
@c public func unetseg_r_split_patients(_ root: RString?, _ train_dir: RString?, _ valid_dir: RString?,
                                        _ integers: UnsafePointer<Int32>?, _ seed: UnsafePointer<Double>?,
                                        _ out_counts: UnsafeMutablePointer<Int32>?, _ message: RString?,
                                        _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let counts = try nonNull(out_counts, "out_counts"), i = try nonNull(integers, "integers")
        let params = unetseg_split_params(n_valid: i[0], seed: try rSeed(seed), overwrite: i[1] != 0)
        let source = try rPath(root, "root")
        let train = try rPath(train_dir, "train_dir"), valid = try rPath(valid_dir, "valid_dir")
        let split = try params.splitPatients(of: source, trainDir: train, validDir: valid)
        (counts[0], counts[1]) = (Int32(clamping: split.train.count), Int32(clamping: split.valid.count))
    }
}

/// R (.C): writes a synthetic LGG-like dataset under *root in the kaggle_3m layout with counts =
/// (patients, min_slices, max_slices, size, style: 0 simple, 1 realistic), *seed and *lesion_fraction, as
/// unetseg_synthetic_write;
/// writes the number of slices into *out_slices.
@c public func unetseg_r_synthetic_write(_ root: RString?, _ counts: UnsafePointer<Int32>?, _ seed: UnsafePointer<Double>?,
                                         _ lesion_fraction: UnsafePointer<Double>?, _ out_slices: UnsafeMutablePointer<Double>?,
                                         _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let c = try nonNull(counts, "counts")
        let params = unetseg_synthetic_params(patients: c[0], min_slices: c[1], max_slices: c[2], size: c[3], seed: try rSeed(seed),
                                              lesion_slice_fraction: try doubleFromR(lesion_fraction, "lesion_fraction"),
                                              style: c[4])
        let slices = try params.writeDataset(to: try rPath(root, "root"), onPatient: { _, _ in true })
        try nonNull(out_slices, "out_slices").pointee = Double(slices)
    }
}
