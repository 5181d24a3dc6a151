/// The one error type of the library. Each case maps to a C status code (append-only, see `include/unetseg.h`)
/// and carries a message for the user that names what went wrong (and the file, for file errors).
public enum UnetsegError: Error, Equatable, CustomStringConvertible, Sendable {
    /// An argument is out of range, a shape does not fit, a handle is wrong.
    case invalidArgument(String)
    /// A file or folder could not be read or written.
    case io(String)
    /// A file was read but its content is not what it should be.
    case format(String)
    /// A buffer could not be allocated or would be absurdly large.
    case outOfMemory(String)
    /// A NaN or infinity appeared where a finite number is needed.
    case numeric(String)
    /// The user asked to stop (progress callback returned false, Ctrl-C).
    case cancelled(String)
    /// A bug in the library; the message says where.
    case `internal`(String)

    /// The message without the kind.
    public var message: String {
        switch self {
        case .invalidArgument(let m), .io(let m), .format(let m), .outOfMemory(let m),
             .numeric(let m), .cancelled(let m), .internal(let m):
            return m
        }
    }

    public var description: String { message }
}

/// Throws `UnetsegError.invalidArgument(message())` unless `condition` holds.
@inlinable
public func checkArgument(_ condition: Bool, _ message: @autoclosure () -> String) throws(UnetsegError) {
    if !condition { throw .invalidArgument(message()) }
}
