#if canImport(Glibc)
import Glibc
#endif
import UNetTensor
import _UNetSupport

/// Adam with PyTorch's rules (`torch.optim.Adam`, without amsgrad): per parameter, t ← t + 1,
/// g ← grad + weightDecay·p, m ← β1·m + (1 − β1)·g, v ← β2·v + (1 − β2)·g², then
/// p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε). Parameters without a gradient are skipped (their
/// t does not advance). Betas and ε are doubles as PyTorch's (Python floats): 1 − β and the bias corrections
/// are computed in double precision and rounded to float once, as PyTorch's float32 kernels take them.
public final class Adam: Optimizer {
    /// The parameters it updates.
    public let parameters: [Tensor]
    /// Learning rate (set by a scheduler each step).
    public var learningRate: Float
    /// β1, the decay of the gradient's running mean (cycled by the one-cycle schedule, as PyTorch's).
    public var beta1: Double
    /// β2, the decay of the squared gradient's running mean.
    public let beta2: Double
    /// ε added to the denominator.
    public let epsilon: Double
    /// L2 penalty added to the gradient (PyTorch's `weight_decay`, not AdamW's decoupled decay).
    public let weightDecay: Float
    /// Running means of the gradient (`exp_avg`), nil until a parameter's first step.
    public internal(set) var firstMoments: [Tensor?]
    /// Running means of the squared gradient (`exp_avg_sq`).
    public internal(set) var secondMoments: [Tensor?]
    /// Steps taken per parameter.
    public internal(set) var steps: [Int]

    /// An optimiser for `parameters` with PyTorch's defaults (lr 1e-3, betas (0.9, 0.999), eps 1e-8, no decay).
    public init(_ parameters: [Tensor], learningRate: Float = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999,
                epsilon: Double = 1e-8, weightDecay: Float = 0) throws(UnetsegError) {
        try checkArgument(learningRate >= 0 && learningRate.isFinite, "learning rate must be finite and ≥ 0, got \(learningRate)")
        try checkArgument(beta1 >= 0 && beta1 < 1, "beta1 must be in [0, 1), got \(beta1)")
        try checkArgument(beta2 >= 0 && beta2 < 1, "beta2 must be in [0, 1), got \(beta2)")
        try checkArgument(epsilon >= 0 && epsilon.isFinite, "eps must be finite and ≥ 0, got \(epsilon)")
        try checkArgument(weightDecay >= 0 && weightDecay.isFinite, "weight decay must be finite and ≥ 0, got \(weightDecay)")
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        firstMoments = Array(repeating: nil, count: parameters.count)
        secondMoments = Array(repeating: nil, count: parameters.count)
        steps = Array(repeating: 0, count: parameters.count)
    }

    /// β1, which the one-cycle schedule cycles.
    public var momentum: Float {
        get { Float(beta1) }
        set { beta1 = Double(newValue) }
    }

    /// Sets every parameter's gradient to nil.
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// Updates every parameter that has a gradient.
    public func step() {
        let lr = Double(learningRate), decay = weightDecay
        let b1 = Float(beta1), b2 = Float(beta2), c1 = Float(1 - beta1), c2 = Float(1 - beta2), eps = Float(epsilon)
        for (i, p) in parameters.enumerated() {
            guard let grad = p.grad, grad.count == p.count else { continue }
            steps[i] += 1
            let t = Double(steps[i])
            let m = firstMoments[i] ?? Tensor.zeros(like: p), v = secondMoments[i] ?? Tensor.zeros(like: p)
            firstMoments[i] = m
            secondMoments[i] = v
            let stepSize = Float(lr / (1 - pow(beta1, t)))
            let correction2 = Float((1 - pow(beta2, t)).squareRoot())
            let w = p.storage.pointer, g = grad.storage.pointer, mp = m.storage.pointer, vp = v.storage.pointer
            Parallel.forEachChunk(p.count) { lo, hi in
                for k in lo..<hi {
                    let d = g[k] + decay * w[k]
                    mp[k] = b1 * mp[k] + c1 * d
                    vp[k] = b2 * vp[k] + c2 * d * d
                    w[k] -= stepSize * mp[k] / (vp[k].squareRoot() / correction2 + eps)
                }
            }
        }
    }

    /// `exp_avg.<name>` and `exp_avg_sq.<name>` of every parameter stepped so far, and the steps per
    /// parameter as a JSON object under `adam_steps`.
    public func state(parameterNames: [String]) -> OptimizerState {
        var state = OptimizerState()
        for (i, name) in parameterNames.enumerated() where i < parameters.count {
            if let m = firstMoments[i], let v = secondMoments[i] {
                state.tensors.append(("exp_avg." + name, m))
                state.tensors.append(("exp_avg_sq." + name, v))
            }
        }
        let steps: JSONValue = .object(zip(parameterNames, self.steps).map { ($0, .number(Double($1))) })
        state.metadata["adam_steps"] = steps.serialized(pretty: false)
        return state
    }

    /// Restores moments and steps saved by `state(parameterNames:)`. A parameter with a step count needs both
    /// moments, and one with moments a positive step count.
    public func restore(_ state: OptimizerState, parameterNames: [String], source: String) throws(UnetsegError) {
        try checkArgument(parameterNames.count == parameters.count, "\(parameterNames.count) names for \(parameters.count) parameters")
        let m = try state.buffers("exp_avg", for: parameters, names: parameterNames, source: source)
        let v = try state.buffers("exp_avg_sq", for: parameters, names: parameterNames, source: source)
        guard let text = state.metadata["adam_steps"] else { throw .format("\(source): training state has no \"adam_steps\" (not a run with Adam?)") }
        let json: JSONValue
        do { json = try JSONValue.parse(text) } catch { throw .format("\(source): adam_steps is not valid JSON: \(error.message)") }
        var restored: [Int] = []
        for (i, name) in parameterNames.enumerated() where i < parameters.count {
            let step = json[name]?.intValue ?? 0
            guard step >= 0, (step > 0) == (m[i] != nil), (m[i] != nil) == (v[i] != nil) else {
                throw .format("\(source): Adam's state of \(name) is incomplete (step \(step), moments \(m[i] != nil), \(v[i] != nil))")
            }
            restored.append(step)
        }
        firstMoments = m
        secondMoments = v
        steps = restored
    }
}
