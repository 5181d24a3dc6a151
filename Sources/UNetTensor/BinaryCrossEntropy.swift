#if canImport(Glibc)
import Glibc
#endif
import _UNetSupport

// Binary cross-entropy, mean-reduced, with PyTorch's semantics: logs clamped at −100 in the forward, and
// the input gradient (x − t) / max(x(1 − x), 1e−12) · g / n.

extension Tensor {
    /// Mean binary cross-entropy of probabilities `self` against `target` (same shape, values in [0, 1]).
    public func binaryCrossEntropy(_ target: Tensor) throws(UnetsegError) -> Tensor {
        try requireSameShape(target, "binary_cross_entropy")
        let x = storage.pointer, n = count
        for i in 0..<n where !(x[i] >= 0 && x[i] <= 1) {
            throw .invalidArgument("binary_cross_entropy: all elements of input should be between 0 and 1, found \(x[i])")
        }
        let losses = zipped(target) { x, t in
            -(t * max(logf(x), -100) + (1 - t) * max(logf(1 - x), -100))
        }
        let out = Tensor(scalar: Float(losses.sumOfElements() / Double(n)))
        let input = self
        Autograd.record(out, inputs: [self, target]) { g in
            let scale = g.storage.pointer[0] / Float(n)
            let gradInput = input.requiresGrad ? input.zipped(target) { x, t in
                scale * (x - t) / max(x * (1 - x), 1e-12)
            } : nil
            let gradTarget = target.requiresGrad ? input.mapped { x in
                scale * (max(logf(1 - x), -100) - max(logf(x), -100))
            } : nil
            return [gradInput, gradTarget]
        }
        return out
    }
}
