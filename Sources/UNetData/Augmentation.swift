#if canImport(Glibc)
import Glibc
#endif
import UNetTensor
import _UNetSupport

/// The post's training augmentations on one image and its mask: resize then centre-crop or zero-pad, rotate,
/// flip horizontally. Images are `[C, H, W]` and masks `[M, H, W]` (M = 1 in the dataset), row-major CHW
/// tensors of the same height and width. Both get the same geometric transform: the image sampled
/// bilinearly, the mask with nearest neighbours (so a {0, 1} mask stays {0, 1}); places with no source
/// become 0. Results are new tensors without a graph; inputs are not changed. Each call runs on the calling
/// thread (the data loader's workers provide the parallelism).
public enum Augmentation {
    // MARK: - Fixed transforms

    /// Resizes image and mask by `scale` (in (0, 100]) to `resizedSize(_:scale:)` per side, then crops the
    /// centre (top = left = ⌈diff/2⌉) or zero-pads (⌈diff/2⌉ before, ⌊diff/2⌋ after) back to H × W.
    /// Like torch's `interpolate`: bilinear with `align_corners = false` (edge samples clamped) for the image,
    /// `nearest` (source ⌊dst · in/out⌋) for the mask. `scale` 1 is the identity.
    public static func resize(_ image: Tensor, _ mask: Tensor, scale: Float) throws(UnetsegError) -> (image: Tensor, mask: Tensor) {
        let size = try checkPair(image, mask, "resize")
        try checkArgument(scale.isFinite && scale > 0 && scale <= 100, "resize: scale \(scale) is not in (0, 100]")
        let outImage = try Tensor.zeros(image.shape), outMask = try Tensor.zeros(mask.shape)
        let rows = ResizeAxis(size: size.height, resized: resizedSize(size.height, scale: scale))
        let columns = ResizeAxis(size: size.width, resized: resizedSize(size.width, scale: scale))
        resample(image.storage.pointer, into: outImage.storage.pointer, channels: size.channels,
                 rows: rows, columns: columns, bilinear: true)
        resample(mask.storage.pointer, into: outMask.storage.pointer, channels: size.maskChannels,
                 rows: rows, columns: columns, bilinear: false)
        return (outImage, outMask)
    }

    /// Rotates image and mask by `degrees` about the image centre, counter-clockwise for positive angles
    /// (torchvision's `rotate`, `expand = false`): output pixel (x, y) samples the source at the point
    /// rotated back, with pixel centres at integer coordinates and the centre at ((W−1)/2, (H−1)/2).
    /// Sources outside the image count as 0 (`grid_sample` with zero padding); the mask rounds to the
    /// nearest pixel. `degrees` 0 is the identity, and multiples of 90° map pixels exactly.
    public static func rotate(_ image: Tensor, _ mask: Tensor, degrees: Float) throws(UnetsegError) -> (image: Tensor, mask: Tensor) {
        let size = try checkPair(image, mask, "rotate")
        try checkArgument(degrees.isFinite, "rotate: angle \(degrees) is not finite")
        let outImage = try Tensor.zeros(image.shape), outMask = try Tensor.zeros(mask.shape)
        let rotation = Rotation(degrees: degrees, height: size.height, width: size.width)
        rotateBilinear(image.storage.pointer, into: outImage.storage.pointer, channels: size.channels,
                       size: size, rotation: rotation)
        rotateNearest(mask.storage.pointer, into: outMask.storage.pointer, channels: size.maskChannels,
                      size: size, rotation: rotation)
        return (outImage, outMask)
    }

    /// Mirrors image and mask left to right (torchvision's `hflip`).
    public static func hflip(_ image: Tensor, _ mask: Tensor) throws(UnetsegError) -> (image: Tensor, mask: Tensor) {
        _ = try checkPair(image, mask, "hflip")
        let outImage = image.clone(), outMask = mask.clone()
        flipInPlace(outImage)
        flipInPlace(outMask)
        return (outImage, outMask)
    }

    /// The side length after resizing `size` by `scale`: ⌊scale · size⌋ (R's `as.integer`, torchvision's
    /// int size), tolerating the float32 rounding of `scale` (0.7 · 10 gives 7), and at least 1.
    public static func resizedSize(_ size: Int, scale: Float) -> Int {
        let exact = Double(scale) * Double(size) * (1 + 1e-6)
        guard exact.isFinite, exact < Double(Int32.max) else { return Int(Int32.max) }
        return max(1, Int(exact.rounded(.down)))
    }

    // MARK: - Random transforms (the post's helpers)

