import UNetData
import UNetNN
import UNetTensor
import _UNetSupport

/// The figures of the post and of the evaluation, drawn with Cairo (`Drawing`): the image / true mask /
/// predicted mask grid, outlines over FLAIR, loss curves, the augmentation grid, the per-volume Dice chart
/// and one overlay per patient.
public enum Pictures {
    /// Channel of the FLAIR sequence in kaggle_3m images (pre-contrast, FLAIR, post-contrast).
    public static let flairChannel = 1
    static let gap = 6.0
    /// Height of the caption band above each slice panel.
    static let caption = 18.0

    /// How many screen pixels a slice pixel takes so that small slices stay readable (at least 1; a
    /// 256-pixel slice is drawn as is, a 64-pixel one four times larger).
    static func zoom(_ width: Int, _ height: Int) -> Double { Double(max(1, 256 / max(1, max(width, height)))) }

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

    /// For each chosen slice: FLAIR (stretched to [0, 1] for display: a per-volume z-scored image is not
    /// in that range), true mask and prediction (probabilities) as `[H, W]` planes.
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
            var flair = Array(image.toArray()[(flairChannel * plane)..<((flairChannel + 1) * plane)])
            flair.withUnsafeMutableBufferPointer { ImageScaling.minMaxScale($0) }
            result.append((flair, mask.toArray(), output.toArray()))
        }
        return result
    }

    /// The label of slice `i` of `dataset` ("patient, slice n").
    static func label(_ dataset: BrainSegDataset, _ i: Int) -> String {
        "\(dataset.slices[i].patient), slice \(dataset.slices[i].number)"
    }

    /// The post's evaluation figure: one column per slice, rows FLAIR image, true mask, predicted mask
    /// (prediction > 0.5), each row named on the left and each column by its patient and slice.
    public static func predictionGrid(_ model: UNet, _ dataset: BrainSegDataset, slices: [Int]) throws(UnetsegError) -> Drawing {
        let zoom = zoom(dataset.width, dataset.height)
        let (w, h) = (Double(dataset.width) * zoom, Double(dataset.height) * zoom), left = 90.0
        let items = try predictions(model, dataset, slices)
        let drawing = try Drawing(width: Int(left + Double(max(1, items.count)) * (w + gap) + gap),
                                  height: Int(3 * (h + gap) + gap + caption), background: .black)
        for (row, name) in ["FLAIR", "truth", "prediction"].enumerated() {
            drawing.text(name, x: left - 10, y: caption + gap + Double(row) * (h + gap) + h / 2, size: 14, .white,
                         alignment: .right)
        }
        for (k, item) in items.enumerated() {
            let x = left + Double(k) * (w + gap)
            drawing.text(label(dataset, slices[k]), x: x + w / 2, y: caption - 4, size: 11, .white, alignment: .center)
            let binary = item.predicted.map { $0 > 0.5 ? Float(1) : 0 }
            for (row, plane) in [item.flair, item.truth, binary].enumerated() {
                try plane.withUnsafeBufferPointer { (p) throws(UnetsegError) in
                    try drawing.gray(p, planeWidth: dataset.width, planeHeight: dataset.height, x: x,
                                     y: caption + gap + Double(row) * (h + gap), scale: zoom)
                }
            }
        }
        return drawing
    }

    /// FLAIR slices with the true lesion outline in green and the predicted one (probability > 0.5) in red,
    /// up to four to a row, each captioned with its patient and slice, under `title` when given.
    static func outlines(_ items: [(flair: [Float], truth: [Float], predicted: [Float])], labels: [String],
                         width planeWidth: Int, height planeHeight: Int, title: String? = nil) throws(UnetsegError) -> Drawing {
        let zoom = zoom(planeWidth, planeHeight)
        let (w, h) = (Double(planeWidth) * zoom, Double(planeHeight) * zoom)
        let columns = max(1, min(4, items.count)), rows = max(1, (items.count + columns - 1) / columns)
        let top = title == nil ? 0.0 : 52.0, cell = h + caption + gap
        let drawing = try Drawing(width: Int(Double(columns) * (w + gap) + gap), height: Int(top + Double(rows) * cell + gap),
                                  background: .black)
        if let title {
            drawing.text(title, x: gap, y: 22, size: 15, .white, bold: true)
            drawing.text("truth", x: gap, y: 42, size: 12, .green, bold: true)
            drawing.text("prediction", x: gap + 46, y: 42, size: 12, .red, bold: true)
        }
        for (k, item) in items.enumerated() {
            let x = gap + Double(k % columns) * (w + gap), y = top + Double(k / columns) * cell + caption
            drawing.text(labels[k], x: x, y: y - 5, size: 11, .white)
            try item.flair.withUnsafeBufferPointer { (p) throws(UnetsegError) in
                try drawing.gray(p, planeWidth: planeWidth, planeHeight: planeHeight, x: x, y: y, scale: zoom)
            }
            item.truth.withUnsafeBufferPointer {
                drawing.outline($0, planeWidth: planeWidth, planeHeight: planeHeight, x: x, y: y, scale: zoom, .green)
            }
            item.predicted.withUnsafeBufferPointer {
                drawing.outline($0, planeWidth: planeWidth, planeHeight: planeHeight, x: x, y: y, scale: zoom, .red)
            }
        }
        return drawing
    }

    /// FLAIR slices with the true lesion outline in green and the predicted one in red.
    public static func contourOverlay(_ model: UNet, _ dataset: BrainSegDataset, slices: [Int]) throws(UnetsegError) -> Drawing {
        try outlines(try predictions(model, dataset, slices), labels: slices.map { label(dataset, $0) },
                     width: dataset.width, height: dataset.height)
    }

    /// Up to `count` slices of `patient` to show: those with the largest true lesions, then evenly spaced
    /// ones (for a patient without lesion), in slice order.
    public static func overlaySlices(_ dataset: BrainSegDataset, patient: String, count: Int = 4) -> [Int] {
        let own = dataset.slices.indices.filter { dataset.slices[$0].patient == patient }
        var chosen = Array(own.filter { dataset.slices[$0].lesionPixels > 0 }
            .sorted { dataset.slices[$0].lesionPixels > dataset.slices[$1].lesionPixels }.prefix(count))
        let spare = own.filter { !chosen.contains($0) }
        let wanted = min(count - chosen.count, spare.count)
        for k in 0..<max(0, wanted) { chosen.append(spare[(2 * k + 1) * spare.count / (2 * wanted)]) }
        return chosen.sorted()
    }

    /// One patient's overlay: a few of its slices (`overlaySlices`) with FLAIR in gray, the true outline
    /// green and the predicted one red, under the volume's Dice, Hausdorff-95 distance and volumes.
    public static func patientOverlay(_ model: UNet, _ dataset: BrainSegDataset, scores: VolumeScores) throws(UnetsegError) -> Drawing {
        let slices = overlaySlices(dataset, patient: scores.patient)
        let title = scores.patient + cFormat(": Dice %.3f, HD95 %.1f voxels, %d true and %d predicted voxels",
                                             scores.dice, scores.hausdorff95, scores.overlap.truth, scores.overlap.predicted)
        return try outlines(try predictions(model, dataset, slices), labels: slices.map { "slice \(dataset.slices[$0].number)" },
                            width: dataset.width, height: dataset.height, title: title)
    }

    /// The Dice of every volume as horizontal bars sorted from best (top) to worst, patient ids on the left,
    /// with the mean (red) and median (green) as vertical lines, as in the repository of Buda et al. 2019.
    public static func volumeDiceChart(_ volumes: [VolumeScores]) throws(UnetsegError) -> Drawing {
        let sorted = volumes.sorted { $0.dice > $1.dice }
        let row = max(2.0, min(20.0, 12000.0 / Double(max(1, sorted.count))))
        let labels = row >= 10 ? sorted.map(\.patient) : []
        let ruler = try Drawing(width: 1, height: 1)
        let longest = labels.map { ruler.textWidth($0, size: min(12, row - 2)) }.max() ?? 0
        let left = max(60, min(600, longest + 20)), right = 60.0, top = 64.0, bottom = 60.0, plotW = 560.0
        let plotH = row * Double(max(1, sorted.count))
        let drawing = try Drawing(width: Int(left + plotW + right), height: Int(top + plotH + bottom))
        func px(_ v: Double) -> Double { left + plotW * max(0, min(1, v)) }
        drawing.text("Dice per volume", x: left, y: 26, size: 18, bold: true)
        for t in 0...10 {
            let x = px(Double(t) / 10)
            drawing.line(x, top, x, top + plotH, .lightGray)
            drawing.text(cFormat("%.1f", Double(t) / 10), x: x, y: top + plotH + 18, size: 12, alignment: .center)
        }
        drawing.text("Dice coefficient", x: left + plotW / 2, y: top + plotH + 44, size: 14, alignment: .center)
        for (k, volume) in sorted.enumerated() {
            let y = top + Double(k) * row
            drawing.fill(x: left, y: y + row * 0.1, width: px(volume.dice) - left, height: row * 0.8, .skyBlue)
            if row >= 10 {
                drawing.text(volume.patient, x: left - 8, y: y + row * 0.5 + 4, size: min(12, row - 2), alignment: .right)
                drawing.text(cFormat("%.2f", volume.dice), x: px(volume.dice) + 4, y: y + row * 0.5 + 4,
                             size: min(11, row - 3), .gray)
            }
        }
        drawing.line(left, top, left, top + plotH, .black, thickness: 1.5)
        let dice = sorted.map(\.dice)
        let mean = SegmentationMetrics.mean(dice), median = SegmentationMetrics.median(dice)
        for (name, value, color, x) in [("mean", mean, Drawing.Color.red, left + 180), ("median", median, .green, left + 360)]
        where value.isFinite {
            drawing.line(px(value), top - 6, px(value), top + plotH, color, thickness: 2)
            drawing.line(x, 46, x + 24, 46, color, thickness: 2)
            drawing.text(name + cFormat(" %.3f", value), x: x + 30, y: 50, size: 13)
        }
        return drawing
    }

    /// The losses `lossCurves` draws: finite and in `0...1e6` (BCE is at most 100, dice loss at most 1).
    public static let plottableLosses: ClosedRange<Double> = 0...1e6

    /// Training and validation loss per epoch (total loss, solid; dice loss, dashed), with axes, a grid and a
    /// legend under the title. Throws `.format` naming the epoch, the curve and the value when a loss is not in
    /// `plottableLosses` (NaN, infinite, negative or absurdly large: a damaged log), rather than drawing it.
    public static func lossCurves(_ history: [EpochReport]) throws(UnetsegError) -> Drawing {
        let width = 900.0, height = 560.0, left = 80.0, right = 30.0, top = 80.0, bottom = 70.0
        let series: [(String, Drawing.Color, Bool, [Double])] = [
            ("train loss", .blue, false, history.map(\.train.loss)),
            ("valid loss", .orange, false, history.compactMap { $0.valid?.loss }),
            ("train dice loss", .blue, true, history.map(\.train.dice)),
            ("valid dice loss", .orange, true, history.compactMap { $0.valid?.dice }),
        ]
        for (name, (_, _, _, values)) in zip(["train loss", "valid loss", "train dice", "valid dice"], series) {
            let epochs = name.hasPrefix("valid") ? history.filter { $0.valid != nil }.map(\.epoch) : history.map(\.epoch)
            for (epoch, value) in zip(epochs, values) where !plottableLosses.contains(value) {
                throw .format("loss curves: epoch \(epoch) has \(name) \(value), outside \(plottableLosses)")
            }
        }
        let drawing = try Drawing(width: Int(width), height: Int(height))
        let high = max(series.flatMap(\.3).max() ?? 1, 1e-6) * 1.05
        let epochs = max(history.count, 2)
        let plotW = width - left - right, plotH = height - top - bottom
        func px(_ i: Int) -> Double { left + plotW * Double(i) / Double(epochs - 1) }
        func py(_ v: Double) -> Double { top + plotH * (1 - v / high) }
        for t in 0...4 {
            let v = high * Double(t) / 4, y = py(v)
            drawing.line(left, y, width - right, y, .lightGray)
            drawing.text(cFormat("%.2f", v), x: left - 10, y: y + 4, size: 12, alignment: .right)
        }
        for i in 0..<history.count where history.count <= 20 || i % max(1, history.count / 10) == 0 {
            drawing.line(px(i), height - bottom, px(i), height - bottom + 6, .black)
            drawing.text(String(history[i].epoch), x: px(i), y: height - bottom + 22, size: 12, alignment: .center)
        }
        drawing.line(left, top, left, height - bottom, .black, thickness: 1.5)
        drawing.line(left, height - bottom, width - right, height - bottom, .black, thickness: 1.5)
        drawing.text("epoch", x: left + plotW / 2, y: height - 22, size: 14, alignment: .center)
        drawing.text("Loss per epoch", x: left, y: 30, size: 20, bold: true)
        for (k, (name, color, dashed, values)) in series.enumerated() where !values.isEmpty {
            for i in 1..<max(1, values.count) {
                drawing.line(px(i - 1), py(values[i - 1]), px(i), py(values[i]), color, thickness: dashed ? 1.5 : 2.5,
                             dash: dashed ? 6 : nil)
            }
            if values.count == 1 { drawing.fill(x: px(0) - 3, y: py(values[0]) - 3, width: 7, height: 7, color) }
            let lx = left + Double(k) * 160, ly = 56.0   // the legend: one row under the title
            drawing.line(lx, ly, lx + 28, ly, color, thickness: dashed ? 1.5 : 2.5, dash: dashed ? 6 : nil)
            drawing.text(name, x: lx + 36, y: ly + 5, size: 13)
        }
        return drawing
    }

    /// The post's augmentation figure: `count` random augmentations of one slice with the post's extreme
    /// settings (resize 0.2, flip 0.5, rotate 90), shown as grayscale (`transform_rgb_to_grayscale`).
    public static func augmentationGrid(image: Tensor, mask: Tensor, count: Int = 24, columns: Int = 6,
                                        generator: inout RandomGenerator) throws(UnetsegError) -> Drawing {
        try checkArgument(image.rank == 3 && image.shape[0] == 3, "augmentation grid needs a [3, H, W] image")
        try checkArgument((1...1024).contains(count) && (1...64).contains(columns),
                          "augmentation grid needs 1...1024 pictures in 1...64 columns, not \(count) in \(columns)")
        let (h, w) = (image.shape[1], image.shape[2]), plane = h * w, zoom = zoom(w, h)
        let rows = (count + columns - 1) / columns, top = 34.0
        let drawing = try Drawing(width: Int(Double(columns) * (Double(w) * zoom + gap) + gap),
                                  height: Int(top + Double(rows) * (Double(h) * zoom + gap) + gap), background: .black)
        drawing.text("\(count) random augmentations: resize 0.2, flip 0.5, rotate 90", x: gap, y: 22, size: 14, .white)
        for k in 0..<count {
            var (img, msk) = try Augmentation.randomResize(image, mask, scaleParameter: 0.2, generator: &generator)
            (img, msk) = try Augmentation.randomFlip(img, msk, probability: 0.5, generator: &generator)
            (img, _) = try Augmentation.randomRotate(img, msk, angleParameter: 90, generator: &generator)
            let p = img.storage.pointer
            let gray = (0..<plane).map { 0.2989 * p[$0] + 0.587 * p[plane + $0] + 0.114 * p[2 * plane + $0] }
            try gray.withUnsafeBufferPointer { (g) throws(UnetsegError) in
                try drawing.gray(g, planeWidth: w, planeHeight: h, x: gap + Double(k % columns) * (Double(w) * zoom + gap),
                                 y: top + Double(k / columns) * (Double(h) * zoom + gap), scale: zoom)
            }
        }
        return drawing
    }
}

