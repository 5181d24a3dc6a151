import Testing
import UNetTensor
import _TestSupport
import _UNetSupport

/// Our elementwise, reduction, activation, shape and loss ops against PyTorch on the fixtures written by
/// `scripts/make_fixtures.py` (PyTorch in float64 on float32 inputs): the output and the gradients of
/// (output · w).sum() must agree elementwise within |ours − torch| ≤ 1e-5 · max(1, |torch|).
@Suite struct TorchParityTests {
    /// Fixture name → our op on one variant.
    static func run(_ name: String, _ v: Fixtures.TorchVariant) throws(UnetsegError) -> Tensor {
        switch name {
        case "add": return try v.input("a") + v.input("b")
        case "sub": return try v.input("a") - v.input("b")
        case "mul": return try v.input("a") * v.input("b")
        case "div": return try v.input("a") / v.input("b")
        case "add_scalar": return try v.input("x") + v.float("s")
        case "rsub_scalar": return try v.float("s") - v.input("x")
        case "mul_scalar": return try v.input("x") * v.float("s")
        case "div_scalar": return try v.input("x") / v.float("s")
        case "rdiv_scalar": return try v.float("s") / v.input("x")
        case "sum": return try v.input("x").sum()
        case "mean": return try v.input("x").mean()
        case "pow": return try v.input("x").pow(v.float("p"))
        case "square": return try v.input("x").square()
        case "exp": return try v.input("x").exp()
        case "log": return try v.input("x").log()
        case "relu": return try v.input("x").relu()
        case "sigmoid": return try v.input("x").sigmoid()
        case "cat":
            let parts = v.inputs.sorted { $0.key < $1.key }.map(\.value)
            return try Tensor.cat(parts, dim: v.int("dim"))
        case "view":
            let shape = (v.params["shape"]?.arrayValue ?? []).compactMap(\.intValue)
            return try v.input("x").view(shape)
        case "binary_cross_entropy": return try v.input("input").binaryCrossEntropy(v.input("target"))
        case "gt_scalar": return try v.input("x") > v.float("s")
        case "gt_tensor": return try v.input("a") > v.input("b")
        default: throw .invalidArgument("no op for fixture \(name)")
        }
    }

    static let cases = ["add", "sub", "mul", "div", "add_scalar", "rsub_scalar", "mul_scalar", "div_scalar",
                        "rdiv_scalar", "sum", "mean", "pow", "square", "exp", "log", "relu", "sigmoid", "cat",
                        "view", "binary_cross_entropy", "gt_scalar", "gt_tensor"]

    @Test(arguments: cases)
    func matchesPyTorch(name: String) throws {
        let fixture = try Fixtures.torchCase(name)
        #expect(fixture.variants.count >= 2)
        let problems = try Fixtures.parityMismatches(fixture) { v throws(UnetsegError) in try Self.run(name, v) }
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }

    /// The fixtures really hold gradients, and the comparison notices a wrong op.
    @Test func comparisonCatchesAWrongOp() throws {
        let fixture = try Fixtures.torchCase("mul")
        #expect(fixture.variants.allSatisfy { $0.gradients.keys.sorted() == ["a", "b"] && $0.outputWeight != nil })
        let problems = try Fixtures.parityMismatches(fixture) { v throws(UnetsegError) in
            try v.input("a") * (v.input("b") * 1.0001)
        }
        #expect(problems.count >= 3 * fixture.variants.count, "output and both gradients of every variant differ")
    }

    /// Exact 0 and 1 inputs reach the −100 log clamp and the 1e−12 gradient epsilon in the fixture.
    @Test func binaryCrossEntropyFixtureCoversTheClamps() throws {
        let edge = try #require(try Fixtures.torchCase("binary_cross_entropy").variants.last)
        let input = try edge.input("input").toArray()
        #expect(input.contains(0) && input.contains(1))
        #expect(edge.gradients["target"] == nil)
        #expect(try edge.output.item() > 10)   // several elements contribute 100 each
    }

    static let batchNormCases = ["batch_norm_train", "batch_norm_eval"]

    /// batch_norm in training and evaluation mode: output, gradients of input, weight and bias, and the
    /// running statistics after the call (updated in place in training, unchanged in evaluation).
    @Test(arguments: batchNormCases)
    func batchNormMatchesPyTorch(name: String) throws {
        let fixture = try Fixtures.torchCase(name)
        #expect(fixture.variants.count >= 2)
        let problems = try Fixtures.parityMismatches(fixture) { v throws(UnetsegError) in
            try v.input("x").batchNorm2d(runningMean: v.input("running_mean"), runningVar: v.input("running_var"),
                                         weight: v.inputs["weight"], bias: v.inputs["bias"],
                                         training: v.int("training") == 1)
        }
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        for (index, v) in fixture.variants.enumerated() {
            for stat in ["running_mean", "running_var"] {
                if let problem = Fixtures.mismatch(try v.input(stat), try v.input("updated_" + stat), "\(name)[\(index)] \(stat)") {
                    Issue.record(Comment(rawValue: problem))
                }
            }
        }
        let training = fixture.variants.map { (try? $0.int("training")) ?? -1 }
        #expect(training.allSatisfy { $0 == (name == "batch_norm_train" ? 1 : 0) })
    }

    @Test func fixturesSayTheyAreGenerated() throws {
        for name in Self.cases + Self.batchNormCases {
            let file = try SafeTensors.read(path: Fixtures.path("ops/\(name).safetensors"))
            #expect(file.metadata["generated_by"]?.hasPrefix("GENERATED by scripts/make_fixtures.py") == true, "\(name)")
        }
    }
}
