import Testing
import UNetTensor
import UNetTrain
import _UNetSupport

/// Adam against torch.optim.Adam's formula, its saved state and its checks.
@Suite struct AdamTests {
    /// The gradients of three steps for three parameters (nil: no gradient that step).
    let gradients: [[Float?]] = [[0.5, -0.25, 2.0], [0.1, nil, -1.0], [-0.3, 0.4, 0.05]]

    /// Three one-element parameters and an Adam over them with lr 0.1, betas (0.9, 0.999), eps 1e-8 and
    /// weight decay 0.01.
    func makeAdam() throws -> (parameters: [Tensor], adam: Adam) {
        let parameters = try [1, -2, 0.5].map { (x: Float) throws(UnetsegError) in try Tensor([x], shape: [1], requiresGrad: true) }
        return (parameters, try Adam(parameters, learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01))
    }

    func step(_ adam: Adam, _ parameters: [Tensor], gradients: [Float?]) throws {
        for (p, g) in zip(parameters, gradients) { p.grad = try g.map { try Tensor([$0], shape: [1]) } }
        adam.step()
    }

    @Test func stepsFollowTorchsFormula() throws {
        // Written from torch.optim.Adam's documented update in float64 (no torch needed): per parameter
        // t += 1; d = g + wd·p; m = b1·m + (1 − b1)·d; v = b2·v + (1 − b2)·d²;
        // p −= lr/(1 − b1^t) · m / (√v / √(1 − b2^t) + eps). The second parameter has no gradient at step 2,
        // so it stays and its t lags behind.
        let reference: [[Double]] = [
            [0.9000000019607843, -1.9000000037037035, 0.4000000004987531],
            [0.8189151743261174, -1.9000000037037035, 0.3731156376658752],
            [0.7954460467740023, -1.92199457372507, 0.350805821130256],
        ]
        let (parameters, adam) = try makeAdam()
        for (k, expected) in reference.enumerated() {
            try step(adam, parameters, gradients: gradients[k])
            for (p, e) in zip(parameters, expected) {
                #expect(abs(Double(p.toArray()[0]) - e) < 2e-6, "step \(k + 1): \(p.toArray()[0]) vs \(e)")
            }
        }
        #expect(adam.steps == [3, 2, 3])
        let m = [0.021938915176090822, 0.013799999996296292, 0.07813811563811475]
        let v = [0.000356602750264588, 0.000217988099971778, 0.005005899991180651]
        for i in 0..<3 {
            let mi = Double(try #require(adam.firstMoments[i]).toArray()[0])
            let vi = Double(try #require(adam.secondMoments[i]).toArray()[0])
            #expect(abs(mi - m[i]) < 1e-6 * abs(m[i]), "exp_avg \(i): \(mi) vs \(m[i])")
            #expect(abs(vi - v[i]) < 1e-6 * abs(v[i]), "exp_avg_sq \(i): \(vi) vs \(v[i])")
        }
    }

    @Test func savedStateContinuesExactly() throws {
        let (straight, straightAdam) = try makeAdam()
        for g in gradients { try step(straightAdam, straight, gradients: g) }
        let (first, firstAdam) = try makeAdam()
        try step(firstAdam, first, gradients: gradients[0])
        try step(firstAdam, first, gradients: gradients[1])
        let names = ["a", "b", "c"]
        let saved = firstAdam.state(parameterNames: names)
        // A fresh optimiser over copies of the parameters, as a resumed run has.
        let resumedParameters = try first.map { try Tensor($0.toArray(), shape: [1], requiresGrad: true) }
        let resumed = try Adam(resumedParameters, learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01)
        try resumed.restore(saved, parameterNames: names, source: "state")
        try step(resumed, resumedParameters, gradients: gradients[2])
        #expect(resumedParameters.map { $0.toArray() } == straight.map { $0.toArray() })
        #expect(resumed.steps == straightAdam.steps)
    }

    @Test func incompleteOrMissingStateAndBadSettingsAreRefused() throws {
        let (parameters, adam) = try makeAdam()
        try step(adam, parameters, gradients: gradients[0])
        var state = adam.state(parameterNames: ["a", "b", "c"])
        let (_, other) = try makeAdam()
        state.tensors.removeAll { $0.name == "exp_avg_sq.b" }
        #expect(throws: UnetsegError.self) { try other.restore(state, parameterNames: ["a", "b", "c"], source: "state") }
        #expect(throws: UnetsegError.self) { try other.restore(OptimizerState(), parameterNames: ["a", "b", "c"], source: "state") }
        let wrongShape = OptimizerState(tensors: [("exp_avg.a", try Tensor.zeros([2]))], metadata: ["adam_steps": "{\"a\":1}"])
        #expect(throws: UnetsegError.self) { try other.restore(wrongShape, parameterNames: ["a", "b", "c"], source: "state") }
        #expect(throws: UnetsegError.self) { try Adam(parameters, beta1: 1) }
        #expect(throws: UnetsegError.self) { try Adam(parameters, beta2: -0.1) }
        #expect(throws: UnetsegError.self) { try Adam(parameters, learningRate: .nan) }
        #expect(throws: UnetsegError.self) { try OptimizerKind(named: "adamw") }
    }

    @Test func oneCycleCyclesTheFirstBeta() throws {
        let (parameters, adam) = try makeAdam()
        let schedule = try OneCycleLR(optimizer: adam, maxLR: 0.01, epochs: 2, stepsPerEpoch: 5)
        #expect(adam.momentum == 0.95 && adam.learningRate == Float(0.01 / 25))
        for _ in 0..<3 { try schedule.step() }
        #expect(adam.momentum == Float(schedule.momentum) && adam.beta2 == 0.999)
        #expect(parameters.count == 3)
    }
}
