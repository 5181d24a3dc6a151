import UNetTensor
import _UNetSupport

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
        let image = try rawImageTensor(raster, source: source)
        ImageScaling.minMaxScaleInPlace(image)
        return image
    }

    /// `raster` as an unscaled `[3, H, W]` image tensor holding the file's sample values; a grayscale
    /// raster is repeated to three channels. `source` names it in errors.
    public static func rawImageTensor(_ raster: Raster, source: String) throws(UnetsegError) -> Tensor {
        let plane = try checkedPlane(raster, source: source)
        let image = try Tensor.zeros([3, raster.height, raster.width])
        raster.samples.withUnsafeBufferPointer { src in
            guard let base = src.baseAddress else { return }
            for c in 0..<3 {
                (image.storage.pointer + c * plane).update(from: base + sourceChannel(c, of: raster) * plane, count: plane)
            }
        }
        return image
    }

    /// The pixels in one channel of `raster`; `.format` naming `source` for an image without pixels.
    static func checkedPlane(_ raster: Raster, source: String) throws(UnetsegError) -> Int {
        let plane = raster.width * raster.height
        guard raster.channels >= 1, raster.samples.count >= raster.channels * plane, plane > 0 else {
            throw .format("\(source): image has no pixels")
        }
        return plane
    }

    /// The channel of `raster` that image channel `c` (0...2) shows: `c` itself, or 0 for grayscale.
    static func sourceChannel(_ c: Int, of raster: Raster) -> Int { raster.channels >= 3 ? c : 0 }

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

extension SliceImage {
    /// `tensor` (`[C, H, W]`, row-major) resized to `height × width`: bilinear with `align_corners = false`
    /// (edge samples clamped), or nearest neighbour (source ⌊dst · in/out⌋) for masks. Same size: returned as is.
    public static func resized(_ tensor: Tensor, height: Int, width: Int, nearest: Bool) throws(UnetsegError) -> Tensor {
        try checkArgument(tensor.rank == 3, "resize: expected a [C, H, W] tensor, got \(Shape.describe(tensor.shape))")
        try checkArgument(height >= 1 && width >= 1 && height <= 16384 && width <= 16384, "resize: size \(width)×\(height) out of range")
        let (c, h, w) = (tensor.shape[0], tensor.shape[1], tensor.shape[2])
        if h == height && w == width { return tensor }
        let out = try Tensor.zeros([c, height, width])
        let src = tensor.storage.pointer, dst = out.storage.pointer
        func axis(_ input: Int, _ output: Int) -> [(low: Int, high: Int, weight: Float, nearest: Int)] {
            let ratio = Float(input) / Float(output)
            return (0..<output).map { i in
                let source = max(ratio * (Float(i) + 0.5) - 0.5, 0)
                let low = min(Int(source), input - 1)
                return (low, min(low + 1, input - 1), source - Float(low), min(Int(Float(i) * ratio), input - 1))
            }
        }
        let rows = axis(h, height), columns = axis(w, width)
        for k in 0..<c {
            let plane = src + k * h * w, target = dst + k * height * width
            for y in 0..<height {
                let r = rows[y]
                for x in 0..<width {
                    let col = columns[x]
                    if nearest {
                        target[y * width + x] = plane[r.nearest * w + col.nearest]
                    } else {
                        let top = plane[r.low * w + col.low] + col.weight * (plane[r.low * w + col.high] - plane[r.low * w + col.low])
                        let bottom = plane[r.high * w + col.low] + col.weight * (plane[r.high * w + col.high] - plane[r.high * w + col.low])
                        target[y * width + x] = top + r.weight * (bottom - top)
                    }
                }
            }
        }
        return out
    }
}
