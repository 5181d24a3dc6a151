import Testing
import UNetNN
import UNetTensor
import _UNetSupport

/// Dice loss and the combined loss, against hand-computed values.
@Suite struct LossTests {
    @Test func diceLossMatchesThePostsFormula() throws {
        let p = try Tensor([0.9, 0.2, 0.6, 0.1], shape: [1, 1, 2, 2])
        let t = try Tensor([1, 0, 1, 0], shape: [1, 1, 2, 2])
        // intersection 1.5, Σp 1.8, Σt 2 → 1 − (3 + 1)/(3.8 + 1)
        #expect(abs(try diceLoss(p, t).item() - (1 - 4 / 4.8)) < 1e-6)
        let loss = try segmentationLoss(p, t, diceWeight: 0.3)
        let expected = 0.3 * (try loss.dice.item()) + 0.7 * (try loss.bce.item())
        #expect(abs(try loss.total.item() - expected) < 1e-6)
        #expect(throws: UnetsegError.self) { try segmentationLoss(p, t, diceWeight: 2) }
        #expect(throws: UnetsegError.self) { try diceLoss(p, try Tensor.zeros([5])) }
    }

    /// Dice weight 1 is Buda et al.'s dice-only loss: the total and its gradient are the dice loss's alone.
    @Test func diceWeightOneIsTheDiceOnlyLoss() throws {
        let values: [Float] = [0.9, 0.2, 0.6, 0.1]
        let t = try Tensor([1, 0, 1, 0], shape: [1, 1, 2, 2])
        let p1 = try Tensor(values, shape: [1, 1, 2, 2]), p2 = try Tensor(values, shape: [1, 1, 2, 2])
        p1.requiresGrad = true
        p2.requiresGrad = true
        let combined = try segmentationLoss(p1, t, diceWeight: 1)
        let diceOnly = try diceLoss(p2, t)
        #expect(try combined.total.item() == diceOnly.item())
        #expect(try combined.bce.item() > 0)
        try combined.total.backward()
        try diceOnly.backward()
        let g1 = try #require(p1.grad), g2 = try #require(p2.grad)
        #expect(g1.toArray() == g2.toArray())
    }
}
