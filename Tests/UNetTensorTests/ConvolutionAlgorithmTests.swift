import Testing
@_spi(Benchmark) import UNetTensor
import _UNetSupport

/// The algorithm each convolution pass dispatches to (what `bench layers` reports).
@Suite struct ConvolutionAlgorithmTests {
    func names(_ a: (forward: ConvolutionAlgorithm, inputGradient: ConvolutionAlgorithm,
                     weightGradient: ConvolutionAlgorithm, flops: Double)) -> [String] {
        [a.forward.rawValue, a.inputGradient.rawValue, a.weightGradient.rawValue]
    }

    @Test func threeByThreeWithEnoughChannelsRunsWinograd() throws {
        let a = try Tensor.conv2dAlgorithms(inputShape: [4, 16, 32, 32], weightShape: [16, 16, 3, 3], padding: 1)
        #expect(names(a) == ["winograd", "winograd", "im2col-gemm"])
        #expect(a.flops == 2 * 4 * 16 * 16 * 9 * 32 * 32)
    }

    @Test func fewChannelsStrideOrPaddingFallBackToGEMM() throws {
        let thin = try Tensor.conv2dAlgorithms(inputShape: [4, 3, 32, 32], weightShape: [16, 3, 3, 3], padding: 1)
        #expect(names(thin) == ["im2col-gemm", "col2im-gemm", "im2col-gemm"])
        let unpadded = try Tensor.conv2dAlgorithms(inputShape: [4, 16, 32, 32], weightShape: [16, 16, 3, 3])
        #expect(names(unpadded) == ["im2col-gemm", "col2im-gemm", "im2col-gemm"])
        let pointwise = try Tensor.conv2dAlgorithms(inputShape: [4, 16, 32, 32], weightShape: [1, 16, 1, 1])
        #expect(names(pointwise) == ["pointwise-gemm", "pointwise-gemm", "pointwise-gemm"])
    }

    @Test func transposedConvolutionSwapsForwardAndInputGradient() throws {
        let a = try Tensor.convTranspose2dAlgorithms(inputShape: [4, 16, 8, 8], weightShape: [16, 8, 2, 2], stride: 2)
        #expect(names(a) == ["col2im-gemm", "im2col-gemm", "im2col-gemm"])
        #expect(a.flops == 2 * 4 * 16 * 8 * 4 * 8 * 8)
    }

    @Test func badShapesAreErrors() {
        #expect(throws: UnetsegError.self) {
            try Tensor.conv2dAlgorithms(inputShape: [4, 3, 32, 32], weightShape: [16, 4, 3, 3])
        }
    }
}
