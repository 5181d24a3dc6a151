import _UNetSupport

/// The part of every global batch that one rank of a distributed run computes.
///
/// Rule: a batch of `n` items split over `ranks` gives each rank `⌊n / ranks⌋` items and one more to the
/// first `n mod ranks` ranks, in order: rank `r` takes positions `r·q + min(r, m) ..< (r+1)·q + min(r+1, m)`
/// (q = ⌊n / ranks⌋, m = n mod ranks). So rank 0 is never empty, the shards tile the batch in rank order,
/// and a batch smaller than the rank count leaves the last ranks empty.
public struct BatchShard: Sendable, Equatable {
    /// This rank, `0..<ranks`.
    public let rank: Int
    /// Number of ranks (≥ 1).
    public let ranks: Int

    /// The shard of `rank` among `ranks`; `.invalidArgument` unless 0 ≤ rank < ranks.
    public init(rank: Int, ranks: Int) throws(UnetsegError) {
        try checkArgument(ranks >= 1 && rank >= 0 && rank < ranks, "batch shard: rank \(rank) of \(ranks) ranks")
        self.rank = rank
        self.ranks = ranks
    }

    /// The whole batch (one rank).
    public static let whole = BatchShard(uncheckedRank: 0, ranks: 1)

    private init(uncheckedRank rank: Int, ranks: Int) {
        self.rank = rank
        self.ranks = ranks
    }

    /// The positions `0..<items` of a batch this rank computes (see the rule above).
    public func range(ofBatchOf items: Int) -> Range<Int> {
        let q = items / ranks, m = items % ranks
        return (rank * q + min(rank, m))..<((rank + 1) * q + min(rank + 1, m))
    }
}
