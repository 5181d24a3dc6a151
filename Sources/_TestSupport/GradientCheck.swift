import UNetTensor

/// Finite-difference gradient checking for tests.
///
/// `check` reduces the op's output to a scalar with fixed random weights, back-propagates, and compares
/// every input element's gradient with a central difference computed on the same float32 engine.
public enum GradientCheck {
    /// The largest mismatch found, and where.
    public struct Report: CustomStringConvertible {
        /// Largest |analytic − numeric| / max(1, |numeric|) over all checked elements.
        public var worstError: Double
        /// Description of the element with the worst error.
        public var worstAt: String
        public var description: String { "worst error \(worstError) at \(worstAt)" }
    }

    /// Compares analytic and numeric gradients of `op` with respect to every tensor in `inputs`
    /// (each gets `requiresGrad`). `step` is the finite-difference step.
    public static func check(inputs: [Tensor], step: Float = 1e-2,
                             _ op: ([Tensor]) throws -> Tensor) throws -> Report {
        for x in inputs { x.requiresGrad = true; x.zeroGrad() }
        let probe = try op(inputs)
        var generator = RandomGenerator(seed: 99)
        let weights = try Tensor.uniform(probe.shape, low: -1, high: 1, generator: &generator)
        func objective() throws -> Tensor { try (op(inputs) * weights).sum() }
        try objective().backward()
        var report = Report(worstError: 0, worstAt: "nowhere")
        for (k, x) in inputs.enumerated() {
            guard let analytic = x.grad?.toArray() else {
                return Report(worstError: .infinity, worstAt: "input \(k) got no gradient")
            }
            let p = x.storage.pointer
            for i in 0..<x.count {
                let saved = p[i]
                p[i] = saved + step
                let plus = try Autograd.withNoGrad { try Double(objective().item()) }
                p[i] = saved - step
                let minus = try Autograd.withNoGrad { try Double(objective().item()) }
                p[i] = saved
                let numeric = (plus - minus) / Double(2 * step)
                let error = abs(Double(analytic[i]) - numeric) / max(1, abs(numeric))
                if error > report.worstError {
                    report = Report(worstError: error,
                                    worstAt: "input \(k) element \(i): analytic \(analytic[i]), numeric \(numeric)")
                }
            }
        }
        return report
    }
}
