import Testing
import UNetTensor
import _TestSupport
import _UNetSupport

/// conv2d, conv_transpose2d and max_pool2d: hand-computed values, finite-difference gradients, a direct-loop
/// reference on shapes that span several tiles, thread-count invariance and argument errors.
@Suite struct ConvolutionTests {
    func random(_ shape: [Int], seed: UInt64) throws -> Tensor {
        var g = RandomGenerator(seed: seed)
        return try Tensor.uniform(shape, low: -1, high: 1, generator: &g)
    }

    func ramp(_ shape: [Int]) throws -> Tensor {
        let n = shape.reduce(1, *)
        return try Tensor((1...n).map(Float.init), shape: shape)
    }

    // MARK: - Hand-computed values

    @Test func conv2dHandComputed() throws {
        let x = try ramp([1, 1, 3, 3])   // 1 2 3 / 4 5 6 / 7 8 9
        let k2 = try Tensor([1, 2, 3, 4], shape: [1, 1, 2, 2])
        let bias = try Tensor([1], shape: [1])
        #expect(try x.conv2d(weight: k2, bias: bias).toArray() == [38, 48, 68, 78])
        let ones = try Tensor.ones([1, 1, 3, 3])
        let same = try x.conv2d(weight: ones, bias: nil, padding: 1)
        #expect(same.shape == [1, 1, 3, 3])
        #expect(same.toArray() == [12, 21, 16, 27, 45, 33, 24, 39, 28])
        #expect(try x.conv2d(weight: ones, bias: nil, stride: 2, padding: 1).toArray() == [12, 16, 24, 28])
        // Two output channels from two input channels, 1×1: a per-pixel matrix product.
        let y = try ramp([1, 2, 1, 2])   // channel 0: 1 2, channel 1: 3 4
        let w = try Tensor([1, 1, 2, -1], shape: [2, 2, 1, 1])
        #expect(try y.conv2d(weight: w, bias: try Tensor([0, 10], shape: [2])).toArray() == [4, 6, 9, 10])
    }

    @Test func convTranspose2dHandComputed() throws {
        let x = try ramp([1, 1, 2, 2])
        let w = try Tensor([1, 10, 100, 1000], shape: [1, 1, 2, 2])
        let up = try x.convTranspose2d(weight: w, bias: nil, stride: 2)
        #expect(up.shape == [1, 1, 4, 4])
        #expect(up.toArray() == [1, 10, 2, 20, 100, 1000, 200, 2000, 3, 30, 4, 40, 300, 3000, 400, 4000])
        let overlapping = try Tensor.ones([1, 1, 2, 2])
            .convTranspose2d(weight: try Tensor.ones([1, 1, 3, 3]), bias: try Tensor([0.5], shape: [1]),
                             stride: 2, padding: 1)
        #expect(overlapping.shape == [1, 1, 3, 3])
        #expect(overlapping.toArray() == [1.5, 2.5, 1.5, 2.5, 4.5, 2.5, 1.5, 2.5, 1.5])
    }

    @Test func maxPool2dHandComputed() throws {
        #expect(try ramp([1, 1, 4, 4]).maxPool2d().toArray() == [6, 8, 14, 16])
        let overlapping = try ramp([1, 1, 5, 5]).maxPool2d(kernelSize: 3, stride: 2)
        #expect(overlapping.shape == [1, 1, 2, 2])
        #expect(overlapping.toArray() == [13, 15, 23, 25])
        #expect(try ramp([2, 3, 5, 7]).maxPool2d().shape == [2, 3, 2, 3])   // floor mode
        // Ties: the gradient goes to the first maximal element of the window.
        let ties = try Tensor([5, 5, 5, 5, 1, 7, 7, 2], shape: [1, 2, 2, 2], requiresGrad: true)
        try ties.maxPool2d().sum().backward()
        #expect(ties.grad?.toArray() == [1, 0, 0, 0, 0, 1, 0, 0])
        // A NaN wins its window, as in PyTorch.
        let withNaN = try Tensor([1, .nan, 3, 4], shape: [1, 1, 2, 2])
        #expect(try withNaN.maxPool2d().toArray()[0].isNaN)
    }

    // MARK: - Finite-difference gradients

