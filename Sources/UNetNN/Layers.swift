import UNetTensor
import _UNetSupport

// The layers the U-Net is made of, with PyTorch's parameter names, layouts and default initialisation.

/// A 2-D convolution (PyTorch's `nn.Conv2d`): weight `[out, in, k, k]`, bias `[out]`, on NCHW input.
public final class Conv2d: Module, Layer {
    /// `[outChannels, inChannels, kernelSize, kernelSize]`.
    public let weight: Tensor
    /// `[outChannels]`, or nil without bias.
    public let bias: Tensor?
    /// Step between windows.
    public let stride: Int
    /// Zero padding on each side.
    public let padding: Int

    /// A convolution initialised as PyTorch does: weight and bias from U(±1/√(in·k·k)).
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                bias: Bool = true, generator: inout RandomGenerator) throws(UnetsegError) {
        try checkArgument(inChannels > 0 && outChannels > 0 && kernelSize > 0, "Conv2d: sizes must be positive")
        let bound = 1 / Float(inChannels * kernelSize * kernelSize).squareRoot()
        weight = try Tensor.uniform([outChannels, inChannels, kernelSize, kernelSize], low: -bound, high: bound,
                                    generator: &generator)
        self.bias = bias ? try Tensor.uniform([outChannels], low: -bound, high: bound, generator: &generator) : nil
        self.stride = stride
        self.padding = padding
        super.init()
        registerParameter("weight", weight)
        if let b = self.bias { registerParameter("bias", b) }
    }

    /// Convolves `input` `[N, in, H, W]` → `[N, out, Ho, Wo]`.
    public func callAsFunction(_ input: Tensor) throws(UnetsegError) -> Tensor {
        try input.conv2d(weight: weight, bias: bias, stride: stride, padding: padding)
    }

    /// `relu(self(input))` as one op (`Tensor.conv2dReLU`): the same values and gradients, one tensor fewer.
    public func withReLU(_ input: Tensor) throws(UnetsegError) -> Tensor {
        try input.conv2dReLU(weight: weight, bias: bias, stride: stride, padding: padding)
    }
}

/// A 2-D transposed convolution (PyTorch's `nn.ConvTranspose2d`): weight `[in, out, k, k]`, bias `[out]`.
public final class ConvTranspose2d: Module, Layer {
    /// `[inChannels, outChannels, kernelSize, kernelSize]`.
    public let weight: Tensor
    /// `[outChannels]`.
    public let bias: Tensor?
    /// Upsampling step.
    public let stride: Int

    /// A transposed convolution initialised as PyTorch does: U(±1/√(out·k·k)) (PyTorch takes the fan-in
    /// of the `[in, out, k, k]` weight from its second dimension).
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int,
                bias: Bool = true, generator: inout RandomGenerator) throws(UnetsegError) {
        try checkArgument(inChannels > 0 && outChannels > 0 && kernelSize > 0 && stride > 0,
                    "ConvTranspose2d: sizes must be positive")
        let bound = 1 / Float(outChannels * kernelSize * kernelSize).squareRoot()
        weight = try Tensor.uniform([inChannels, outChannels, kernelSize, kernelSize], low: -bound, high: bound,
                                    generator: &generator)
        self.bias = bias ? try Tensor.uniform([outChannels], low: -bound, high: bound, generator: &generator) : nil
        self.stride = stride
        super.init()
        registerParameter("weight", weight)
        if let b = self.bias { registerParameter("bias", b) }
    }

    /// Upsamples `input` `[N, in, H, W]` → `[N, out, (H−1)·stride + k, …]`.
    public func callAsFunction(_ input: Tensor) throws(UnetsegError) -> Tensor {
        try input.convTranspose2d(weight: weight, bias: bias, stride: stride)
    }
}

/// Batch normalisation over the channels of NCHW input (PyTorch's `nn.BatchNorm2d` with its defaults: eps
/// 1e-5, momentum 0.1, affine, tracking running statistics). Parameters `weight` (ones) and `bias` (zeros);
/// buffers `running_mean` (zeros), `running_var` (ones) and `num_batches_tracked` (a 0-dimensional count,
/// float32 here, int64 in PyTorch). In training mode it normalises with the batch statistics and updates
/// the buffers; in evaluation mode it normalises with the running statistics.
public final class BatchNorm2d: Module, Layer {
    /// `[channels]` scale, initialised to 1.
    public let weight: Tensor
    /// `[channels]` shift, initialised to 0.
    public let bias: Tensor
    /// `[channels]` running mean of the batch means.
    public let runningMean: Tensor
    /// `[channels]` running mean of the unbiased batch variances.
    public let runningVar: Tensor
    /// The number of training-mode batches seen (a 0-dimensional tensor).
    public let numBatchesTracked: Tensor
    /// Added to the variance before its square root.
    public let eps: Float = 1e-5
    /// Weight of the newest batch in the running statistics.
    public let momentum: Float = 0.1

