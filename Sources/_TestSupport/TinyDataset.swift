import UNetData
import UNetTensor
import _UNetSupport

/// Small datasets in the kaggle_3m layout for tests: each slice is a noisy gradient with a bright square
/// lesion on some slices, so that a tiny U-Net can learn something in a few steps.
public enum TinyDataset {
    /// Writes `patients` folders of `slices` slices (`size`×`size` RGB images, 0/255 masks) under `root`;
    /// slice k of patient p has a lesion when (k + p) is even. Returns the patient ids.
    @discardableResult
    public static func write(to root: String, patients: Int = 2, slices: Int = 3, size: Int = 16,
                             seed: UInt64 = 1) throws -> [String] {
        var generator = RandomGenerator(seed: seed)
        var ids: [String] = []
        for p in 0..<patients {
            let id = "TCGA_TT_\(1000 + p)_20000101"
            ids.append(id)
            let folder = FileSystem.joined(root, id)
            try FileSystem.makeDirectories(folder)
            for k in 1...slices {
                let lesion = (k + p) % 2 == 0
                let (image, mask) = slice(size: size, lesion: lesion, offset: (k + 2 * p) % max(1, size / 4),
                                          generator: &generator)
                try TIFFFile.write(image, to: FileSystem.joined(folder, "\(id)_\(k).tif"))
                try TIFFFile.write(mask, to: FileSystem.joined(folder, "\(id)_\(k)_mask.tif"))
            }
        }
        return ids
    }

    /// One slice: image and mask rasters.
    public static func slice(size: Int, lesion: Bool, offset: Int, generator: inout RandomGenerator) -> (Raster, Raster) {
        var image = [Float](repeating: 0, count: 3 * size * size)
        var mask = [Float](repeating: 0, count: size * size)
        let lo = size / 4 + offset, hi = min(size, lo + size / 3)
        for y in 0..<size {
            for x in 0..<size {
                let inside = lesion && y >= lo && y < hi && x >= lo && x < hi
                if inside { mask[y * size + x] = 255 }
                for c in 0..<3 {
                    let base = Float(40 + 2 * x + y) + generator.uniform(0, 20)
                    image[c * size * size + y * size + x] = min(255, inside ? base + (c == 1 ? 120 : 30) : base)
                }
            }
        }
        return (Raster(width: size, height: size, channels: 3, samples: image),
                Raster(width: size, height: size, channels: 1, samples: mask))
    }
}
