import _UNetSupport

/// A named set of training and evaluation choices: the post's, or the combination of Buda et al.'s (2019)
/// choices that measured best on the realistic testbed (README, scripts/bench-recipes). Options given
/// explicitly override the recipe's.
public enum Recipe: String, Sendable, CaseIterable, NamedChoice {
    /// The post's: SGD (lr 0.1, momentum 0.9), loss 0.3·dice + 0.7·bce, no post-processing.
    case post
    /// Buda et al. 2019's choices that measured best together: Adam (lr 1e-3 at the one-cycle peak) and the
    /// largest connected component of each predicted volume, with the post's loss. Their dice-only loss is
    /// left out: it measured worse, alone and with Adam (README). (Their per-volume normalisation and
    /// batch-norm U-Net are not options of unetseg yet.)
    case buda2019

    /// What the option is called in errors.
    public static let choiceName = "recipe"

    /// Sets the training options this recipe chooses (optimizer, its learning rate, dice weight) in `options`.
    public func apply(to options: inout TrainingOptions) {
        switch self {
        case .post: options.optimizer = .sgd
        case .buda2019: options.optimizer = .adam
        }
        options.learningRate = options.optimizer.defaultLearningRate
        options.diceWeight = 0.3
    }

    /// The post-processing of predicted volumes this recipe chooses.
    public var postProcessing: PostProcessing {
        switch self {
        case .post: return .none
        case .buda2019: return .largestComponent
        }
    }
}
