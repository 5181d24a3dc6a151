import CUNetSegTypes
import UNetData
import UNetNN
import UNetTensor
import UNetTrain
import _UNetSupport

// Scoring a model on a folder of slices with masks: Dice per volume and per slice, losses, and optionally
// predicted masks, metrics.json and pictures (the CLI's `unetseg evaluate`).

/// The `unetseg_evaluation **` out-parameter of unetseg_evaluate.
public typealias EvaluationOut = UnsafeMutablePointer<UnsafeMutablePointer<unetseg_evaluation>?>

extension ModelHandle {
    /// Throws unless the model takes the dataset's 3-channel slices and gives one lesion probability.
    func requireSegmentsSlices() throws(UnetsegError) {
        let config = model.config
        try checkArgument(config.channelsIn == 3 && config.nClasses == 1,
                    "the model must have channels_in 3 and n_classes 1 to segment slices, it has \(config.channelsIn) and \(config.nClasses)")
    }

    /// Runs `body` with the model in evaluation mode, restoring its mode afterwards.
    func inEvaluationMode<Result>(_ body: () throws(UnetsegError) -> Result) throws(UnetsegError) -> Result {
        let wasTraining = model.isTraining
        model.eval()
        defer { if wasTraining { model.train() } }
        return try body()
    }

    /// Scores the model on the slices under `folder` as `params` say (validated), calling `onProgress`
    /// after every batch, and writes what `params` ask for: the work of unetseg_evaluate.
    func evaluate(on folder: String, _ params: unetseg_evaluate_params,
                  onProgress: (Int, Int) -> Bool) throws(UnetsegError) -> EvaluationResult {
        try checkArgument(params.batch_size >= 1 && params.batch_size <= 4096, "batch_size must be in 1...4096, got \(params.batch_size)")
        let predictionsDir = try optionalPathArgument(params.predictions_dir, "params->predictions_dir")
        let outputDir = try optionalPathArgument(params.output_dir, "params->output_dir")
        let modelPath = try optionalPathArgument(params.model_path, "params->model_path")
        let postProcessing = try PostProcessing(code: params.postprocess, "params->postprocess")
        let requested = params.normalization == -1 ? nil
            : try IntensityNormalization(code: params.normalization, "params->normalization (or -1, the model's)")
        let normalization = try Checkpoint.normalization(requested: requested, trained: self.normalization,
                                                         source: modelPath ?? "the model")
        try requireSegmentsSlices()
        let dataset = try BrainSegDataset(root: folder, normalization: normalization)
        try requireActivationsFit(batch: Int(params.batch_size), height: dataset.height, width: dataset.width)
        if let outputDir { try ProtectedInput(folder).requireApart(from: outputDir, role: "output_dir") }
        let result = try inEvaluationMode { () throws(UnetsegError) in
            let result = try Evaluator.evaluate(model, on: dataset, batchSize: Int(params.batch_size),
                                                predictionsDir: predictionsDir, postProcessing: postProcessing,
                                                onProgress: onProgress)
            if let outputDir {
                try Evaluator.writeMetrics(result, to: outputDir)
                try Pictures.writeEvaluationFigures(model, dataset, result: result, modelPath: modelPath, to: outputDir)
            }
            return result
        }
        Log.emit(UNETSEG_LOG_INFO, "evaluated \(result.sliceCount) slices of \(result.volumeDice.count) patients in \(folder): mean volume Dice \(result.meanVolumeDice)")
        return result
    }
}

extension PostProcessing {
    /// The post-processing numbered `code` in unetseg_evaluate_params.postprocess (0 none, 1 largest
    /// component); `name` names the field in the error.
    init(code: Int32, _ name: String) throws(UnetsegError) {
        switch code {
        case 0: self = .none
        case 1: self = .largestComponent
        default: throw .invalidArgument("\(name) must be 0 (none) or 1 (largest component), got \(code)")
        }
    }
}

