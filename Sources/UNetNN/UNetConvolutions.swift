import UNetTensor

/// One convolution of a U-Net and the input it sees, for per-layer benchmarks.
public struct UNetConvolution {
    /// The layer's state-dict prefix (`down_path.0.conv_block.conv_block.0`, `up_path.1.up`, `last`).
    public var name: String
    /// The layer: a `Conv2d` or a `ConvTranspose2d`.
    public var layer: Module
    /// Its input shape `[N, C, H, W]` for the batch and image size asked for.
    public var inputShape: [Int]
}

extension UNet {
    /// Every convolution of the model in forward order, with the input shape it sees when the model runs
    /// on `batch` images of `height`×`width` (level `l` works at 1/2^(l−1) of the resolution; an up block's
    /// transposed convolution reads the level below it).
    public func convolutions(batch: Int, height: Int, width: Int) -> [UNetConvolution] {
        var result: [UNetConvolution] = []
        func add(_ name: String, _ layer: Module, channels: Int, level: Int) {
            result.append(UNetConvolution(name: name, layer: layer,
                                          inputShape: [batch, channels, height >> (level - 1), width >> (level - 1)]))
        }
        func addBlock(_ prefix: String, _ block: ConvBlock, level: Int) {
            for (k, layer) in block.convBlock.layers.enumerated() {
                guard let conv = layer as? Conv2d else { continue }
                add("\(prefix).conv_block.conv_block.\(k)", conv, channels: conv.weight.shape[1], level: level)
            }
        }
        for (i, block) in downPath.enumerated() { addBlock("down_path.\(i)", block.convBlock, level: i + 1) }
        for (j, block) in upPath.enumerated() {
            let level = config.depth - 1 - j
            add("up_path.\(j).up", block.up, channels: block.up.weight.shape[0], level: level + 1)
            addBlock("up_path.\(j)", block.convBlock, level: level)
        }
        add("last", last, channels: last.weight.shape[1], level: 1)
        return result
    }
}
