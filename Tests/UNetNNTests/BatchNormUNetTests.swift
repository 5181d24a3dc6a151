import Testing
import UNetNN
import UNetTensor
import _UNetSupport

/// Module buffers, the BatchNorm2d layer and the batch-norm U-Net variant: names, counts, state dict,
/// train/eval behaviour. (Whole-model parity with PyTorch is in UNetTrainTests' ModelParityTests.)
@Suite struct BatchNormUNetTests {
    @Test func batchNormLayerHasPyTorchsParametersAndBuffers() throws {
        let layer = try BatchNorm2d(3)
        #expect(layer.namedParameters().map(\.name) == ["weight", "bias"])
        #expect(layer.namedBuffers().map(\.name) == ["running_mean", "running_var", "num_batches_tracked"])
        #expect(layer.stateDict().map(\.name) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"])
        #expect(layer.namedBuffers().allSatisfy { !$0.tensor.requiresGrad })
        #expect(layer.weight.toArray() == [1, 1, 1] && layer.bias.toArray() == [0, 0, 0])
        #expect(layer.runningMean.toArray() == [0, 0, 0] && layer.runningVar.toArray() == [1, 1, 1])
        #expect(layer.numBatchesTracked.shape == [] && layer.numBatchesTracked.toArray() == [0])
    }

    @Test func trainingModeCountsBatchesAndMovesTheRunningStatisticsEvaluationDoesNot() throws {
        var g = RandomGenerator(seed: 21)
        let layer = try BatchNorm2d(2)
        let x = try Tensor.uniform([2, 2, 3, 3], low: 1, high: 3, generator: &g)
        _ = try layer(x)
        _ = try Autograd.withNoGrad { () throws(UnetsegError) in try layer(x) }   // no_grad still updates
        #expect(layer.numBatchesTracked.toArray() == [2])
        let mean = layer.runningMean.toArray(), variance = layer.runningVar.toArray()
        #expect(mean.allSatisfy { $0 > 0.3 } && variance != [1, 1])
        layer.eval()
        let y = try layer(x)
        #expect(layer.numBatchesTracked.toArray() == [2])
        #expect(layer.runningMean.toArray() == mean && layer.runningVar.toArray() == variance)
        // Evaluation with the running statistics: (x − running_mean)/√(running_var + eps).
        let expected = (x.toArray().enumerated()).map { i, v in
            let c = (i / 9) % 2
            return (v - mean[c]) / (variance[c] + 1e-5).squareRoot()
        }
        for (a, e) in zip(y.toArray(), expected) { #expect(abs(a - e) < 1e-5) }
    }

    @Test func variantNamesItsLayersLikeTheTorchModule() throws {
        var g = RandomGenerator(seed: 22)
        let config = UNetConfig(depth: 3, nFilters: 2, batchNorm: true)
        let model = try UNet(config, generator: &g)
        let parameters = model.namedParameters().map(\.name)
        #expect(parameters.contains("down_path.0.conv_block.conv_block.0.weight"))
        #expect(!parameters.contains("down_path.0.conv_block.conv_block.0.bias"), "convolutions before a batch norm have no bias")
        #expect(parameters.contains("down_path.0.conv_block.conv_block.1.weight"))
        #expect(parameters.contains("up_path.1.conv_block.conv_block.4.weight"))
        #expect(parameters.contains("up_path.1.conv_block.conv_block.5.bias"))
        #expect(parameters.contains("up_path.0.up.bias") && parameters.last == "last.bias")
        // 5 down/up blocks × 2 batch norms × 3 buffers.
        let buffers = model.namedBuffers().map(\.name)
        #expect(buffers.count == 30)
        #expect(buffers.first == "down_path.0.conv_block.conv_block.1.running_mean")
        #expect(buffers.last == "up_path.1.conv_block.conv_block.5.num_batches_tracked")
        // The state dict interleaves each module's parameters and buffers, as PyTorch's does.
        let state = model.stateDict().map(\.name)
        #expect(state.count == parameters.count + buffers.count)
        #expect(Array(state.prefix(6)) == ["down_path.0.conv_block.conv_block.0.weight",
                                           "down_path.0.conv_block.conv_block.1.weight",
                                           "down_path.0.conv_block.conv_block.1.bias",
                                           "down_path.0.conv_block.conv_block.1.running_mean",
                                           "down_path.0.conv_block.conv_block.1.running_var",
                                           "down_path.0.conv_block.conv_block.1.num_batches_tracked"])
        #expect(model.parameterCount == config.parameterCount)
        #expect(model.parameters.count == parameters.count, "optimisers see parameters only")
    }

    @Test func parameterCountFollowsTheVariant() throws {
        for (depth, filters) in [(1, 0), (2, 3), (4, 2), (5, 6)] {
            var g = RandomGenerator(seed: 23)
            let plain = UNetConfig(depth: depth, nFilters: filters)
            var normalised = plain
            normalised.batchNorm = true
            // Each 3×3 convolution drops its bias (out) and gains a batch norm's weight and bias (2·out).
            var convolutionChannels = 0
            for level in 1...depth { convolutionChannels += 2 * plain.channels(level: level) }
            for level in stride(from: depth - 1, through: 1, by: -1) { convolutionChannels += 2 * plain.channels(level: level) }
            #expect(normalised.parameterCount == plain.parameterCount + convolutionChannels)
            if depth < 5 { #expect(try UNet(normalised, generator: &g).parameterCount == normalised.parameterCount) }
        }
    }

    @Test func defaultModelIsUnchangedAndHasNoBuffers() throws {
        var g1 = RandomGenerator(seed: 24), g2 = RandomGenerator(seed: 24)
        let model = try UNet(UNetConfig(depth: 3, nFilters: 2), generator: &g1)
        let explicit = try UNet(UNetConfig(depth: 3, nFilters: 2, batchNorm: false), generator: &g2)
        #expect(model.namedBuffers().isEmpty)
        #expect(model.stateDict().map(\.name) == model.namedParameters().map(\.name))
        #expect(model.parameters.map { $0.toArray() } == explicit.parameters.map { $0.toArray() })
    }

    @Test func loadStateDictRestoresBuffersAndListsMissingOnes() throws {
        var g = RandomGenerator(seed: 25)
        let config = UNetConfig(depth: 2, nFilters: 1, batchNorm: true)
        let source = try UNet(config, generator: &g), target = try UNet(config, generator: &g)
        _ = try source(try Tensor.uniform([2, 3, 4, 4], generator: &g))   // moves the running statistics
        try target.loadStateDict(source.stateDict())
        #expect(target.stateDict().map { $0.tensor.toArray() } == source.stateDict().map { $0.tensor.toArray() })
        let withoutBuffers = source.namedParameters()
        do {
            try target.loadStateDict(withoutBuffers)
            Issue.record("a state dict without the buffers was accepted")
        } catch {
            #expect(error.message.contains("missing keys: down_path.0.conv_block.conv_block.1.running_mean"))
        }
    }

    @Test func memoryEstimateGrowsWithBatchNorm() {
        let plain = UNetConfig(depth: 4, nFilters: 4)
        var normalised = plain
        normalised.batchNorm = true
        for training in [false, true] {
            #expect(normalised.estimatedMemory(batch: 2, height: 128, width: 128, training: training)
                    > plain.estimatedMemory(batch: 2, height: 128, width: 128, training: training))
        }
    }
}
