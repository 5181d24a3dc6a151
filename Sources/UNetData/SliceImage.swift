import UNetTensor

/// Reading one slice or mask TIFF into the tensors the model takes (row-major CHW float32).
public enum SliceImage {
    /// The image at `path` as `[3, H, W]`, min-max scaled to [0, 1] over all channels (the post's
    /// `min_max_scale`); a grayscale image is repeated to three channels.
    public static func loadImage(_ path: String) throws(UnetsegError) -> Tensor {
        let raster = try TIFFFile.read(path)
        return try imageTensor(raster, source: path)
    }

    /// `raster` as a scaled `[3, H, W]` image tensor (see `loadImage`); `source` names it in errors.
    public static func imageTensor(_ raster: Raster, source: String) throws(UnetsegError) -> Tensor {
        let plane = raster.width * raster.height
        guard raster.channels >= 1, raster.samples.count >= raster.channels * plane, plane > 0 else {
            throw .format("\(source): image has no pixels")
        }
        let image = try Tensor.zeros([3, raster.height, raster.width])
        raster.samples.withUnsafeBufferPointer { src in
            guard let base = src.baseAddress else { return }
            for c in 0..<3 {
                let from = raster.channels >= 3 ? c : 0
                (image.storage.pointer + c * plane).update(from: base + from * plane, count: plane)
            }
        }
        ImageScaling.minMaxScaleInPlace(image)
        return image
    }

    /// The mask at `path` as `[1, H, W]` with 1 where the first channel is non-zero (0/255 and 0/1 masks
    /// alike), 0 elsewhere.
    public static func loadMask(_ path: String) throws(UnetsegError) -> Tensor {
        let raster = try TIFFFile.read(path)
        let plane = raster.width * raster.height
        guard plane > 0, raster.samples.count >= plane else { throw .format("\(path): mask has no pixels") }
        let mask = try Tensor.zeros([1, raster.height, raster.width])
        let m = mask.storage.pointer
        raster.samples.withUnsafeBufferPointer { src in
            for k in 0..<plane { m[k] = src[k] > 0 ? 1 : 0 }
        }
        return mask
    }
}
