import Testing
@testable import UNetTensor
import _TestSupport

/// The Winograd F(2×2, 3×3) path of 3×3 stride-1 padding-1 convolutions against a float64 direct
/// convolution, on the U-Net's channel counts and on odd sizes (edge tiles), forward and input gradient.
@Suite struct WinogradTests {
    /// Reference output and, per element, Σ|w·x| (the scale that rounding errors are relative to).
    func reference(_ x: [Float], _ w: [Float], _ bias: [Float], n: Int, c: Int, o: Int, h: Int, width: Int)
        -> (values: [Double], scale: [Double]) {
        var values = [Double](repeating: 0, count: n * o * h * width), scale = values
        for b in 0..<n {
            for oc in 0..<o {
                for y in 0..<h {
                    for xx in 0..<width {
                        var sum = Double(bias[oc]), magnitude = abs(Double(bias[oc]))
                        for ic in 0..<c {
                            for i in 0..<3 {
                                let yy = y - 1 + i
                                guard yy >= 0, yy < h else { continue }
                                for j in 0..<3 {
                                    let xj = xx - 1 + j
                                    guard xj >= 0, xj < width else { continue }
                                    let product = Double(w[((oc * c + ic) * 3 + i) * 3 + j])
                                        * Double(x[((b * c + ic) * h + yy) * width + xj])
                                    sum += product
                                    magnitude += abs(product)
                                }
                            }
                        }
                        values[((b * o + oc) * h + y) * width + xx] = sum
                        scale[((b * o + oc) * h + y) * width + xx] = magnitude
                    }
                }
            }
        }
        return (values, scale)
    }

    /// The largest error of `actual` relative to the scale of each element.
    func worstRelativeError(_ actual: [Float], _ expected: (values: [Double], scale: [Double])) -> Double {
        zip(actual.indices, actual).map { i, a in abs(Double(a) - expected.values[i]) / max(expected.scale[i], 1e-30) }
            .max() ?? 0
    }

    @Test(arguments: [(2, 64, 64, 32, 32), (1, 512, 256, 9, 7), (1, 24, 40, 13, 17), (1, 8, 8, 1, 1), (3, 16, 8, 2, 5)])
    func forwardAndInputGradientMatchFloat64(shape: (Int, Int, Int, Int, Int)) throws {
        let (n, c, o, h, w) = shape
        var generator = RandomGenerator(seed: UInt64(c * 1000 + h))
        let x = try Tensor.uniform([n, c, h, w], low: -1, high: 1, generator: &generator)
        let weight = try Tensor.uniform([o, c, 3, 3], low: -0.5, high: 0.5, generator: &generator)
        let bias = try Tensor.uniform([o], low: -0.5, high: 0.5, generator: &generator)
        let geometry = try ConvolutionGeometry(conv2dInput: x.shape, weight: weight.shape, bias: bias.shape,
                                               stride: 1, padding: 1)
        #expect(Winograd.handles(geometry))
        let y = try x.conv2d(weight: weight, bias: bias, padding: 1)
        let expected = reference(x.toArray(), weight.toArray(), bias.toArray(), n: n, c: c, o: o, h: h, width: w)
        #expect(worstRelativeError(y.toArray(), expected) < 1e-6)

        // The input gradient is the convolution of the output gradient with kernels turned 180° and
        // channels swapped.
        let gradOutput = try Tensor.uniform([n, o, h, w], low: -1, high: 1, generator: &generator)
        let gradInput = Tensor.conv2dInputGradient(geometry, gradOutput: gradOutput, weight: weight)
        let wv = weight.toArray()
        var turned = [Float](repeating: 0, count: wv.count)
        for oc in 0..<o { for ic in 0..<c { for k in 0..<9 { turned[(ic * o + oc) * 9 + k] = wv[(oc * c + ic) * 9 + 8 - k] } } }
        let expectedGradient = reference(gradOutput.toArray(), turned, [Float](repeating: 0, count: c),
                                         n: n, c: o, o: c, h: h, width: w)
        #expect(worstRelativeError(gradInput.toArray(), expectedGradient) < 1e-6)
    }

    @Test func fewChannelsStayOnIm2col() throws {
        let geometry = try ConvolutionGeometry(conv2dInput: [1, 3, 16, 16], weight: [64, 3, 3, 3], bias: nil,
                                               stride: 1, padding: 1)
        #expect(!Winograd.handles(geometry))
        let strided = try ConvolutionGeometry(conv2dInput: [1, 64, 16, 16], weight: [64, 64, 3, 3], bias: nil,
                                              stride: 2, padding: 1)
        #expect(!Winograd.handles(strided))
    }

    @Test func resultsDoNotDependOnTheThreadCount() throws {
        var generator = RandomGenerator(seed: 3)
        let x = try Tensor.uniform([2, 32, 37, 23], low: -1, high: 1, generator: &generator)
        let weight = try Tensor.uniform([16, 32, 3, 3], low: -1, high: 1, generator: &generator)
        let before = Parallel.threadCount
        defer { Parallel.setThreadCount(before) }
        var outputs: [[Float]] = []
        for threads in [1, 2, 3] {
            Parallel.setThreadCount(threads)
            outputs.append(try x.conv2d(weight: weight, bias: nil, padding: 1).toArray())
        }
        #expect(outputs[0] == outputs[1] && outputs[1] == outputs[2])
    }
}