    /// `resize` by a factor drawn from U(1 − s, 1 + s), s = `scaleParameter` in [0, 1). Draws one value.
    public static func randomResize(_ image: Tensor, _ mask: Tensor, scaleParameter s: Float,
                                    generator: inout RandomGenerator) throws(UnetsegError) -> (image: Tensor, mask: Tensor) {
        try checkArgument(s.isFinite && s >= 0 && s < 1, "random resize: scale parameter \(s) is not in [0, 1)")
        return try resize(image, mask, scale: generator.uniform(1 - s, 1 + s))
    }

    /// `rotate` by an angle drawn from U(−a, a) degrees, a = `angleParameter` ≥ 0. Draws one value.
    /// (The post draws from U(1 − a, 1 + a), a slip corrected here.)
    public static func randomRotate(_ image: Tensor, _ mask: Tensor, angleParameter a: Float,
                                    generator: inout RandomGenerator) throws(UnetsegError) -> (image: Tensor, mask: Tensor) {
        try checkArgument(a.isFinite && a >= 0, "random rotate: angle parameter \(a) is not a finite value ≥ 0")
        return try rotate(image, mask, degrees: generator.uniform(-a, a))
    }

    /// `hflip` with probability `p` in [0, 1], else copies. Draws one value.
    public static func randomFlip(_ image: Tensor, _ mask: Tensor, probability p: Float,
                                  generator: inout RandomGenerator) throws(UnetsegError) -> (image: Tensor, mask: Tensor) {
        try checkArgument(p >= 0 && p <= 1, "random flip: probability \(p) is not in [0, 1]")
        if generator.uniform() < p { return try hflip(image, mask) }
        _ = try checkPair(image, mask, "random flip")
        return (image.clone(), mask.clone())
    }

    /// Mirrors every row of a `[…, H, W]` tensor in place.
    static func flipInPlace(_ t: Tensor) {
        guard let width = t.shape.last, width > 1 else { return }
        let p = t.storage.pointer
        for row in 0..<(t.count / width) {
            var lo = row * width, hi = lo + width - 1
            while lo < hi {
                (p[lo], p[hi]) = (p[hi], p[lo])
                lo += 1
                hi -= 1
            }
        }
    }

    // MARK: - Checks

    /// Sizes of a valid image/mask pair.
    struct PairSize {
        var channels: Int
        var maskChannels: Int
        var height: Int
        var width: Int
    }

    /// Checks that `image` is `[C, H, W]` and `mask` `[M, H, W]` with C, M, H, W ≥ 1.
    static func checkPair(_ image: Tensor, _ mask: Tensor, _ op: String) throws(UnetsegError) -> PairSize {
        try checkArgument(image.rank == 3 && image.shape.allSatisfy { $0 > 0 },
                    "\(op): image shape \(Shape.describe(image.shape)) is not [C, H, W]")
        try checkArgument(mask.rank == 3 && mask.shape[0] > 0 && mask.shape[1] == image.shape[1] && mask.shape[2] == image.shape[2],
                    "\(op): mask shape \(Shape.describe(mask.shape)) does not match image \(Shape.describe(image.shape))")
        return PairSize(channels: image.shape[0], maskChannels: mask.shape[0], height: image.shape[1], width: image.shape[2])
    }

    // MARK: - Resize kernels

    /// Where each output position along one axis samples the source, after resizing `size` to `resized`
    /// and cropping or padding back to `size`.
    struct ResizeAxis {
        /// First bilinear source index per output position (-1: padding, the output is 0).
        var low: [Int]
        /// Second bilinear source index (clamped to the edge).
        var high: [Int]
        /// Weight of `high`; `low` gets 1 − weight.
        var weight: [Float]
        /// Nearest source index per output position (-1: padding).
        var nearest: [Int]

        init(size: Int, resized: Int) {
            low = .init(repeating: -1, count: size)
            high = .init(repeating: -1, count: size)
            weight = .init(repeating: 0, count: size)
            nearest = .init(repeating: -1, count: size)
            let diff = resized - size
            // Crop: output i is resized i + ⌈diff/2⌉. Pad: resized j sits at output j + ⌈−diff/2⌉.
            let offset = diff > 0 ? (diff + 1) / 2 : -((-diff + 1) / 2)
            let ratio = Float(size) / Float(resized)
            for i in 0..<size {
                let r = i + offset
                guard r >= 0 && r < resized else { continue }
                let source = max(ratio * (Float(r) + 0.5) - 0.5, 0)
                let l = min(Int(source), size - 1)
                low[i] = l
                high[i] = min(l + 1, size - 1)
                weight[i] = source - Float(l)
                nearest[i] = resized == size ? r : min(Int((Float(r) * ratio).rounded(.down)), size - 1)
            }
        }
    }

