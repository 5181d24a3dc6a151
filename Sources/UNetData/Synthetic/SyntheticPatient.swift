/// One volume of the synthetic dataset: its id, its slice count, and the Kaggle `kaggle_3m` file names of its
/// slices (`<id>/<id>_<n>.tif` and `<id>_<n>_mask.tif`, n counting from 1).
public struct SyntheticPatient: Sendable, Equatable {
    /// Position in the dataset, 0-based (the `patient` argument of `SyntheticBrain`).
    public let index: Int
    /// The patient id, `TCGA_XX_NNNN_YYYYMMDD`; also the name of the patient's folder.
    public let id: String
    /// Number of axial slices.
    public let sliceCount: Int

    /// The image file name of slice `slice` (0-based): `<id>_<slice + 1>.tif`.
    public func imageFileName(slice: Int) -> String { "\(id)_\(slice + 1).tif" }

    /// The mask file name of slice `slice` (0-based): `<id>_<slice + 1>_mask.tif`.
    public func maskFileName(slice: Int) -> String { "\(id)_\(slice + 1)_mask.tif" }
}
