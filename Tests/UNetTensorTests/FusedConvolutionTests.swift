import Testing
import UNetTensor
import _UNetSupport

/// `conv2dReLU` is `conv2d(…).relu()` in one op, and results written into recycled, unzeroed memory are
/// complete.
@Suite struct FusedConvolutionTests {
    /// Values and all three gradients, fused and unfused, for a Winograd shape, an im2col shape and a
    /// strided one.
    @Test(arguments: [
        ([2, 16, 12, 10], [16, 16, 3, 3], 1, 1),
        ([2, 3, 9, 11], [8, 3, 3, 3], 1, 1),
        ([1, 4, 10, 10], [6, 4, 2, 2], 2, 0),
    ])
    func fusedEqualsConvolutionThenReLU(input: [Int], weight: [Int], stride: Int, padding: Int) throws {
        var generator = RandomGenerator(seed: 11)
        let x = try Tensor.uniform(input, low: -1, high: 1, generator: &generator)
        let w = try Tensor.uniform(weight, low: -0.5, high: 0.5, generator: &generator)
        let b = try Tensor.uniform([weight[0]], low: -0.5, high: 0.5, generator: &generator)
        for t in [x, w, b] { t.requiresGrad = true }
        let shape = try Autograd.withNoGrad { () throws(UnetsegError) in
            try x.conv2d(weight: w, bias: b, stride: stride, padding: padding).shape
        }
        let upstream = try Tensor.uniform(shape, low: -1, high: 1, generator: &generator)
        func run(fused: Bool) throws -> [[Float]] {
            for t in [x, w, b] { t.zeroGrad() }
            let y = fused ? try x.conv2dReLU(weight: w, bias: b, stride: stride, padding: padding)
                          : try x.conv2d(weight: w, bias: b, stride: stride, padding: padding).relu()
            try (y * upstream).sum().backward()
            return [y.toArray(), try #require(x.grad).toArray(), try #require(w.grad).toArray(),
                    try #require(b.grad).toArray()]
        }
        let unfused = try run(fused: false)
        let fused = try run(fused: true)
        #expect(fused == unfused)
        #expect(unfused[0].contains(0) && unfused[0].contains { $0 > 0 })
    }

    /// Convolutions (Winograd, pointwise, im2col) and a ReLU whose outputs land in blocks that held NaN:
    /// every element is written.
    @Test func resultsInRecycledMemoryAreComplete() throws {
        var generator = RandomGenerator(seed: 12)
        let x = try Tensor.uniform([2, 16, 128, 128], low: -1, high: 1, generator: &generator)
        let w = try Tensor.uniform([16, 16, 3, 3], low: -0.2, high: 0.2, generator: &generator)
        let w1 = try Tensor.uniform([16, 16, 1, 1], low: -0.2, high: 0.2, generator: &generator)
        let thin = try Tensor.uniform([2, 3, 128, 128], low: -1, high: 1, generator: &generator)
        let w3 = try Tensor.uniform([16, 3, 3, 3], low: -0.2, high: 0.2, generator: &generator)
        let expected = try [x.conv2d(weight: w, bias: nil, padding: 1).toArray(),
                            x.conv2d(weight: w1, bias: nil).toArray(), thin.conv2d(weight: w3, bias: nil, padding: 1).toArray(),
                            x.relu().toArray()]
        for _ in 0..<3 {
            // Blocks of the results' size, filled with NaN and back into the pool (the last round's
            // results too: these take their blocks first).
            do { _ = try (0..<4).map { _ in try Tensor.full(x.shape, .nan) } }
            let results = try [x.conv2d(weight: w, bias: nil, padding: 1), x.conv2d(weight: w1, bias: nil),
                               thin.conv2d(weight: w3, bias: nil, padding: 1), x.relu()]
            #expect(results.map { $0.toArray() } == expected)
        }
    }
}
