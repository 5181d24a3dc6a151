// Which kernel family runs each pass of a convolution. The kernels dispatch on this, and `bench layers`
// reports it, so the table always names what ran.

import _UNetSupport

/// The kernel family that runs one pass of a convolution.
@_spi(Benchmark)
public enum ConvolutionAlgorithm: String, Sendable {
    /// Winograd F(2×2, 3×3): 16 batched matrix products over transformed tiles (Winograd.swift).
    case winograd = "winograd"
    /// A matrix product per tile of the im2col column matrix (ConvolutionKernels.swift).
    case im2colGEMM = "im2col-gemm"
    /// A matrix product whose result is scattered back with col2im (input gradients, transposed forwards).
    case col2imGEMM = "col2im-gemm"
    /// A 1×1 convolution: the input is the column matrix, one plain matrix product.
    case pointwiseGEMM = "pointwise-gemm"
}

extension ConvolutionGeometry {
    /// The algorithm of the forward pass `output = conv(input, weight)`.
    var forwardAlgorithm: ConvolutionAlgorithm {
        Winograd.handles(self) ? .winograd : isPointwise ? .pointwiseGEMM : .im2colGEMM
    }

    /// The algorithm of the input-gradient pass.
    var inputGradientAlgorithm: ConvolutionAlgorithm {
        Winograd.handles(self) ? .winograd : isPointwise ? .pointwiseGEMM : .col2imGEMM
    }

    /// The algorithm of the weight-gradient pass.
    var weightGradientAlgorithm: ConvolutionAlgorithm { isPointwise ? .pointwiseGEMM : .im2colGEMM }
}

extension Tensor {
    /// The algorithms of `conv2d`'s forward, input-gradient and weight-gradient passes for an input of
    /// `inputShape` and a weight of `weightShape`, with the arithmetic of one pass (2 × multiply-adds).
    @_spi(Benchmark)
    public static func conv2dAlgorithms(inputShape: [Int], weightShape: [Int], stride: Int = 1, padding: Int = 0)
        throws(UnetsegError) -> (forward: ConvolutionAlgorithm, inputGradient: ConvolutionAlgorithm,
                                 weightGradient: ConvolutionAlgorithm, flops: Double) {
        let g = try ConvolutionGeometry(conv2dInput: inputShape, weight: weightShape, bias: nil, stride: stride,
                                        padding: padding)
        return (g.forwardAlgorithm, g.inputGradientAlgorithm, g.weightGradientAlgorithm, g.flops)
    }

    /// The algorithms of `convTranspose2d`'s three passes (its forward is the transposed convolution's
    /// input gradient, and its input gradient that convolution's forward), with the arithmetic of one pass.
    @_spi(Benchmark)
    public static func convTranspose2dAlgorithms(inputShape: [Int], weightShape: [Int], stride: Int = 1,
                                                 padding: Int = 0)
        throws(UnetsegError) -> (forward: ConvolutionAlgorithm, inputGradient: ConvolutionAlgorithm,
                                 weightGradient: ConvolutionAlgorithm, flops: Double) {
        let g = try ConvolutionGeometry(convTranspose2dInput: inputShape, weight: weightShape, bias: nil,
                                        stride: stride, padding: padding)
        return (g.inputGradientAlgorithm, g.forwardAlgorithm, g.weightGradientAlgorithm, g.flops)
    }
}
