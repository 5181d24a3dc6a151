// Dropout with inverted scaling, as PyTorch: in training each element is zeroed with probability p and the
// kept ones are scaled by 1/(1−p); in evaluation it is the identity.

import _UNetSupport

extension Tensor {
    /// Dropout with probability `p` of zeroing, drawing from `generator` (which advances by `count`).
    /// Element i is kept when the generator's i-th uniform draw u satisfies u ≥ p.
    ///
    /// The draws are a function of the generator's seed and position, so the backward draws them again
    /// instead of keeping a mask: a training step holds no memory for its dropout layers.
    public func dropout(p: Float, training: Bool, generator: inout RandomGenerator) throws(UnetsegError) -> Tensor {
        try checkArgument(p >= 0 && p <= 1, "dropout probability must be in [0, 1], got \(p)")
        guard training, p > 0 else { return self }
        if p == 1 { return self * 0 }
        let scale = 1 / (1 - p)
        let seed = generator.seed, start = generator.position
        generator = RandomGenerator(seed: seed, position: start &+ UInt64(count))
        // `values[i] · scale` where element i is kept, else 0, into `target`.
        func masked(_ values: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, count: Int) {
            Parallel.forEachChunk(count) { lo, hi in
                for i in lo..<hi {
                    let u = RandomGenerator.unitFloat(RandomGenerator.output(seed: seed, at: start &+ UInt64(i)))
                    target[i] = u >= p ? values[i] * scale : 0
                }
            }
        }
        let out = Tensor(uncheckedUninitialized: shape)
        masked(storage.pointer, into: out.storage.pointer, count: count)
        Autograd.record(out, inputs: [self]) { g in
            let gradInput = Tensor(uncheckedUninitialized: g.shape)
            masked(g.storage.pointer, into: gradInput.storage.pointer, count: g.count)
            return [gradInput]
        }
        return out
    }
}
