import _UNetSupport

/// How slice intensities are scaled as they are read (the `normalization` option).
public enum IntensityNormalization: String, Sendable, CaseIterable, NamedChoice {
    /// Each slice min-max scaled to [0, 1] over its three channels (the post's; `ImageScaling`).
    case minmax
    /// Each channel z-scored over the patient's volume: (x − mean) / standard deviation.
    case zscore
    /// Buda et al. 2019: the patient's volume clipped to its 10th and 99th percentiles (over all channels),
    /// then each channel z-scored over the volume.
    case percentile

    /// What the option is called in errors.
    public static let choiceName = "normalization"

    /// The number of this choice in the C API's `normalization` fields (0 minmax, 1 zscore, 2 percentile).
    public var code: Int32 {
        switch self {
        case .minmax: return 0
        case .zscore: return 1
        case .percentile: return 2
        }
    }

    /// The choice numbered `code` (see `code`); `.invalidArgument` naming `field` otherwise.
    public init(code: Int32, _ field: String) throws(UnetsegError) {
        guard let value = Self.allCases.first(where: { $0.code == code }) else {
            throw .invalidArgument("\(field) must be 0 (minmax), 1 (zscore) or 2 (percentile), got \(code)")
        }
        self = value
    }
}