extension EvaluationResult {
    /// Patient `index` (0-based, checked) of the evaluation and the Dice of its volume: what
    /// unetseg_evaluation_patient and unetseg_evaluation_volume_dice read.
    func volume(_ index: Int32) throws(UnetsegError) -> (patient: String, dice: Double) {
        volumeDice[try indexArgument(index, count: volumeDice.count)]
    }

    /// Every score of volume `index` (0-based, checked): what unetseg_evaluation_volume_scores reads.
    func scores(_ index: Int32) throws(UnetsegError) -> VolumeScores {
        volumes[try indexArgument(index, count: volumes.count)]
    }
}

extension unetseg_evaluation_metrics {
    /// The summary numbers of `result`.
    init(_ result: EvaluationResult) {
        self.init(mean_volume_dice: result.meanVolumeDice, median_volume_dice: result.medianVolumeDice,
                  mean_slice_dice: result.meanSliceDice, bce: result.bce, dice_loss: result.diceLoss,
                  slice_count: Int64(result.sliceCount), patient_count: Int32(clamping: result.volumes.count),
                  mean_precision: result.mean(\.precision), median_precision: result.median(\.precision),
                  mean_sensitivity: result.mean(\.sensitivity), median_sensitivity: result.median(\.sensitivity),
                  mean_hausdorff95: result.mean(\.hausdorff95), median_hausdorff95: result.median(\.hausdorff95),
                  mean_absolute_volume_difference: result.mean(\.absoluteVolumeDifference),
                  median_absolute_volume_difference: result.median(\.absoluteVolumeDifference),
                  mean_relative_volume_difference: result.mean(\.relativeVolumeDifference),
                  median_relative_volume_difference: result.median(\.relativeVolumeDifference))
    }
}

extension unetseg_volume_scores {
    /// The C form of `scores`.
    init(_ scores: VolumeScores) {
        self.init(dice: scores.dice, precision: scores.precision, sensitivity: scores.sensitivity,
                  hausdorff95: scores.hausdorff95, diagonal: scores.diagonal,
                  relative_volume_difference: scores.relativeVolumeDifference,
                  predicted_voxels: Int64(scores.overlap.predicted), true_voxels: Int64(scores.overlap.truth))
    }
}

/// Batches of 8 slices; no predicted masks, metrics file or pictures written; no post-processing; slices
/// scaled as the model was trained (normalization -1).
@c public func unetseg_evaluate_default_params() -> unetseg_evaluate_params {
    unetseg_evaluate_params(batch_size: 8, predictions_dir: nil, output_dir: nil, model_path: nil, postprocess: 0,
                            normalization: -1)
}

/// Runs model (evaluation mode, no graph; its mode is restored afterwards) over every slice under data_dir
/// (kaggle_3m layout, in order, no augmentation) and scores it, after params->postprocess (the largest
/// connected component of each patient's volume with 1; the losses are those of the raw output): Dice of each patient's volume with
/// prediction > 0.5, their mean and median, the mean and median of the volumes' precision, sensitivity,
/// Hausdorff-95 distance and volume differences (see unetseg_volume_scores), mean per-slice Dice, BCE and
/// dice loss. With params->predictions_dir, writes each predicted mask as a 0/255 TIFF
/// predictions_dir/PATIENT/PATIENT_N_pred.tif (never named like a label, so dataset scans ignore them);
/// with params->output_dir, writes metrics.json (every score, per volume under "volumes"), predictions.png,
/// contours.png, volume_dice.png (sorted Dice per patient) and overlays/PATIENT.png there (and
/// loss_curves.png when params->model_path has a log.json beside it). After every batch, progress (may be
/// NULL) is called with (slices done, slices) and user_data, and may stop the work by returning false. A predictions_dir or output_dir that is, contains
/// or lies inside data_dir, or a folder data_dir reaches through links (a split's patient links), is
/// refused before anything is written: inputs are never replaced. Slices are scaled as
/// params->normalization says (by default as the model was trained).
///
/// Returns UNETSEG_STATUS_OK with the scores in *out_metrics and, when out_result is not NULL, a new
/// handle in *out_result with each patient's scores (free it with unetseg_evaluation_free).
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle, a model that does not take 3 channels to 1
/// class or slices whose size it cannot take, a batch_size or postprocess out of range, a normalization
/// out of range or other than the one the model was trained with, a folder without slices, or a
/// predictions_dir or output_dir overlapping data_dir (the message names both);
/// UNETSEG_STATUS_IO or UNETSEG_STATUS_FORMAT for a folder or file that cannot be read or written (named);
/// UNETSEG_STATUS_OUT_OF_MEMORY for batches too large; UNETSEG_STATUS_CANCELLED when progress returned
/// false. *out_result is NULL on failure.
@c public func unetseg_evaluate(_ model: UnsafeMutablePointer<unetseg_model>?, _ data_dir: UnsafePointer<CChar>?,
                                _ params: UnsafePointer<unetseg_evaluate_params>?, _ progress: unetseg_progress_callback?,
                                _ user_data: UnsafeMutableRawPointer?,
                                _ out_metrics: UnsafeMutablePointer<unetseg_evaluation_metrics>?,
                                _ out_result: EvaluationOut?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        out_result?.pointee = nil
        let handle = try Handles.model(model)
        let folder = try pathArgument(data_dir, "data_dir")
        let p = try nonNull(params, "params").pointee
        let metrics = try nonNull(out_metrics, "out_metrics")
        let result = try handle.evaluate(on: folder, p, onProgress: progressClosure(progress, user_data))
        metrics.pointee = unetseg_evaluation_metrics(result)
        if let out_result { out_result.pointee = try Handles.register(EvaluationHandle(result)) }
    }
}

