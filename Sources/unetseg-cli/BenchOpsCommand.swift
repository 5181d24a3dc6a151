import ArgumentParser
import UNetTrain
@_spi(Benchmark) import UNetTensor
#if canImport(Glibc)
import Glibc
#endif
import _UNetSupport

/// `unetseg bench ops`: the speed of the engine's kernels at the U-Net's shapes (batch 4, 256×256 slices):
/// SGEMM, each direction of every convolution, the up-convolution, and elementwise ops.
struct BenchOpsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ops",
        abstract: "Measure SGEMM, convolution and elementwise throughput at the U-Net's shapes.",
        discussion: """
            Each figure is the median of the timed runs after one warm-up run (SGEMM: of the runs before and \
            after all ops). Convolutions count 2·N·O·C·kh·kw·Ho·Wo \
            floating-point operations per direction; elementwise ops count the bytes of their input and output \
            tensors. The table marks whether the conv2d directions at 64→64/256² and 256→256/64² reach 60% of \
            the SGEMM rate measured in the same run.
            """)

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Option(help: "Worker threads (default: one per online CPU).")
    var threads: Int?

    @Option(help: "Timed runs per measurement (at least 5).")
    var repeats = 5

    @Option(help: "Measure only the ops whose \"op direction shape\" line contains this text (SGEMM always runs).")
    var only: String?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if repeats < 5 { throw ValidationError("--repeats must be at least 5, got \(repeats)") }
    }

    func run() throws {
        if let threads { Parallel.setThreadCount(threads) }
        var bench = OpsBenchmark(repeats: repeats, only: only)
        let report = try bench.run()
        print(json ? report.json() : report.table())
    }
}

/// One measured op.
struct OpMeasurement {
    enum Rate {
        case gflops(Double)
        case gigabytesPerSecond(Double)
    }

    var op: String
    var direction: String
    var shape: String
    var rate: Rate
    /// Whether this op is held to the 60%-of-SGEMM bar.
    var hasBar: Bool
}

/// All measurements of one `bench ops` run.
struct OpsReport {
    var threads: Int
    var blasCore: String
    var sgemmGflops: Double
    var repeats: Int
    var ops: [OpMeasurement]

    /// Share of the SGEMM rate a convolution must reach.
    static let barFraction = 0.6

    /// The report as one JSON object.
    func json() -> String {
        let entries: [JSONValue] = ops.map { m in
            var fields: [(key: String, value: JSONValue)] = [("op", .string(m.op)), ("direction", .string(m.direction)),
                                                             ("shape", .string(m.shape))]
            switch m.rate {
            case .gflops(let x): fields.append(("gflops", benchNumber(x)))
            case .gigabytesPerSecond(let x): fields.append(("gbps", benchNumber(x)))
            }
            return .object(fields)
        }
        let report: JSONValue = .object([("threads", .number(Double(threads))), ("blas_core", .string(blasCore)),
                                         ("sgemm_gflops", benchNumber(sgemmGflops)), ("ops", .array(entries))])
        return report.serialized(pretty: false)
    }

