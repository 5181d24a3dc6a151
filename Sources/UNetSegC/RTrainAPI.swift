import CUNetSegTypes
#if canImport(Glibc)
import Glibc
#endif
import UNetData
import UNetTensor
import UNetTrain
import _UNetSupport

// R (.C): the post's whole run in one call, evaluation, prediction, the patient split and the synthetic
// data set. Each is the pointer API's function (unetseg_train, unetseg_evaluate, ...) with R's arguments.

/// The values of one epoch that unetseg_r_fit writes per row: epoch, the training loss, bce and dice, the
/// validation loss, bce and dice (NaN without validation), the learning rate and the seconds taken.
let rHistoryColumns = 9

/// What unetseg_r_fit's callbacks share: R's history buffer of `capacity` rows that the epoch callback
/// fills (`rows` written), R's main thread (the caller), and whether the batch callback stopped the run
/// because the user interrupted R.
struct RHistory {
    let buffer: UnsafeMutablePointer<Double>
    let capacity: Int
    var rows = 0
    let rThread = pthread_self()
    var interrupted = false
}

/// R (.C): trains as unetseg_train (the trainer of the CLI's unetseg train): folders = (train_dir,
/// valid_dir or "", out_dir); integers = (epochs, batch_size, depth, n_filters, augment, random_sampling,
/// threads (0: keep), loader_workers, resume, overwrite); doubles = (lr, momentum, dropout, dice_weight, scale, angle,
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
        let paths = try required(folders, "folders"), i = try required(integers, "integers"), d = try required(doubles, "doubles")
        let epochs = try required(out_epochs, "out_epochs")
        var params = unetseg_train_default_params()
        (params.train_dir, params.valid_dir, params.out_dir) = (UnsafePointer(paths[0]), UnsafePointer(paths[1]), UnsafePointer(paths[2]))
        (params.epochs, params.batch_size, params.model.depth, params.model.n_filters) = (i[0], i[1], i[2], i[3])
        params.augmentation = unetseg_augmentation_params(enabled: i[4] != 0, scale: Float(d[4]), angle: Float(d[5]), flip: Float(d[6]))
        (params.random_sampling, params.threads, params.loader_workers, params.resume) = (i[5] != 0, i[6], i[7], i[8] != 0)
        params.overwrite = i[9] != 0
        (params.lr, params.momentum, params.model.dropout, params.dice_weight) = (d[0], Float(d[1]), Float(d[2]), Float(d[3]))
        params.seed = try rSeed(d + 7)
        var history = RHistory(buffer: try required(out_history, "out_history"), capacity: max(0, Int(i[0])))
        var model: UnsafeMutablePointer<unetseg_model>?
        let onEpoch: unetseg_epoch_callback = { metrics, user_data in
            guard let m = metrics?.pointee, let history = user_data?.assumingMemoryBound(to: RHistory.self) else { return true }
            guard history.pointee.rows < history.pointee.capacity else { return true }
            let values = [Double(m.epoch), m.train.loss, m.train.bce, m.train.dice, m.valid.loss, m.valid.bce, m.valid.dice, m.lr, m.seconds]
            let row = history.pointee.buffer + history.pointee.rows * rHistoryColumns
            for (column, value) in values.enumerated() { row[column] = value }
            history.pointee.rows += 1
            return true
        }
        // Called on this thread (unetseg_train runs its callbacks on its caller's), which is R's main thread.
        let onBatch: unetseg_batch_callback = { _, user_data in
            guard let history = user_data?.assumingMemoryBound(to: RHistory.self),
                  pthread_equal(pthread_self(), history.pointee.rThread) != 0 else { return true }
            history.pointee.interrupted = RInterrupt.isPending()
            return !history.pointee.interrupted
        }
        do throws(UnetsegError) {
            try withUnsafeMutablePointer(to: &history) { (pointer) throws(UnetsegError) in
                try rethrowing(unetseg_train(&params, onBatch, onEpoch, UnsafeMutableRawPointer(pointer), nil, &model))
            }
        } catch .cancelled(let message) where history.interrupted {
            throw .cancelled("interrupted: \(message)")
        }
        epochs.pointee = Int32(history.rows)
        try rAdopt(model, ModelHandle.self, to: out_model, "out_model")
    }
}

/// The evaluation result behind an R handle.
func rEvaluation(_ handle: UnsafePointer<Int32>?) throws(UnetsegError) -> UnsafeMutablePointer<unetseg_evaluation>? {
    _ = try rObject(handle, EvaluationHandle.self, "evaluation")
    return rPointer(handle)
}

