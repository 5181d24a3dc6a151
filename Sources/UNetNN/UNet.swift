import UNetTensor
import _UNetSupport

/// The shape of a U-Net, as the post's `unet(channels_in, n_classes, depth, n_filters)` plus its dropout,
/// and optionally batch normalisation after every 3×3 convolution (Buda et al. 2019's model).
public struct UNetConfig: Sendable, Equatable {
    /// Input channels (3: pre-contrast, FLAIR, post-contrast).
    public var channelsIn: Int
    /// Output channels (1: lesion probability).
    public var nClasses: Int
    /// Number of down blocks; the input size must be divisible by 2^(depth−1).
    public var depth: Int
    /// log₂ of the first block's channels (6 → 64 channels).
    public var nFilters: Int
    /// Dropout probability inside every conv block.
    public var dropout: Float
    /// Whether every 3×3 convolution (then without bias) is followed by a `BatchNorm2d`; false: the post's model.
    public var batchNorm: Bool

    /// The post's model: `unet(depth = 5)` with 3 input channels, 1 class, 2⁶ first filters, dropout 0.6,
    /// no batch norm.
    public init(channelsIn: Int = 3, nClasses: Int = 1, depth: Int = 5, nFilters: Int = 6, dropout: Float = 0.6,
                batchNorm: Bool = false) {
        self.channelsIn = channelsIn
        self.nClasses = nClasses
        self.depth = depth
        self.nFilters = nFilters
        self.dropout = dropout
        self.batchNorm = batchNorm
    }

    /// Throws unless the configuration is one the library can build.
    public func validate() throws(UnetsegError) {
        try checkArgument((1...16).contains(channelsIn), "channels_in must be in 1...16, got \(channelsIn)")
        try checkArgument((1...16).contains(nClasses), "n_classes must be in 1...16, got \(nClasses)")
        try checkArgument((1...8).contains(depth), "depth must be in 1...8, got \(depth)")
        try checkArgument((0...10).contains(nFilters), "n_filters must be in 0...10, got \(nFilters)")
        try checkArgument(nFilters + depth - 1 <= 12, "n_filters + depth − 1 must be at most 12 (4096 channels)")
        try checkArgument(dropout >= 0 && dropout < 1, "dropout must be in [0, 1), got \(dropout)")
    }

    /// Channels of level `i` (1-based), `2^(nFilters + i − 1)`.
    public func channels(level i: Int) -> Int { 1 << (nFilters + i - 1) }

    /// Number of parameters of the U-Net this configuration builds, computed without building it: two
    /// 3×3 convolutions per down block, a 2×2 transposed convolution and two 3×3 convolutions per up
    /// block, and the 1×1 `last` convolution, each with a bias; with `batchNorm` the 3×3 convolutions have
    /// no bias and each is followed by a batch norm's weight and bias (its buffers are not parameters).
    public var parameterCount: Int {
        func convolution(_ input: Int, _ output: Int, kernelArea: Int) -> Int { input * output * kernelArea + output }
        func normalisedConvolution(_ input: Int, _ output: Int) -> Int {
            batchNorm ? input * output * 9 + 2 * output : convolution(input, output, kernelArea: 9)
        }
        func convBlock(_ input: Int, _ output: Int) -> Int {
            normalisedConvolution(input, output) + normalisedConvolution(output, output)
        }
        var count = 0
        for level in 1...depth {
            count += convBlock(level == 1 ? channelsIn : channels(level: level - 1), channels(level: level))
        }
        for level in stride(from: depth - 1, through: 1, by: -1) {
            let input = channels(level: level + 1), output = channels(level: level)
            count += convolution(input, output, kernelArea: 4) + convBlock(input, output)
        }
        return count + convolution(channels(level: 1), nClasses, kernelArea: 1)
    }
}

/// `conv3×3 → relu → dropout → conv3×3 → relu` (the post's `conv_block`), parameters under
/// `conv_block.{0,3}`; with `batchNorm`, `conv3×3 (no bias) → batchnorm → relu → dropout → conv3×3 (no bias)
/// → batchnorm → relu`, convolutions under `conv_block.{0,4}` and batch norms under `conv_block.{1,5}`.
public final class ConvBlock: Module, Layer {
    /// The five layers (seven with batch norm).
    public let convBlock: Sequential