    /// The report as a readable table.
    func table() -> String {
        var lines = [
            "unetseg bench ops: \(threads) thread\(threads == 1 ? "" : "s"), OpenBLAS core \(blasCore), median of \(repeats) runs",
            "SGEMM 2048×2048×2048: \(cFormat("%.1f", sgemmGflops)) GFLOP/s",
            "",
            padded("op", 18) + padded("direction", 17) + padded("shape", 20) + padded("rate", 17)
                + padded("of SGEMM", 10) + "60% bar",
        ]
        for m in ops {
            var line = padded(m.op, 18) + padded(m.direction, 17) + padded(m.shape, 20)
            switch m.rate {
            case .gflops(let x):
                let fraction = x / sgemmGflops
                line += padded("\(cFormat("%.1f", x)) GFLOP/s", 17) + padded("\(cFormat("%.0f", 100 * fraction))%", 10)
                if m.hasBar { line += fraction >= Self.barFraction ? "met" : "NOT MET" }
            case .gigabytesPerSecond(let x):
                line += padded("\(cFormat("%.1f", x)) GB/s", 17)
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}

/// Runs the measurements.
struct OpsBenchmark {
    var repeats: Int
    var only: String?
    var generator = RandomGenerator(seed: 2024)

    init(repeats: Int, only: String?) {
        self.repeats = repeats
        self.only = only
    }

    /// Whether the measurement of `op` in `direction` at `shape` was asked for.
    func wanted(_ op: String, _ direction: String, _ shape: String) -> Bool {
        guard let only else { return true }
        return "\(op) \(direction) \(shape)".contains(only)
    }

    /// Measures each wanted direction of `op` at `shape`: `work` units (FLOP or bytes) per run of `body`.
    func measure(_ op: String, at shape: String, hasBar: Bool = false, bytes: Bool = false, work: Double,
                 _ directions: [(String, () throws -> Void)]) throws -> [OpMeasurement] {
        var results: [OpMeasurement] = []
        for (direction, body) in directions where wanted(op, direction, shape) {
            let perSecond = work / (try medianSeconds(body)) / 1e9
            results.append(OpMeasurement(op: op, direction: direction, shape: shape,
                                         rate: bytes ? .gigabytesPerSecond(perSecond) : .gflops(perSecond),
                                         hasBar: hasBar))
        }
        return results
    }

    /// The U-Net's 3×3, padding-1 convolutions at batch 4: (in channels, out channels, side), and whether
    /// the 60% bar applies.
    static let convolutions: [(inChannels: Int, outChannels: Int, side: Int, hasBar: Bool)] = [
        (3, 64, 256, false), (64, 64, 256, true), (128, 128, 128, false),
        (256, 256, 64, true), (512, 512, 32, false), (1024, 1024, 16, false),
    ]
    static let batch = 4

    mutating func run() throws -> OpsReport {
        var ops: [OpMeasurement] = []
        // SGEMM runs before and after the ops, pooled, so that a change of load on a shared machine
        // biases the reference less.
        let sgemmSize = 2048
        var sgemmSeconds = try sgemmRuns(size: sgemmSize)
        for c in Self.convolutions {
            ops += try measureConv2d(inChannels: c.inChannels, outChannels: c.outChannels, side: c.side, hasBar: c.hasBar)
        }
        ops += try measureConvTranspose2d(inChannels: 1024, outChannels: 512, side: 16)
        ops += try measureElementwise(shape: [Self.batch, 64, 256, 256])
        sgemmSeconds += try sgemmRuns(size: sgemmSize)
        let sgemm = 2 * pow(Double(sgemmSize), 3) / SegmentationMetrics.median(sgemmSeconds) / 1e9
        return OpsReport(threads: Parallel.threadCount, blasCore: BLAS.coreName, sgemmGflops: sgemm,
                         repeats: repeats, ops: ops)
    }

    /// Median seconds of `repeats` runs of `body` after one warm-up run.
    func medianSeconds(_ body: () throws -> Void) rethrows -> Double {
        SegmentationMetrics.median(try timedRuns(repeats: repeats, body))
    }

    mutating func random(_ shape: [Int]) throws -> Tensor {
        try Tensor.uniform(shape, low: -1, high: 1, generator: &generator)
    }

    /// Seconds of each timed run of `BLAS.parallelSgemm` on square `n`×`n` matrices.
    mutating func sgemmRuns(size n: Int) throws -> [Double] {
        let a = try random([n, n]), b = try random([n, n]), c = try Tensor.zeros([n, n])
        return timedRuns(repeats: repeats) {
            BLAS.parallelSgemm(transA: false, transB: false, m: n, n: n, k: n, a: a.storage.pointer, lda: n,
                               b: b.storage.pointer, ldb: n, c: c.storage.pointer, ldc: n)
        }
    }

    /// The three directions of a 3×3, padding-1 conv2d at batch 4.
    mutating func measureConv2d(inChannels: Int, outChannels: Int, side: Int, hasBar: Bool) throws -> [OpMeasurement] {
        let shape = "\(Self.batch)x\(inChannels)x\(side)x\(side)->\(outChannels)"
        guard ["forward", "backward_input", "backward_weight"].contains(where: { wanted("conv2d", $0, shape) }) else { return [] }
        let x = try random([Self.batch, inChannels, side, side])
        let w = try random([outChannels, inChannels, 3, 3]), bias = try random([outChannels])
        let gradOutput = try random([Self.batch, outChannels, side, side])
        let flops = 2 * Double(Self.batch * outChannels * inChannels * 9 * side * side)
        return try measure("conv2d", at: shape, hasBar: hasBar, work: flops, [
            ("forward", { _ = try x.conv2d(weight: w, bias: bias, padding: 1) }),
            ("backward_input", {
                _ = try Tensor.conv2dInputGradient(gradOutput: gradOutput, weight: w, inputShape: x.shape, padding: 1)
            }),
            ("backward_weight", {
                _ = try Tensor.conv2dWeightGradient(input: x, gradOutput: gradOutput, weightShape: w.shape, padding: 1)
            }),
        ])
    }

    /// The three directions of the kernel-2, stride-2 up-convolution at batch 4. Its input gradient is the
    /// stride-2 conv2d of the output gradient with the same weight, and its weight gradient is conv2d's
    /// weight gradient with input and output swapped: exactly what its backward runs.
    mutating func measureConvTranspose2d(inChannels: Int, outChannels: Int, side: Int) throws -> [OpMeasurement] {
        let shape = "\(Self.batch)x\(inChannels)x\(side)x\(side)->\(outChannels)"
        guard ["forward", "backward_input", "backward_weight"].contains(where: { wanted("conv_transpose2d", $0, shape) })
        else { return [] }
        let x = try random([Self.batch, inChannels, side, side])
        let w = try random([inChannels, outChannels, 2, 2]), bias = try random([outChannels])
        let gradOutput = try random([Self.batch, outChannels, 2 * side, 2 * side])
        let flops = 2 * Double(Self.batch * inChannels * side * side * outChannels * 4)
        return try measure("conv_transpose2d", at: shape, work: flops, [
            ("forward", { _ = try x.convTranspose2d(weight: w, bias: bias, stride: 2) }),
            ("backward_input", { _ = try gradOutput.conv2d(weight: w, bias: nil, stride: 2) }),
            ("backward_weight", {
                _ = try Tensor.conv2dWeightGradient(input: gradOutput, gradOutput: x, weightShape: w.shape, stride: 2)
            }),
        ])
    }

    /// relu and training-mode dropout forward, in GB/s of input read plus output written.
    mutating func measureElementwise(shape: [Int]) throws -> [OpMeasurement] {
        let name = shape.map(String.init).joined(separator: "x")
        guard wanted("relu", "forward", name) || wanted("dropout", "forward", name) else { return [] }
        let x = try random(shape)
        let bytes = 2 * Double(x.count) * Double(MemoryLayout<Float>.size)
        var dropoutGenerator = RandomGenerator(seed: 7)
        return try measure("relu", at: name, bytes: true, work: bytes, [("forward", { _ = x.relu() })])
            + measure("dropout", at: name, bytes: true, work: bytes, [
                ("forward", { _ = try x.dropout(p: 0.5, training: true, generator: &dropoutGenerator) }),
            ])
    }
}
