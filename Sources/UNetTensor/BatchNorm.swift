// Batch normalisation over NCHW input, as PyTorch's `torch.nn.functional.batch_norm`: per channel c,
//     y = (x − μ_c) / √(σ²_c + eps) · weight_c + bias_c.
// In training μ and σ² are the batch mean and biased variance over (N, H, W), and the running statistics
// are updated in place: running_mean ← (1 − momentum)·running_mean + momentum·μ, running_var likewise
// with the unbiased variance σ²·n/(n − 1). In evaluation μ and σ² are the running statistics.
//
// Work is split by channel and each channel is summed in a fixed order (in Double), so results are the
// same bits for any thread count.

import _UNetSupport

extension Tensor {
    /// Batch normalisation of `[N, C, H, W]` input with per-channel `weight` and `bias` (`[C]`, nil: 1 and
    /// 0) and running statistics `runningMean`/`runningVar` (`[C]`). `training`: normalise with the batch
    /// statistics and update the running ones in place (when given); otherwise normalise with the running
    /// statistics, which must then be given. Differentiable in the input, weight and bias.
    public func batchNorm2d(runningMean: Tensor?, runningVar: Tensor?, weight: Tensor?, bias: Tensor?,
                            training: Bool, momentum: Float = 0.1, eps: Float = 1e-5) throws(UnetsegError) -> Tensor {
        try checkArgument(rank == 4, "batch_norm: expected 4D input (got \(rank)D input)")
        let (batch, channels, plane) = (shape[0], shape[1], shape[2] * shape[3])
        for (name, tensor) in [("weight", weight), ("bias", bias), ("running_mean", runningMean),
                               ("running_var", runningVar)] {
            guard let tensor else { continue }
            try checkArgument(tensor.rank == 1 && tensor.count == channels,
                              "batch_norm: \(name) should contain \(channels) elements not \(tensor.count)")
        }
        try checkArgument((runningMean == nil) == (runningVar == nil),
                          "batch_norm: running_mean and running_var must be given together")
        try checkArgument(eps > 0 && eps.isFinite, "batch_norm: eps must be positive, got \(eps)")
        try checkArgument(momentum >= 0 && momentum <= 1, "batch_norm: momentum must be in [0, 1], got \(momentum)")
        let perChannel = batch * plane
        if training {
            try checkArgument(perChannel > 1,
                              "batch_norm: expected more than 1 value per channel when training, got input size \(Shape.describe(shape))")
        } else {
            try checkArgument(runningMean != nil && runningVar != nil,
                              "batch_norm: running_mean and running_var must be defined in evaluation mode")
        }

        // Per-channel mean and 1/√(var + eps), from the batch or the running statistics.
        var mean = [Double](repeating: 0, count: channels)
        var inverseStd = [Double](repeating: 0, count: channels)
        let x = storage.pointer
        if training {
            mean.withUnsafeMutableBufferPointer { meanOut in
                inverseStd.withUnsafeMutableBufferPointer { inverseOut in
                    let shared = UncheckedSendable((meanOut, inverseOut))
                    Parallel.forEachItem(channels) { _, c in
                        let (mu, variance) = BatchNormKernels.moments(x, channel: c, channels: channels,
                                                                      batch: batch, plane: plane)
                        shared.value.0[c] = mu
                        shared.value.1[c] = 1 / (variance + Double(eps)).squareRoot()
                        if let runningMean, let runningVar {
                            let m = Double(momentum), n = Double(perChannel)
                            runningMean.storage.pointer[c] = Float((1 - m) * Double(runningMean.storage.pointer[c]) + m * mu)
                            runningVar.storage.pointer[c] = Float((1 - m) * Double(runningVar.storage.pointer[c])
                                                                  + m * variance * n / (n - 1))
                        }
                    }
                }
            }
        } else if let runningMean, let runningVar {
            for c in 0..<channels {
                mean[c] = Double(runningMean.storage.pointer[c])
                inverseStd[c] = 1 / (Double(runningVar.storage.pointer[c]) + Double(eps)).squareRoot()
            }
        }

        let out = Tensor(uncheckedZeros: shape)
        let y = out.storage.pointer
        let w = weight?.storage.pointer, b = bias?.storage.pointer
        Parallel.forEachItem(channels) { _, c in
            // (x − mean)·scale + bias rather than x·scale + shift: a channel of nearly equal values has a
            // huge scale, and the second form would cancel catastrophically.
            let m = Float(mean[c]), s = Float((w.map { Double($0[c]) } ?? 1) * inverseStd[c]), t = b?[c] ?? 0
            for n in 0..<batch {
                let base = (n * channels + c) * plane
                for i in base..<(base + plane) { y[i] = (x[i] - m) * s + t }
            }
        }

        let input = self, usedMean = mean, usedInverseStd = inverseStd
        let inputs = [self] + [weight, bias].compactMap { $0 }
        Autograd.record(out, inputs: inputs) { g in
            BatchNormKernels.backward(g, input: input, mean: usedMean, inverseStd: usedInverseStd, weight: weight,
                                          bias: bias, training: training)
        }
        return out
    }
}