/// R (.C): evaluates *model on the slices under *data_dir in batches of *batch_size, as unetseg_evaluate
/// (the CLI's unetseg evaluate): writes (mean volume Dice, median volume Dice, mean slice Dice, bce, dice
/// loss, slices) into out_metrics and a new handle to the per-patient result into *out_evaluation.
/// Predicted masks go to *predictions_dir and metrics.json and the pictures to *output_dir when they are
/// not "".
@c public func unetseg_r_evaluate(_ model: UnsafePointer<Int32>?, _ data_dir: RString?, _ batch_size: UnsafePointer<Int32>?,
                                  _ predictions_dir: RString?, _ output_dir: RString?,
                                  _ out_metrics: UnsafeMutablePointer<Double>?, _ out_evaluation: UnsafeMutablePointer<Int32>?,
                                  _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        _ = try rModel(model)
        let out = try required(out_metrics, "out_metrics")
        var params = unetseg_evaluate_default_params()
        params.batch_size = try required(batch_size, "batch_size").pointee
        params.predictions_dir = UnsafePointer(try required(predictions_dir, "predictions_dir").pointee)
        params.output_dir = UnsafePointer(try required(output_dir, "output_dir").pointee)
        var metrics = unetseg_evaluation_metrics()
        var evaluation: UnsafeMutablePointer<unetseg_evaluation>?
        try rethrowing(unetseg_evaluate(rPointer(model), UnsafePointer(try required(data_dir, "data_dir").pointee), &params,
                                        nil, nil, &metrics, &evaluation))
        let values = [metrics.mean_volume_dice, metrics.median_volume_dice, metrics.mean_slice_dice, metrics.bce,
                      metrics.dice_loss, Double(metrics.slice_count)]
        for (k, value) in values.enumerated() { out[k] = value }
        try rAdopt(evaluation, EvaluationHandle.self, to: out_evaluation, "out_evaluation")
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
        try rethrowing(unetseg_evaluation_volume_count(try rEvaluation(evaluation), out_count))
    }
}

/// R (.C): patient *index (0-based) of an evaluation: its id into *out_patient (R passes 255 characters)
/// and the Dice of its volume into *out_dice (unetseg_evaluation_patient, unetseg_evaluation_volume_dice).
@c public func unetseg_r_evaluation_patient(_ evaluation: UnsafePointer<Int32>?, _ index: UnsafePointer<Int32>?,
                                            _ out_patient: RString?, _ out_dice: UnsafeMutablePointer<Double>?,
                                            _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let result = try rEvaluation(evaluation), i = try required(index, "index").pointee
        let patient = try required(try required(out_patient, "out_patient").pointee, "out_patient")
        try rethrowing(unetseg_evaluation_patient(result, i, patient, UInt(strlen(patient) + 1)))
        try rethrowing(unetseg_evaluation_volume_dice(result, i, out_dice))
    }
}

/// R (.C): the scores of volume *index (0-based) of an evaluation into out_scores, 8 numbers: Dice,
/// precision, sensitivity, Hausdorff-95, diagonal, relative volume difference, predicted and true voxels
/// (unetseg_evaluation_volume_scores).
@c public func unetseg_r_evaluation_volume_scores(_ evaluation: UnsafePointer<Int32>?, _ index: UnsafePointer<Int32>?,
                                                  _ out_scores: UnsafeMutablePointer<Double>?,
                                                  _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let out = try required(out_scores, "out_scores")
        var s = unetseg_volume_scores()
        try rethrowing(unetseg_evaluation_volume_scores(try rEvaluation(evaluation), try required(index, "index").pointee, &s))
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
        _ = try rModel(model)
        var written: Int64 = 0
        try rethrowing(unetseg_predict_folder(rPointer(model), UnsafePointer(try required(input, "input").pointee),
                                              UnsafePointer(try required(out_dir, "out_dir").pointee), nil, nil, &written))
        try required(out_written, "out_written").pointee = Double(written)
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
        let counts = try required(out_counts, "out_counts"), i = try required(integers, "integers")
        var params = unetseg_split_params(n_valid: i[0], seed: try rSeed(seed), overwrite: i[1] != 0)
        try rethrowing(unetseg_split_patients(UnsafePointer(try required(root, "root").pointee),
                                              UnsafePointer(try required(train_dir, "train_dir").pointee),
                                              UnsafePointer(try required(valid_dir, "valid_dir").pointee),
                                              &params, counts, counts + 1))
    }
}

/// R (.C): writes a synthetic LGG-like dataset under *root in the kaggle_3m layout with counts =
/// (patients, min_slices, max_slices, size), *seed and *lesion_fraction, as unetseg_synthetic_write;
/// writes the number of slices into *out_slices.
@c public func unetseg_r_synthetic_write(_ root: RString?, _ counts: UnsafePointer<Int32>?, _ seed: UnsafePointer<Double>?,
                                         _ lesion_fraction: UnsafePointer<Double>?, _ out_slices: UnsafeMutablePointer<Double>?,
                                         _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let c = try required(counts, "counts")
        var params = unetseg_synthetic_params(patients: c[0], min_slices: c[1], max_slices: c[2], size: c[3], seed: try rSeed(seed),
                                              lesion_slice_fraction: try rDouble(lesion_fraction, "lesion_fraction"))
        var slices: Int64 = 0
        try rethrowing(unetseg_synthetic_write(UnsafePointer(try required(root, "root").pointee), &params, nil, nil, &slices))
        try required(out_slices, "out_slices").pointee = Double(slices)
    }
}
