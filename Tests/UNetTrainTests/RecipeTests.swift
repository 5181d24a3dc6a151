import Testing
import UNetTrain
import _UNetSupport

/// The recipes' choices.
@Suite struct RecipeTests {
    @Test func buda2019ChoosesBatchNormAdamNoDropoutAndPercentileNormalisation() throws {
        var options = TrainingOptions(trainDir: "t", validDir: "v", outDir: "o")
        let post = options
        try Recipe(named: "buda2019").apply(to: &options)
        #expect(options.optimizer == .adam && options.learningRate == 1e-3 && options.diceWeight == 0.3)
        #expect(options.model.dropout == 0 && options.model.batchNorm && options.normalization == .percentile)
        #expect(options.model.depth == post.model.depth && options.model.nFilters == post.model.nFilters)
        #expect(Recipe.buda2019.postProcessing == PostProcessing.none)
        try options.validate()
        Recipe.post.apply(to: &options)
        #expect(options == post)
        #expect(Recipe.post.postProcessing == PostProcessing.none)
        #expect(throws: UnetsegError.self) { try Recipe(named: "buda") }
    }
}
