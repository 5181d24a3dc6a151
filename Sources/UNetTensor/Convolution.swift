// 2-D convolution (PyTorch's `conv2d` without dilation or groups), forward and backward, on the im2col +
// GEMM kernels of ConvolutionKernels.swift.

import _UNetSupport

extension Tensor {
    /// Cross-correlates a batch of images with a bank of filters, as PyTorch's `torch.nn.functional.conv2d`.
    ///
    /// `self` is the row-major NCHW input [N, C, H, W], `weight` is [O, C, kh, kw] and `bias` is [O] or nil;
    /// the result is [N, O, Ho, Wo] with Ho = ⌊(H + 2·padding − kh) / stride⌋ + 1 (likewise Wo), zero padding.
    /// Differentiable with respect to the input, the weight and the bias.
    public func conv2d(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0) throws(UnetsegError) -> Tensor {
        try convolved(weight: weight, bias: bias, stride: stride, padding: padding, relu: false)
    }

    /// `conv2d(…).relu()` as one op, with the same values and gradients: the ReLU runs in place on the
    /// convolution's output, and the backward reads that output (positive exactly where the ReLU passed),
    /// so no tensor holds the convolution's output before the ReLU. `Sequential` runs a `Conv2d` followed
    /// by a `ReLU` this way.
    public func conv2dReLU(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0) throws(UnetsegError) -> Tensor {
        try convolved(weight: weight, bias: bias, stride: stride, padding: padding, relu: true)
    }

    /// The convolution, and with `relu` its ReLU in place, recorded as one op.
    private func convolved(weight: Tensor, bias: Tensor?, stride: Int, padding: Int, relu: Bool) throws(UnetsegError) -> Tensor {
        let g = try ConvolutionGeometry(conv2dInput: shape, weight: weight.shape, bias: bias?.shape,
                                        stride: stride, padding: padding)
        // The forward writes every output element (it never adds into the output).
        let out = try Tensor.uninitialized([g.batch, g.outChannels, g.outHeight, g.outWidth])
        ConvolutionKernels.forward(g, input: storage.pointer, weight: weight.storage.pointer,
                                   bias: bias?.storage.pointer, output: out.storage.pointer)
        if relu { out.updateInPlace(ReLUKernel()) }
        let activated = relu ? out.detached() : nil  // not `out` itself: its node must not keep it alive
        let input = self
        Autograd.record(out, inputs: bias.map { [self, weight, $0] } ?? [self, weight]) { gradient in
            let gradOutput = activated.map { gradient.zipped($0, ReLUGradientKernel()) } ?? gradient
            var grads: [Tensor?] = [
                input.requiresGrad ? Tensor.conv2dInputGradient(g, gradOutput: gradOutput, weight: weight) : nil,
                weight.requiresGrad ? Tensor.conv2dWeightGradient(g, input: input, gradOutput: gradOutput) : nil,
            ]
            if let bias {
                grads.append(bias.requiresGrad
                             ? Tensor.biasGradient(gradOutput, channels: g.outChannels) : nil)
            }
            return grads
        }
        return out
    }

    /// The gradient of `conv2d` with respect to its input (PyTorch's `torch.nn.grad.conv2d_input`):
    /// `gradOutput` [N, O, Ho, Wo] and `weight` [O, C, kh, kw] give [N, C, H, W] for `inputShape`.
    /// Not differentiable; exposed for benchmarks.
    @_spi(Benchmark)
    public static func conv2dInputGradient(gradOutput: Tensor, weight: Tensor, inputShape: [Int],
                                           stride: Int = 1, padding: Int = 0) throws(UnetsegError) -> Tensor {
        let g = try ConvolutionGeometry(conv2dInput: inputShape, weight: weight.shape, bias: nil,
                                        stride: stride, padding: padding)
        try g.requireOutputShape(gradOutput.shape, op: "conv2d input gradient")
        return conv2dInputGradient(g, gradOutput: gradOutput, weight: weight)
    }