    @Test(arguments: [
        // input shape, weight shape, stride, padding, bias
        ([2, 3, 7, 6], [4, 3, 3, 3], 1, 0, true),
        ([1, 2, 5, 5], [3, 2, 3, 3], 1, 1, false),
        ([2, 2, 7, 7], [3, 2, 3, 3], 2, 1, true),
        ([1, 3, 6, 5], [2, 3, 3, 3], 2, 2, true),
        ([2, 4, 5, 3], [3, 4, 1, 1], 1, 0, true),
        ([1, 3, 7, 5], [2, 3, 1, 1], 2, 0, false),
        ([1, 2, 5, 6], [3, 2, 2, 3], 1, 1, true),
        ([1, 2, 8, 7], [2, 2, 2, 2], 3, 2, true),
    ])
    func conv2dGradients(input: [Int], weight: [Int], stride: Int, padding: Int, bias: Bool) throws {
        let x = try random(input, seed: 1), w = try random(weight, seed: 2)
        let inputs = bias ? [x, w, try random([weight[0]], seed: 3)] : [x, w]
        let report = try GradientCheck.check(inputs: inputs) { t in
            try t[0].conv2d(weight: t[1], bias: t.count > 2 ? t[2] : nil, stride: stride, padding: padding)
        }
        #expect(report.worstError < 2e-3, "\(report)")
    }

    @Test(arguments: [
        ([2, 3, 4, 3], [3, 2, 2, 2], 2, 0, true),
        ([1, 2, 3, 4], [2, 3, 3, 3], 2, 1, false),
        ([1, 2, 3, 3], [2, 2, 3, 2], 1, 1, true),
        ([1, 2, 3, 2], [2, 1, 2, 2], 3, 0, true),
    ])
    func convTranspose2dGradients(input: [Int], weight: [Int], stride: Int, padding: Int, bias: Bool) throws {
        let x = try random(input, seed: 4), w = try random(weight, seed: 5)
        let inputs = bias ? [x, w, try random([weight[1]], seed: 6)] : [x, w]
        let report = try GradientCheck.check(inputs: inputs) { t in
            try t[0].convTranspose2d(weight: t[1], bias: t.count > 2 ? t[2] : nil, stride: stride, padding: padding)
        }
        #expect(report.worstError < 2e-3, "\(report)")
    }

    @Test(arguments: [(2, 2, [2, 3, 6, 8]), (2, 2, [1, 2, 7, 5]), (3, 2, [2, 2, 7, 9]), (3, 1, [1, 2, 5, 6])])
    func maxPool2dGradients(kernel: Int, stride: Int, shape: [Int]) throws {
        // A shuffled ramp: no ties, and gaps of 0.1 keep every window's maximum clear of the ±0.01 steps.
        let n = shape.reduce(1, *)
        var values = (0..<n).map { Float($0) * 0.1 }
        var g = RandomGenerator(seed: 7)
        let order = try Tensor.uniform([n], generator: &g).toArray()
        values = zip(order, values).sorted { $0.0 < $1.0 }.map(\.1)
        let x = try Tensor(values, shape: shape)
        let report = try GradientCheck.check(inputs: [x]) { try $0[0].maxPool2d(kernelSize: kernel, stride: stride) }
        #expect(report.worstError < 2e-3, "\(report)")
    }

    // MARK: - Reference on shapes that span several tiles

    @Test(arguments: [
        // input shape, weight shape, stride, padding: several tiles per image, sliced channels, few channels
        // (weight-gradient partials), strided non-square kernels, pointwise over two tiles (tile sizes as
        // set in ConvolutionKernels).
        ([2, 64, 37, 41], [8, 64, 3, 3], 1, 1),
        ([1, 128, 20, 23], [4, 128, 3, 3], 1, 1),
        ([4, 128, 23, 25], [3, 128, 3, 3], 1, 1),
        ([2, 3, 37, 41], [5, 3, 3, 3], 1, 1),
        ([2, 5, 37, 41], [6, 5, 3, 5], 2, 2),
        ([1, 3, 70, 70], [4, 3, 1, 1], 1, 0),
        ([1, 2, 130, 130], [2, 2, 120, 120], 1, 0),   // huge kernel: narrow tiles
    ])
    func conv2dMatchesDirectLoops(input: [Int], weight: [Int], stride: Int, padding: Int) throws {
        let x = try random(input, seed: 11), w = try random(weight, seed: 12), b = try random([weight[0]], seed: 13)
        for t in [x, w, b] { t.requiresGrad = true }
        let y = try x.conv2d(weight: w, bias: b, stride: stride, padding: padding)
        let dy = try random(y.shape, seed: 14)
        try (y * dy).sum().backward()
        let reference = DirectConvolution(input: x, weight: w, stride: stride, padding: padding, transposed: false)
        let expected = reference.run(bias: b.toArray(), gradOutput: dy.toArray())
        #expect(y.shape == reference.outputShape)
        expectClose(y.toArray(), expected.output, "forward")
        expectClose(x.grad?.toArray() ?? [], expected.gradInput, "input gradient")
        expectClose(w.grad?.toArray() ?? [], expected.gradWeight, "weight gradient")
        expectClose(b.grad?.toArray() ?? [], expected.gradBias, "bias gradient")
    }

