import _UNetSupport

/// A named set of training and evaluation choices: the post's, or the combination of Buda et al.'s (2019)
/// choices that measured best on the realistic testbed (README, scripts/bench-recipes). Options given
/// explicitly override the recipe's.
public enum Recipe: String, Sendable, CaseIterable, NamedChoice {
    /// The post's: SGD (lr 0.1, momentum 0.9), loss 0.3·dice + 0.7·bce, no post-processing.
    case post
    /// Buda et al. 2019's choices that measured best together on the realistic testbed (README): their
    /// batch-norm U-Net without dropout, Adam (lr 1e-3 at the one-cycle peak), and each patient's volume
    /// clipped to its 10th–99th percentiles and z-scored per channel, with the post's loss. Their dice-only loss and their
    /// largest-component post-processing are left out: both measured worse there (README; the testbed's
    /// patients often have several lesions, and the largest component drops all but one).
    case buda2019

    /// What the option is called in errors.
    public static let choiceName = "recipe"

    /// Sets the training options this recipe chooses in `options`: optimizer, its learning rate, dice
    /// weight, dropout, batch norm and intensity normalisation.
    public func apply(to options: inout TrainingOptions) {
        switch self {
        case .post:
            options.optimizer = .sgd
            options.model.dropout = 0.6
            options.model.batchNorm = false
            options.normalization = .minmax
        case .buda2019:
            options.optimizer = .adam
            options.model.dropout = 0
            options.model.batchNorm = true
            options.normalization = .percentile
        }
        options.learningRate = options.optimizer.defaultLearningRate
        options.diceWeight = 0.3
    }

    /// The post-processing of predicted volumes this recipe chooses: none for both (largest-component
    /// measured worse on the testbed, for the post's model and for buda2019's).
    public var postProcessing: PostProcessing {
        switch self {
        case .post, .buda2019: return .none
        }
    }
}
