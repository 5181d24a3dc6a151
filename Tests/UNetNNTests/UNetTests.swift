import Testing
import UNetNN
import UNetTensor
import _UNetSupport

/// The post's U-Net: structure, parameter names and layouts, forward shapes and modes.
@Suite struct UNetTests {
    @Test func seedConfigurationHasThePostsParameterCount() throws {
        var g = RandomGenerator(seed: 1)
        let model = try UNet(UNetConfig(), generator: &g)
        #expect(model.parameterCount == 31_031_745)
        let names = model.namedParameters().map(\.name)
        #expect(names.first == "down_path.0.conv_block.conv_block.0.weight")
        #expect(names.contains("down_path.4.conv_block.conv_block.3.bias"))
        #expect(names.contains("up_path.0.up.weight"))
        #expect(names.contains("up_path.3.conv_block.conv_block.0.weight"))
        #expect(names.last == "last.bias")
        #expect(names.count == 5 * 4 + 4 * 6 + 2)
        let shapes = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.name, $0.tensor.shape) })
        #expect(shapes["down_path.0.conv_block.conv_block.0.weight"] == [64, 3, 3, 3])
        #expect(shapes["up_path.0.up.weight"] == [1024, 512, 2, 2])
        #expect(shapes["up_path.0.conv_block.conv_block.0.weight"] == [512, 1024, 3, 3])
        #expect(shapes["last.weight"] == [1, 64, 1, 1])
    }

    @Test func initialisationFollowsPyTorchBounds() throws {
        var g = RandomGenerator(seed: 2)
        let model = try UNet(UNetConfig(depth: 3, nFilters: 2), generator: &g)
        for (name, t) in model.namedParameters() {
            let fanIn = name.hasSuffix("up.weight") || name.hasSuffix("up.bias")
                ? 2 * 2 * (model.upPath.first { $0.up.weight === t || $0.up.bias === t }?.up.weight.shape[1] ?? 0)
                : 0
            let values = t.toArray()
            let bound: Float
            if fanIn > 0 {
                bound = 1 / Float(fanIn).squareRoot()
            } else if name.hasSuffix("weight") {
                bound = 1 / Float(t.shape[1] * t.shape[2] * t.shape[3]).squareRoot()
            } else { continue }
            #expect(values.allSatisfy { abs($0) <= bound }, "\(name)")
            #expect(values.map { abs($0) }.max()! > bound * 0.5, "\(name) should fill its range")
        }
    }

    @Test func forwardGivesProbabilitiesOfTheInputSize() throws {
        var g = RandomGenerator(seed: 3)
        let model = try UNet(UNetConfig(depth: 3, nFilters: 2), generator: &g)
        let x = try Tensor.uniform([2, 3, 16, 12], generator: &g)
        model.eval()
        let y = try model(x)
        #expect(y.shape == [2, 1, 16, 12])
        #expect(y.toArray().allSatisfy { $0 > 0 && $0 < 1 })
        #expect(try model(x).toArray() == y.toArray(), "eval mode is deterministic")
        model.train()
        #expect(try model(x).toArray() != y.toArray(), "training mode applies dropout")
    }

    @Test func rejectsBadInputsAndConfigs() throws {
        var g = RandomGenerator(seed: 4)
        let model = try UNet(UNetConfig(depth: 3, nFilters: 2), generator: &g)
        #expect(throws: UnetsegError.self) { try model(try Tensor.zeros([1, 3, 10, 16])) }
        #expect(throws: UnetsegError.self) { try model(try Tensor.zeros([1, 1, 16, 16])) }
        #expect(throws: UnetsegError.self) { try model(try Tensor.zeros([3, 16, 16])) }
        #expect(throws: UnetsegError.self) { try UNet(UNetConfig(depth: 0), generator: &g) }
        #expect(throws: UnetsegError.self) { try UNet(UNetConfig(dropout: 1.5), generator: &g) }
        #expect(throws: UnetsegError.self) { try UNet(UNetConfig(depth: 8, nFilters: 10), generator: &g) }
    }

    @Test func sameSeedSameModel() throws {
        manualSeed(777)
        let a = try UNet(UNetConfig(depth: 2, nFilters: 1))
        manualSeed(777)
        let b = try UNet(UNetConfig(depth: 2, nFilters: 1))
        #expect(zip(a.parameters, b.parameters).allSatisfy { $0.toArray() == $1.toArray() })
    }

    @Test func gradientsReachEveryParameter() throws {
        var g = RandomGenerator(seed: 5)
        let model = try UNet(UNetConfig(depth: 3, nFilters: 2), generator: &g)
        let x = try Tensor.uniform([2, 3, 8, 8], generator: &g)
        let target = try Tensor.uniform([2, 1, 8, 8], generator: &g) > 0.7
        let loss = try segmentationLoss(try model(x), target)
        try loss.total.backward()
        for (name, p) in model.namedParameters() {
            #expect(p.grad?.shape == p.shape, "\(name)")
        }
    }
}

/// `state_dict` round trips and strict loading.
@Suite struct StateDictTests {
    @Test func roundTripCopiesValues() throws {
        var g = RandomGenerator(seed: 6)
        let a = try UNet(UNetConfig(depth: 2, nFilters: 1), generator: &g)
        let b = try UNet(UNetConfig(depth: 2, nFilters: 1), generator: &g)
        try b.loadStateDict(a.stateDict().map { ($0.name, $0.tensor.clone()) })
        #expect(zip(a.parameters, b.parameters).allSatisfy { $0.toArray() == $1.toArray() })
    }

    @Test func mismatchListsEveryProblemAndChangesNothing() throws {
        var g = RandomGenerator(seed: 7)
        let model = try UNet(UNetConfig(depth: 2, nFilters: 1), generator: &g)
        let before = model.parameters.map { $0.toArray() }
        var entries = model.stateDict().map { ($0.name, $0.tensor.clone()) }
        entries.removeFirst()                                   // missing
        entries.append(("extra.weight", try Tensor.zeros([1])))  // unexpected
        entries[0] = (entries[0].0, try Tensor.zeros([7]))       // mis-shaped
        do {
            try model.loadStateDict(entries)
            Issue.record("expected an error")
        } catch {
            #expect(error.message.contains("missing keys: down_path.0.conv_block.conv_block.0.weight"))
            #expect(error.message.contains("unexpected keys: extra.weight"))
            #expect(error.message.contains("shape mismatch: down_path.0.conv_block.conv_block.0.bias"))
        }
        #expect(model.parameters.map { $0.toArray() } == before)
    }
}