    @Test(arguments: [
        ([2, 6, 9, 11], [6, 5, 3, 3], 2, 1),
        ([2, 40, 16, 17], [40, 12, 2, 2], 2, 0),
        ([1, 4, 7, 6], [4, 3, 4, 3], 2, 1),
    ])
    func convTranspose2dMatchesDirectLoops(input: [Int], weight: [Int], stride: Int, padding: Int) throws {
        let x = try random(input, seed: 21), w = try random(weight, seed: 22), b = try random([weight[1]], seed: 23)
        for t in [x, w, b] { t.requiresGrad = true }
        let y = try x.convTranspose2d(weight: w, bias: b, stride: stride, padding: padding)
        let dy = try random(y.shape, seed: 24)
        try (y * dy).sum().backward()
        let reference = DirectConvolution(input: x, weight: w, stride: stride, padding: padding, transposed: true)
        let expected = reference.run(bias: b.toArray(), gradOutput: dy.toArray())
        #expect(y.shape == reference.outputShape)
        expectClose(y.toArray(), expected.output, "forward")
        expectClose(x.grad?.toArray() ?? [], expected.gradInput, "input gradient")
        expectClose(w.grad?.toArray() ?? [], expected.gradWeight, "weight gradient")
        expectClose(b.grad?.toArray() ?? [], expected.gradBias, "bias gradient")
    }

    func expectClose(_ actual: [Float], _ expected: [Double], _ what: String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(actual.count == expected.count, "\(what): \(actual.count) values, expected \(expected.count)",
                sourceLocation: sourceLocation)
        var worst = 0.0, at = -1
        for (i, (a, e)) in zip(actual, expected).enumerated() {
            let error = abs(Double(a) - e) / max(1, abs(e))
            if error > worst { worst = error; at = i }
        }
        #expect(worst < 1e-4, "\(what): worst relative error \(worst) at \(at)", sourceLocation: sourceLocation)
    }

    // MARK: - Threads

    @Test func resultsDoNotDependOnTheThreadCount() throws {
        defer { Parallel.setThreadCount(0) }
        let cases: [(input: [Int], weight: [Int], transposed: Bool, stride: Int, padding: Int)] = [
            ([2, 64, 37, 41], [8, 64, 3, 3], false, 1, 1),
            ([4, 128, 23, 25], [3, 128, 3, 3], false, 1, 1),
            ([2, 3, 37, 41], [5, 3, 3, 3], false, 2, 1),
            ([2, 40, 16, 17], [40, 12, 2, 2], true, 2, 0),
        ]
        for c in cases {
            var runs: [[[Float]]] = []
            for threads in [1, 2, 3] {
                Parallel.setThreadCount(threads)
                let x = try random(c.input, seed: 31), w = try random(c.weight, seed: 32)
                let b = try random([c.transposed ? c.weight[1] : c.weight[0]], seed: 33)
                for t in [x, w, b] { t.requiresGrad = true }
                let y = c.transposed
                    ? try x.convTranspose2d(weight: w, bias: b, stride: c.stride, padding: c.padding)
                    : try x.conv2d(weight: w, bias: b, stride: c.stride, padding: c.padding)
                let pooled = try y.maxPool2d(kernelSize: 3, stride: 2)
                try (pooled * random(pooled.shape, seed: 34)).sum().backward()
                runs.append([y.toArray(), pooled.toArray()] + [x, w, b].map { $0.grad?.toArray() ?? [] })
            }
            #expect(runs[0] == runs[1], "\(c): 1 and 2 threads differ")
            #expect(runs[0] == runs[2], "\(c): 1 and 3 threads differ")
        }
    }