    /// Resamples `channels` planes of rows × columns through the two axis maps.
    static func resample(_ source: UnsafeMutablePointer<Float>, into output: UnsafeMutablePointer<Float>,
                         channels: Int, rows: ResizeAxis, columns: ResizeAxis, bilinear: Bool) {
        let height = rows.low.count, width = columns.low.count, plane = height * width
        columns.low.withUnsafeBufferPointer { x0 in
        columns.high.withUnsafeBufferPointer { x1 in
        columns.weight.withUnsafeBufferPointer { wx in
        columns.nearest.withUnsafeBufferPointer { xn in
            for y in 0..<height {
                if bilinear {
                    let y0 = rows.low[y], y1 = rows.high[y], wy = rows.weight[y]
                    guard y0 >= 0 else { continue }
                    for c in 0..<channels {
                        let top = source + c * plane + y0 * width, bottom = source + c * plane + y1 * width
                        let out = output + c * plane + y * width
                        for x in 0..<width {
                            let a = x0[x]
                            guard a >= 0 else { continue }
                            let b = x1[x], w = wx[x]
                            let upper = top[a] + w * (top[b] - top[a])
                            let lower = bottom[a] + w * (bottom[b] - bottom[a])
                            out[x] = upper + wy * (lower - upper)
                        }
                    }
                } else {
                    let yn = rows.nearest[y]
                    guard yn >= 0 else { continue }
                    for c in 0..<channels {
                        let row = source + c * plane + yn * width, out = output + c * plane + y * width
                        for x in 0..<width where xn[x] >= 0 { out[x] = row[xn[x]] }
                    }
                }
            }
        }}}}
    }

    // MARK: - Rotation kernels

    /// The inverse map of a rotation: output (x, y) samples the source at
    /// (cx + dx·cos − dy·sin, cy + dx·sin + dy·cos) with (dx, dy) = (x − cx, y − cy).
    struct Rotation {
        var cos: Float
        var sin: Float
        var centerX: Float
        var centerY: Float

        init(degrees: Float, height: Int, width: Int) {
            let radians = Double(degrees).truncatingRemainder(dividingBy: 360) * Double.pi / 180
            // Snap values that are 0 or ±1 up to rounding, so that multiples of 90° are exact.
            func snapped(_ v: Double) -> Float {
                let r = v.rounded()
                return abs(v - r) < 1e-12 ? Float(r) : Float(v)
            }
            cos = snapped(Glibc.cos(radians))
            sin = snapped(Glibc.sin(radians))
            centerX = Float(width - 1) / 2
            centerY = Float(height - 1) / 2
        }

        /// The source point of column 0 of output row `y`; column x adds x·(cos, sin) to it.
        func sourceOfRow(_ y: Int) -> (x: Float, y: Float) {
            let dy = Float(y) - centerY
            return (centerX - centerX * cos - dy * sin, centerY - centerX * sin + dy * cos)
        }
    }

    /// Bilinear rotation with zero outside the source.
    static func rotateBilinear(_ source: UnsafeMutablePointer<Float>, into output: UnsafeMutablePointer<Float>,
                               channels: Int, size: PairSize, rotation r: Rotation) {
        let height = size.height, width = size.width, plane = height * width
        let fw = Float(width), fh = Float(height)
        for y in 0..<height {
            let (rowX, rowY) = r.sourceOfRow(y)
            for x in 0..<width {
                let sx = rowX + Float(x) * r.cos, sy = rowY + Float(x) * r.sin
                guard sx > -1, sy > -1, sx < fw, sy < fh else { continue }
                // Floor by truncation of a positive number (avoids a libm call).
                let x0 = Int(sx + 1) &- 1, y0 = Int(sy + 1) &- 1
                let ax = sx - Float(x0), ay = sy - Float(y0)
                let o = y &* width &+ x
                if x0 >= 0 && y0 >= 0 && x0 &+ 1 < width && y0 &+ 1 < height {
                    let w00 = (1 - ax) * (1 - ay), w01 = ax * (1 - ay), w10 = (1 - ax) * ay, w11 = ax * ay
                    var p = source + (y0 &* width &+ x0), q = output + o
                    for _ in 0..<channels {
                        q.pointee = w00 * p[0] + w01 * p[1] + w10 * p[width] + w11 * p[width &+ 1]
                        p += plane
                        q += plane
                    }
                    continue
                }
                // At the border: corners outside the image count as 0.
                let inX0 = x0 >= 0, inX1 = x0 + 1 < width, inY0 = y0 >= 0, inY1 = y0 + 1 < height
                let w00: Float = inX0 && inY0 ? (1 - ax) * (1 - ay) : 0
                let w01: Float = inX1 && inY0 ? ax * (1 - ay) : 0
                let w10: Float = inX0 && inY1 ? (1 - ax) * ay : 0
                let w11: Float = inX1 && inY1 ? ax * ay : 0
                // Clamped offsets: a zero-weight corner reads a valid pixel it then ignores.
                let cx0 = max(x0, 0), cx1 = min(x0 + 1, width - 1), cy0 = max(y0, 0), cy1 = min(y0 + 1, height - 1)
                let o00 = cy0 * width + cx0, o01 = cy0 * width + cx1, o10 = cy1 * width + cx0, o11 = cy1 * width + cx1
                for c in 0..<channels {
                    let p = source + c * plane
                    output[c * plane + o] = w00 * p[o00] + w01 * p[o01] + w10 * p[o10] + w11 * p[o11]
                }
            }
        }
    }

