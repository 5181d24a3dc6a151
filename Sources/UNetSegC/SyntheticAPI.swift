import CUNetSegTypes
import UNetData
import UNetTensor
import _UNetSupport

// The synthetic LGG-like MRI dataset, written in the kaggle_3m layout.

extension unetseg_synthetic_params {
    /// The options these parameters describe, validated.
    func validatedOptions() throws(UnetsegError) -> SyntheticDatasetOptions {
        guard let generatorStyle = SyntheticStyle(rawValue: style) else {
            throw .invalidArgument("style must be 0 (simple) or 1 (realistic), got \(style)")
        }
        return try SyntheticDatasetOptions(patients: Int(patients), minSlices: Int(min_slices), maxSlices: Int(max_slices),
                                           size: Int(size), seed: seed, lesionSliceFraction: lesion_slice_fraction,
                                           style: generatorStyle)
    }

    /// Writes the dataset these parameters (validated) describe under `folder`, calling `onPatient` after
    /// each patient: the work of unetseg_synthetic_write. Returns the number of slices written.
    func writeDataset(to folder: String, onPatient: (Int, Int) -> Bool) throws(UnetsegError) -> Int {
        let patients = try SyntheticDataset.write(to: folder, options: try validatedOptions(), onPatient: onPatient)
        let slices = patients.reduce(0) { $0 + $1.sliceCount }
        Log.emit(UNETSEG_LOG_INFO, "wrote \(patients.count) synthetic patients, \(slices) slices, to \(folder)")
        return slices
    }
}

/// A set like the real one: 110 patients of 20 to 40 slices of 256 x 256 pixels, seed 1, 38 % of the slices
/// with lesion pixels, the simple style.
@c public func unetseg_synthetic_default_params() -> unetseg_synthetic_params {
    // The defaults of SyntheticDatasetOptions.init.
    unetseg_synthetic_params(patients: 110, min_slices: 20, max_slices: 40, size: 256, seed: 1, lesion_slice_fraction: 0.38,
                             style: SyntheticStyle.simple.rawValue)
}

/// Writes a synthetic LGG-like brain MRI dataset under root (created if missing) in the kaggle_3m layout:
/// one folder per patient (TCGA-style ids) with ID_N.tif RGB slices (pre-contrast, FLAIR,
/// post-contrast) and ID_N_mask.tif 0/255 masks. The same params give the same files. After each
/// patient, progress (may be NULL) is called with (patients done, patients) and user_data, and may stop
/// the work by returning false. Writes the number of slices into *out_slices, which may be NULL.
///
/// Returns UNETSEG_STATUS_OK; UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, an empty root or a field out of
/// range (named); UNETSEG_STATUS_IO when a folder or file cannot be written (named);
/// UNETSEG_STATUS_CANCELLED when progress returned false (the patients written so far stay).
@c public func unetseg_synthetic_write(_ root: UnsafePointer<CChar>?, _ params: UnsafePointer<unetseg_synthetic_params>?,
                                       _ progress: unetseg_progress_callback?, _ user_data: UnsafeMutableRawPointer?,
                                       _ out_slices: UnsafeMutablePointer<Int64>?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let folder = try pathArgument(root, "root")
        let slices = try nonNull(params, "params").pointee.writeDataset(to: folder, onPatient: progressClosure(progress, user_data))
        out_slices?.pointee = Int64(slices)
    }
}