    @Test func emptyBatchGivesEmptyOutputsAndZeroWeightGradients() throws {
        let x = try Tensor.zeros([0, 2, 5, 5], requiresGrad: true)
        let w = try random([3, 2, 3, 3], seed: 51), b = try random([3], seed: 52)
        w.requiresGrad = true; b.requiresGrad = true
        let y = try x.conv2d(weight: w, bias: b, padding: 1)
        let up = try y.convTranspose2d(weight: try random([3, 2, 2, 2], seed: 53), bias: nil, stride: 2)
        let pooled = try up.maxPool2d()
        #expect(y.shape == [0, 3, 5, 5] && up.shape == [0, 2, 10, 10] && pooled.shape == [0, 2, 5, 5])
        try pooled.sum().backward()
        #expect(w.grad?.toArray() == [Float](repeating: 0, count: 54))
        #expect(b.grad?.toArray() == [0, 0, 0])
        #expect(x.grad?.shape == [0, 2, 5, 5])
    }

    // MARK: - Graph and errors

    @Test func outputIsFreedWithItsGraph() throws {
        weak var conv: Tensor?, up: Tensor?, pooled: Tensor?
        let x = try random([1, 2, 6, 6], seed: 41)
        x.requiresGrad = true
        do {
            let a = try x.conv2d(weight: try random([3, 2, 3, 3], seed: 42), bias: nil, padding: 1)
            let b = try a.convTranspose2d(weight: try random([3, 2, 2, 2], seed: 43), bias: nil, stride: 2)
            let c = try b.maxPool2d()
            conv = a; up = b; pooled = c
            #expect(c.requiresGrad)
        }
        #expect(conv == nil && up == nil && pooled == nil)
    }

    @Test func invalidArgumentsThrow() throws {
        let x = try Tensor.zeros([1, 2, 4, 4])
        let w = try Tensor.zeros([3, 2, 3, 3])
        func expectInvalid(_ body: () throws -> Tensor, sourceLocation: SourceLocation = #_sourceLocation) {
            do {
                _ = try body()
                Issue.record("expected invalidArgument", sourceLocation: sourceLocation)
            } catch UnetsegError.invalidArgument {
            } catch {
                Issue.record("expected invalidArgument, got \(error)", sourceLocation: sourceLocation)
            }
        }
        expectInvalid { try Tensor.zeros([2, 4, 4]).conv2d(weight: w, bias: nil) }               // rank
        expectInvalid { try x.conv2d(weight: try Tensor.zeros([3, 2, 3]), bias: nil) }           // weight rank
        expectInvalid { try x.conv2d(weight: try Tensor.zeros([3, 5, 3, 3]), bias: nil) }        // channels
        expectInvalid { try x.conv2d(weight: w, bias: try Tensor.zeros([2])) }                   // bias
        expectInvalid { try x.conv2d(weight: w, bias: try Tensor.zeros([3, 1])) }                // bias rank
        expectInvalid { try x.conv2d(weight: try Tensor.zeros([3, 2, 5, 5]), bias: nil) }        // output 0
        expectInvalid { try x.conv2d(weight: w, bias: nil, stride: 0) }
        expectInvalid { try x.conv2d(weight: w, bias: nil, padding: -1) }
        expectInvalid { try x.conv2d(weight: w, bias: nil, padding: Int.max) }
        expectInvalid { try x.convTranspose2d(weight: try Tensor.zeros([3, 2, 2, 2]), bias: nil) }   // channels
        expectInvalid { try x.convTranspose2d(weight: try Tensor.zeros([2, 3, 2, 2]), bias: try Tensor.zeros([2])) }
        expectInvalid { try x.convTranspose2d(weight: try Tensor.zeros([2, 3, 2, 2]), bias: nil, stride: Int.max) }
        expectInvalid {   // (1 − 1)·2 − 2·1 + 1 < 1
            try Tensor.zeros([1, 2, 1, 1]).convTranspose2d(weight: try Tensor.zeros([2, 3, 1, 1]), bias: nil,
                                                           stride: 2, padding: 1)
        }
        expectInvalid { try Tensor.zeros([1, 4, 4]).maxPool2d() }
        expectInvalid { try x.maxPool2d(kernelSize: 0) }
        expectInvalid { try x.maxPool2d(kernelSize: 2, stride: 0) }
        expectInvalid { try x.maxPool2d(kernelSize: 5) }
        #expect(try x.convTranspose2d(weight: try Tensor.zeros([2, 3, 2, 2]), bias: nil, stride: 2).shape == [1, 3, 8, 8])
    }
}

