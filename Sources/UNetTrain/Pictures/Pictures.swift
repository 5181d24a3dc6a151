import UNetData
import UNetNN
import UNetTensor
import _UNetSupport

/// The figures of the post, drawn as PNG-ready canvases: the image / true mask / predicted mask grid,
/// contours over FLAIR, loss curves, and the augmentation grid.
public enum Pictures {
    /// Channel of the FLAIR sequence in kaggle_3m images (pre-contrast, FLAIR, post-contrast).
    public static let flairChannel = 1
    static let gap = 4

    /// Up to `count` slices with lesions, the largest lesion of as many different patients as possible.
    public static func lesionSlices(_ dataset: BrainSegDataset, count: Int = 8) -> [Int] {
        let withLesion = dataset.slices.indices.filter { dataset.slices[$0].lesionPixels > 0 }
            .sorted { dataset.slices[$0].lesionPixels > dataset.slices[$1].lesionPixels }
        var chosen: [Int] = [], patients = Set<String>()
        for i in withLesion where chosen.count < count && patients.insert(dataset.slices[i].patient).inserted {
            chosen.append(i)
        }
        for i in withLesion where chosen.count < count && !chosen.contains(i) { chosen.append(i) }
        return chosen.sorted()
    }

    /// For each chosen slice: FLAIR, true mask and prediction (probabilities) as `[H, W]` planes.
    static func predictions(_ model: UNet, _ dataset: BrainSegDataset, _ slices: [Int]) throws(UnetsegError)
        -> [(flair: [Float], truth: [Float], predicted: [Float])] {
        model.eval()
        let plane = dataset.width * dataset.height
        var result: [(flair: [Float], truth: [Float], predicted: [Float])] = []
        for i in slices {
            let (image, mask) = try dataset.load(slice: i)
            let output = try Autograd.withNoGrad { () throws(UnetsegError) in
                try model(try image.reshaped([1] + image.shape))
            }
            let flair = Array(image.toArray()[(flairChannel * plane)..<((flairChannel + 1) * plane)])
            result.append((flair, mask.toArray(), output.toArray()))
        }
        return result
    }

    /// The post's evaluation figure: one column per slice, rows FLAIR image, true mask, predicted mask
    /// (prediction > 0.5).
    public static func predictionGrid(_ model: UNet, _ dataset: BrainSegDataset, slices: [Int]) throws(UnetsegError) -> Canvas {
        let (w, h) = (dataset.width, dataset.height)
        let items = try predictions(model, dataset, slices)
        var canvas = Canvas(width: max(1, items.count) * (w + gap) + gap, height: 3 * (h + gap) + gap, background: .black)
        for (k, item) in items.enumerated() {
            let x = gap + k * (w + gap)
            let binary = item.predicted.map { $0 > 0.5 ? Float(1) : 0 }
            for (row, plane) in [item.flair, item.truth, binary].enumerated() {
                plane.withUnsafeBufferPointer {
                    canvas.drawGray($0, planeWidth: w, planeHeight: h, x: x, y: gap + row * (h + gap))
                }
            }
        }
        return canvas
    }

    /// FLAIR slices with the true lesion outline in green and the predicted one in red.
    public static func contourOverlay(_ model: UNet, _ dataset: BrainSegDataset, slices: [Int]) throws(UnetsegError) -> Canvas {
        let (w, h) = (dataset.width, dataset.height)
        let items = try predictions(model, dataset, slices)
        let columns = max(1, min(4, items.count)), rows = max(1, (items.count + columns - 1) / columns)
        var canvas = Canvas(width: columns * (w + gap) + gap, height: rows * (h + gap) + gap, background: .black)
        for (k, item) in items.enumerated() {
            let x = gap + (k % columns) * (w + gap), y = gap + (k / columns) * (h + gap)
            item.flair.withUnsafeBufferPointer { canvas.drawGray($0, planeWidth: w, planeHeight: h, x: x, y: y) }
            item.truth.withUnsafeBufferPointer { canvas.drawContour($0, planeWidth: w, planeHeight: h, x: x, y: y, .green) }
            item.predicted.withUnsafeBufferPointer { canvas.drawContour($0, planeWidth: w, planeHeight: h, x: x, y: y, .red) }
        }
        return canvas
    }

    /// The losses `lossCurves` draws: finite and in `0...1e6` (BCE is at most 100, dice loss at most 1).
    public static let plottableLosses: ClosedRange<Double> = 0...1e6