    /// Nearest-neighbour rotation (round half to even, as `grid_sample`) with zero outside the source.
    static func rotateNearest(_ source: UnsafeMutablePointer<Float>, into output: UnsafeMutablePointer<Float>,
                              channels: Int, size: PairSize, rotation r: Rotation) {
        let height = size.height, width = size.width, plane = height * width
        let fw = Float(width), fh = Float(height)
        for y in 0..<height {
            let (rowX, rowY) = r.sourceOfRow(y)
            for x in 0..<width {
                let sx = roundedToEven(rowX + Float(x) * r.cos), sy = roundedToEven(rowY + Float(x) * r.sin)
                guard sx >= 0, sy >= 0, sx < fw, sy < fh else { continue }
                var p = source + (Int(sy) &* width &+ Int(sx)), q = output + (y &* width &+ x)
                for _ in 0..<channels {
                    q.pointee = p.pointee
                    p += plane
                    q += plane
                }
            }
        }
    }

    /// `v` rounded to the nearest integer, ties to even, for |v| < 2²² (adding and removing 1.5·2²³ leaves
    /// the rounding to the FPU's default mode; no libm call).
    @inline(__always)
    static func roundedToEven(_ v: Float) -> Float {
        guard abs(v) < 0x1p22 else { return v }
        return (v + 0x1.8p23) - 0x1.8p23
    }
}

/// The post's augmentation settings `c(scale, angle, flip)`, applied in that order to each training item.
public struct AugmentationParameters: Sendable, Equatable {
    /// Resize factor spread s: the factor is drawn from U(1 − s, 1 + s); in [0, 1).
    public var scale: Float
    /// Rotation spread a in degrees: the angle is drawn from U(−a, a); ≥ 0.
    public var angle: Float
    /// Probability of a horizontal flip, in [0, 1].
    public var flip: Float

    /// Settings with the post's values by default: `(0.05, 15, 0.5)`.
    public init(scale: Float = 0.05, angle: Float = 15, flip: Float = 0.5) {
        self.scale = scale
        self.angle = angle
        self.flip = flip
    }

    /// Throws if a setting is out of its range.
    public func validate() throws(UnetsegError) {
        try checkArgument(scale.isFinite && scale >= 0 && scale < 1, "augmentation: scale \(scale) is not in [0, 1)")
        try checkArgument(angle.isFinite && angle >= 0, "augmentation: angle \(angle) is not a finite value ≥ 0")
        try checkArgument(flip >= 0 && flip <= 1, "augmentation: flip probability \(flip) is not in [0, 1]")
    }

    /// Random resize, then random rotation, then random flip of `image` `[C, H, W]` and `mask` `[M, H, W]`,
    /// drawing exactly three values from `generator`. Returns new tensors; the inputs are not changed.
    public func apply(image: Tensor, mask: Tensor, generator: inout RandomGenerator) throws(UnetsegError) -> (image: Tensor, mask: Tensor) {
        try validate()
        let resized = try Augmentation.randomResize(image, mask, scaleParameter: scale, generator: &generator)
        let rotated = try Augmentation.randomRotate(resized.image, resized.mask, angleParameter: angle, generator: &generator)
        // The rotated tensors are ours: flip them in place rather than copying.
        if generator.uniform() < flip {
            Augmentation.flipInPlace(rotated.image)
            Augmentation.flipInPlace(rotated.mask)
        }
        return rotated
    }
}
