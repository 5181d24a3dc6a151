import UNetTensor
import _UNetSupport

/// Stochastic gradient descent with PyTorch's rules (`torch.optim.SGD`):
/// g ← grad + weightDecay·p; with momentum, b ← g on the first step, else b ← momentum·b + (1 − dampening)·g,
/// and g ← g + momentum·b (Nesterov) or g ← b; then p ← p − lr·g. Parameters without a gradient are skipped.
public final class SGD: Optimizer {
    /// The parameters it updates.
    public let parameters: [Tensor]
    /// Learning rate (set by a scheduler each step).
    public var learningRate: Float
    /// Momentum factor (cycled by the one-cycle scheduler).
    public var momentum: Float
    /// Dampening of the momentum's gradient term.
    public let dampening: Float
    /// L2 penalty added to the gradient.
    public let weightDecay: Float
    /// Nesterov momentum.
    public let nesterov: Bool
    /// One momentum buffer per parameter, nil until that parameter's first step.
    public internal(set) var momentumBuffers: [Tensor?]

    /// An optimiser for `parameters` (PyTorch defaults: no momentum, dampening, decay or Nesterov).
    public init(_ parameters: [Tensor], learningRate: Float, momentum: Float = 0, dampening: Float = 0,
                weightDecay: Float = 0, nesterov: Bool = false) throws(UnetsegError) {
        try checkArgument(learningRate >= 0 && learningRate.isFinite, "learning rate must be finite and ≥ 0, got \(learningRate)")
        try checkArgument(momentum >= 0 && momentum.isFinite, "momentum must be finite and ≥ 0, got \(momentum)")
        try checkArgument(weightDecay >= 0 && weightDecay.isFinite, "weight decay must be finite and ≥ 0, got \(weightDecay)")
        try checkArgument(dampening.isFinite, "dampening must be finite")
        try checkArgument(!nesterov || (momentum > 0 && dampening == 0), "Nesterov momentum requires a momentum and zero dampening")
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        momentumBuffers = Array(repeating: nil, count: parameters.count)
    }

    /// Sets every parameter's gradient to nil.
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// Updates every parameter that has a gradient.
    public func step() {
        let lr = learningRate, mu = momentum, damp = dampening, decay = weightDecay, nesterov = nesterov
        for (i, p) in parameters.enumerated() {
            guard let grad = p.grad, grad.count == p.count else { continue }
            let w = p.storage.pointer, g = grad.storage.pointer, n = p.count
            if mu == 0 {
                Parallel.forEachChunk(n) { lo, hi in
                    for k in lo..<hi { w[k] -= lr * (g[k] + decay * w[k]) }
                }
                continue
            }
            let first = momentumBuffers[i] == nil
            let buffer = momentumBuffers[i] ?? Tensor.zeros(like: p)
            momentumBuffers[i] = buffer
            let b = buffer.storage.pointer
            Parallel.forEachChunk(n) { lo, hi in
                for k in lo..<hi {
                    let d = g[k] + decay * w[k]
                    b[k] = first ? d : mu * b[k] + (1 - damp) * d
                    w[k] -= lr * (nesterov ? d + mu * b[k] : b[k])
                }
            }
        }
    }

    /// `momentum.<name>` of every parameter with a momentum buffer.
    public func state(parameterNames: [String]) -> OptimizerState {
        OptimizerState(tensors: zip(parameterNames, momentumBuffers).compactMap { name, b in b.map { ("momentum." + name, $0) } })
    }

    /// Restores the momentum buffers saved by `state(parameterNames:)` (a parameter without one starts afresh).
    public func restore(_ state: OptimizerState, parameterNames: [String], source: String) throws(UnetsegError) {
        let buffers = try state.buffers("momentum", for: parameters, names: parameterNames, source: source)
        for (i, b) in buffers.enumerated() where b != nil { momentumBuffers[i] = b }
    }
}
