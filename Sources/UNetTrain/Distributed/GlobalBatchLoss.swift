import UNetNN
import UNetTensor
import _UNetSupport

/// The post's loss, `w·dice + (1 − w)·bce`, of a global batch whose items are split over the ranks, each
/// rank holding the predictions of its shard only.
///
/// The dice is over the whole flattened batch, `1 − (2I + 1)/(P + T + 1)` with I = Σ p·t, P = Σ p,
/// T = Σ t, so averaging per-rank dice losses would be wrong. Each rank sends its partial sums I_r, P_r,
/// T_r, its mean BCE and its item count n_r (one `MPI_Allgather` of 5 doubles); every rank then adds them in
/// rank order, in float64, and gets the same global numbers. The tensor to back-propagate on rank r is
///
///     w·(1 − (2(I_r + c_I) + 1)/(P_r + c_P + 1)) + (1 − w)·(n_r/n)·bce_r,
///
/// with the other ranks' share as constants (c_I = I − I_r, c_P = P + T − P_r): its value is the global
/// loss, and its gradient with respect to rank r's predictions is exactly that of the global loss (∂dice/∂p
/// needs the global I, P, T; the BCE mean over all n items weighs rank r's mean by n_r/n). So the sum of the
/// ranks' gradients is the gradient of the global batch's loss.
struct GlobalBatchLoss {
    /// The global batch's losses, the same on every rank.
    let summary: LossSummary
    /// This rank's scalar to back-propagate (nil for an empty shard).
    let local: Tensor?

    /// This rank's partial sums: [I_r, P_r, T_r, mean BCE, items], and the graph of each.
    struct Partial {
        let values: [Double]
        let intersection: Tensor, predictionSum: Tensor, bce: Tensor
    }

    /// The partial sums of `prediction` and `target` (`[n_r, 1, H, W]` each); local work, may throw.
    static func partial(_ prediction: Tensor, _ target: Tensor) throws(UnetsegError) -> Partial {
        let p = try prediction.view([-1]), t = try target.view([-1])
        let intersection = try (p * t).sum(), predictionSum = p.sum(), targetSum = t.sum()
        let bce = try prediction.binaryCrossEntropy(target)
        let values = [Double(try intersection.item()), Double(try predictionSum.item()), Double(try targetSum.item()),
                      Double(try bce.item()), Double(prediction.shape.first ?? 0)]
        return Partial(values: values, intersection: intersection, predictionSum: predictionSum, bce: bce)
    }

    /// Exchanges the partial sums (nil: an empty shard) and builds the global losses. Collective.
    init(_ partial: Partial?, diceWeight w: Float, communicator: any Communicator) throws(UnetsegError) {
        let all = try communicator.allGather(partial?.values ?? [0, 0, 0, 0, 0], zero: 0)
        var i = 0.0, p = 0.0, t = 0.0, items = 0.0
        for v in all { i += v[0]; p += v[1]; t += v[2]; items += v[4] }
        var bce = 0.0
        for v in all where v[4] > 0 { bce += v[3] * v[4] / items }
        let dice = 1 - (2 * i + 1) / (p + t + 1)
        summary = LossSummary(bce: bce, dice: dice, loss: Double(w) * dice + Double(1 - w) * bce)
        guard let partial else { local = nil; return }
        let mine = partial.values
        let otherIntersection = Float(i - mine[0]), otherDenominator = Float(p + t - mine[1])
        let localDice = try 1 - (2 * (partial.intersection + otherIntersection) + 1)
            / (partial.predictionSum + otherDenominator + 1)
        local = try w * localDice + (1 - w) * Float(mine[4] / items) * partial.bce
    }
}
