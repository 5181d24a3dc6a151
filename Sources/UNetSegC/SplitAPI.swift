import CUNetSegTypes
import UNetData
import UNetTensor
import _UNetSupport

// The post's train/validation split by patient, laid out as two folders of links to the source.

extension unetseg_split_params {
    /// Splits the patients of `root` as these parameters (validated) say into `trainDir` and `validDir`,
    /// with split.json beside them: the work of unetseg_split_patients.
    func splitPatients(of root: String, trainDir: String, validDir: String) throws(UnetsegError) -> PatientSplit {
        try checkArgument(n_valid >= 0, "n_valid must be >= 0, got \(n_valid)")
        let split = try PatientSplit.make(patients: try PatientSplit.patients(in: root), nValid: Int(n_valid), seed: seed)
        let record = try split.applyAndRecord(root: root, trainDir: trainDir, validDir: validDir, overwrite: overwrite)
        Log.emit(UNETSEG_LOG_INFO, "split \(root): \(split.train.count) training patients in \(trainDir), \(split.valid.count) validation patients in \(validDir), record in \(record)")
        return split
    }
}

/// The post's split: 30 validation patients chosen with seed 777; an earlier split is not overwritten.
@c public func unetseg_split_default_params() -> unetseg_split_params {
    unetseg_split_params(n_valid: 30, seed: 777, overwrite: false)
}

/// Splits the patient folders of root (its sub-folders, hidden ones excluded) into params->n_valid chosen
/// at random with params->seed for validation and the rest for training, and fills train_dir and
/// valid_dir with one link per patient to root/PATIENT (a copy where links are impossible; root is never
/// changed). Also writes the split as split.json beside them, in train_dir's parent folder:
/// {"seed": "777", "n_valid": 30, "train": [...], "valid": [...]}. The choice depends only on the sorted
/// names, n_valid and the seed. An existing split.json or non-empty train_dir or valid_dir is refused
/// unless params->overwrite, which empties the folders (links removed, never followed) and rewrites the
/// record. Writes the patient counts into *out_n_train and *out_n_valid, each of which may be NULL.
///
/// Returns UNETSEG_STATUS_OK; UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, an empty path, n_valid above
/// the number of patients, or folders that are the same, nested or inside root; UNETSEG_STATUS_IO for a
/// root that does not exist, a destination that exists and is not an empty folder or an existing
/// split.json (without overwrite), or a link or copy that fails (what was made is removed again). The
/// message names the folder or file.
@c public func unetseg_split_patients(_ root: UnsafePointer<CChar>?, _ train_dir: UnsafePointer<CChar>?,
                                      _ valid_dir: UnsafePointer<CChar>?, _ params: UnsafePointer<unetseg_split_params>?,
                                      _ out_n_train: UnsafeMutablePointer<Int32>?,
                                      _ out_n_valid: UnsafeMutablePointer<Int32>?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let source = try pathArgument(root, "root")
        let train = try pathArgument(train_dir, "train_dir"), valid = try pathArgument(valid_dir, "valid_dir")
        let split = try nonNull(params, "params").pointee.splitPatients(of: source, trainDir: train, validDir: valid)
        out_n_train?.pointee = Int32(clamping: split.train.count)
        out_n_valid?.pointee = Int32(clamping: split.valid.count)
    }
}
