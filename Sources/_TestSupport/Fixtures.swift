import UNetTensor
import _UNetSupport

/// Committed test fixtures under `Tests/UNetTensorTests/Fixtures/`, found from this source file's path
/// (no resource bundles, no Foundation), and the PyTorch parity fixtures written by
/// `scripts/make_fixtures.py`.
public enum Fixtures {
    /// The absolute path of the fixtures folder.
    public static var folder: String {
        // This file is <root>/Sources/_TestSupport/Fixtures.swift.
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return (parts + ["Tests", "UNetTensorTests", "Fixtures"]).joined(separator: "/")
    }

    /// The path of `relativePath` inside the fixtures folder.
    public static func path(_ relativePath: String) -> String { folder + "/" + relativePath }

    /// One parity fixture: an op run by PyTorch on 2–3 variants (see `scripts/make_fixtures.py`).
    public struct TorchCase {
        /// The fixture name, e.g. "conv2d_k3_p1".
        public var name: String
        /// The PyTorch op, e.g. "conv2d".
        public var op: String
        /// The variants in order.
        public var variants: [TorchVariant]
    }

    /// One variant of a parity fixture: inputs by role, scalar parameters, and PyTorch's results.
    public struct TorchVariant {
        /// The op's inputs by role ("a", "b", "x", "weight", "bias", ...), fresh tensors without a graph.
        public var inputs: [String: Tensor]
        /// The op's scalar parameters as a JSON object (stride, padding, s, dim, ...).
        public var params: JSONValue
        /// PyTorch's output.
        public var output: Tensor
        /// The random weight w of the objective (output · w).sum(); nil for forward-only ops.
        public var outputWeight: Tensor?
        /// PyTorch's gradient of the objective for each input role that takes one.
        public var gradients: [String: Tensor]

        /// Integer parameter `key`; throws when missing.
        public func int(_ key: String) throws(UnetsegError) -> Int {
            guard let value = params[key]?.intValue else { throw .format("fixture parameter \"\(key)\" is missing") }
            return value
        }

        /// Float parameter `key`; throws when missing.
        public func float(_ key: String) throws(UnetsegError) -> Float {
            guard let value = params[key]?.doubleValue else { throw .format("fixture parameter \"\(key)\" is missing") }
            return Float(value)
        }

        /// Input `role`; throws when missing.
        public func input(_ role: String) throws(UnetsegError) -> Tensor {
            guard let tensor = inputs[role] else { throw .format("fixture input \"\(role)\" is missing") }
            return tensor
        }
    }

    /// Loads `ops/<name>.safetensors`.
    public static func torchCase(_ name: String) throws(UnetsegError) -> TorchCase {
        let file = try SafeTensors.read(path: path("ops/\(name).safetensors"))
        guard let op = file.metadata["op"], let count = file.metadata["variants"].flatMap({ Int($0) }) else {
            throw .format("fixture \(name): metadata lacks \"op\" or \"variants\"")
        }
        var variants: [TorchVariant] = []
        for index in 0..<count {
            let prefix = "\(index)/"
            var roles: [String: Tensor] = [:]
            for (key, tensor) in file.tensors where key.hasPrefix(prefix) {
                roles[String(key.dropFirst(prefix.count))] = tensor
            }
            guard let output = roles.removeValue(forKey: "output") else {
                throw .format("fixture \(name) variant \(index): no output")
            }
            let outputWeight = roles.removeValue(forKey: "out_weight")
            var gradients: [String: Tensor] = [:]
            for key in roles.keys where key.hasPrefix("grad_") {
                gradients[String(key.dropFirst("grad_".count))] = roles.removeValue(forKey: key)
            }
            let params = try JSONValue.parse(file.metadata[prefix + "params"] ?? "{}")
            variants.append(TorchVariant(inputs: roles, params: params, output: output,
                                         outputWeight: outputWeight, gradients: gradients))
        }
        return TorchCase(name: name, op: op, variants: variants)
    }

    /// Relative tolerance of parity checks.
    public static let parityTolerance: Float = 1e-5

    /// Why `actual` differs from PyTorch's `expected`, or nil when they agree: same shape and, for every
    /// element, |actual − expected| ≤ 1e-5 · max(1, |expected|) (relative above 1, absolute below).
    public static func mismatch(_ actual: Tensor, _ expected: Tensor, _ what: String) -> String? {
        guard actual.shape == expected.shape else {
            return "\(what): shape \(Shape.describe(actual.shape)), PyTorch \(Shape.describe(expected.shape))"
        }
        let a = actual.toArray(), b = expected.toArray()
        var worst: (excess: Float, index: Int)?
        for i in b.indices {
            let error = abs(a[i] - b[i])
            let allowed = parityTolerance * max(1, abs(b[i]))
            guard !(error <= allowed) else { continue }
            let excess = error.isNaN ? Float.infinity : error / allowed
            if excess > worst?.excess ?? 0 { worst = (excess, i) }
        }
        guard let worst else { return nil }
        return "\(what): element \(worst.index) is \(a[worst.index]), PyTorch \(b[worst.index]) (\(worst.excess)× the tolerance)"
    }

    /// Runs `op` on every variant of `torchCase` with `requiresGrad` on the inputs PyTorch differentiated,
    /// back-propagates (output · w).sum(), and returns every mismatch of the output and the gradients.
    public static func parityMismatches(_ torchCase: TorchCase,
                                        _ op: (TorchVariant) throws(UnetsegError) -> Tensor) throws(UnetsegError) -> [String] {
        var problems: [String] = []
        for (index, variant) in torchCase.variants.enumerated() {
            let label = "\(torchCase.name)[\(index)]"
            for (role, input) in variant.inputs { input.requiresGrad = variant.gradients[role] != nil }
            let output = try op(variant)
            if let problem = mismatch(output, variant.output, "\(label) output") { problems.append(problem) }
            guard let w = variant.outputWeight else { continue }
            guard output.shape == w.shape else { continue }   // already reported as an output mismatch
            try (output * w).sum().backward()
            for (role, expected) in variant.gradients.sorted(by: { $0.key < $1.key }) {
                guard let grad = variant.inputs[role]?.grad else {
                    problems.append("\(label) grad_\(role): no gradient")
                    continue
                }
                if let problem = mismatch(grad, expected, "\(label) grad_\(role)") { problems.append(problem) }
            }
        }
        return problems
    }
}
