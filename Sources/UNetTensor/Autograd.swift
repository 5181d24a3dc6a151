#if canImport(Glibc)
import Glibc
#endif
import _UNetSupport

/// What the graph keeps of a tensor that takes part in it: its shape and the op that made it, not its
/// elements. Nodes hold their inputs' vertices, and only the tensors a backward closure captures stay alive
/// with the graph, so an intermediate result that no backward reads (a ReLU's input, a dropout's input, a
/// concatenation's parts) is freed as soon as the forward pass lets go of it, as PyTorch frees what no
/// `grad_fn` saved.
final class GraphVertex {
    /// The tensor's shape: its gradient must have it.
    let shape: [Int]
    /// The op that produced the tensor, while the graph is alive; nil for leaves and after `backward()`.
    var node: GradNode?
    /// The tensor, for accumulating `grad` into a leaf. Weak: the graph keeps no tensor alive through it.
    weak var tensor: Tensor?

    init(_ tensor: Tensor) {
        shape = tensor.shape
        self.tensor = tensor
    }
}

/// One recorded op of the define-by-run graph: the vertices of the tensors it read and the closure that
/// turns the gradient of its output into gradients of those inputs (nil for inputs that need none). Made by
/// `Autograd.record`.
///
/// A graph that is dropped without `backward()` is released iteratively (see `deinit`), so that a chain of
/// hundreds of thousands of ops does not overflow the stack with nested releases.
public final class GradNode {
    /// The op's inputs, in the order `backward` returns their gradients; nil for an input that did not
    /// require a gradient when the op ran.
    private(set) var inputs: [GraphVertex?]
    /// Output gradient → input gradients.
    private(set) var backward: (Tensor) throws(UnetsegError) -> [Tensor?]

    init(inputs: [GraphVertex?], backward: @escaping (Tensor) throws(UnetsegError) -> [Tensor?]) {
        self.inputs = inputs
        self.backward = backward
    }

    /// Releases the nodes of the inputs that die with this node one after the other, instead of letting
    /// each release the next from inside its own release.
    deinit {
        var pending = detachNodesOfDyingInputs()
        while let node = pending.popLast() {
            pending += node.detachNodesOfDyingInputs()
        }   // each `node` is released here, its inputs already without nodes
    }

    /// Drops the backward closure (and what it captured), then takes the node of every input vertex that
    /// this node holds the last reference to, so that releasing the vertex releases no node.
    private func detachNodesOfDyingInputs() -> [GradNode] {
        backward = { _ in [] }
        var nodes: [GradNode] = []
        for i in inputs.indices where isKnownUniquelyReferenced(&inputs[i]) {
            if let node = inputs[i]?.node {
                inputs[i]?.node = nil
                nodes.append(node)
            }
        }
        return nodes
    }
}

/// Reverse-mode automatic differentiation: recording and the backward walk.
public enum Autograd {
    /// Whether ops on this thread record the graph (false inside `withNoGrad`).
    public static var isEnabled: Bool { pthread_getspecific(noGradDepthKey) == nil }

    /// Runs `body` without recording any graph on this thread (PyTorch's `torch.no_grad()`).
    public static func withNoGrad<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        let previous = pthread_getspecific(noGradDepthKey)
        let depth = Int(bitPattern: previous)
        pthread_setspecific(noGradDepthKey, UnsafeRawPointer(bitPattern: depth + 1))
        defer { pthread_setspecific(noGradDepthKey, previous) }
        return try body()
    }

    /// Marks `result` as made from `inputs` with the given backward, if any input needs a gradient and
    /// recording is on. Every differentiable op calls this right after computing its forward.
    public static func record(_ result: Tensor, inputs: [Tensor],
                              backward: @escaping (Tensor) throws(UnetsegError) -> [Tensor?]) {
        guard inputs.contains(where: { $0.requiresGrad }), isEnabled else { return }
        result.requiresGrad = true
        result.vertex.node = GradNode(inputs: inputs.map { $0.requiresGrad ? $0.vertex : nil }, backward: backward)
    }

    /// Vertices reachable from `root` through the graph, each after every vertex that uses it.
    static func reverseTopologicalOrder(from root: GraphVertex) -> [GraphVertex] {
        var order: [GraphVertex] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(GraphVertex, Bool)] = [(root, false)]
        while let (vertex, expanded) = stack.popLast() {
            if expanded { order.append(vertex); continue }
            guard visited.insert(ObjectIdentifier(vertex)).inserted else { continue }
            stack.append((vertex, true))
            for case let input? in vertex.node?.inputs ?? [] where !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
            }
        }
        return order.reversed()
    }
}

private let noGradDepthKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key, nil)
    return key
}()

extension Tensor {
    /// Back-propagates from this one-element tensor: fills `grad` of every leaf with `requiresGrad`
    /// (accumulating with `+=` into an existing `grad`, as PyTorch), then frees the graph.
    public func backward() throws(UnetsegError) {
        try checkArgument(count == 1, "backward() needs a one-element tensor, got shape \(Shape.describe(shape))")
        try checkArgument(requiresGrad, "backward() on a tensor that does not require grad")
        let root = vertex
        var pending: [ObjectIdentifier: Tensor] = [ObjectIdentifier(root): Tensor(uncheckedFull: shape, 1)]
        var owned = Set<ObjectIdentifier>()   // pending gradients this walk allocated and may add into
        for vertex in Autograd.reverseTopologicalOrder(from: root) {
            let id = ObjectIdentifier(vertex)
            guard let gradient = pending.removeValue(forKey: id) else { continue }
            guard gradient.shape == vertex.shape else {
                throw .internal("gradient of shape \(Shape.describe(gradient.shape)) for a tensor of shape \(Shape.describe(vertex.shape))")
            }
            guard let node = vertex.node else {
                vertex.tensor?.accumulateGrad(gradient, owned: owned.contains(id))
                continue
            }
            vertex.node = nil
            let inputGrads = try node.backward(gradient)
            for (input, g) in zip(node.inputs, inputGrads) {
                guard let g, let input else { continue }
                let inputID = ObjectIdentifier(input)
                if let existing = pending[inputID] {
                    if owned.contains(inputID) {
                        existing.addInPlace(g)
                    } else {
                        let sum = existing.clone()
                        sum.addInPlace(g)
                        pending[inputID] = sum
                        owned.insert(inputID)
                    }
                } else {
                    pending[inputID] = g
                }
            }
        }
    }

    /// `grad += g` for a leaf; copies `g` unless the walk owns it.
    private func accumulateGrad(_ g: Tensor, owned: Bool) {
        if let grad { grad.addInPlace(g) } else { grad = owned ? g : g.clone() }
    }

    /// Sets `grad` to nil (PyTorch's `zero_grad(set_to_none=True)`).
    public func zeroGrad() { grad = nil }

    /// A filled tensor for internal use (no size check).
    convenience init(uncheckedFull shape: [Int], _ value: Float) {
        self.init(uncheckedZeros: shape)
        storage.buffer.update(repeating: value)
    }
}
