import Testing
import UNetNN
import UNetTensor
import UNetTrain
import _UNetSupport

/// The model fixtures written by `scripts/make_model_fixtures.py` (PyTorch in float64 on float32 values,
/// stored as float32) in `Tests/UNetTrainTests/Fixtures/model/`, and the comparison used against them.
enum ModelFixtures {
    /// Relative tolerance of the model parity checks.
    static let tolerance = 1e-4

    /// The absolute path of `Fixtures/model/<name>`, found from this source file's path.
    static func path(_ name: String) -> String {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast()
        return (parts + ["Fixtures", "model", Substring(name)]).joined(separator: "/")
    }

    /// Reads fixture `name`.
    static func load(_ name: String) throws(UnetsegError) -> SafeTensorsFile {
        try SafeTensors.read(path: path(name))
    }

    /// The model configuration in a fixture's metadata.
    static func config(_ file: SafeTensorsFile, _ name: String) throws(UnetsegError) -> UNetConfig {
        guard let text = file.metadata["config"] else { throw .format("fixture \(name) has no config") }
        return try Checkpoint.config(from: try JSONValue.parse(text), source: name)
    }

    /// Tensor `key` of a fixture.
    static func tensor(_ file: SafeTensorsFile, _ key: String) throws(UnetsegError) -> Tensor {
        guard let tensor = file.tensor(named: key) else { throw .format("fixture tensor \"\(key)\" is missing") }
        return tensor
    }

    /// The entries of `file` whose names start with `prefix`, without it (e.g. a stored state_dict).
    static func entries(_ file: SafeTensorsFile, prefix: String) -> [(name: String, tensor: Tensor)] {
        file.tensors.filter { $0.name.hasPrefix(prefix) }.map { (String($0.name.dropFirst(prefix.count)), $0.tensor) }
    }

    /// Why `actual` differs from PyTorch's `expected`, or nil when they agree. Scale-aware: same shape and,
    /// for every element i, |actual_i − expected_i| ≤ 1e-4 · max(|expected_i|, rms(expected)), where
    /// rms(expected) = √(mean of expected²) over the whole tensor (so a one-element tensor is compared
    /// purely relatively, and elements near zero by the size of their tensor's values).
    static func mismatch(_ actual: Tensor, _ expected: Tensor, _ what: String) -> String? {
        guard actual.shape == expected.shape else {
            return "\(what): shape \(Shape.describe(actual.shape)), PyTorch \(Shape.describe(expected.shape))"
        }
        let a = actual.toArray(), e = expected.toArray()
        let rms = (e.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(e.count, 1))).squareRoot()
        var worst: (excess: Double, index: Int)?
        for i in e.indices {
            let error = abs(Double(a[i]) - Double(e[i]))
            let allowed = tolerance * max(abs(Double(e[i])), rms)
            guard !(error <= allowed) else { continue }
            let excess = error.isNaN ? Double.infinity : error / allowed
            if excess > worst?.excess ?? 0 { worst = (excess, i) }
        }
        guard let worst else { return nil }
        return "\(what): element \(worst.index) is \(a[worst.index]), PyTorch \(e[worst.index]) "
            + "(\(worst.excess)× the tolerance)"
    }

    /// `mismatch` for every element of `actual` on its own (purely relative), against the vector `expected`.
    static func elementwiseMismatches(_ actual: [Float], _ expected: Tensor, _ what: String) -> [String] {
        let e = expected.toArray()
        guard e.count == actual.count else { return ["\(what): \(actual.count) values, PyTorch \(e.count)"] }
        return actual.indices.compactMap { i in
            mismatch(Tensor(scalar: actual[i]), Tensor(scalar: e[i]), "\(what)[\(i)]")
        }
    }

    /// Every mismatch between `tensors` (named like a state_dict) and the fixture's `<prefix><name>`.
    static func mismatches(_ tensors: [(name: String, tensor: Tensor?)], _ file: SafeTensorsFile,
                           prefix: String) -> [String] {
        tensors.compactMap { name, tensor in
            guard let expected = file.tensor(named: prefix + name) else { return "\(prefix)\(name): not in the fixture" }
            guard let tensor else { return "\(prefix)\(name): none computed" }
            return mismatch(tensor, expected, prefix + name)
        }
    }

    /// The small model of `small_training.safetensors` (eval mode), with the fixture's parameters.
    static func smallModel(_ file: SafeTensorsFile) throws(UnetsegError) -> UNet {
        var generator = RandomGenerator(seed: 0)
        let model = try UNet(try config(file, "small_training"), generator: &generator)
        try model.loadStateDict(entries(file, prefix: "state/"))
        model.eval()
        return model
    }

    /// Sets every parameter of `model` by the closed formula of `scripts/make_model_fixtures.py`: element k
    /// (row-major) of parameter t (0-based, state_dict order) is bound_t · (2·u_k − 1), where u_k is the
    /// k-th `unitDouble()` of `RandomGenerator(seed: t)` — (mix64(t + (k+1)·γ) >> 11) · 2⁻⁵³ — and
    /// bound_t = √(6 / fan_in) for weights, √(1 / fan_in) for biases, fan_in = size(1)·kh·kw of the
    /// layer's weight (PyTorch's fan-in); computed in Double (each step exact or correctly rounded, so
    /// the same bits as NumPy), then rounded to Float.
    static func fillByFormula(_ model: UNet) throws(UnetsegError) {
        let named = model.namedParameters()
        let byName = Dictionary(uniqueKeysWithValues: named.map { ($0.name, $0.tensor) })
        for (t, (name, tensor)) in named.enumerated() {
            let isWeight = name.hasSuffix(".weight")
            let weightName = isWeight ? name : String(name.dropLast("bias".count)) + "weight"
            guard let weight = byName[weightName], weight.rank == 4 else {
                throw .internal("no 4-D weight \(weightName) for \(name)")
            }
            let fanIn = weight.shape[1] * weight.shape[2] * weight.shape[3]
            let bound = ((isWeight ? 6.0 : 1.0) / Double(fanIn)).squareRoot()
            var generator = RandomGenerator(seed: UInt64(t))
            let values = tensor.storage.pointer
            for k in 0..<tensor.count { values[k] = Float(bound * (2 * generator.unitDouble() - 1)) }
        }
    }
}