/// Convolution and transposed convolution by their definitions, in double precision, for comparison:
/// out[n, o, oy, ox] = Σ in[n, c, oy·s − p + ky, ox·s − p + kx] · w[o, c, ky, kx] for a convolution, and
/// out[n, co, iy·s − p + ky, ix·s − p + kx] += in[n, ci, iy, ix] · w[ci, co, ky, kx] for a transposed one.
struct DirectConvolution {
    let input: [Float], inputShape: [Int], weight: [Float], weightShape: [Int]
    let stride: Int, padding: Int, transposed: Bool

    init(input: Tensor, weight: Tensor, stride: Int, padding: Int, transposed: Bool) {
        self.input = input.toArray(); inputShape = input.shape
        self.weight = weight.toArray(); weightShape = weight.shape
        self.stride = stride; self.padding = padding; self.transposed = transposed
    }

    var outputShape: [Int] {
        let (n, kh, kw) = (inputShape[0], weightShape[2], weightShape[3])
        if transposed {
            return [n, weightShape[1], (inputShape[2] - 1) * stride - 2 * padding + kh,
                    (inputShape[3] - 1) * stride - 2 * padding + kw]
        }
        return [n, weightShape[0], (inputShape[2] + 2 * padding - kh) / stride + 1,
                (inputShape[3] + 2 * padding - kw) / stride + 1]
    }

    /// The output and, for the given output gradient, the gradients of input, weight and bias.
    func run(bias: [Float], gradOutput: [Float]) -> (output: [Double], gradInput: [Double], gradWeight: [Double], gradBias: [Double]) {
        let out = outputShape
        let (batch, kh, kw) = (inputShape[0], weightShape[2], weightShape[3])
        // The "small" side (convolution output, transposed-convolution input) and the "large" side.
        let small = transposed ? inputShape : out, large = transposed ? out : inputShape
        let smallChannels = small[1], largeChannels = large[1]
        var output = [Double](repeating: 0, count: out.reduce(1, *))
        var gradInput = [Double](repeating: 0, count: input.count)
        var gradWeight = [Double](repeating: 0, count: weight.count)
        var gradBias = [Double](repeating: 0, count: bias.count)
        func index(_ s: [Int], _ a: Int, _ b: Int, _ c: Int, _ d: Int) -> Int { ((a * s[1] + b) * s[2] + c) * s[3] + d }
        for n in 0..<batch {
            for o in 0..<smallChannels {
                for oy in 0..<small[2] {
                    for ox in 0..<small[3] {
                        let s = index(small, n, o, oy, ox)
                        for c in 0..<largeChannels {
                            for ky in 0..<kh {
                                let iy = oy * stride - padding + ky
                                guard iy >= 0 && iy < large[2] else { continue }
                                for kx in 0..<kw {
                                    let ix = ox * stride - padding + kx
                                    guard ix >= 0 && ix < large[3] else { continue }
                                    let l = index(large, n, c, iy, ix)
                                    let wi = index(weightShape, o, c, ky, kx)   // [O, C] or [Cin, Cout]: same order
                                    let w = Double(weight[wi])
                                    if transposed {
                                        output[l] += Double(input[s]) * w
                                        gradInput[s] += Double(gradOutput[l]) * w
                                        gradWeight[wi] += Double(input[s]) * Double(gradOutput[l])
                                    } else {
                                        output[s] += Double(input[l]) * w
                                        gradInput[l] += Double(gradOutput[s]) * w
                                        gradWeight[wi] += Double(input[l]) * Double(gradOutput[s])
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let plane = out[2] * out[3]
        for i in output.indices {
            let channel = (i / plane) % out[1]
            output[i] += Double(bias[channel])
            gradBias[channel] += Double(gradOutput[i])
        }
        return (output, gradInput, gradWeight, gradBias)
    }
}
