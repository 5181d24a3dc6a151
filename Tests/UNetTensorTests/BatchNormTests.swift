import Testing
import UNetTensor
import _TestSupport
import _UNetSupport

/// batch_norm on NCHW: hand-computed values, finite-difference gradients in both modes, the running
/// statistics, thread-count invariance and argument errors (PyTorch parity is in `TorchParityTests`).
@Suite struct BatchNormTests {
    func random(_ shape: [Int], seed: UInt64, low: Float = -1, high: Float = 1) throws -> Tensor {
        var g = RandomGenerator(seed: seed)
        return try Tensor.uniform(shape, low: low, high: high, generator: &g)
    }

    @Test func trainingNormalisesEachChannelAndUpdatesTheRunningStatistics() throws {
        // Channel 0 holds 1, 3 (mean 2, biased variance 1); channel 1 holds 10, 10 (variance 0).
        let x = try Tensor([1, 10, 3, 10], shape: [2, 2, 1, 1])
        let runningMean = try Tensor([0, 1], shape: [2]), runningVar = try Tensor([1, 1], shape: [2])
        let weight = try Tensor([2, 1], shape: [2]), bias = try Tensor([0.5, -1], shape: [2])
        let y = try x.batchNorm2d(runningMean: runningMean, runningVar: runningVar, weight: weight, bias: bias,
                                  training: true)
        let s = 2 / Float(1 + 1e-5).squareRoot()
        #expect(y.toArray() == [0.5 - s, -1, 0.5 + s, -1])
        #expect(runningMean.toArray() == [Float(0.1 * 2), Float(0.9 + 0.1 * 10)])
        // The unbiased variance of {1, 3} is 2; of {10, 10}, 0.
        #expect(runningVar.toArray() == [Float(0.9 + 0.1 * 2), Float(0.9)])
    }

    @Test func evaluationUsesTheRunningStatisticsAndLeavesThemAlone() throws {
        let x = try Tensor([1, 2, 3, 4], shape: [1, 2, 2, 1])
        let runningMean = try Tensor([1, -1], shape: [2]), runningVar = try Tensor([4, 0.25], shape: [2])
        let y = try x.batchNorm2d(runningMean: runningMean, runningVar: runningVar, weight: nil, bias: nil,
                                  training: false, eps: 1e-12)
        let expected: [Float] = [0, 0.5, 8, 10]
        for (a, e) in zip(y.toArray(), expected) { #expect(abs(a - e) < 1e-5) }
        #expect(runningMean.toArray() == [1, -1] && runningVar.toArray() == [4, 0.25])
    }

    @Test(arguments: [(true, [2, 3, 3, 2]), (true, [1, 2, 2, 3]), (false, [2, 2, 3, 3])])
    func gradientsMatchFiniteDifferences(training: Bool, shape: [Int]) throws {
        let x = try random(shape, seed: 5, low: -2, high: 3)
        let weight = try random([shape[1]], seed: 6, low: 0.5, high: 1.5), bias = try random([shape[1]], seed: 7)
        let runningVar = try random([shape[1]], seed: 8, low: 0.5, high: 2)
        let runningMean = try random([shape[1]], seed: 9)
        let report = try GradientCheck.check(inputs: [x, weight, bias]) { t in
            // Fresh running statistics for every evaluation: training updates them in place.
            try t[0].batchNorm2d(runningMean: runningMean.clone(), runningVar: runningVar.clone(), weight: t[1],
                                 bias: t[2], training: training)
        }
        #expect(report.worstError < 3e-3, "\(report)")
    }

    @Test func resultsDoNotDependOnTheThreadCount() throws {
        defer { Parallel.setThreadCount(0) }
        var runs: [[[Float]]] = []
        for threads in [1, 2, 3] {
            Parallel.setThreadCount(threads)
            let x = try random([3, 7, 19, 23], seed: 11, low: -1, high: 2)
            let weight = try random([7], seed: 12), bias = try random([7], seed: 13)
            let runningMean = try Tensor.zeros([7]), runningVar = try Tensor.ones([7])
            for t in [x, weight, bias] { t.requiresGrad = true }
            let y = try x.batchNorm2d(runningMean: runningMean, runningVar: runningVar, weight: weight, bias: bias,
                                      training: true)
            try (y * random(y.shape, seed: 14)).sum().backward()
            runs.append([y.toArray(), runningMean.toArray(), runningVar.toArray()]
                        + [x, weight, bias].map { $0.grad?.toArray() ?? [] })
        }
        #expect(runs[0] == runs[1], "1 and 2 threads differ")
        #expect(runs[0] == runs[2], "1 and 3 threads differ")
    }

    @Test func argumentErrorsNameTheProblemAsPyTorchDoes() throws {
        let x = try Tensor.zeros([2, 3, 2, 2]), three = try Tensor.ones([3]), four = try Tensor.ones([4])
        func message(_ body: () throws(UnetsegError) -> Tensor) -> String {
            do { _ = try body(); return "no error" } catch { return error.description }
        }
        #expect(message { () throws(UnetsegError) in
            try Tensor.zeros([2, 3, 4]).batchNorm2d(runningMean: nil, runningVar: nil, weight: nil, bias: nil, training: true)
        }.contains("expected 4D input (got 3D input)"))
        #expect(message { () throws(UnetsegError) in
            try x.batchNorm2d(runningMean: four, runningVar: three, weight: nil, bias: nil, training: true)
        }.contains("running_mean should contain 3 elements not 4"))
        #expect(message { () throws(UnetsegError) in
            try x.batchNorm2d(runningMean: three, runningVar: four, weight: nil, bias: nil, training: true)
        }.contains("running_var should contain 3 elements not 4"))
        #expect(message { () throws(UnetsegError) in
            try x.batchNorm2d(runningMean: nil, runningVar: nil, weight: four, bias: nil, training: true)
        }.contains("weight should contain 3 elements not 4"))
        #expect(message { () throws(UnetsegError) in
            try x.batchNorm2d(runningMean: nil, runningVar: nil, weight: nil, bias: four, training: true)
        }.contains("bias should contain 3 elements not 4"))
        #expect(message { () throws(UnetsegError) in
            try Tensor.zeros([1, 3, 1, 1]).batchNorm2d(runningMean: nil, runningVar: nil, weight: nil, bias: nil, training: true)
        }.contains("expected more than 1 value per channel when training, got input size [1, 3, 1, 1]"))
        #expect(message { () throws(UnetsegError) in
            try x.batchNorm2d(runningMean: nil, runningVar: nil, weight: nil, bias: nil, training: false)
        }.contains("running_mean and running_var must be defined in evaluation mode"))
        #expect(message { () throws(UnetsegError) in
            try x.batchNorm2d(runningMean: three, runningVar: nil, weight: nil, bias: nil, training: true)
        }.contains("must be given together"))
    }
}