extension Pictures {
    /// Draws with `draw` and writes the PNG to `path`; a Cairo failure while drawing (`.internal`) is given
    /// `path`'s name (other errors already name their file).
    public static func write(to path: String, _ draw: () throws(UnetsegError) -> Drawing) throws(UnetsegError) {
        let drawing: Drawing
        do throws(UnetsegError) {
            drawing = try draw()
        } catch .internal(let message) {
            throw .internal("cannot draw \(path): \(message)")
        }
        try drawing.write(to: path)
    }

    /// Writes `predictions.png` and `contours.png` for up to 8 lesion slices of `dataset` into `folder`; with
    /// `result` (the evaluation of `model` on `dataset`), `volume_dice.png` and `overlays/<patient>.png` for
    /// every patient; and `loss_curves.png` when a `log.json` sits beside the model file (none without a
    /// `modelPath`).
    public static func writeEvaluationFigures(_ model: UNet, _ dataset: BrainSegDataset, result: EvaluationResult? = nil,
                                              modelPath: String?, to folder: String) throws(UnetsegError) {
        try FileSystem.makeDirectories(folder)
        let slices = lesionSlices(dataset)
        if !slices.isEmpty {
            try write(to: FileSystem.joined(folder, "predictions.png")) { () throws(UnetsegError) in
                try predictionGrid(model, dataset, slices: slices)
            }
            try write(to: FileSystem.joined(folder, "contours.png")) { () throws(UnetsegError) in
                try contourOverlay(model, dataset, slices: slices)
            }
        }
        if let result, !result.volumes.isEmpty {
            try write(to: FileSystem.joined(folder, "volume_dice.png")) { () throws(UnetsegError) in
                try volumeDiceChart(result.volumes)
            }
            let overlays = FileSystem.joined(folder, "overlays")
            try FileSystem.makeDirectories(overlays)
            for volume in result.volumes {
                try write(to: FileSystem.joined(overlays, volume.patient + ".png")) { () throws(UnetsegError) in
                    try patientOverlay(model, dataset, scores: volume)
                }
            }
        }
        guard let modelPath else { return }
        let log = FileSystem.joined(FileSystem.parentDirectory(modelPath), "log.json")
        if FileSystem.exists(log) {
            let history = try TrainingLog.parse(try FileSystem.readText(log), source: log)
            let curves: Drawing
            do throws(UnetsegError) {
                curves = try lossCurves(history)
            } catch {
                throw .format("\(log): \(error.message)")
            }
            try curves.write(to: FileSystem.joined(folder, "loss_curves.png"))
        }
    }
}
