// 2-D transposed convolution (PyTorch's `conv_transpose2d` without output padding, dilation or groups).
//
// A transposed convolution is the input gradient of the convolution it transposes: with the weight
// [Cin, Cout, kh, kw] read as a convolution weight [O = Cin, C = Cout, kh, kw], the forward is that
// convolution's input-gradient pass, its input gradient is that convolution's forward, and its weight
// gradient is that convolution's weight gradient with the roles of input and output swapped. The
// kernels of ConvolutionKernels.swift serve all three. With kernel 2, stride 2, padding 0 (the U-Net's
// up-convolution) windows do not overlap, so the work splits into independent tiles with no scatter races.

import _UNetSupport

extension Tensor {
    /// Transposed convolution, as PyTorch's `torch.nn.functional.conv_transpose2d`.
    ///
    /// `self` is the row-major NCHW input [N, Cin, H, W], `weight` is [Cin, Cout, kh, kw] (the layout of
    /// PyTorch's `ConvTranspose2d.weight`) and `bias` is [Cout] or nil; the result is [N, Cout, Ho, Wo] with
    /// Ho = (H − 1)·stride − 2·padding + kh (likewise Wo). Differentiable with respect to all three.
    public func convTranspose2d(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0) throws(UnetsegError) -> Tensor {
        let g = try ConvolutionGeometry(convTranspose2dInput: shape, weight: weight.shape, bias: bias?.shape,
                                        stride: stride, padding: padding)
        // The transposed convolution's output is the convolution's input.
        let out = try Tensor.zeros([g.batch, g.inChannels, g.inHeight, g.inWidth])
        ConvolutionKernels.backwardInput(g, gradOutput: storage.pointer, weight: weight.storage.pointer,
                                         gradInput: out.storage.pointer)
        if let bias {
            ConvolutionKernels.addBias(bias.storage.pointer, to: out.storage.pointer,
                                       batch: g.batch, channels: g.inChannels, plane: g.inPlane)
        }
        let input = self
        Autograd.record(out, inputs: bias.map { [self, weight, $0] } ?? [self, weight]) { gradOutput in
            var grads: [Tensor?] = [nil, nil]
            if input.requiresGrad {
                let gradInput = Tensor(uncheckedZeros: input.shape)
                ConvolutionKernels.forward(g, input: gradOutput.storage.pointer, weight: weight.storage.pointer,
                                           bias: nil, output: gradInput.storage.pointer)
                grads[0] = gradInput
            }
            if weight.requiresGrad {
                grads[1] = Tensor.conv2dWeightGradient(g, input: gradOutput, gradOutput: input)
            }
            if let bias {
                grads.append(bias.requiresGrad ? Tensor.biasGradient(gradOutput, channels: g.inChannels) : nil)
            }
            return grads
        }
        return out
    }
}

extension ConvolutionGeometry {
    /// The convolution that `conv_transpose2d` transposes, for an `input` [N, Cin, H, W], a `weight`
    /// [Cin, Cout, kh, kw] and a `bias` [Cout]: its input is the transposed convolution's output.
    init(convTranspose2dInput input: [Int], weight: [Int], bias: [Int]?, stride: Int,
         padding: Int) throws(UnetsegError) {
        let op = "conv_transpose2d"
        try checkArgument(input.count == 4, "\(op): input must be [N, C, H, W], got \(Shape.describe(input))")
        try checkArgument(weight.count == 4, "\(op): weight must be [in channels, out channels, kh, kw], got \(Shape.describe(weight))")
        try checkArgument(weight[0] == input[1],
                    "\(op): weight \(Shape.describe(weight)) expects \(weight[0]) input channels, input \(Shape.describe(input)) has \(input[1])")
        if let bias {
            try checkArgument(bias == [weight[1]], "\(op): bias must be [\(weight[1])], got \(Shape.describe(bias))")
        }
        try checkArgument(stride >= 1 && stride <= Self.largestSize, "\(op): stride must be in 1...\(Self.largestSize), got \(stride)")
        try checkArgument(padding >= 0 && padding <= Self.largestSize, "\(op): padding must be in 0...\(Self.largestSize), got \(padding)")
        try checkArgument(input[2] >= 1 && input[3] >= 1, "\(op): empty image \(input[2])×\(input[3])")
        // (H − 1)·stride − 2·padding + kh cannot overflow: H < 2³³ and stride, padding < 2³¹.
        let outHeight = (input[2] - 1) * stride - 2 * padding + weight[2]
        let outWidth = (input[3] - 1) * stride - 2 * padding + weight[3]
        try checkArgument(outHeight >= 1 && outWidth >= 1,
                    "\(op): output size \(outHeight)×\(outWidth) is empty (padding \(padding) too large for input \(input[2])×\(input[3]), kernel \(weight[2])×\(weight[3]), stride \(stride))")
        try self.init(op: op, batch: input[0], inChannels: weight[1], inHeight: outHeight, inWidth: outWidth,
                      outChannels: weight[0], kernelHeight: weight[2], kernelWidth: weight[3],
                      stride: stride, padding: padding)
        assert(self.outHeight == input[2] && self.outWidth == input[3], "transposed geometry does not round-trip")
    }
}
