// Dropout with inverted scaling, as PyTorch: in training each element is zeroed with probability p and the
// kept ones are scaled by 1/(1−p); in evaluation it is the identity.

import _UNetSupport

extension Tensor {
    /// Dropout with probability `p` of zeroing, drawing from `generator` (which advances by `count`).
    /// Element i is kept when the generator's i-th uniform draw u satisfies u ≥ p.
    public func dropout(p: Float, training: Bool, generator: inout RandomGenerator) throws(UnetsegError) -> Tensor {
        try checkArgument(p >= 0 && p <= 1, "dropout probability must be in [0, 1], got \(p)")
        guard training, p > 0 else { return self }
        if p == 1 { return self * 0 }
        let scale = 1 / (1 - p)
        let k = UnsafeMutablePointer<UInt8>.allocate(capacity: max(count, 1))
        let mask = DropoutMask(k)
        let seed = generator.seed, start = generator.position
        generator = RandomGenerator(seed: seed, position: start &+ UInt64(count))
        let out = Tensor(uncheckedZeros: shape)
        let x = storage.pointer, y = out.storage.pointer
        Parallel.forEachChunk(count) { lo, hi in
            for i in lo..<hi {
                let u = RandomGenerator.unitFloat(RandomGenerator.output(seed: seed, at: start &+ UInt64(i)))
                let kept: UInt8 = u >= p ? 1 : 0
                k[i] = kept
                y[i] = kept == 1 ? x[i] * scale : 0
            }
        }
        Autograd.record(out, inputs: [self]) { g in
            let k = mask.keep
            let gi = Tensor(uncheckedZeros: g.shape)
            let gp = g.storage.pointer, dp = gi.storage.pointer
            Parallel.forEachChunk(g.count) { lo, hi in for i in lo..<hi { dp[i] = k[i] == 1 ? gp[i] * scale : 0 } }
            return [gi]
        }
        return out
    }
}

/// The kept/dropped flags of one dropout call, one byte per element, freed with the graph.
final class DropoutMask: @unchecked Sendable {
    let keep: UnsafeMutablePointer<UInt8>
    init(_ keep: UnsafeMutablePointer<UInt8>) { self.keep = keep }
    deinit { keep.deallocate() }
}