/// The post's U-Net, losses, SGD and one-cycle schedule against PyTorch (`scripts/make_model_fixtures.py`),
/// within |ours − torch| ≤ 1e-4 · max(|torch|, rms(torch tensor)) elementwise (see `ModelFixtures.mismatch`).
@Suite struct ModelParityTests {
    static let fixtureNames = ["small_training.safetensors", "seed_forward.safetensors",
                               "pytorch_state_dict.safetensors", "pytorch_state_dict_io.safetensors",
                               "batch_norm_model.safetensors", "batch_norm_state_dict.safetensors"]

    /// Small model in eval mode: output, BCE, dice, total loss, and every parameter's gradient of the total.
    @Test func smallModelForwardLossesAndGradients() throws {
        let file = try ModelFixtures.load("small_training.safetensors")
        let model = try ModelFixtures.smallModel(file)
        let output = try model(try ModelFixtures.tensor(file, "input"))
        let loss = try segmentationLoss(output, try ModelFixtures.tensor(file, "target"))
        try loss.total.backward()
        var problems = ModelFixtures.mismatches([("output", output)], file, prefix: "")
        problems += ModelFixtures.mismatches([("bce", loss.bce), ("dice", loss.dice), ("total", loss.total)],
                                             file, prefix: "loss/")
        let gradients = model.namedParameters().map { (name: $0.name, tensor: $0.tensor.grad) }
        #expect(gradients.count == 26)
        problems += ModelFixtures.mismatches(gradients, file, prefix: "grad/")
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }

    /// Three steps of SGD(lr 0.1, momentum 0.9) with OneCycleLR(max_lr 0.1, 1 epoch of 3 steps) on the same
    /// batch: the losses and the rate and momentum of every step, then all parameters, momentum buffers,
    /// learning rate and momentum.
    @Test func smallModelThreeTrainingSteps() throws {
        let file = try ModelFixtures.load("small_training.safetensors")
        let model = try ModelFixtures.smallModel(file)
        let input = try ModelFixtures.tensor(file, "input"), target = try ModelFixtures.tensor(file, "target")
        let optimizer = try SGD(model.parameters, learningRate: 0.1, momentum: 0.9)
        let schedule = try OneCycleLR(optimizer: optimizer, maxLR: 0.1, epochs: 1, stepsPerEpoch: 3)
        var recorded: [String: [Float]] = [:]
        for _ in 0..<3 {
            optimizer.zeroGrad()
            let loss = try segmentationLoss(try model(input), target)
            try loss.total.backward()
            recorded["lr", default: []].append(optimizer.learningRate)
            recorded["momentum", default: []].append(optimizer.momentum)
            optimizer.step()
            try schedule.step()
            for (key, value) in [("bce", loss.bce), ("dice", loss.dice), ("total", loss.total)] {
                recorded[key, default: []].append(try value.item())
            }
        }
        var problems: [String] = []
        for (key, values) in recorded.sorted(by: { $0.key < $1.key }) {
            problems += ModelFixtures.elementwiseMismatches(values, try ModelFixtures.tensor(file, "steps/" + key), "steps/" + key)
        }
        problems += ModelFixtures.elementwiseMismatches(
            [optimizer.learningRate, optimizer.momentum],
            try Tensor([try ModelFixtures.tensor(file, "final/lr").item(), try ModelFixtures.tensor(file, "final/momentum").item()], shape: [2]),
            "final lr, momentum")
        let named = model.namedParameters()
        problems += ModelFixtures.mismatches(named.map { ($0.name, $0.tensor) }, file, prefix: "final/param/")
        let buffers = zip(named, optimizer.momentumBuffers).map { (name: $0.name, tensor: $1) }
        problems += ModelFixtures.mismatches(buffers, file, prefix: "final/momentum_buffer/")
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        // The fixture really moved the parameters: the final ones differ from the initial ones.
        let moved = try named.filter { p in
            try ModelFixtures.mismatch(p.tensor, ModelFixtures.tensor(file, "state/" + p.name), p.name) != nil
        }
        #expect(moved.count == named.count)
    }

    /// The post's model (31,031,745 parameters) with the formula weights on one 64×64 input: the output and
    /// the sum of every block's output.
    @Test func seedConfigurationForward() throws {
        let file = try ModelFixtures.load("seed_forward.safetensors")
        let config = try ModelFixtures.config(file, "seed_forward")
        #expect(config == UNetConfig())
        var generator = RandomGenerator(seed: 0)
        let model = try UNet(config, generator: &generator)
        #expect(model.parameterCount == 31_031_745)
        try ModelFixtures.fillByFormula(model)
        model.eval()
        let input = try ModelFixtures.tensor(file, "input")
        let output = try model(input)
        var problems = [ModelFixtures.mismatch(output, try ModelFixtures.tensor(file, "output"), "output")]

        // The same forward pass block by block, for the sums that say where a difference starts.
        var sums: [Float] = []
        var x = input, bridges: [Tensor] = []
        for (i, block) in model.downPath.enumerated() {
            x = try block(x)
            sums.append(try x.sum().item())
            if i != model.downPath.count - 1 {
                bridges.append(x)
                x = try x.maxPool2d(kernelSize: 2)
            }
        }
        for (j, block) in model.upPath.enumerated() {
            x = try block(x, bridge: bridges[bridges.count - 1 - j])
            sums.append(try x.sum().item())
        }
        problems.append(contentsOf: ModelFixtures.elementwiseMismatches(sums, try ModelFixtures.tensor(file, "block_sums"), "block_sums"))
        let found = problems.compactMap { $0 }
        #expect(found.isEmpty, "\(found.joined(separator: "\n"))")
        // The output is not a near-constant that any bias-only model would match.
        let values = try ModelFixtures.tensor(file, "output").toArray()
        #expect((values.max() ?? 0) - (values.min() ?? 0) > 0.5)
    }

    /// The formula gives the values the script printed for the first weights (so a formula slip is told
    /// apart from a model difference).
    @Test func formulaMatchesTheScript() throws {
        var generator = RandomGenerator(seed: 0)
        let model = try UNet(UNetConfig(depth: 2, nFilters: 1), generator: &generator)
        try ModelFixtures.fillByFormula(model)
        // make_model_fixtures.py: down_path.0.conv_block.conv_block.0.weight of the seed model starts
        // [0.3613888919353485, -0.06455602496862411, -0.44648250937461853]; its fan-in (3·3·3) does not
        // depend on the number of filters, so this smaller model's first weights are the same.
        let first = try #require(model.namedParameters().first)
        #expect(first.name == "down_path.0.conv_block.conv_block.0.weight")
        #expect(Array(first.tensor.toArray().prefix(3)) == [0.3613888919353485, -0.06455602496862411, -0.44648250937461853])
    }

