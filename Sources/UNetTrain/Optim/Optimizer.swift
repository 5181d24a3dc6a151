import UNetTensor
import _UNetSupport

/// An optimiser the trainer and the one-cycle schedule drive (SGD or Adam), and the state it saves so that
/// a run resumes exactly.
public protocol Optimizer: AnyObject {
    /// The parameters it updates.
    var parameters: [Tensor] { get }
    /// Learning rate (set by a scheduler each step).
    var learningRate: Float { get set }
    /// What the one-cycle schedule cycles: SGD's momentum, Adam's first beta (as PyTorch's `OneCycleLR`).
    var momentum: Float { get set }
    /// Sets every parameter's gradient to nil.
    func zeroGrad()
    /// Updates every parameter that has a gradient.
    func step()
    /// The state beyond the parameters (buffers as tensors named after `parameterNames`, counters as
    /// metadata), for the training state file.
    func state(parameterNames: [String]) -> OptimizerState
    /// Restores what `state(parameterNames:)` gave; `source` names the file for errors (a tensor of the wrong
    /// shape, a malformed counter).
    func restore(_ state: OptimizerState, parameterNames: [String], source: String) throws(UnetsegError)
}

/// An optimiser's saved state: named tensors and text metadata.
public struct OptimizerState {
    /// Buffers, named `<kind>.<parameter name>`.
    public var tensors: [(name: String, tensor: Tensor)] = []
    /// Counters and other small values.
    public var metadata: [String: String] = [:]

    /// An empty state.
    public init(tensors: [(name: String, tensor: Tensor)] = [], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The tensor of each parameter under `prefix` (`<prefix>.<name>`), nil where there is none; a tensor
    /// whose shape differs from its parameter's is an error naming `source`.
    func buffers(_ prefix: String, for parameters: [Tensor], names: [String], source: String) throws(UnetsegError) -> [Tensor?] {
        let byName = Dictionary(tensors.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        var result: [Tensor?] = []
        for (p, name) in zip(parameters, names) {
            let b = byName[prefix + "." + name]
            if let b { try checkArgument(b.shape == p.shape, "\(source): \(prefix) buffer \(name) has the wrong shape") }
            result.append(b)
        }
        return result
    }
}
