import ArgumentParser
import UNetNN
import UNetTrain
@_spi(Benchmark) import UNetTensor
import _UNetSupport

/// `unetseg bench layers`: every convolution of the U-Net, the algorithm of each of its passes and the
/// speed it reaches there.
struct BenchLayersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "layers",
        abstract: "Time each convolution of the U-Net, pass by pass, with the algorithm that runs it.",
        discussion: """
            Batch 4 of 256×256 slices through the post's U-Net (depth 5; n_filters 6 unless --filters), \
            layer by layer in forward order. For each convolution: its input, and for the forward, \
            input-gradient and weight-gradient passes the algorithm (winograd, im2col-gemm, col2im-gemm, \
            pointwise-gemm), the median time of the timed runs after one warm-up, and the effective GFLOP/s \
            (2 × the pass's multiply-adds, the same count for every algorithm, so Winograd's saving shows \
            as a rate above what BLAS reaches). The first layer's input gradient is never needed in \
            training, but is timed for completeness; the total leaves it out.
            """)

    @Flag(help: "Print one JSON object instead of a table.") var json = false
    @Option(help: "Worker threads (default: one per online CPU).") var threads: Int?
    @Option(help: "Timed runs per measurement (at least 5).") var repeats = 5
    @Option(help: "log2 of the first block's channels.") var filters = 6
    @Option(help: "U-Net depth.") var depth = 5
    @Option(help: "Slices per batch.") var batch = 4
    @Option(help: "Slice side in pixels (a multiple of 2^(depth−1)).") var size = 256

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if repeats < 5 { throw ValidationError("--repeats must be at least 5, got \(repeats)") }
        if batch < 1 { throw ValidationError("--batch must be at least 1, got \(batch)") }
    }

    func run() throws {
        if let threads { Parallel.setThreadCount(threads) }
        var generator = RandomGenerator(seed: 5)
        let model = try UNet(UNetConfig(depth: depth, nFilters: filters), generator: &generator)
        try model.validateInput(try Tensor.zeros([1, 3, size, size]))
        var rows: [LayerTiming] = []
        for (index, convolution) in model.convolutions(batch: batch, height: size, width: size).enumerated() {
            rows.append(try LayerTiming.measure(convolution, isFirst: index == 0, repeats: repeats,
                                                generator: &generator))
        }
        print(json ? LayerTiming.json(rows) : LayerTiming.table(rows, header:
            "U-Net depth \(depth), n_filters \(filters), batch \(batch) of \(size)×\(size), "
            + "\(Parallel.threadCount) thread\(Parallel.threadCount == 1 ? "" : "s"), BLAS \(BLAS.coreName), "
            + "median of \(repeats) runs"))
    }
}

/// The three passes of one convolution layer, timed.
struct LayerTiming {
    /// One pass: its algorithm and median seconds.
    struct Pass {
        var algorithm: ConvolutionAlgorithm
        var seconds: Double
    }

    var name: String
    var inputShape: [Int]
    var outputChannels: Int
    var kernel: String
    var flops: Double
    var forward: Pass, inputGradient: Pass, weightGradient: Pass
    /// Whether the input gradient is part of a training step (not for the first layer).
    var needsInputGradient: Bool

    /// Times the layer's passes on random data of its input shape.
    static func measure(_ c: UNetConvolution, isFirst: Bool, repeats: Int,
                        generator: inout RandomGenerator) throws -> LayerTiming {
        let x = try Tensor.uniform(c.inputShape, low: -1, high: 1, generator: &generator)
        func time(_ body: () throws -> Tensor) throws -> Double { try medianSeconds(repeats: repeats) { _ = try body() } }
        if let conv = c.layer as? Conv2d {
            let w = conv.weight
            let plan = try Tensor.conv2dAlgorithms(inputShape: x.shape, weightShape: w.shape, stride: conv.stride,
                                                   padding: conv.padding)
            let y = try x.conv2d(weight: w, bias: conv.bias, stride: conv.stride, padding: conv.padding)
            let gradOutput = try Tensor.uniform(y.shape, low: -1, high: 1, generator: &generator)
            return LayerTiming(
                name: c.name, inputShape: x.shape, outputChannels: w.shape[0],
                kernel: "\(w.shape[2])x\(w.shape[3]) s\(conv.stride)", flops: plan.flops,
                forward: Pass(algorithm: plan.forward, seconds: try time {
                    try x.conv2d(weight: w, bias: conv.bias, stride: conv.stride, padding: conv.padding) }),
                inputGradient: Pass(algorithm: plan.inputGradient, seconds: try time {
                    try Tensor.conv2dInputGradient(gradOutput: gradOutput, weight: w, inputShape: x.shape,
                                                   stride: conv.stride, padding: conv.padding) }),
                weightGradient: Pass(algorithm: plan.weightGradient, seconds: try time {
                    try Tensor.conv2dWeightGradient(input: x, gradOutput: gradOutput, weightShape: w.shape,
                                                    stride: conv.stride, padding: conv.padding) }),
                needsInputGradient: !isFirst)
        }
        guard let up = c.layer as? ConvTranspose2d else {
            throw UnetsegError.invalidArgument("bench layers: \(c.name) is not a convolution")
        }
        // The transposed convolution's backward passes, as its autograd runs them: the input gradient is
        // the stride-s convolution of the output gradient, the weight gradient conv2d's with roles swapped.
        let w = up.weight
        let plan = try Tensor.convTranspose2dAlgorithms(inputShape: x.shape, weightShape: w.shape, stride: up.stride)
        let y = try x.convTranspose2d(weight: w, bias: up.bias, stride: up.stride)
        let gradOutput = try Tensor.uniform(y.shape, low: -1, high: 1, generator: &generator)
        return LayerTiming(
            name: c.name, inputShape: x.shape, outputChannels: w.shape[1],
            kernel: "\(w.shape[2])x\(w.shape[3]) s\(up.stride)T", flops: plan.flops,
            forward: Pass(algorithm: plan.forward, seconds: try time {
                try x.convTranspose2d(weight: w, bias: up.bias, stride: up.stride) }),
            inputGradient: Pass(algorithm: plan.inputGradient, seconds: try time {
                try gradOutput.conv2d(weight: w, bias: nil, stride: up.stride) }),
            weightGradient: Pass(algorithm: plan.weightGradient, seconds: try time {
                try Tensor.conv2dWeightGradient(input: gradOutput, gradOutput: x, weightShape: w.shape,
                                                stride: up.stride) }),
            needsInputGradient: true)
    }