    /// Training and validation loss per epoch (total loss, solid; dice loss, thin), with axes and a legend.
    /// Throws `.format` naming the epoch, the curve and the value when a loss is not in `plottableLosses`
    /// (NaN, infinite, negative or absurdly large: a damaged log), rather than drawing it.
    public static func lossCurves(_ history: [EpochReport]) throws(UnetsegError) -> Canvas {
        let width = 900, height = 560, left = 90, right = 30, top = 60, bottom = 70
        var canvas = Canvas(width: width, height: height)
        let series: [(String, Canvas.Color, Int, [Double])] = [
            ("TRAIN LOSS", .blue, 3, history.map(\.train.loss)),
            ("VALID LOSS", .orange, 3, history.compactMap { $0.valid?.loss }),
            ("TRAIN DICE", .blue, 1, history.map(\.train.dice)),
            ("VALID DICE", .orange, 1, history.compactMap { $0.valid?.dice }),
        ]
        for (name, _, _, values) in series {
            let epochs = name.hasPrefix("VALID") ? history.filter { $0.valid != nil }.map(\.epoch) : history.map(\.epoch)
            for (epoch, value) in zip(epochs, values) where !plottableLosses.contains(value) {
                throw .format("loss curves: epoch \(epoch) has \(name.lowercased()) \(value), outside \(plottableLosses)")
            }
        }
        let high = max(series.flatMap(\.3).max() ?? 1, 1e-6) * 1.05
        let epochs = max(history.count, 2)
        let plotW = Double(width - left - right), plotH = Double(height - top - bottom)
        func px(_ i: Int) -> Double { Double(left) + plotW * Double(i) / Double(epochs - 1) }
        func py(_ v: Double) -> Double { Double(top) + plotH * (1 - v / high) }
        canvas.line(Double(left), Double(top), Double(left), Double(height - bottom), .black, thickness: 2)
        canvas.line(Double(left), Double(height - bottom), Double(width - right), Double(height - bottom), .black, thickness: 2)
        for t in 0...4 {
            let v = high * Double(t) / 4, y = py(v)
            canvas.line(Double(left - 6), y, Double(left), y, .black)
            canvas.text(cFormat("%.2f", v), x: 20, y: Int(y) - 5)
        }
        for i in 0..<history.count where history.count <= 20 || i % max(1, history.count / 10) == 0 {
            canvas.line(px(i), Double(height - bottom), px(i), Double(height - bottom + 6), .black)
            canvas.text(String(history[i].epoch), x: Int(px(i)) - 4, y: height - bottom + 12)
        }
        canvas.text("EPOCH", x: left + Int(plotW) / 2 - 20, y: height - 28)
        canvas.text("LOSS PER EPOCH", x: left, y: 20, scale: 3)
        for (k, (name, color, thickness, values)) in series.enumerated() where !values.isEmpty {
            for i in 1..<max(1, values.count) {
                canvas.line(px(i - 1), py(values[i - 1]), px(i), py(values[i]), color, thickness: thickness)
            }
            if values.count == 1 {
                canvas.fill(x: Int(px(0)) - 3, y: Int(py(values[0])) - 3, width: 7, height: 7, color)
            }
            let lx = width - right - 190, ly = top + 10 + k * 22
            canvas.fill(x: lx, y: ly + 4, width: 24, height: thickness, color)
            canvas.text(name, x: lx + 32, y: ly)
        }
        return canvas
    }

    /// The post's augmentation figure: `count` random augmentations of one slice with the post's extreme
    /// settings (resize 0.2, flip 0.5, rotate 90), shown as grayscale (`transform_rgb_to_grayscale`).
    public static func augmentationGrid(image: Tensor, mask: Tensor, count: Int = 24, columns: Int = 6,
                                        generator: inout RandomGenerator) throws(UnetsegError) -> Canvas {
        try checkArgument(image.rank == 3 && image.shape[0] == 3, "augmentation grid needs a [3, H, W] image")
        let (h, w) = (image.shape[1], image.shape[2]), plane = h * w
        let rows = (max(1, count) + columns - 1) / columns
        var canvas = Canvas(width: columns * (w + gap) + gap, height: rows * (h + gap) + gap, background: .black)
        for k in 0..<max(1, count) {
            var (img, msk) = try Augmentation.randomResize(image, mask, scaleParameter: 0.2, generator: &generator)
            (img, msk) = try Augmentation.randomFlip(img, msk, probability: 0.5, generator: &generator)
            (img, _) = try Augmentation.randomRotate(img, msk, angleParameter: 90, generator: &generator)
            let p = img.storage.pointer
            let gray = (0..<plane).map { 0.2989 * p[$0] + 0.587 * p[plane + $0] + 0.114 * p[2 * plane + $0] }
            gray.withUnsafeBufferPointer {
                canvas.drawGray($0, planeWidth: w, planeHeight: h, x: gap + (k % columns) * (w + gap),
                                y: gap + (k / columns) * (h + gap))
            }
        }
        return canvas
    }
}

extension Pictures {
    /// Writes `predictions.png` and `contours.png` for up to 8 lesion slices of `dataset` into `folder`, and
    /// `loss_curves.png` when a `log.json` sits beside the model file (none without a `modelPath`).
    public static func writeEvaluationFigures(_ model: UNet, _ dataset: BrainSegDataset, modelPath: String?,
                                              to folder: String) throws(UnetsegError) {
        try FileSystem.makeDirectories(folder)
        let slices = lesionSlices(dataset)
        if !slices.isEmpty {
            try PNGFile.write(try predictionGrid(model, dataset, slices: slices), to: FileSystem.joined(folder, "predictions.png"))
            try PNGFile.write(try contourOverlay(model, dataset, slices: slices), to: FileSystem.joined(folder, "contours.png"))
        }
        guard let modelPath else { return }
        let log = FileSystem.joined(FileSystem.parentDirectory(modelPath), "log.json")
        if FileSystem.exists(log) {
            let history = try TrainingLog.parse(try FileSystem.readText(log), source: log)
            let curves: Canvas
            do throws(UnetsegError) {
                curves = try lossCurves(history)
            } catch {
                throw .format("\(log): \(error.message)")
            }
            try PNGFile.write(curves, to: FileSystem.joined(folder, "loss_curves.png"))
        }
    }
}
