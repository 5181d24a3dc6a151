import ArgumentParser
import UNetData
import UNetTensor
import UNetTrain
import _UNetSupport

/// `unetseg bench loader`: how fast the data pipeline feeds training.
struct BenchLoaderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loader",
        abstract: "Slices per second for TIFF read + min-max + augmentation + batching, on 1 and 2 loader threads.",
        discussion: "Writes a small synthetic dataset (256×256) to a temporary folder unless --data is given.")

    @Flag(help: "Print one JSON object instead of a table.") var json = false
    @Option(help: "A kaggle_3m folder to read instead of synthetic data.") var data: String?
    @Option(help: "Batch size.") var batchSize = 4

    func run() throws {
        var folder = data
        var temporary: String?
        if folder == nil {
            let root = try FileSystem.makeTemporaryDirectory(prefix: "unetseg-bench-")
            temporary = root
            try SyntheticDataset.write(to: root, options: try SyntheticDatasetOptions(patients: 6, minSlices: 40, maxSlices: 40, seed: 3))
            folder = root
        }
        defer { if let temporary { try? FileSystem.removeTree(temporary) } }
        let dataset = try BrainSegDataset(root: folder ?? "", augmentation: AugmentationParameters(),
                                          randomSampling: true, seed: 1)
        var rows: [(workers: Int, rate: Double)] = []
        for workers in [1, 2] {
            let loader = try DataLoader(source: dataset, batchSize: batchSize, workers: workers, seed: 1)
            var times: [Double] = []
            for epoch in 0..<3 {
                let start = monotonicSeconds()
                let iterator = loader.makeIterator(epoch: epoch)
                var slices = 0
                while let batch = try iterator.next() { slices += batch.indices.count }
                times.append(Double(slices) / (monotonicSeconds() - start))
            }
            rows.append((workers, SegmentationMetrics.median(times)))
        }
        if json {
            let entries: [JSONValue] = rows.map {
                .object([("workers", .number(Double($0.workers))), ("slices_per_second", benchNumber($0.rate))])
            }
            let report: JSONValue = .object([("slices", .number(Double(dataset.count))), ("size", .number(Double(dataset.width))),
                                             ("batch", .number(Double(batchSize))), ("augmentation", true),
                                             ("loader", .array(entries))])
            print(report.serialized(pretty: false))
        } else {
            print("loader: \(dataset.count) slices \(dataset.width)×\(dataset.height), batch \(batchSize), augmentation (0.05, 15, 0.5), lesion-weighted sampling")
            for r in rows { print("  \(r.workers) worker\(r.workers == 1 ? "" : "s"): " + cFormat("%7.1f slices/s", r.rate)) }
        }
    }
}