/// The per-channel loops of `batchNorm2d`.
enum BatchNormKernels {
    /// Mean and biased variance of channel `c` of NCHW data (two passes, in Double, fixed order).
    static func moments(_ x: UnsafeMutablePointer<Float>, channel c: Int, channels: Int, batch: Int,
                        plane: Int) -> (mean: Double, variance: Double) {
        var sum = 0.0
        for n in 0..<batch {
            let base = (n * channels + c) * plane
            for i in base..<(base + plane) { sum += Double(x[i]) }
        }
        let mean = sum / Double(batch * plane)
        var squares = 0.0
        for n in 0..<batch {
            let base = (n * channels + c) * plane
            for i in base..<(base + plane) { let d = Double(x[i]) - mean; squares += d * d }
        }
        return (mean, squares / Double(batch * plane))
    }

    /// Gradients of input, weight and bias (the last two only when given) for the output gradient `g`.
    /// Training: dx = w·invstd/n · (n·g − Σg − x̂·Σ(g·x̂)); evaluation: dx = w·invstd·g. Both: dweight =
    /// Σ(g·x̂), dbias = Σg, with x̂ = (x − mean)·invstd.
    static func backward(_ g: Tensor, input: Tensor, mean: [Double], inverseStd: [Double], weight: Tensor?,
                         bias: Tensor?, training: Bool) -> [Tensor?] {
        let (batch, channels) = (input.shape[0], input.shape[1])
        let plane = input.shape[2] * input.shape[3]
        let count = Double(batch * plane)
        let gradInput = Tensor(uncheckedZeros: input.shape)
        let gradWeight = Tensor(uncheckedZeros: [channels]), gradBias = Tensor(uncheckedZeros: [channels])
        let x = input.storage.pointer, gp = g.storage.pointer, dx = gradInput.storage.pointer
        let dw = gradWeight.storage.pointer, db = gradBias.storage.pointer
        let w = weight?.storage.pointer
        Parallel.forEachItem(channels) { _, c in
            let mu = mean[c], invstd = inverseStd[c]
            var sumG = 0.0, sumGX = 0.0
            for n in 0..<batch {
                let base = (n * channels + c) * plane
                for i in base..<(base + plane) {
                    let gi = Double(gp[i])
                    sumG += gi
                    sumGX += gi * (Double(x[i]) - mu) * invstd
                }
            }
            dw[c] = Float(sumGX)
            db[c] = Float(sumG)
            let k = (w.map { Double($0[c]) } ?? 1) * invstd
            let (meanG, meanGX) = training ? (sumG / count, sumGX / count) : (0, 0)
            for n in 0..<batch {
                let base = (n * channels + c) * plane
                for i in base..<(base + plane) {
                    let xhat = (Double(x[i]) - mu) * invstd
                    dx[i] = Float(k * (Double(gp[i]) - meanG - xhat * meanGX))
                }
            }
        }
        var grads: [Tensor?] = [gradInput]
        if weight != nil { grads.append(gradWeight) }
        if bias != nil { grads.append(gradBias) }
        return grads
    }
}