    /// A block from `inSize` to `outSize` channels.
    public init(_ inSize: Int, _ outSize: Int, dropout: Float, batchNorm: Bool = false,
                randomness: DropoutRandomness, generator: inout RandomGenerator) throws(UnetsegError) {
        func convolution(_ input: Int) throws(UnetsegError) -> [any Layer] {
            let conv = try Conv2d(input, outSize, kernelSize: 3, padding: 1, bias: !batchNorm, generator: &generator)
            return batchNorm ? [conv, try BatchNorm2d(outSize)] : [conv]
        }
        convBlock = Sequential(try convolution(inSize) + [ReLU(), try Dropout(p: dropout, randomness: randomness)]
                               + (try convolution(outSize)) + [ReLU()])
        super.init()
        registerChild("conv_block", convBlock)
    }

    /// Runs the block on `[N, in, H, W]` → `[N, out, H, W]`.
    public func callAsFunction(_ input: Tensor) throws(UnetsegError) -> Tensor { try convBlock(input) }
}

/// The post's `down_block`: just a conv block, named `conv_block`.
public final class DownBlock: Module, Layer {
    /// The block's convolutions.
    public let convBlock: ConvBlock

    /// A down block from `inSize` to `outSize` channels.
    public init(_ inSize: Int, _ outSize: Int, dropout: Float, batchNorm: Bool = false,
                randomness: DropoutRandomness, generator: inout RandomGenerator) throws(UnetsegError) {
        convBlock = try ConvBlock(inSize, outSize, dropout: dropout, batchNorm: batchNorm, randomness: randomness,
                                  generator: &generator)
        super.init()
        registerChild("conv_block", convBlock)
    }

    /// Runs the block.
    public func callAsFunction(_ input: Tensor) throws(UnetsegError) -> Tensor { try convBlock(input) }
}

/// The post's `up_block`: a 2×2 stride-2 transposed convolution (`up`), concatenation with the bridge
/// from the down path (`[up, bridge]` along channels), then a conv block (`conv_block`).
public final class UpBlock: Module {
    /// The upsampling convolution, `inSize → outSize` channels.
    public let up: ConvTranspose2d
    /// The conv block on the concatenation, `inSize → outSize` channels.
    public let convBlock: ConvBlock

    /// An up block from `inSize` to `outSize` channels (the bridge must have `inSize − outSize`).
    public init(_ inSize: Int, _ outSize: Int, dropout: Float, batchNorm: Bool = false,
                randomness: DropoutRandomness, generator: inout RandomGenerator) throws(UnetsegError) {
        up = try ConvTranspose2d(inSize, outSize, kernelSize: 2, stride: 2, generator: &generator)
        convBlock = try ConvBlock(inSize, outSize, dropout: dropout, batchNorm: batchNorm, randomness: randomness,
                                  generator: &generator)
        super.init()
        registerChild("up", up)
        registerChild("conv_block", convBlock)
    }

    /// Upsamples `input`, joins it with `bridge` and runs the conv block.
    public func callAsFunction(_ input: Tensor, bridge: Tensor) throws(UnetsegError) -> Tensor {
        try convBlock(Tensor.cat([try up(input), bridge], dim: 1))
    }
}

/// The post's U-Net: `depth` down blocks with 2×2 max-pooling between them, `depth − 1` up blocks, a final
/// 1×1 convolution (`last`) and a sigmoid. Input `[N, channelsIn, H, W]` with H and W divisible by
/// 2^(depth−1); output `[N, nClasses, H, W]` probabilities. Parameter names are those of the post's
/// PyTorch/R module (`down_path.{i}…`, `up_path.{j}…`, `last.{weight,bias}`).
public final class UNet: Module {
    /// The configuration it was built from.
    public let config: UNetConfig
    /// Down blocks, shallowest first.
    public let downPath: [DownBlock]
    /// Up blocks, deepest first.
    public let upPath: [UpBlock]
    /// The 1×1 output convolution.
    public let last: Conv2d
    /// The dropout layers' random source (see `DropoutRandomness`).
    public let dropoutRandomness: DropoutRandomness

