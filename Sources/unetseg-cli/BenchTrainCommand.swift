import ArgumentParser
import UNetNN
@_spi(Benchmark) import UNetTensor
import UNetTrain
#if canImport(Glibc)
import Glibc
#endif
import _UNetSupport

/// `unetseg bench train`: one training step and one inference pass of the post's U-Net.
struct BenchTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Time a training step (forward, loss, backward, SGD) and an inference pass of the U-Net.",
        discussion: """
            Batch 4 of 256×256 slices, depth 5, for n_filters 6 (the post's model) and 4. Figures are medians \
            of the timed runs after one warm-up; effective GFLOP/s counts the convolutions' multiply-adds \
            (3× the forward for a training step); peak RSS is the process's high-water mark after the config.
            """)

    @Flag(help: "Print one JSON object instead of a table.") var json = false
    @Option(help: "Worker threads (default: one per online CPU).") var threads: Int?
    @Option(help: "Timed runs per measurement (at least 5).") var repeats = 5
    @Option(help: "Comma-separated n_filters values to measure.") var filters = "4,6"

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if repeats < 5 { throw ValidationError("--repeats must be at least 5") }
    }

    func run() throws {
        if let threads { Parallel.setThreadCount(threads) }
        let sizes = filters.split(separator: ",").compactMap { Int($0) }
        guard !sizes.isEmpty, sizes.allSatisfy({ (1...8).contains($0) }) else {
            throw ValidationError("--filters must list n_filters values in 1...8")
        }
        var results: [TrainBenchResult] = []
        for n in sizes.sorted() { results.append(try TrainBenchResult.measure(nFilters: n, repeats: repeats)) }
        if json {
            let configs: [JSONValue] = results.map { r in
                .object([("name", .string("depth5_f\(r.nFilters)")), ("depth", 5), ("n_filters", .number(Double(r.nFilters))),
                         ("batch", 4), ("size", 256), ("train_ms", benchNumber(r.trainSeconds * 1000)),
                         ("infer_ms", benchNumber(r.inferSeconds * 1000)), ("train_gflops", benchNumber(r.trainGflops)),
                         ("peak_rss_mb", benchNumber(r.peakRSSMegabytes))])
            }
            let report: JSONValue = .object([("threads", .number(Double(Parallel.threadCount))),
                                             ("blas_core", .string(BLAS.coreName)), ("configs", .array(configs))])
            print(report.serialized(pretty: false))
        } else {
            print("U-Net depth 5, batch 4, 256×256, \(Parallel.threadCount) threads, BLAS \(BLAS.coreName)")
            print("n_filters   parameters   train step (ms)   inference (ms)   train GFLOP/s   peak RSS (MB)")
            for r in results {
                print(cFormat("%9d   %10d   %15.1f   %14.1f   %13.1f   %13.0f", r.nFilters, r.parameters,
                              r.trainSeconds * 1000, r.inferSeconds * 1000, r.trainGflops, r.peakRSSMegabytes))
            }
        }
    }
}

/// The measurements of one model size.
struct TrainBenchResult {
    var nFilters: Int
    var parameters: Int
    var trainSeconds: Double
    var inferSeconds: Double
    var trainGflops: Double
    var peakRSSMegabytes: Double

    static func measure(nFilters: Int, repeats: Int) throws -> TrainBenchResult {
        var generator = RandomGenerator(seed: 1)
        let config = UNetConfig(depth: 5, nFilters: nFilters)
        let model = try UNet(config, generator: &generator)
        let images = try Tensor.uniform([4, 3, 256, 256], generator: &generator)
        let masks = try Tensor.uniform([4, 1, 256, 256], generator: &generator) > 0.9
        let optimizer = try SGD(model.parameters, learningRate: 0.01, momentum: 0.9)
        func step() throws {
            optimizer.zeroGrad()
            let loss = try segmentationLoss(try model(images), masks)
            try loss.total.backward()
            optimizer.step()
        }
        func infer() throws { _ = try Autograd.withNoGrad { () throws(UnetsegError) in try model(images) } }
        model.train()
        let train = try medianSeconds(repeats: repeats, step)
        model.eval()
        let inference = try medianSeconds(repeats: repeats, infer)
        return TrainBenchResult(nFilters: nFilters, parameters: model.parameterCount, trainSeconds: train,
                                inferSeconds: inference,
                                trainGflops: 3 * (try forwardConvolutionFlops(model, batch: 4, size: 256)) / train / 1e9,
                                peakRSSMegabytes: peakResidentMegabytes())
    }
}

/// Multiply-adds ×2 of the model's convolutions in one forward pass on `batch` images of `size`×`size`
/// (the layers `UNet.convolutions` lists, each counted as the kernels count it).
func forwardConvolutionFlops(_ model: UNet, batch: Int, size: Int) throws -> Double {
    var flops = 0.0
    for c in model.convolutions(batch: batch, height: size, width: size) {
        if let conv = c.layer as? Conv2d {
            flops += try Tensor.conv2dAlgorithms(inputShape: c.inputShape, weightShape: conv.weight.shape,
                                                 stride: conv.stride, padding: conv.padding).flops
        } else if let up = c.layer as? ConvTranspose2d {
            flops += try Tensor.convTranspose2dAlgorithms(inputShape: c.inputShape, weightShape: up.weight.shape,
                                                          stride: up.stride).flops
        }
    }
    return flops
}

/// The process's peak resident set size in MB.
func peakResidentMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}
