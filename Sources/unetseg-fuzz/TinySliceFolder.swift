import UNetData
import UNetTensor
import _UNetSupport

/// Writes small valid slice files in the dataset layout (`<patient>/<patient>_<n>.tif` and `_mask.tif`),
/// for the C API fixture and the seed corpora.
enum TinySliceFolder {
    /// The image and mask rasters of slice `n`: a gradient image and a square lesion in the mask.
    static func rasters(slice n: Int, size: Int) -> (image: Raster, mask: Raster) {
        let pixels = size * size
        let image = (0..<3 * pixels).map { Float(($0 * 7 + n * 13) % 256) }
        let mask = (0..<pixels).map { i -> Float in
            let (y, x) = (i / size, i % size)
            return y >= size / 4 && y < size / 2 && x >= size / 4 && x < size / 2 + n ? 255 : 0
        }
        return (Raster(width: size, height: size, channels: 3, samples: image),
                Raster(width: size, height: size, channels: 1, samples: mask))
    }

    static func write(to root: String, patient: String, slices: Int, size: Int) throws(UnetsegError) {
        let folder = FileSystem.joined(root, patient)
        try FileSystem.makeDirectories(folder)
        for n in 1...slices {
            let (image, mask) = rasters(slice: n, size: size)
            try TIFFFile.write(image, to: FileSystem.joined(folder, "\(patient)_\(n).tif"))
            try TIFFFile.write(mask, to: FileSystem.joined(folder, "\(patient)_\(n)_mask.tif"))
        }
    }
}