    /// The comparison notices a 0.1% change of one weight tensor deep in the model (the bottleneck block).
    @Test func comparisonCatchesAPerturbedModel() throws {
        let file = try ModelFixtures.load("small_training.safetensors")
        let model = try ModelFixtures.smallModel(file)
        let deepest = try #require(model.namedParameters().first { $0.name == "down_path.2.conv_block.conv_block.3.weight" })
        for k in 0..<deepest.tensor.count { deepest.tensor.storage.pointer[k] *= 1.001 }
        let output = try model(try ModelFixtures.tensor(file, "input"))
        #expect(ModelFixtures.mismatch(output, try ModelFixtures.tensor(file, "output"), "output") != nil)
    }

    /// The batch-norm variant (depth 3, 4 first filters, dropout 0, random batch-norm parameters and running
    /// statistics): the eval-mode output, then in training mode the output, the loss, every parameter's
    /// gradient and the running statistics after that forward pass, then the parameters after one SGD step.
    @Test func batchNormModelInBothModesAndOneStep() throws {
        let file = try ModelFixtures.load("batch_norm_model.safetensors")
        let config = try ModelFixtures.config(file, "batch_norm_model")
        #expect(config.batchNorm)
        var generator = RandomGenerator(seed: 0)
        let model = try UNet(config, generator: &generator)
        try model.loadStateDict(ModelFixtures.entries(file, prefix: "state/"))
        let input = try ModelFixtures.tensor(file, "input"), target = try ModelFixtures.tensor(file, "target")
        model.eval()
        let evalOutput = try Autograd.withNoGrad { () throws(UnetsegError) in try model(input) }
        var problems = ModelFixtures.mismatches([("eval/output", evalOutput)], file, prefix: "")
        model.train()
        let output = try model(input)
        let loss = try segmentationLoss(output, target)
        try loss.total.backward()
        problems += ModelFixtures.mismatches([("output", output), ("loss/total", loss.total)], file, prefix: "train/")
        let gradients = model.namedParameters().map { (name: $0.name, tensor: $0.tensor.grad) }
        #expect(gradients.count == 5 * 2 * 3 + 2 * 2 + 2)   // conv weight + batch norm weight, bias per conv
        problems += ModelFixtures.mismatches(gradients, file, prefix: "grad/")
        let buffers = model.namedBuffers()
        #expect(buffers.count == 5 * 2 * 3)
        problems += ModelFixtures.mismatches(buffers.map { ($0.name, $0.tensor) }, file, prefix: "train/buffer/")
        let optimizer = try SGD(model.parameters, learningRate: 0.1, momentum: 0.9)
        optimizer.step()
        problems += ModelFixtures.mismatches(model.namedParameters().map { ($0.name, $0.tensor) }, file, prefix: "step/param/")
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        // The modes really differ, and training moved the running statistics and counted the batch.
        #expect(ModelFixtures.mismatch(evalOutput, try ModelFixtures.tensor(file, "train/output"), "modes") != nil)
        let tracked = try #require(buffers.first { $0.name == "down_path.0.conv_block.conv_block.1.num_batches_tracked" })
        #expect(tracked.tensor.toArray() == [4])
    }

    /// `save_file(model.state_dict())` of the batch-norm variant in PyTorch (num_batches_tracked as int64)
    /// loads with the config given and gives PyTorch's eval-mode output.
    @Test func batchNormStateDictSavedByPyTorchLoads() throws {
        let file = try ModelFixtures.load("batch_norm_model.safetensors")
        let config = try ModelFixtures.config(file, "batch_norm_model")
        let path = ModelFixtures.path("batch_norm_state_dict.safetensors")
        let model = try Checkpoint.load(path, config: config)
        model.eval()
        let output = try Autograd.withNoGrad { () throws(UnetsegError) in try model(try ModelFixtures.tensor(file, "input")) }
        let problems = ModelFixtures.mismatches([("eval/output", output)], file, prefix: "")
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        #expect(model.namedBuffers().first { $0.name.hasSuffix("num_batches_tracked") }?.tensor.toArray() == [3])
    }

    @Test func fixturesSayTheyAreGenerated() throws {
        for name in Self.fixtureNames {
            let file = try ModelFixtures.load(name)
            #expect(file.metadata["generated_by"]?.hasPrefix("GENERATED by scripts/make_model_fixtures.py") == true, "\(name)")
        }
    }
}