    /// A U-Net initialised from `generator` as PyTorch initialises the post's model; dropout masks are
    /// drawn from a stream derived from the same generator.
    public init(_ config: UNetConfig = UNetConfig(), generator: inout RandomGenerator) throws(UnetsegError) {
        try config.validate()
        self.config = config
        dropoutRandomness = DropoutRandomness(generator.derived(0xD509))
        var down: [DownBlock] = []
        var previous = config.channelsIn
        for i in 1...config.depth {
            down.append(try DownBlock(previous, config.channels(level: i), dropout: config.dropout,
                                      batchNorm: config.batchNorm, randomness: dropoutRandomness,
                                      generator: &generator))
            previous = config.channels(level: i)
        }
        var ups: [UpBlock] = []
        for i in stride(from: config.depth - 1, through: 1, by: -1) {
            ups.append(try UpBlock(previous, config.channels(level: i), dropout: config.dropout,
                                   batchNorm: config.batchNorm, randomness: dropoutRandomness,
                                   generator: &generator))
            previous = config.channels(level: i)
        }
        downPath = down
        upPath = ups
        last = try Conv2d(previous, config.nClasses, kernelSize: 1, generator: &generator)
        super.init()
        let downList = Module(), upList = Module()
        for (i, block) in down.enumerated() { downList.registerChild(String(i), block) }
        for (j, block) in ups.enumerated() { upList.registerChild(String(j), block) }
        registerChild("down_path", downList)
        registerChild("up_path", upList)
        registerChild("last", last)
    }

    /// A U-Net initialised from the default generator (seeded by `manualSeed`), which advances past the
    /// numbers used, as PyTorch's global generator does.
    public convenience init(_ config: UNetConfig = UNetConfig()) throws(UnetsegError) {
        var generator = defaultGenerator.withLock { $0 }
        try self.init(config, generator: &generator)
        defaultGenerator.withLock { $0 = generator }
    }

    /// Throws `.outOfMemory` (with the estimate and the limit) when a pass on `batch` images of
    /// `height`×`width` (`training`: graph recorded) would exceed `MemoryBudget`.
    public func requireMemory(batch: Int, height: Int, width: Int, training: Bool) throws(UnetsegError) {
        let bytes = config.estimatedMemory(batch: batch, height: height, width: width, training: training)
        try MemoryBudget.require(bytes, for: "the U-Net \(training ? "training step" : "forward pass") on "
            + "\(batch) image\(batch == 1 ? "" : "s") of \(height)x\(width)")
    }

    /// Throws unless `input` has the shape this model accepts.
    public func validateInput(_ input: Tensor) throws(UnetsegError) {
        let multiple = 1 << (config.depth - 1)
        try checkArgument(input.rank == 4 && input.shape[1] == config.channelsIn,
                    "U-Net input must be [N, \(config.channelsIn), H, W], got \(Shape.describe(input.shape))")
        try checkArgument(input.shape[0] > 0 && input.shape[2] > 0 && input.shape[3] > 0
                        && input.shape[2] % multiple == 0 && input.shape[3] % multiple == 0,
                    "U-Net input height and width must be positive multiples of \(multiple) for depth \(config.depth), got \(Shape.describe(input.shape))")
    }

    /// Segments `input` `[N, channelsIn, H, W]` → probabilities `[N, nClasses, H, W]`.
    /// Throws `.outOfMemory` before anything is allocated when the pass would not fit `MemoryBudget`.
    public func callAsFunction(_ input: Tensor) throws(UnetsegError) -> Tensor {
        try validateInput(input)
        try requireMemory(batch: input.shape[0], height: input.shape[2], width: input.shape[3],
                          training: Autograd.isEnabled)
        var x = input
        var bridges: [Tensor] = []
        for (i, block) in downPath.enumerated() {
            x = try block(x)
            if i != downPath.count - 1 {
                bridges.append(x)
                x = try x.maxPool2d(kernelSize: 2)
            }
        }
        for (j, block) in upPath.enumerated() {
            x = try block(x, bridge: bridges[bridges.count - 1 - j])
        }
        return try last(x).sigmoid()
    }
}
