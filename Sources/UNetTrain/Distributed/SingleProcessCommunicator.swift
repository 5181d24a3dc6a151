import _UNetSupport

/// The communicator of a run on one process: rank 0 of 1, every collective a copy (or nothing).
public final class SingleProcessCommunicator: Communicator {
    /// Always 0.
    public let rank = 0
    /// Always 1.
    public let size = 1
    /// Always 1.
    public let localSize = 1

    /// The one-process communicator.
    public init() {}

    /// Copies `send` to `receive`.
    public func allGather(_ send: UnsafeRawPointer, into receive: UnsafeMutableRawPointer, bytesPerRank bytes: Int32) {
        receive.copyMemory(from: send, byteCount: Int(bytes))
    }

    /// Copies `send` to `receive`.
    public func allToAll(_ send: UnsafeRawPointer, into receive: UnsafeMutableRawPointer, bytesPerRank bytes: Int32) {
        receive.copyMemory(from: send, byteCount: Int(bytes))
    }

    /// Nothing to do: this is the root.
    public func broadcast(_ buffer: UnsafeMutableRawPointer, bytes: Int32, from root: Int) {}
}
