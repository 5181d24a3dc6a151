import UNetTensor
import _UNetSupport

/// Writes a synthetic LGG-like dataset to disk in Kaggle's `kaggle_3m` layout: one folder per patient with
/// `<id>_<n>.tif` RGB slices and `<id>_<n>_mask.tif` 0/255 masks (uncompressed, like the real set).
public enum SyntheticDataset {
    /// Writes every patient of `options` under `root` (created if missing), one slice at a time, and
    /// returns the patients. `onPatient(done, total)` may return false to stop (`.cancelled`).
    @discardableResult
    public static func write(to root: String, options: SyntheticDatasetOptions,
                             onPatient: (Int, Int) -> Bool = { _, _ in true }) throws(UnetsegError) -> [SyntheticPatient] {
        let patients = options.patientList()
        try FileSystem.makeDirectories(root)
        for (k, patient) in patients.enumerated() {
            let folder = FileSystem.joined(root, patient.id)
            try FileSystem.makeDirectories(folder)
            for s in 0..<patient.sliceCount {
                let (image, mask) = try SyntheticBrain.slice(patient: patient.index, slice: s, options: options)
                try TIFFFile.write(image, to: FileSystem.joined(folder, patient.imageFileName(slice: s)))
                try TIFFFile.write(mask, to: FileSystem.joined(folder, patient.maskFileName(slice: s)))
            }
            guard onPatient(k + 1, patients.count) else {
                throw .cancelled("synthetic dataset stopped after \(k + 1) of \(patients.count) patients")
            }
        }
        return patients
    }
}