    /// A batch norm over `channels` channels, initialised as PyTorch does.
    public init(_ channels: Int) throws(UnetsegError) {
        try checkArgument(channels > 0, "BatchNorm2d: channels must be positive")
        weight = try Tensor.ones([channels])
        bias = try Tensor.zeros([channels])
        runningMean = try Tensor.zeros([channels])
        runningVar = try Tensor.ones([channels])
        numBatchesTracked = Tensor(scalar: 0)
        super.init()
        registerParameter("weight", weight)
        registerParameter("bias", bias)
        registerBuffer("running_mean", runningMean)
        registerBuffer("running_var", runningVar)
        registerBuffer("num_batches_tracked", numBatchesTracked)
    }

    /// Normalises `input` `[N, channels, H, W]`; in training mode also updates the buffers.
    public func callAsFunction(_ input: Tensor) throws(UnetsegError) -> Tensor {
        let output = try input.batchNorm2d(runningMean: runningMean, runningVar: runningVar, weight: weight,
                                           bias: bias, training: isTraining, momentum: momentum, eps: eps)
        if isTraining { numBatchesTracked.storage.pointer[0] += 1 }
        return output
    }
}

/// max(x, 0) (PyTorch's `nn.ReLU`); no parameters.
public final class ReLU: Module, Layer {
    /// Applies relu to `input`.
    public func callAsFunction(_ input: Tensor) throws(UnetsegError) -> Tensor { input.relu() }
}

/// The random source shared by the dropout layers of one model; the trainer seeds it and saves its
/// position with the training state, so that a resumed run draws the same masks.
public final class DropoutRandomness {
    /// The generator the dropout layers draw from, in order of their use in the forward pass.
    public var generator: RandomGenerator
    /// In a distributed run, this rank's item positions within the global batch and that batch's size: each
    /// layer then draws, for this rank's items, the masks a one-process run on the global batch draws for
    /// them, and advances past the whole global batch. nil: the input is the whole batch.
    public var shard: (items: Range<Int>, globalItems: Int)?
    /// A source starting at `generator`.
    public init(_ generator: RandomGenerator) { self.generator = generator }
}

/// Dropout with inverted scaling (PyTorch's `nn.Dropout`): active only in training mode.
public final class Dropout: Module, Layer {
    /// Probability of zeroing an element.
    public let p: Float
    /// Where the masks come from.
    public let randomness: DropoutRandomness

    /// A dropout layer drawing from `randomness`.
    public init(p: Float, randomness: DropoutRandomness) throws(UnetsegError) {
        try checkArgument(p >= 0 && p <= 1, "Dropout: p must be in [0, 1], got \(p)")
        self.p = p
        self.randomness = randomness
    }

    /// Drops elements of `input` in training mode; the identity in evaluation mode.
    public func callAsFunction(_ input: Tensor) throws(UnetsegError) -> Tensor {
        guard let shard = randomness.shard, isTraining, p > 0, p < 1 else {
            return try input.dropout(p: p, training: isTraining, generator: &randomness.generator)
        }
        let items = input.shape.first ?? 0
        try checkArgument(items == shard.items.count,
                          "Dropout: input of \(items) items for a shard of \(shard.items.count)")
        let perItem = UInt64(items > 0 ? input.count / items : 0)
        let start = randomness.generator
        var generator = RandomGenerator(seed: start.seed, position: start.position &+ UInt64(shard.items.lowerBound) &* perItem)
        let output = try input.dropout(p: p, training: true, generator: &generator)
        randomness.generator = RandomGenerator(seed: start.seed, position: start.position &+ UInt64(shard.globalItems) &* perItem)
        return output
    }
}

/// Layers applied in order, named "0", "1", … (PyTorch's `nn.Sequential`).
public final class Sequential: Module, Layer {
    /// The layers, in order.
    public let layers: [any Layer]

    /// A sequence of `layers`.
    public init(_ layers: [any Layer]) {
        self.layers = layers
        super.init()
        for (i, layer) in layers.enumerated() { registerChild(String(i), layer) }
    }

    /// Runs every layer in turn; a `Conv2d` directly followed by a `ReLU` runs as one op
    /// (`Conv2d.withReLU`), which gives the same values and gradients and keeps one tensor fewer.
    public func callAsFunction(_ input: Tensor) throws(UnetsegError) -> Tensor {
        var x = input
        var i = 0
        while i < layers.count {
            if let conv = layers[i] as? Conv2d, i + 1 < layers.count, layers[i + 1] is ReLU {
                x = try conv.withReLU(x)
                i += 2
            } else {
                x = try layers[i](x)
                i += 1
            }
        }
        return x
    }
}
