import _UNetSupport

/// The processes that train one model together (ranks `0..<size`) and the collective operations the trainer
/// builds on. Every operation is collective: each rank calls it, in the same order, with the same sizes.
/// `SingleProcessCommunicator` is the one-process case; `MPICommunicator` runs over Open MPI.
public protocol Communicator: AnyObject {
    /// This process's rank, `0..<size`; rank 0 writes the run's files.
    var rank: Int { get }
    /// Number of ranks.
    var size: Int { get }
    /// Ranks on this machine (for the default thread count per rank).
    var localSize: Int { get }
    /// Every rank's `bytes` bytes at `send` concatenated in rank order at `receive` (`size · bytes` bytes).
    func allGather(_ send: UnsafeRawPointer, into receive: UnsafeMutableRawPointer, bytesPerRank bytes: Int32)
    /// Block `r` of `send` (`bytes` bytes each, `size` blocks) goes to rank `r`; block `r` of `receive`
    /// comes from rank `r`.
    func allToAll(_ send: UnsafeRawPointer, into receive: UnsafeMutableRawPointer, bytesPerRank bytes: Int32)
    /// Overwrites `bytes` bytes at `buffer` on every rank with rank `root`'s (0 ≤ root < size).
    func broadcast(_ buffer: UnsafeMutableRawPointer, bytes: Int32, from root: Int)
}

extension Communicator {
    /// Every rank's `values` (the same count on each), indexed by rank.
    public func allGather<T: BitwiseCopyable>(_ values: [T], zero: T) throws(UnetsegError) -> [[T]] {
        let count = values.count
        let bytes = try mpiCount(count * MemoryLayout<T>.stride, "MPI_Allgather")
        var all = [T](repeating: zero, count: count * size)
        guard count > 0 else { return Array(repeating: [], count: size) }
        values.withUnsafeBytes { send in
            all.withUnsafeMutableBytes { receive in
                if let s = send.baseAddress, let r = receive.baseAddress { allGather(s, into: r, bytesPerRank: bytes) }
            }
        }
        return (0..<size).map { Array(all[($0 * count)..<(($0 + 1) * count)]) }
    }

    /// `values` of rank `root` on every rank (the same count on each). Collective.
    public func broadcast<T: BitwiseCopyable>(_ values: inout [T], from root: Int) throws(UnetsegError) {
        let bytes = try mpiCount(values.count * MemoryLayout<T>.stride, "MPI_Bcast")
        try checkArgument(root >= 0 && root < size, "broadcast: root \(root) of \(size) ranks")
        values.withUnsafeMutableBytes { buffer in
            if let b = buffer.baseAddress { broadcast(b, bytes: bytes, from: root) }
        }
    }

    /// The layout for the opening line: "1 rank" / "N ranks".
    public var rankDescription: String { size == 1 ? "1 rank" : "\(size) ranks" }
}

/// A byte count as MPI's `int`, or `.outOfMemory` naming the operation when it does not fit.
func mpiCount(_ bytes: Int, _ operation: String) throws(UnetsegError) -> Int32 {
    guard let count = Int32(exactly: bytes) else {
        throw .outOfMemory("\(operation): \(bytes) bytes per rank is over MPI's limit of \(Int32.max)")
    }
    return count
}
