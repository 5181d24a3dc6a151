#if canImport(Glibc)
import Glibc
#endif
import UNetTensor
import _UNetSupport

/// The one-cycle learning-rate policy exactly as PyTorch's `OneCycleLR` (and R torch's `lr_one_cycle`) with
/// cosine annealing and two phases: over the first `pctStart` of the steps the rate rises from
/// maxLR/divFactor to maxLR while momentum falls from maxMomentum to baseMomentum; then the rate falls to
/// maxLR/(divFactor·finalDivFactor) while momentum rises back. Construction sets the optimiser to step 0;
/// call `step()` after every batch. Stepping past the last step is an error, as in PyTorch.
public final class OneCycleLR {
    /// The optimiser whose rate and momentum (Adam's β1) it sets.
    public let optimizer: any Optimizer
    /// Peak learning rate.
    public let maxLR: Double
    /// Total number of steps (epochs × steps per epoch).
    public let totalSteps: Int
    /// Fraction of the cycle spent increasing the rate.
    public let pctStart: Double
    /// Initial rate = maxLR / divFactor.
    public let divFactor: Double
    /// Final rate = initial rate / finalDivFactor.
    public let finalDivFactor: Double
    /// Momentum at the peak learning rate.
    public let baseMomentum: Double
    /// Momentum at the start and end.
    public let maxMomentum: Double
    /// Whether momentum is cycled.
    public let cycleMomentum: Bool
    /// Steps taken so far (PyTorch's `last_epoch`); 0 after construction.
    public private(set) var stepCount: Int

    /// A schedule over `epochs × stepsPerEpoch` steps with PyTorch's defaults.
    public init(optimizer: any Optimizer, maxLR: Double, epochs: Int, stepsPerEpoch: Int, pctStart: Double = 0.3,
                divFactor: Double = 25, finalDivFactor: Double = 1e4, baseMomentum: Double = 0.85,
                maxMomentum: Double = 0.95, cycleMomentum: Bool = true, startingStep: Int = 0) throws(UnetsegError) {
        try checkArgument(epochs > 0 && stepsPerEpoch > 0, "one-cycle needs epochs and steps per epoch > 0, got \(epochs) and \(stepsPerEpoch)")
        let (total, overflow) = epochs.multipliedReportingOverflow(by: stepsPerEpoch)
        try checkArgument(!overflow && total < Int(Int32.max), "one-cycle: too many steps")
        try checkArgument(maxLR > 0 && maxLR.isFinite, "max_lr must be positive, got \(maxLR)")
        try checkArgument(pctStart > 0 && pctStart < 1, "pct_start must be in (0, 1), got \(pctStart)")
        try checkArgument(divFactor > 0 && finalDivFactor > 0, "div factors must be positive")
        try checkArgument(startingStep >= 0 && startingStep <= total, "starting step \(startingStep) outside 0...\(total)")
        self.optimizer = optimizer
        self.maxLR = maxLR
        self.totalSteps = total
        self.pctStart = pctStart
        self.divFactor = divFactor
        self.finalDivFactor = finalDivFactor
        self.baseMomentum = baseMomentum
        self.maxMomentum = maxMomentum
        self.cycleMomentum = cycleMomentum
        self.stepCount = startingStep
        apply()
    }

    /// The learning rate at the current step.
    public var learningRate: Double { values(at: stepCount).lr }
    /// The momentum at the current step.
    public var momentum: Double { values(at: stepCount).momentum }

    /// Advances one step and sets the optimiser's rate (and momentum).
    public func step() throws(UnetsegError) {
        guard stepCount + 1 <= totalSteps else {
            throw .invalidArgument("Tried to step \(stepCount + 1) times. The specified number of total steps is \(totalSteps)")
        }
        stepCount += 1
        apply()
    }

    private func apply() {
        let v = values(at: stepCount)
        optimizer.learningRate = Float(v.lr)
        if cycleMomentum { optimizer.momentum = Float(v.momentum) }
    }

    /// Cosine interpolation from `start` (pct 0) to `end` (pct 1).
    static func annealCosine(_ start: Double, _ end: Double, _ pct: Double) -> Double {
        end + (start - end) / 2 * (cos(Double.pi * pct) + 1)
    }

    /// Learning rate and momentum at `step`, following PyTorch's phase boundaries
    /// (`pctStart·total − 1` and `total − 1`).
    public func values(at step: Int) -> (lr: Double, momentum: Double) {
        let initialLR = maxLR / divFactor, minLR = initialLR / finalDivFactor
        let phases: [(end: Double, lr: (Double, Double), momentum: (Double, Double))] = [
            (pctStart * Double(totalSteps) - 1, (initialLR, maxLR), (maxMomentum, baseMomentum)),
            (Double(totalSteps) - 1, (maxLR, minLR), (baseMomentum, maxMomentum)),
        ]
        var start = 0.0
        for (i, phase) in phases.enumerated() {
            if Double(step) <= phase.end || i == phases.count - 1 {
                let span = phase.end - start  // 0 when pctStart·total = 1, where PyTorch divides by zero
                let pct = span > 0 ? (Double(step) - start) / span : 1
                return (Self.annealCosine(phase.lr.0, phase.lr.1, pct),
                        Self.annealCosine(phase.momentum.0, phase.momentum.1, pct))
            }
            start = phase.end
        }
        return (minLR, maxMomentum)
    }
}
