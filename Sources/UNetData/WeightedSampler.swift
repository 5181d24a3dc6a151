import UNetTensor
import _UNetSupport

/// Draws indices 0..<count with probabilities proportional to given weights (R's `sample(prob =)` with one
/// draw). Keeps the cumulative sums; a draw is one uniform double and a binary search, O(log n).
public struct WeightedSampler: Sendable {
    /// Running sums of the weights: `cumulative[i]` = w₀ + … + wᵢ.
    private let cumulative: [Double]

    /// A sampler for `weights` (non-empty, each finite and ≥ 0, with a positive sum).
    public init(weights: [Double]) throws(UnetsegError) {
        try checkArgument(!weights.isEmpty, "weighted sampler: no weights")
        var sums: [Double] = []
        sums.reserveCapacity(weights.count)
        var total = 0.0
        for (i, w) in weights.enumerated() {
            try checkArgument(w.isFinite && w >= 0, "weighted sampler: weight \(w) at index \(i) is not a finite value ≥ 0")
            total += w
            sums.append(total)
        }
        try checkArgument(total > 0 && total.isFinite, "weighted sampler: the weights sum to \(total), not a positive number")
        cumulative = sums
    }

    /// Number of indices the sampler draws from.
    public var count: Int { cumulative.count }

    /// The probability of drawing `index` (its weight over the total).
    public func probability(of index: Int) -> Double {
        guard index >= 0 && index < count, let total = cumulative.last else { return 0 }
        return (cumulative[index] - (index > 0 ? cumulative[index - 1] : 0)) / total
    }

    /// One index drawn with the weights, using one value of `generator`. Zero-weight indices are never drawn.
    public func sample(using generator: inout RandomGenerator) -> Int {
        let target = generator.unitDouble() * (cumulative.last ?? 0)
        // The first index whose running sum exceeds the target.
        var low = 0, high = cumulative.count - 1
        while low < high {
            let mid = (low + high) / 2
            if cumulative[mid] > target { high = mid } else { low = mid + 1 }
        }
        // Rounding can put the target on the total: take the last index with a positive weight.
        while low > 0 && !(cumulative[low] > target) && cumulative[low] == cumulative[low - 1] { low -= 1 }
        return low
    }
}