    /// Effective GFLOP/s of a pass.
    func gflops(_ pass: Pass) -> Double { flops / pass.seconds / 1e9 }

    /// Seconds of the passes a training step runs.
    var trainingSeconds: Double {
        forward.seconds + weightGradient.seconds + (needsInputGradient ? inputGradient.seconds : 0)
    }

    /// The rows as a readable table, with totals.
    static func table(_ rows: [LayerTiming], header: String) -> String {
        func cell(_ pass: Pass, _ row: LayerTiming) -> String {
            padded("\(pass.algorithm.rawValue) \(cFormat("%.1f", pass.seconds * 1000)) ms \(cFormat("%.0f", row.gflops(pass)))", 30)
        }
        var lines = [header, "algorithm, median time and GFLOP/s of each pass", "",
                     padded("layer", 38) + padded("input", 16) + padded("out", 6) + padded("kernel", 8)
                        + padded("forward", 30) + padded("input gradient", 30) + "weight gradient"]
        for r in rows {
            lines.append(padded(r.name, 38) + padded(r.inputShape.map(String.init).joined(separator: "x"), 16)
                         + padded(String(r.outputChannels), 6) + padded(r.kernel, 8) + cell(r.forward, r)
                         + cell(r.inputGradient, r) + cell(r.weightGradient, r).trimmingTrailingSpaces)
        }
        let forward = rows.reduce(0) { $0 + $1.forward.seconds }
        let training = rows.reduce(0) { $0 + $1.trainingSeconds }
        let forwardFlops = rows.reduce(0) { $0 + $1.flops }
        let trainingFlops = rows.reduce(0) { $0 + $1.flops * ($1.needsInputGradient ? 3 : 2) }
        lines += ["",
                  "all convolutions, forward:       \(cFormat("%.1f", forward * 1000)) ms, \(cFormat("%.1f", forwardFlops / forward / 1e9)) GFLOP/s",
                  "all convolutions, training step: \(cFormat("%.1f", training * 1000)) ms, \(cFormat("%.1f", trainingFlops / training / 1e9)) GFLOP/s"
                    + " (forward, weight gradients, input gradients but the first layer's)"]
        return lines.joined(separator: "\n")
    }

    /// The rows as one JSON object.
    static func json(_ rows: [LayerTiming]) -> String {
        func pass(_ p: Pass, _ r: LayerTiming) -> JSONValue {
            .object([("algorithm", .string(p.algorithm.rawValue)), ("ms", benchNumber(p.seconds * 1000)),
                     ("gflops", benchNumber(r.gflops(p)))])
        }
        let layers: [JSONValue] = rows.map { r in
            .object([("name", .string(r.name)), ("input", .array(r.inputShape.map { .number(Double($0)) })),
                     ("out_channels", .number(Double(r.outputChannels))), ("kernel", .string(r.kernel)),
                     ("forward", pass(r.forward, r)), ("input_gradient", pass(r.inputGradient, r)),
                     ("weight_gradient", pass(r.weightGradient, r))])
        }
        let report: JSONValue = .object([("threads", .number(Double(Parallel.threadCount))),
                                         ("blas_core", .string(BLAS.coreName)), ("layers", .array(layers))])
        return report.serialized(pretty: false)
    }
}

private extension String {
    /// The string without spaces at its end.
    var trimmingTrailingSpaces: String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
