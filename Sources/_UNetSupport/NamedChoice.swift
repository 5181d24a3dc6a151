/// An option chosen by name (a command-line value) among a closed set of cases.
public protocol NamedChoice: RawRepresentable, CaseIterable where RawValue == String {
    /// What the option is called in errors ("optimizer").
    static var choiceName: String { get }
}

extension NamedChoice {
    /// The case named `name`; `.invalidArgument` listing every name otherwise.
    public init(named name: String) throws(UnetsegError) {
        guard let value = Self(rawValue: name) else {
            throw .invalidArgument("\(Self.choiceName) must be one of \(Self.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(name)\"")
        }
        self = value
    }
}
