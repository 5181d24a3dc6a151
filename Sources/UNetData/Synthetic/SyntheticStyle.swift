/// How the synthetic generator draws its patients. `simple` is the original phantom (the default, which the
/// tests, `make demo` and the fixtures use); `realistic` draws MRI-like contrasts per channel, stronger bias
/// fields and noise, more varied head size, position and tilt, and 0–3 lumpy, heterogeneous lesions per
/// patient (some faint, some with an enhancing rim, some touching the ventricles or the cortex).
public enum SyntheticStyle: Int32, Sendable, CaseIterable {
    /// The original phantom: the default.
    case simple = 0
    /// The MRI-like phantom.
    case realistic = 1

    /// The style's name as the CLI and the bindings spell it.
    public var name: String {
        switch self {
        case .simple: return "simple"
        case .realistic: return "realistic"
        }
    }

    /// The style called `name` (`simple` or `realistic`), or nil.
    public init?(name: String) {
        guard let style = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = style
    }
}
