// 2-D max pooling (PyTorch's `max_pool2d` without padding or dilation, floor mode), forward and backward.

import _UNetSupport

extension Tensor {
    /// Maximum over `kernelSize`×`kernelSize` windows of each channel plane, as PyTorch's
    /// `torch.nn.functional.max_pool2d` with no padding: `self` is row-major NCHW [N, C, H, W], the result
    /// is [N, C, Ho, Wo] with Ho = ⌊(H − kernelSize) / stride⌋ + 1 and `stride` defaulting to `kernelSize`.
    /// A NaN in a window wins, as in PyTorch. Differentiable: each window's gradient goes to its first
    /// maximal element in row-major order.
    public func maxPool2d(kernelSize: Int = 2, stride: Int? = nil) throws(UnetsegError) -> Tensor {
        let stride = stride ?? kernelSize
        try checkArgument(rank == 4, "max_pool2d: input must be [N, C, H, W], got \(Shape.describe(shape))")
        try checkArgument(kernelSize >= 1, "max_pool2d: kernel size must be at least 1, got \(kernelSize)")
        try checkArgument(stride >= 1, "max_pool2d: stride must be at least 1, got \(stride)")
        try checkArgument(shape[2] >= kernelSize && shape[3] >= kernelSize,
                    "max_pool2d: kernel \(kernelSize)×\(kernelSize) is larger than the input \(shape[2])×\(shape[3]) (output size would be 0)")
        let pool = PoolingWindows(height: shape[2], width: shape[3], kernel: kernelSize, stride: stride)
        let planes = shape[0] * shape[1]
        let out = try Tensor.zeros([shape[0], shape[1], pool.outHeight, pool.outWidth])
        let x = storage.pointer, y = out.storage.pointer
        pool.forEachPlaneChunk(planes) { lo, hi in
            for p in lo..<hi {
                let plane = x + p * pool.inPlane, result = y + p * pool.outPlane
                for oy in 0..<pool.outHeight {
                    for ox in 0..<pool.outWidth {
                        result[oy * pool.outWidth + ox] = plane[pool.argmax(plane, oy, ox)]
                    }
                }
            }
        }
        let input = self
        Autograd.record(out, inputs: [self]) { gradOutput in
            let gradInput = Tensor(uncheckedZeros: input.shape)
            let x = input.storage.pointer, g = gradOutput.storage.pointer, d = gradInput.storage.pointer
            pool.forEachPlaneChunk(planes) { lo, hi in
                for p in lo..<hi {
                    let plane = x + p * pool.inPlane, gradPlane = d + p * pool.inPlane
                    let gradResult = g + p * pool.outPlane
                    for oy in 0..<pool.outHeight {
                        for ox in 0..<pool.outWidth {
                            gradPlane[pool.argmax(plane, oy, ox)] += gradResult[oy * pool.outWidth + ox]
                        }
                    }
                }
            }
            return [gradInput]
        }
        return out
    }
}

/// The windows of a square max pooling over one channel plane (no padding, floor mode).
struct PoolingWindows: Sendable {
    let height: Int
    let width: Int
    let kernel: Int
    let stride: Int

    var outHeight: Int { (height - kernel) / stride + 1 }
    var outWidth: Int { (width - kernel) / stride + 1 }
    var inPlane: Int { height * width }
    var outPlane: Int { outHeight * outWidth }

    /// Offset in `plane` of the maximum of window (oy, ox): the first maximal element in row-major order,
    /// or the last NaN (PyTorch's rule `value > max || isnan(value)`, starting from −∞ at the first element).
    @inline(__always)
    func argmax(_ plane: UnsafePointer<Float>, _ oy: Int, _ ox: Int) -> Int {
        let first = oy * stride * width + ox * stride
        var best = -Float.infinity, at = first
        for ky in 0..<kernel {
            let row = first + ky * width
            for kx in 0..<kernel {
                let v = plane[row + kx]
                if v > best || v.isNaN { best = v; at = row + kx }
            }
        }
        return at
    }

    /// Splits `planes` channel planes into per-thread chunks of roughly 32 Ki input elements or more.
    func forEachPlaneChunk(_ planes: Int, _ body: (Int, Int) -> Void) {
        Parallel.forEachChunk(planes, minimumPerThread: max(1, 32_768 / max(inPlane, 1)), body)
    }
}
