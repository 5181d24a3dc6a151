import UNetTensor
import _UNetSupport

extension UNetConfig {
    /// Estimated peak bytes of a U-Net forward pass on `batch` images of `height`×`width`, for
    /// `MemoryBudget`. With `training` (the graph is recorded for a backward pass), every op's output stays
    /// alive until the backward pass (about 6 level-sized tensors per down block, 9 per up block, plus the
    /// gradients in flight); without it only the skip connections stay, beside the working set of the
    /// widest block. With `batchNorm` each block keeps two more (the batch norms' outputs) and the working
    /// set holds one more. Level `l` has `channels(level: l)` channels at 1/2^(l−1) of the resolution.
    /// Saturates at `Int.max`.
    public func estimatedMemory(batch: Int, height: Int, width: Int, training: Bool) -> Int {
        var elements = 0.0
        let normalised = batchNorm ? 2.0 : 0.0
        for level in 1...depth {
            let levelSize = Double(channels(level: level)) * Double(batch)
                * Double(height) * Double(width) / Double(1 << (2 * (level - 1)))
            let hasUpBlock = level < depth
            elements += training ? levelSize * (6 + normalised + (hasUpBlock ? 9 + normalised : 0)) : levelSize * (hasUpBlock ? 1 : 0)
        }
        let fullResolution = Double(channels(level: 1)) * Double(batch) * Double(height) * Double(width)
        // Gradients in flight (training) or the widest block's concatenation, convolution and activation.
        elements += fullResolution * (training ? 4 : 6 + normalised / 2)
        elements += Double(batch) * Double(height) * Double(width) * Double(channelsIn + nClasses)
        let bytes = elements * Double(MemoryLayout<Float>.stride)
        return bytes >= Double(Int.max) ? Int.max : Int(bytes)
    }
}
