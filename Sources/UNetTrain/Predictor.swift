import UNetData
import UNetNN
import UNetTensor
import _UNetSupport

/// Segments slice images that have no masks yet.
public enum Predictor {
    /// The slice images under `input`: the file itself if it is a TIFF, or every non-mask slice TIFF found
    /// recursively in the folder, by patient and slice number.
    public static func images(in input: String) throws(UnetsegError) -> [(path: String, name: SliceFileName?)] {
        if !FileSystem.isDirectory(input) {
            guard FileSystem.exists(input) else { throw .io("\(input): no such file or folder") }
            return [(input, SliceFileName(FileSystem.baseName(input)))]
        }
        let found = try FileSystem.walk(input).compactMap { path -> (String, SliceFileName)? in
            guard let name = SliceFileName(FileSystem.baseName(path)), !name.isMask else { return nil }
            return (path, name)
        }
        guard !found.isEmpty else { throw .invalidArgument("\(input): no slice images (<patient>_<n>.tif) found") }
        return found.sorted { a, b in a.1.patient != b.1.patient ? a.1.patient < b.1.patient : a.1.slice < b.1.slice }
            .map { ($0.0, $0.1) }
    }

    /// Segments every image of `images(in: input)` with `model` (evaluation mode, no graph) and writes
    /// `<outDir>/<patient>/<patient>_<n>_pred.tif` (0/255; `SliceFileName.predictionName`) for Kaggle-named
    /// slices, `<outDir>/<stem>_pred.tif` otherwise. Each patient's slices are binarised together and get
    /// `postProcessing` as one volume before they are written (an image with another name is a volume of
    /// its own; a patient whose slices differ in size is refused when post-processing). Returns the written
    /// paths. `onProgress(done, total)` may return false to stop (the masks of the images done so far are written, but
    /// for a post-processed patient whose volume was not complete). An `outDir` that is, contains or lies inside
    /// `input`, or reaches it through links (its patient folders included), is refused before anything is
    /// written (`ProtectedInput`). Images are scaled as `normalization` says (use the model's training
    /// one), a patient's volume being its slices found under `input` (an image with another name alone).
    @discardableResult
    public static func predict(_ model: UNet, input: String, outDir: String, postProcessing: PostProcessing = .none,
                               normalization: IntensityNormalization = .minmax,
                               onProgress: (Int, Int) -> Bool = { _, _ in true }) throws(UnetsegError) -> [String] {
        let inputs = try images(in: input)
        try ProtectedInput(input).requireApart(from: outDir, subfolders: inputs.compactMap { $0.name?.patient },
                                               role: "output folder")
        try FileSystem.makeDirectories(outDir)
        model.eval()
        var written: [String] = []
        // The current patient's images and their probabilities, written once the volume is complete.
        var pending: [(path: String, name: SliceFileName?, height: Int, width: Int)] = []
        var volume: [Float] = []
        let normalizer = VolumeNormalization(normalization)
        func writePending() throws(UnetsegError) {
            guard let first = pending.first else { return }
            let (h, w) = (first.height, first.width)
            if postProcessing != .none {
                if let other = pending.first(where: { $0.height != h || $0.width != w }) {
                    throw .invalidArgument("\(other.path) is \(other.width)x\(other.height) but \(first.path) of the same patient is \(w)x\(h): cannot post-process their volume")
                }
                try postProcessing.apply(toProbabilities: &volume, depth: pending.count, height: h, width: w)
            }
            var offset = 0
            try volume.withUnsafeBufferPointer { (all) throws(UnetsegError) in
                guard let base = all.baseAddress else { return }
                for item in pending {
                    let p = base + offset
                    offset += item.height * item.width
                    if let name = item.name {
                        written.append(try Evaluator.writePrediction(p, width: item.width, height: item.height, to: outDir,
                                                                     patient: name.patient, number: name.slice))
                    } else {
                        var stem = FileSystem.baseName(item.path)
                        if let dot = stem.lastIndex(of: ".") { stem = String(stem[..<dot]) }
                        let path = FileSystem.joined(outDir, stem + "_pred.tif")
                        try Evaluator.writeMask(p, width: item.width, height: item.height, to: path)
                        written.append(path)
                    }
                }
            }
            pending = []; volume = []
        }
        for (k, item) in inputs.enumerated() {
            if let last = pending.last, last.name == nil || last.name?.patient != item.name?.patient { try writePending() }
            let image = try normalizer.image(at: item.path, patient: item.name?.patient ?? item.path) {
                item.name.map { name in inputs.filter { $0.name?.patient == name.patient }.map(\.path) } ?? [item.path]
            }
            let batch = try image.reshaped([1] + image.shape)
            let output = try Autograd.withNoGrad { () throws(UnetsegError) in try model(batch) }
            let (h, w) = (image.shape[1], image.shape[2])
            pending.append((item.path, item.name, h, w))
            volume.append(contentsOf: UnsafeBufferPointer(start: output.storage.pointer, count: h * w))
            guard onProgress(k + 1, inputs.count) else {
                if postProcessing == .none { try writePending() }   // a partial volume is not post-processed
                throw .cancelled("prediction stopped after \(k + 1) images")
            }
        }
        try writePending()
        return written
    }
}
