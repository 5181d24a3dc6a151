/// The parts of a Kaggle `kaggle_3m` slice file name: `<patient>_<n>.tif` (image) or
/// `<patient>_<n>_mask.tif` (mask), `n` from 1, not zero-padded.
public struct SliceFileName: Sendable, Equatable {
    /// The patient id (`TCGA_CS_4941_19960909`).
    public var patient: String
    /// The slice number (1-based).
    public var slice: Int
    /// Whether this is a mask file.
    public var isMask: Bool

    /// The name of a predicted mask of slice `slice` of `patient`: `<patient>_<n>_pred.tif`. It never
    /// parses as a slice or a mask, so predictions are never read as images or labels of a dataset.
    public static func predictionName(patient: String, slice: Int) -> String {
        "\(patient)_\(slice)_pred.tif"
    }

    /// Parses a file name (no folder); nil for anything that is not a slice or mask TIFF.
    public init?(_ fileName: String) {
        var stem: Substring
        if fileName.hasSuffix(".tif") { stem = fileName.dropLast(4) }
        else if fileName.hasSuffix(".tiff") { stem = fileName.dropLast(5) }
        else { return nil }
        isMask = stem.hasSuffix("_mask")
        if isMask { stem = stem.dropLast(5) }
        guard let underscore = stem.lastIndex(of: "_") else { return nil }
        let number = stem[stem.index(after: underscore)...]
        guard !number.isEmpty, number.count <= 9, number.allSatisfy({ $0.isASCII && $0.isNumber }),
              let n = Int(number), n >= 0 else { return nil }
        let patient = stem[..<underscore]
        guard !patient.isEmpty else { return nil }
        self.patient = String(patient)
        self.slice = n
    }
}
