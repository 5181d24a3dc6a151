import Testing
import UNetTensor
import _TestSupport
import _UNetSupport

/// conv2d, conv_transpose2d and max_pool2d against PyTorch on the fixtures written by
/// `scripts/make_fixtures.py`, with and without bias: outputs and the gradients of (output · w).sum()
/// for input, weight and bias must agree elementwise within |ours − torch| ≤ 1e-5 · max(1, |torch|).
@Suite struct TorchParityConvolutionTests {
    static func run(_ op: String, _ v: Fixtures.TorchVariant) throws(UnetsegError) -> Tensor {
        switch op {
        case "conv2d":
            return try v.input("x").conv2d(weight: v.input("weight"), bias: v.inputs["bias"],
                                           stride: v.int("stride"), padding: v.int("padding"))
        case "conv_transpose2d":
            return try v.input("x").convTranspose2d(weight: v.input("weight"), bias: v.inputs["bias"],
                                                    stride: v.int("stride"), padding: v.int("padding"))
        case "max_pool2d":
            return try v.input("x").maxPool2d(kernelSize: v.int("kernel_size"), stride: v.int("stride"))
        default: throw .invalidArgument("no op \(op)")
        }
    }

    @Test(arguments: ["conv2d_k3_p1", "conv2d_k3_s2_odd", "conv2d_1x1", "conv2d_k2x3_p1",
                      "conv_transpose2d_k2_s2", "conv_transpose2d_k3_s2_p1", "max_pool2d_k2", "max_pool2d_k3_s2"])
    func matchesPyTorch(name: String) throws {
        let fixture = try Fixtures.torchCase(name)
        #expect(fixture.variants.count >= 2)
        if fixture.op != "max_pool2d" {
            #expect(fixture.variants.contains { $0.inputs["bias"] != nil } && fixture.variants.contains { $0.inputs["bias"] == nil })
        }
        let problems = try Fixtures.parityMismatches(fixture) { v throws(UnetsegError) in try Self.run(fixture.op, v) }
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }
}
