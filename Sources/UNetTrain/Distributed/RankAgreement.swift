import _UNetSupport

extension Communicator {
    /// The collective check after work each rank did on its own (reading its shard, its forward pass,
    /// writing files): `failure` is this rank's error, if any, and `stop` whether it wants the run to stop.
    /// If any rank failed, every rank throws the error of the lowest failing rank, of its kind, with its
    /// message (which names the file) prefixed by "rank r of N: "; otherwise returns whether any rank asked to
    /// stop. One small `MPI_Allgather`, plus two `MPI_Bcast`s of the message after a failure. With one rank
    /// it throws `failure` as it is.
    @discardableResult
    public func agree(_ failure: UnetsegError?, stop: Bool = false) throws(UnetsegError) -> Bool {
        guard size > 1 else {
            if let failure { throw failure }
            return stop
        }
        let mine: [Int32] = [failure.map { RankFailure.code(of: $0) } ?? 0, stop ? 1 : 0]
        let all = try allGather(mine, zero: 0)
        guard let failing = all.firstIndex(where: { $0[0] != 0 }) else { return all.contains { $0[1] != 0 } }
        var bytes = Array((failing == rank ? failure?.message ?? "" : "").utf8.prefix(RankFailure.maximumMessageBytes))
        var length = [Int32(bytes.count)]
        try broadcast(&length, from: failing)
        if failing != rank { bytes = [UInt8](repeating: 0, count: Int(length[0])) }
        try broadcast(&bytes, from: failing)
        throw RankFailure.error(code: all[failing][0], message: "rank \(failing) of \(size): " + String(decoding: bytes, as: UTF8.self))
    }
}

/// How `agree` carries an error's kind between ranks.
enum RankFailure {
    /// Longest message sent (bytes of UTF-8).
    static let maximumMessageBytes = 4096

    /// 1...7 for the kinds of `UnetsegError`, in declaration order.
    static func code(of error: UnetsegError) -> Int32 {
        switch error {
        case .invalidArgument: 1
        case .io: 2
        case .format: 3
        case .outOfMemory: 4
        case .numeric: 5
        case .cancelled: 6
        case .internal: 7
        }
    }

    /// The error of kind `code` (see `code(of:)`) with `message`.
    static func error(code: Int32, message: String) -> UnetsegError {
        switch code {
        case 1: .invalidArgument(message)
        case 2: .io(message)
        case 3: .format(message)
        case 4: .outOfMemory(message)
        case 5: .numeric(message)
        case 6: .cancelled(message)
        default: .internal(message)
        }
    }
}
