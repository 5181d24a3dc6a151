#if canImport(Glibc)
import Glibc
#endif
import Testing
import UNetNN
import UNetTensor

/// The graph is freed after every step: training does not accumulate tensors.
@Suite struct MemoryTests {
    /// Runs in its own process (an exit test), so the process-wide count of live storages is this test's alone.
    @Test func thousandTrainingStepsKeepTheSameNumberOfLiveTensors() async {
        await #expect(processExitsWith: .success) {
            var g = RandomGenerator(seed: 11)
            let model = try UNet(UNetConfig(depth: 2, nFilters: 1), generator: &g)
            let x = try Tensor.uniform([2, 3, 8, 8], generator: &g)
            let target = try Tensor.uniform([2, 1, 8, 8], generator: &g) > 0.5
            func step() throws {
                model.zeroGrad()
                let loss = try segmentationLoss(try model(x), target)
                try loss.total.backward()
            }
            for _ in 0..<10 { try step() }
            let live = TensorStorage.liveCount
            for _ in 0..<1000 { try step() }
            exit(TensorStorage.liveCount == live ? 0 : 1)
        }
    }
}