    /// The gradient of `conv2d` with respect to its weight (PyTorch's `torch.nn.grad.conv2d_weight`):
    /// `input` [N, C, H, W] and `gradOutput` [N, O, Ho, Wo] give [O, C, kh, kw] for `weightShape`.
    /// Not differentiable; exposed for benchmarks.
    @_spi(Benchmark)
    public static func conv2dWeightGradient(input: Tensor, gradOutput: Tensor, weightShape: [Int],
                                            stride: Int = 1, padding: Int = 0) throws(UnetsegError) -> Tensor {
        let g = try ConvolutionGeometry(conv2dInput: input.shape, weight: weightShape, bias: nil,
                                        stride: stride, padding: padding)
        try g.requireOutputShape(gradOutput.shape, op: "conv2d weight gradient")
        return conv2dWeightGradient(g, input: input, gradOutput: gradOutput)
    }

    /// [N, C, H, W] input gradient of the convolution `g` (shapes already checked).
    static func conv2dInputGradient(_ g: ConvolutionGeometry, gradOutput: Tensor, weight: Tensor) -> Tensor {
        let gradInput = Tensor(uncheckedZeros: [g.batch, g.inChannels, g.inHeight, g.inWidth])
        ConvolutionKernels.backwardInput(g, gradOutput: gradOutput.storage.pointer, weight: weight.storage.pointer,
                                         gradInput: gradInput.storage.pointer)
        return gradInput
    }

    /// [O, C, kh, kw] weight gradient of the convolution `g` (shapes already checked).
    static func conv2dWeightGradient(_ g: ConvolutionGeometry, input: Tensor, gradOutput: Tensor) -> Tensor {
        let gradWeight = Tensor(uncheckedZeros: [g.outChannels, g.inChannels, g.kernelHeight, g.kernelWidth])
        ConvolutionKernels.backwardWeight(g, input: input.storage.pointer, gradOutput: gradOutput.storage.pointer,
                                          gradWeight: gradWeight.storage.pointer)
        return gradWeight
    }

    /// [channels] bias gradient: the sum of the NCHW `gradOutput` over batch and positions.
    static func biasGradient(_ gradOutput: Tensor, channels: Int) -> Tensor {
        let gradBias = Tensor(uncheckedZeros: [channels])
        ConvolutionKernels.biasGradient(gradOutput.storage.pointer, into: gradBias.storage.pointer,
                                        batch: gradOutput.shape[0], channels: channels,
                                        plane: gradOutput.shape[2] * gradOutput.shape[3])
        return gradBias
    }
}

extension ConvolutionGeometry {
    /// The geometry of `conv2d` on an `input` [N, C, H, W] with a `weight` [O, C, kh, kw] and a `bias` [O].
    init(conv2dInput input: [Int], weight: [Int], bias: [Int]?, stride: Int, padding: Int) throws(UnetsegError) {
        try checkArgument(input.count == 4, "conv2d: input must be [N, C, H, W], got \(Shape.describe(input))")
        try checkArgument(weight.count == 4, "conv2d: weight must be [out channels, in channels, kh, kw], got \(Shape.describe(weight))")
        try checkArgument(weight[1] == input[1],
                    "conv2d: weight \(Shape.describe(weight)) expects \(weight[1]) input channels, input \(Shape.describe(input)) has \(input[1])")
        if let bias {
            try checkArgument(bias == [weight[0]], "conv2d: bias must be [\(weight[0])], got \(Shape.describe(bias))")
        }
        try self.init(op: "conv2d", batch: input[0], inChannels: input[1], inHeight: input[2], inWidth: input[3],
                      outChannels: weight[0], kernelHeight: weight[2], kernelWidth: weight[3],
                      stride: stride, padding: padding)
    }

    /// Throws unless `shape` is this convolution's output shape [N, O, Ho, Wo].
    func requireOutputShape(_ shape: [Int], op: String) throws(UnetsegError) {
        let expected = [batch, outChannels, outHeight, outWidth]
        try checkArgument(shape == expected, "\(op): gradient must be \(Shape.describe(expected)), got \(Shape.describe(shape))")
    }
}
