#if canImport(Glibc)
import Glibc
#endif
import Testing
import UNetNN
import UNetTensor
import _UNetSupport

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

    /// A pass whose estimate exceeds `UNETSEG_MEMORY_LIMIT` is refused before it allocates, with the
    /// estimate and the limit in the message (an exit test: the variable is set in the child only).
    @Test func aPassOverTheMemoryLimitIsRefusedUpFront() async {
        await #expect(processExitsWith: .success) {
            setenv("UNETSEG_MEMORY_LIMIT", "64M", 1)
            var g = RandomGenerator(seed: 1)
            let model = try UNet(UNetConfig(depth: 3, nFilters: 3), generator: &g)
            let x = try Tensor.zeros([2, 3, 512, 512])
            let live = TensorStorage.liveCount
            do throws(UnetsegError) {
                _ = try Autograd.withNoGrad { () throws(UnetsegError) in try model(x) }
                exit(1)
            } catch {
                guard case .outOfMemory(let message) = error, message.contains("forward pass"),
                      message.contains("estimated"), message.contains("UNETSEG_MEMORY_LIMIT=64M"),
                      TensorStorage.liveCount == live
                else { exit(2) }
            }
            setenv("UNETSEG_MEMORY_LIMIT", "8G", 1)
            _ = try Autograd.withNoGrad { () throws(UnetsegError) in try model(try Tensor.zeros([1, 3, 64, 64])) }
            exit(0)
        }
    }

    /// Under `ulimit -v`, a pass that does not fit the address space left is an out-of-memory error; the
    /// allocation inside an op used to fail and trap (an exit test: the limit applies to the child only).
    @Test func aPassUnderUlimitIsAnErrorNotACrash() async {
        await #expect(processExitsWith: .success) {
            var g = RandomGenerator(seed: 1)
            let model = try UNet(UNetConfig(depth: 2, nFilters: 2), generator: &g)
            let x = try Tensor.zeros([4, 3, 1024, 1024])
            let statm = try FileSystem.readBytes("/proc/self/statm")
            guard let pages = Int(String(decoding: statm.prefix { $0 != 0x20 }, as: UTF8.self)) else { exit(3) }
            let limit = rlim_t(pages * Int(sysconf(Int32(_SC_PAGESIZE))) + (256 << 20))
            var bounds = rlimit(rlim_cur: limit, rlim_max: limit)
            guard setrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &bounds) == 0 else { exit(4) }
            do throws(UnetsegError) {
                _ = try Autograd.withNoGrad { () throws(UnetsegError) in try model(x) }
                exit(1)
            } catch {
                guard case .outOfMemory(let message) = error, message.contains("ulimit -v") else { exit(2) }
            }
            exit(0)
        }
    }

    /// The estimates grow with the batch and the image, and training keeps more than a forward pass.
    @Test func estimatesScaleWithTheCall() {
        let config = UNetConfig()
        let small = config.estimatedMemory(batch: 1, height: 256, width: 256, training: false)
        #expect(small > 0)
        #expect(config.estimatedMemory(batch: 2, height: 256, width: 256, training: false) > small)
        #expect(config.estimatedMemory(batch: 1, height: 512, width: 512, training: false) > small)
        #expect(config.estimatedMemory(batch: 1, height: 256, width: 256, training: true) > 2 * small)
        #expect(config.estimatedMemory(batch: 1 << 40, height: 1 << 14, width: 1 << 14, training: true) == Int.max)
    }
}
