import CUNetSegTypes
import UNetData
import UNetTensor
import UNetTrain
import _UNetSupport

// Segmenting slice images that have no masks: a folder in, mask TIFFs out (the CLI's `unetseg predict`).

extension ModelHandle {
    /// Segments `input` (a slice or a folder) into mask TIFFs under `outDir`, calling `onProgress` after
    /// every image: the work of unetseg_predict_folder. Returns the number of masks written.
    func predictFolder(_ input: String, into outDir: String, onProgress: (Int, Int) -> Bool) throws(UnetsegError) -> Int {
        try requireSegmentsSlices()
        let written = try inEvaluationMode { () throws(UnetsegError) in
            try Predictor.predict(model, input: input, outDir: outDir, normalization: normalization ?? .minmax,
                                  onProgress: onProgress)
        }
        Log.emit(UNETSEG_LOG_INFO, "wrote \(written.count) predicted masks to \(outDir)")
        return written.count
    }
}

/// Segments input, a slice TIFF or a folder searched recursively for slice images (PATIENT_N.tif;
/// existing masks are ignored), with model (evaluation mode, no graph; its mode is restored afterwards),
/// and writes each predicted mask (prediction > 0.5) as a 0/255 TIFF:
/// out_dir/PATIENT/PATIENT_N_pred.tif for Kaggle-named slices, out_dir/NAME_pred.tif for
/// others: never named like a label (PATIENT_N_mask.tif), so dataset scans ignore them. An out_dir that
/// is, contains or lies inside input, or reaches it or a folder it links to through links, is refused
/// before anything is written: inputs are never replaced. Images are scaled as the model was trained (the
/// normalization recorded in its checkpoint or by unetseg_train; min-max per slice when none is). After every image, progress (may be NULL) is called
/// with (images done, images) and user_data, and may stop the work by returning false. Writes the number
/// of masks written into *out_written, which may be NULL.
///
/// Returns UNETSEG_STATUS_OK; UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, an empty path, a dead handle, a
/// model that does not take 3 channels to 1 class, an image size it cannot take, a folder without slice
/// images, or an out_dir overlapping input (the message names both); UNETSEG_STATUS_IO or
/// UNETSEG_STATUS_FORMAT for a file or folder that cannot be read or written (named);
/// UNETSEG_STATUS_OUT_OF_MEMORY, before the pass, when the model's pass on an image (or decoding it) would
/// exceed the memory limit (the message gives the estimate and the limit; see UNETSEG_MEMORY_LIMIT in the
/// README); UNETSEG_STATUS_CANCELLED when progress returned false (masks written so far stay).
@c public func unetseg_predict_folder(_ model: UnsafeMutablePointer<unetseg_model>?, _ input: UnsafePointer<CChar>?,
                                      _ out_dir: UnsafePointer<CChar>?, _ progress: unetseg_progress_callback?,
                                      _ user_data: UnsafeMutableRawPointer?, _ out_written: UnsafeMutablePointer<Int64>?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let handle = try Handles.model(model)
        let source = try pathArgument(input, "input"), destination = try pathArgument(out_dir, "out_dir")
        let written = try handle.predictFolder(source, into: destination, onProgress: progressClosure(progress, user_data))
        out_written?.pointee = Int64(written)
    }
}
