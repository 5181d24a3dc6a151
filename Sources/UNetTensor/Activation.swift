#if canImport(Glibc)
import Glibc
#endif

// Pointwise nonlinear functions: relu, sigmoid, powers, exp and log, each with its backward.

extension Tensor {
    /// max(x, 0) elementwise; NaN stays NaN. The gradient at 0 is 0, as in PyTorch.
    ///
    /// The backward reads the output (positive exactly where the input is), as PyTorch's does: the output
    /// is usually kept anyway as the next op's input, so the input can be freed.
    public func relu() -> Tensor {
        let out = mapped(ReLUKernel())
        let y = out.detached()  // not `out` itself: its node must not keep it alive
        Autograd.record(out, inputs: [self]) { g in [g.zipped(y, ReLUGradientKernel())] }
        return out
    }

    /// 1 / (1 + e^−x) elementwise.
    public func sigmoid() -> Tensor {
        let out = mapped(SigmoidKernel())
        let y = out.detached()
        Autograd.record(out, inputs: [self]) { g in [g.zipped(y, SigmoidGradientKernel())] }
        return out
    }

    /// x^p elementwise.
    public func pow(_ p: Float) -> Tensor {
        let out = mapped { powf($0, p) }
        let input = self
        Autograd.record(out, inputs: [self]) { g in [g.zipped(input) { g, x in g * p * powf(x, p - 1) }] }
        return out
    }

    /// x² elementwise.
    public func square() -> Tensor {
        let out = mapped { $0 * $0 }
        let input = self
        Autograd.record(out, inputs: [self]) { g in [g.zipped(input) { g, x in 2 * g * x }] }
        return out
    }

    /// e^x elementwise.
    public func exp() -> Tensor {
        let out = mapped { expf($0) }
        let y = out.detached()
        Autograd.record(out, inputs: [self]) { g in [g.zipped(y, *)] }
        return out
    }

    /// Natural logarithm elementwise.
    public func log() -> Tensor {
        let out = mapped { logf($0) }
        let input = self
        Autograd.record(out, inputs: [self]) { g in [g.zipped(input, /)] }
        return out
    }
}
