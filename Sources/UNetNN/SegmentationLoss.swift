import UNetTensor
import _UNetSupport

// The post's losses: binary cross-entropy (Tensor.binaryCrossEntropy), dice loss, and their weighted sum.

/// The post's `calc_dice_loss`: `1 − (2·Σ p·t + 1) / (Σ p + Σ t + 1)` over the whole flattened batch.
public func diceLoss(_ prediction: Tensor, _ target: Tensor) throws(UnetsegError) -> Tensor {
    let p = try prediction.view([-1]), t = try target.view([-1])
    let intersection = try (p * t).sum()
    return try 1 - (2 * intersection + 1) / (p.sum() + t.sum() + 1)
}

/// The three numbers the post reports per batch.
public struct SegmentationLoss {
    /// Binary cross-entropy (mean over pixels).
    public let bce: Tensor
    /// Dice loss over the batch.
    public let dice: Tensor
    /// `diceWeight · dice + (1 − diceWeight) · bce`, the value to back-propagate.
    public let total: Tensor
}

/// The post's training loss: `diceWeight · dice + (1 − diceWeight) · bce` (dice weight 0.3 in the post).
public func segmentationLoss(_ prediction: Tensor, _ target: Tensor, diceWeight: Float = 0.3) throws(UnetsegError) -> SegmentationLoss {
    try checkArgument(diceWeight >= 0 && diceWeight <= 1, "dice weight must be in [0, 1], got \(diceWeight)")
    let bce = try prediction.binaryCrossEntropy(target)
    let dice = try diceLoss(prediction, target)
    return SegmentationLoss(bce: bce, dice: dice, total: try diceWeight * dice + (1 - diceWeight) * bce)
}
