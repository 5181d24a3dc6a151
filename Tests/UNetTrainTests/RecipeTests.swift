import Testing
import UNetTrain
import _UNetSupport

/// The recipes' choices.
@Suite struct RecipeTests {
    @Test func buda2019ChoosesAdamAndTheLargestComponent() throws {
        var options = TrainingOptions(trainDir: "t", validDir: "v", outDir: "o")
        let post = options
        try Recipe(named: "buda2019").apply(to: &options)
        #expect(options.optimizer == .adam && options.learningRate == 1e-3 && options.diceWeight == 0.3)
        #expect(Recipe.buda2019.postProcessing == .largestComponent)
        try options.validate()
        Recipe.post.apply(to: &options)
        #expect(options == post)
        #expect(Recipe.post.postProcessing == PostProcessing.none)
        #expect(throws: UnetsegError.self) { try Recipe(named: "buda") }
    }
}
