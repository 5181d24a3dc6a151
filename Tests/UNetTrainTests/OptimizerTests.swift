import Testing
import UNetTensor
import UNetTrain
import _UNetSupport

/// SGD's update rules and the one-cycle schedule, against PyTorch's values.
@Suite struct OptimizerTests {
    @Test func sgdMomentumFollowsPyTorch() throws {
        let p = try Tensor([1, -2], shape: [2], requiresGrad: true)
        let sgd = try SGD([p], learningRate: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01)
        p.grad = try Tensor([0.5, 0.25], shape: [2])
        sgd.step()
        // first step: b = g + wd·p = [0.51, 0.23]; p = p − 0.1·b
        #expect(abs(p.toArray()[0] - (1 - 0.051)) < 1e-6 && abs(p.toArray()[1] - (-2 - 0.023)) < 1e-6)
        sgd.step()
        // second: d = g + wd·p; b = 0.9·b + 0.9·d
        let d0: Float = 0.5 + 0.01 * 0.949, b0: Float = 0.9 * 0.51 + 0.9 * d0
        #expect(abs(p.toArray()[0] - (0.949 - 0.1 * b0)) < 1e-6)
    }

    @Test func sgdNesterovAndPlain() throws {
        let p = try Tensor([1], shape: [1], requiresGrad: true)
        let sgd = try SGD([p], learningRate: 0.5, momentum: 0.5, nesterov: true)
        p.grad = try Tensor([2], shape: [1])
        sgd.step()          // b = 2, g = 2 + 0.5·2 = 3 → p = 1 − 1.5
        #expect(p.toArray() == [-0.5])
        let q = try Tensor([1], shape: [1], requiresGrad: true)
        let plain = try SGD([q], learningRate: 0.5)
        plain.step()        // no gradient: unchanged
        #expect(q.toArray() == [1])
        q.grad = try Tensor([2], shape: [1])
        plain.step()
        #expect(q.toArray() == [0])
        #expect(throws: UnetsegError.self) { try SGD([q], learningRate: -1) }
        #expect(throws: UnetsegError.self) { try SGD([q], learningRate: 1, nesterov: true) }
    }

    @Test func oneCycleMatchesPyTorch() throws {
        // torch.optim.lr_scheduler.OneCycleLR(SGD(lr=0.1, momentum=0.9), max_lr=0.1, epochs=3, steps_per_epoch=7)
        let reference: [(Int, Double, Double)] = [
            (0, 0.0040000000000000036, 0.95), (1, 0.012188527098390314, 0.94147028427251),
            (5, 0.09924306774148466, 0.8507884711026201), (6, 0.09944154354509119, 0.8505584586887436),
            (7, 0.09673623556045154, 0.8532637774946584), (10, 0.07682751154913771, 0.8731725811411868),
            (20, 4e-07, 0.95), (21, 0.0011378956269720922, 0.9488624998230272),
        ]
        let p = try Tensor([0], shape: [1], requiresGrad: true)
        let sgd = try SGD([p], learningRate: 0.1, momentum: 0.9)
        let schedule = try OneCycleLR(optimizer: sgd, maxLR: 0.1, epochs: 3, stepsPerEpoch: 7)
        for (step, lr, momentum) in reference {
            while schedule.stepCount < step { try schedule.step() }
            #expect(abs(schedule.learningRate - lr) < 1e-12 * max(1, lr), "lr at \(step)")
            #expect(abs(schedule.momentum - momentum) < 1e-12, "momentum at \(step)")
            #expect(sgd.learningRate == Float(lr) && sgd.momentum == Float(momentum))
        }
        #expect(throws: UnetsegError.invalidArgument("Tried to step 22 times. The specified number of total steps is 21")) {
            try schedule.step()
        }
    }
}
