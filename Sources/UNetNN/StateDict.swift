import UNetTensor
import _UNetSupport

extension Module {
    /// The parameters and buffers as PyTorch's `state_dict()`: dotted names with the tensors themselves (not
    /// copies).
    public func stateDict() -> [(name: String, tensor: Tensor)] { namedState() }

    /// Copies `entries` into the parameters and buffers with the same names (PyTorch's `load_state_dict`,
    /// strict).
    ///
    /// Nothing is changed unless every parameter and buffer has exactly one entry of its shape and there is
    /// no other entry; otherwise one error lists all missing, unexpected and mis-shaped keys.
    public func loadStateDict(_ entries: [(name: String, tensor: Tensor)]) throws(UnetsegError) {
        let own = stateDict()
        var given: [String: Tensor] = [:]
        var duplicated: [String] = []
        for (name, tensor) in entries {
            if given.updateValue(tensor, forKey: name) != nil { duplicated.append(name) }
        }
        let ownNames = Set(own.map(\.name))
        let missing = own.map(\.name).filter { given[$0] == nil }
        let unexpected = entries.map(\.name).filter { !ownNames.contains($0) }
        let misShaped = own.compactMap { p -> String? in
            guard let t = given[p.name], t.shape != p.tensor.shape else { return nil }
            return "\(p.name) (expected \(Shape.describe(p.tensor.shape)), got \(Shape.describe(t.shape)))"
        }
        var problems: [String] = []
        if !missing.isEmpty { problems.append("missing keys: " + missing.joined(separator: ", ")) }
        if !unexpected.isEmpty { problems.append("unexpected keys: " + unexpected.joined(separator: ", ")) }
        if !misShaped.isEmpty { problems.append("shape mismatch: " + misShaped.joined(separator: ", ")) }
        if !duplicated.isEmpty { problems.append("duplicated keys: " + duplicated.joined(separator: ", ")) }
        guard problems.isEmpty else { throw .invalidArgument("state_dict does not fit the model: " + problems.joined(separator: "; ")) }
        for p in own {
            guard let source = given[p.name] else { continue }
            p.tensor.storage.pointer.update(from: source.storage.pointer, count: p.tensor.count)
        }
    }
}
