import ArgumentParser
import UNetData
import UNetTensor
import UNetTrain
import _UNetSupport

/// `unetseg inspect`: decodes every slice and mask of a folder, as a check before a long run.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Decode every slice and mask under a folder and summarise it; fails on the first bad file.")

    @Argument(help: "Dataset folder (kaggle_3m layout).") var folder: String

    func run() throws {
        let dataset = try BrainSegDataset(root: folder)
        var bar = ProgressBar(title: "decode", total: dataset.count)
        var channels = Set<Int>(), bits = Set<Int>()
        for i in 0..<dataset.count {
            let raster = try TIFFFile.read(dataset.slices[i].imagePath)
            _ = try dataset.load(slice: i)
            channels.insert(raster.channels)
            bits.insert(raster.bitsPerSample)
            bar.update(i + 1)
        }
        let patients = Set(dataset.slices.map(\.patient)).count
        let lesionSlices = dataset.slices.filter { $0.lesionPixels > 0 }.count
        print("\(folder): \(patients) patients, \(dataset.count) slices, \(lesionSlices) with lesion "
              + cFormat("(%.1f%%)", 100 * Double(lesionSlices) / Double(dataset.count)))
        print("images \(dataset.width)×\(dataset.height), channels \(channels.sorted().map(String.init).joined(separator: "/")), "
              + "\(bits.sorted().map(String.init).joined(separator: "/"))-bit; masks \(dataset.width)×\(dataset.height)")
    }
}
