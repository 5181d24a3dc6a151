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
    /// slices, `<outDir>/<stem>_pred.tif` otherwise. Returns the written paths. `onProgress(done, total)` may
    /// return false to stop. An `outDir` that is, contains or lies inside `input`, or reaches it through
    /// links (its patient folders included), is refused before anything is written (`ProtectedInput`).
    @discardableResult
    public static func predict(_ model: UNet, input: String, outDir: String,
                               onProgress: (Int, Int) -> Bool = { _, _ in true }) throws(UnetsegError) -> [String] {
        let inputs = try images(in: input)
        try ProtectedInput(input).requireApart(from: outDir, subfolders: inputs.compactMap { $0.name?.patient },
                                               role: "output folder")
        try FileSystem.makeDirectories(outDir)
        model.eval()
        var written: [String] = []
        for (k, item) in inputs.enumerated() {
            let image = try SliceImage.loadImage(item.path)
            let batch = try image.reshaped([1] + image.shape)
            let output = try Autograd.withNoGrad { () throws(UnetsegError) in try model(batch) }
            let (h, w) = (image.shape[1], image.shape[2])
            if let name = item.name {
                written.append(try Evaluator.writePrediction(output.storage.pointer, width: w, height: h, to: outDir,
                                                             patient: name.patient, number: name.slice))
            } else {
                var stem = FileSystem.baseName(item.path)
                if let dot = stem.lastIndex(of: ".") { stem = String(stem[..<dot]) }
                let path = FileSystem.joined(outDir, stem + "_pred.tif")
                try Evaluator.writeMask(output.storage.pointer, width: w, height: h, to: path)
                written.append(path)
            }
            guard onProgress(k + 1, inputs.count) else { throw .cancelled("prediction stopped after \(k + 1) images") }
        }
        return written
    }
}