/// Frees an evaluation result. NULL is accepted and ignored; a handle that is not live is ignored with a
/// warning.
@c public func unetseg_evaluation_free(_ evaluation: UnsafeMutablePointer<unetseg_evaluation>?) {
    Handles.release(UnsafeRawPointer(evaluation), EvaluationHandle.self, #function)
}

/// Writes the number of patients (volumes) evaluated into *out_count; they are numbered 0 to count - 1 in
/// the dataset's order (by patient id).
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_evaluation_volume_count(_ evaluation: UnsafePointer<unetseg_evaluation>?,
                                               _ out_count: UnsafeMutablePointer<Int32>?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let result = try Handles.evaluation(evaluation)
        try nonNull(out_count, "out_count").pointee = Int32(clamping: result.volumeDice.count)
    }
}

/// Writes the Dice of volume index (all slices of one patient, prediction > 0.5) into *out_dice: 1 when
/// both prediction and truth are empty.
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle or an index out
/// of range.
@c public func unetseg_evaluation_volume_dice(_ evaluation: UnsafePointer<unetseg_evaluation>?, _ index: Int32,
                                              _ out_dice: UnsafeMutablePointer<Double>?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let volume = try Handles.evaluation(evaluation).volume(index)
        try nonNull(out_dice, "out_dice").pointee = volume.dice
    }
}

/// Copies the patient id of volume index and a NUL into out_patient, which holds capacity bytes.
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle, an index out of
/// range or a buffer too small (the message says how many bytes are needed; 64 suffice for Kaggle names).
@c public func unetseg_evaluation_patient(_ evaluation: UnsafePointer<unetseg_evaluation>?, _ index: Int32,
                                          _ out_patient: UnsafeMutablePointer<CChar>?, _ capacity: UInt) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let volume = try Handles.evaluation(evaluation).volume(index)
        try copyOut(volume.patient, to: out_patient, capacity: capacity, "out_patient")
    }
}

/// Writes the scores of volume index (all slices of one patient, prediction > 0.5) into *out_scores: Dice,
/// precision, sensitivity, Hausdorff-95 distance in voxels and volumes (see unetseg_volume_scores for the
/// conventions when a mask is empty).
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle or an index out
/// of range.
@c public func unetseg_evaluation_volume_scores(_ evaluation: UnsafePointer<unetseg_evaluation>?, _ index: Int32,
                                                _ out_scores: UnsafeMutablePointer<unetseg_volume_scores>?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        try nonNull(out_scores, "out_scores").pointee = unetseg_volume_scores(try Handles.evaluation(evaluation).scores(index))
    }
}
