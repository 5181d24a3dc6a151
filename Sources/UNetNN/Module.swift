import UNetTensor
import _UNetSupport

/// A building block of a network, as PyTorch's `nn.Module`: it owns named parameters, named buffers (state
/// that is saved but not trained, as PyTorch's `register_buffer`: batch norm's running statistics) and named
/// child modules, and a training flag that `train()`/`eval()` set on the whole tree.
///
/// Parameter and buffer names are PyTorch's `state_dict` keys: a child's names are prefixed with its own
/// name and a dot (`down_path.0.conv_block.conv_block.0.weight`).
open class Module {
    /// This module's own parameters (not its children's), in registration order.
    public private(set) var ownParameters: [(name: String, tensor: Tensor)] = []
    /// This module's own buffers (not its children's), in registration order.
    public private(set) var ownBuffers: [(name: String, tensor: Tensor)] = []
    /// Direct children, in registration order.
    public private(set) var children: [(name: String, module: Module)] = []
    /// Whether the module is in training mode (dropout active). New modules start in training mode.
    public private(set) var isTraining = true

    /// An empty module.
    public init() {}

    /// Registers `tensor` as a parameter called `name` (it gets `requiresGrad`).
    public func registerParameter(_ name: String, _ tensor: Tensor) {
        tensor.requiresGrad = true
        ownParameters.append((name, tensor))
    }

    /// Registers `tensor` as a buffer called `name`: saved and loaded with the parameters, never trained
    /// (no `requiresGrad`, not in `parameters`).
    public func registerBuffer(_ name: String, _ tensor: Tensor) {
        tensor.requiresGrad = false
        ownBuffers.append((name, tensor))
    }

    /// Registers `module` as a child called `name`.
    public func registerChild(_ name: String, _ module: Module) {
        children.append((name, module))
    }

    /// Every parameter of the tree with its full dotted name, depth-first in registration order (the
    /// order of PyTorch's `named_parameters()`).
    public func namedParameters(prefix: String = "") -> [(name: String, tensor: Tensor)] {
        ownParameters.map { (prefix + $0.name, $0.tensor) }
            + children.flatMap { $0.module.namedParameters(prefix: prefix + $0.name + ".") }
    }

    /// Every buffer of the tree with its full dotted name, depth-first in registration order (the order of
    /// PyTorch's `named_buffers()`).
    public func namedBuffers(prefix: String = "") -> [(name: String, tensor: Tensor)] {
        ownBuffers.map { (prefix + $0.name, $0.tensor) }
            + children.flatMap { $0.module.namedBuffers(prefix: prefix + $0.name + ".") }
    }

    /// Parameters and buffers of the tree, in the order of PyTorch's `state_dict()`: each module's own
    /// parameters, then its own buffers, then its children's.
    public func namedState(prefix: String = "") -> [(name: String, tensor: Tensor)] {
        ownParameters.map { (prefix + $0.name, $0.tensor) } + ownBuffers.map { (prefix + $0.name, $0.tensor) }
            + children.flatMap { $0.module.namedState(prefix: prefix + $0.name + ".") }
    }

    /// Every parameter of the tree, in `namedParameters()` order.
    public var parameters: [Tensor] { namedParameters().map(\.tensor) }

    /// Total number of parameter elements.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// Puts the whole tree in training mode (dropout active, batch norm uses and updates batch statistics).
    public func train() { setTraining(true) }

    /// Puts the whole tree in evaluation mode (dropout is the identity, batch norm uses its running statistics).
    public func eval() { setTraining(false) }

    private func setTraining(_ training: Bool) {
        isTraining = training
        for child in children { child.module.setTraining(training) }
    }

    /// Sets every parameter's `grad` to nil.
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }
}

/// A module with one input and one output.
public protocol Layer: Module {
    /// Runs the layer on `input`.
    func callAsFunction(_ input: Tensor) throws(UnetsegError) -> Tensor
}
