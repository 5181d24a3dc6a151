import Testing
#if canImport(Glibc)
import Glibc
#endif
import UNetTensor
import _TestSupport
import _UNetSupport

/// Forward values and finite-difference gradients of the elementwise, reduction and activation ops.
@Suite struct ElementwiseTests {
    func random(_ shape: [Int], seed: UInt64, low: Float = -1, high: Float = 1) throws -> Tensor {
        var g = RandomGenerator(seed: seed)
        return try Tensor.uniform(shape, low: low, high: high, generator: &g)
    }

    @Test func arithmeticForward() throws {
        let a = try Tensor([1, 2, 3, 4], shape: [2, 2])
        let b = try Tensor([4, 3, 2, 1], shape: [2, 2])
        #expect(try (a + b).toArray() == [5, 5, 5, 5])
        #expect(try (a - b).toArray() == [-3, -1, 1, 3])
        #expect(try (a * b).toArray() == [4, 6, 6, 4])
        #expect(try (a / b).toArray() == [0.25, 2.0 / 3.0, 1.5, 4])
        #expect((1 - a).toArray() == [0, -1, -2, -3])
        #expect((2 / a).toArray() == [2, 1, 2.0 / 3.0, 0.5])
        #expect((a * 2 + 1).toArray() == [3, 5, 7, 9])
        #expect((a > 2.5).toArray() == [0, 0, 1, 1])
        #expect(try a.sum().item() == 10)
        #expect(try a.mean().item() == 2.5)
    }

    @Test func shapeMismatchThrows() throws {
        let a = try Tensor.zeros([2, 3]), b = try Tensor.zeros([3, 2])
        #expect(throws: UnetsegError.self) { try a + b }
        #expect(throws: UnetsegError.self) { try a.reshaped([4, 2]) }
        #expect(throws: UnetsegError.self) { try a.reshaped([-1, -1]) }
        #expect(throws: UnetsegError.self) { try a.item() }
        #expect(try a.reshaped([-1]).shape == [6])
    }

    @Test(arguments: ["add", "sub", "mul", "div"])
    func binaryGradients(op: String) throws {
        let a = try random([2, 3, 5], seed: 1)
        let b = try random([2, 3, 5], seed: 2, low: 0.5, high: 2)
        let report = try GradientCheck.check(inputs: [a, b]) { x in
            switch op {
            case "add": return try x[0] + x[1]
            case "sub": return try x[0] - x[1]
            case "mul": return try x[0] * x[1]
            default: return try x[0] / x[1]
            }
        }
        #expect(report.worstError < 2e-3, "\(op): \(report)")
    }

    @Test(arguments: ["s+x", "s-x", "x*s", "x/s", "s/x", "relu", "sigmoid", "pow", "square", "exp", "log",
                      "sum", "mean", "view"])
    func unaryGradients(op: String) throws {
        let x = try random([3, 7], seed: 3, low: 0.2, high: 1.5)
        let y = try random([3, 7], seed: 4)
        for input in [x, y] where !(["s/x", "pow", "log"].contains(op) && input === y) {
            let report = try GradientCheck.check(inputs: [input]) { t in
                let t = t[0]
                switch op {
                case "s+x": return 3 + t
                case "s-x": return 1 - t
                case "x*s": return t * 2.5
                case "x/s": return t / 4
                case "s/x": return 2 / t
                case "relu": return t.relu()
                case "sigmoid": return t.sigmoid()
                case "pow": return t.pow(1.7)
                case "square": return t.square()
                case "exp": return t.exp()
                case "log": return t.log()
                case "sum": return t.sum()
                case "mean": return t.mean()
                default: return try t.view([7, 3])
                }
            }
            #expect(report.worstError < 2e-3, "\(op): \(report)")
        }
    }

    @Test func catGradients() throws {
        let a = try random([2, 3, 4, 5], seed: 5), b = try random([2, 1, 4, 5], seed: 6)
        let c = try Tensor.cat([a, b], dim: 1)
        #expect(c.shape == [2, 4, 4, 5])
        #expect(c.toArray()[60..<80].elementsEqual(b.toArray()[0..<20]))
        let report = try GradientCheck.check(inputs: [a, b]) { try Tensor.cat($0, dim: 1) }
        #expect(report.worstError < 2e-3, "\(report)")
        #expect(throws: UnetsegError.self) { try Tensor.cat([a, try Tensor.zeros([2, 3, 4, 6])], dim: 1) }
    }

    @Test func binaryCrossEntropyMatchesDefinition() throws {
        let x = try Tensor([0.2, 0.9, 0, 1], shape: [4])
        let t = try Tensor([0, 1, 1, 0], shape: [4])
        let expected = Float((-log(0.8) - log(0.9) + 100 + 100) / 4.0)
        #expect(abs(try x.binaryCrossEntropy(t).item() - expected) < 1e-5)
        #expect(throws: UnetsegError.self) { try (x + 0.5).binaryCrossEntropy(t) }
        let p = try random([2, 9], seed: 7, low: 0.05, high: 0.95)
        let target = try random([2, 9], seed: 8, low: 0, high: 1)
        let report = try GradientCheck.check(inputs: [p, target], step: 1e-3) { try $0[0].binaryCrossEntropy($0[1]) }
        #expect(report.worstError < 5e-3, "\(report)")
    }

    @Test func dropoutScalesKeptElementsAndIsIdentityInEval() throws {
        let x = try Tensor.ones([10_000])
        var g = RandomGenerator(seed: 11)
        let y = try x.dropout(p: 0.6, training: true, generator: &g).toArray()
        let kept = y.filter { $0 != 0 }
        #expect(kept.allSatisfy { abs($0 - 2.5) < 1e-6 })
        #expect(abs(Double(kept.count) / 10_000 - 0.4) < 0.03)
        #expect(g.position == 10_000)
        #expect(try x.dropout(p: 0.6, training: false, generator: &g) === x)
        #expect(throws: UnetsegError.self) { try x.dropout(p: 1.5, training: true, generator: &g) }
        var g1 = RandomGenerator(seed: 5), g2 = RandomGenerator(seed: 5)
        let input = try random([4, 33], seed: 9)
        let report = try GradientCheck.check(inputs: [input]) { t in
            g1 = g2  // the same mask on every evaluation
            return try t[0].dropout(p: 0.3, training: true, generator: &g1)
        }
        #expect(report.worstError < 2e-3, "\(report)")
    }

    /// The backward draws the forward's mask again from the seed and position the forward used, whatever
    /// the generator did in between: the gradient is `scale` exactly where the output kept the element.
    @Test func dropoutBackwardUsesTheForwardsMask() throws {
        let x = try random([3, 1000], seed: 12, low: 0.5, high: 1.5)
        x.requiresGrad = true
        var g = RandomGenerator(seed: 13)
        let y = try x.dropout(p: 0.4, training: true, generator: &g)
        _ = try x.detached().dropout(p: 0.4, training: true, generator: &g)   // the generator moves on
        try y.sum().backward()
        let gradient = try #require(x.grad).toArray()
        for (out, grad) in zip(y.toArray(), gradient) {
            #expect(out == 0 ? grad == 0 : grad == 1 / (1 - Float(0.4)))
        }
        #expect(gradient.contains(0) && gradient.contains { $0 != 0 })
    }
}
