// The geometry of a 2-D convolution and the im2col / col2im kernels that turn it into matrix products.
//
// For one image of a row-major NCHW batch, the column matrix has one row per (input channel, ky, kx), in
// that order (the layout of a row-major [O, C, kh, kw] weight seen as [O, C·kh·kw]), and one column per
// output position oy·Wo + ox. Column (oy, ox) of row (c, ky, kx) holds input[c, oy·s − p + ky, ox·s − p + kx],
// or 0 where that falls in the padding. The kernels work on a slice of channels and a range of output
// positions at a time, so that callers can keep the column buffer cache-sized.

import _UNetSupport

/// Sizes of one 2-D convolution (no dilation, no groups): a batch of `inChannels`×`inHeight`×`inWidth`
/// images, `outChannels` filters of `kernelHeight`×`kernelWidth`, equal stride and zero padding on both axes.
struct ConvolutionGeometry: Sendable, Equatable {
    let batch: Int
    let inChannels: Int
    let inHeight: Int
    let inWidth: Int
    let outChannels: Int
    let kernelHeight: Int
    let kernelWidth: Int
    let stride: Int
    let padding: Int
    /// `(inHeight + 2·padding − kernelHeight) / stride + 1`, floored as PyTorch.
    let outHeight: Int
    /// `(inWidth + 2·padding − kernelWidth) / stride + 1`, floored as PyTorch.
    let outWidth: Int

    /// Builds the geometry of a convolution of `[batch, inChannels, inHeight, inWidth]` images, checking
    /// that every size is usable; `op` names the public op in error messages.
    init(op: String, batch: Int, inChannels: Int, inHeight: Int, inWidth: Int, outChannels: Int,
         kernelHeight: Int, kernelWidth: Int, stride: Int, padding: Int) throws(UnetsegError) {
        try checkArgument(stride >= 1, "\(op): stride must be at least 1, got \(stride)")
        try checkArgument(padding >= 0, "\(op): padding must not be negative, got \(padding)")
        try checkArgument(padding <= Self.largestSize, "\(op): padding \(padding) is too large")
        try checkArgument(kernelHeight >= 1 && kernelWidth >= 1,
                    "\(op): kernel must be at least 1×1, got \(kernelHeight)×\(kernelWidth)")
        try checkArgument(inHeight >= 1 && inWidth >= 1, "\(op): empty image \(inHeight)×\(inWidth)")
        try checkArgument(inChannels >= 1 && outChannels >= 1,
                    "\(op): channel counts must be at least 1, got \(inChannels) in and \(outChannels) out")
        let paddedHeight = inHeight + 2 * padding, paddedWidth = inWidth + 2 * padding
        try checkArgument(paddedHeight >= kernelHeight && paddedWidth >= kernelWidth,
                    "\(op): kernel \(kernelHeight)×\(kernelWidth) is larger than the padded input \(paddedHeight)×\(paddedWidth) (output size would be 0)")
        self.batch = batch
        self.inChannels = inChannels
        self.inHeight = inHeight
        self.inWidth = inWidth
        self.outChannels = outChannels
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.stride = stride
        self.padding = padding
        outHeight = (paddedHeight - kernelHeight) / stride + 1
        outWidth = (paddedWidth - kernelWidth) / stride + 1
        // BLAS takes 32-bit sizes and leading dimensions.
        let outPlane = Shape.elementCount([outHeight, outWidth]) ?? Int.max
        for (name, size) in [("input plane", inPlane), ("output plane", outPlane),
                             ("filter size (channels × kernel)", columnRows), ("output channels", outChannels)] {
            try checkArgument(size <= Self.largestSize, "\(op): \(name) of \(size) elements is too large")
        }
    }

    /// Largest size of any one dimension product handed to BLAS (its sizes are 32-bit).
    static let largestSize = Int(Int32.max)

    /// Elements of one kernel window (`kernelHeight · kernelWidth`).
    var kernelArea: Int { kernelHeight * kernelWidth }
    /// Rows of the column matrix, the reduction length of the matrix product (`inChannels · kernelArea`).
    var columnRows: Int { inChannels * kernelArea }
    /// Elements of one input channel plane.
    var inPlane: Int { inHeight * inWidth }
    /// Elements of one output channel plane (columns of the column matrix).
    var outPlane: Int { outHeight * outWidth }
    /// Whether the column matrix is the input itself (1×1 kernel, stride 1, no padding).
    var isPointwise: Bool { kernelHeight == 1 && kernelWidth == 1 && stride == 1 && padding == 0 }
    /// Whether two output positions can read the same input element (windows overlap).
    var windowsOverlap: Bool { kernelHeight > stride || kernelWidth > stride }
    /// Multiply-adds × 2 of one direction (forward, input gradient or weight gradient) over the batch.
    var flops: Double { 2 * Double(batch) * Double(outChannels) * Double(outPlane) * Double(columnRows) }
}

// MARK: - Walking the column matrix

extension ConvolutionGeometry {
    /// Calls `body(column, image, count, inside)` for every run of column-matrix elements of the rows of
    /// `channels` and the columns `positions`, in row order: `count` consecutive elements starting at
    /// offset `column` of a `channels.count·kernelArea` × `positions.count` row-major buffer, which map to
    /// image elements `image + i·stride` (offsets into one image, all channels) when `inside`, or to padding.
    @inline(__always)
    func forEachRun(channels: Range<Int>, positions: Range<Int>,
                    _ body: (_ column: Int, _ image: Int, _ count: Int, _ inside: Bool) -> Void) {
        let width = positions.count
        var row = 0
        for c in channels {
            for ky in 0..<kernelHeight {
                for kx in 0..<kernelWidth {
                    // Output columns whose input column ox·s − p + kx lies inside [0, inWidth).
                    let firstInside = max(0, ceilingDivide(padding - kx, by: stride))
                    let endInside = min(outWidth, floorDivide(inWidth - 1 + padding - kx, by: stride) + 1)
                    var j = positions.lowerBound
                    while j < positions.upperBound {
                        let oy = j / outWidth
                        let ox0 = j - oy * outWidth
                        let ox1 = min(outWidth, ox0 + positions.upperBound - j)
                        let column = row * width + j - positions.lowerBound
                        let iy = oy * stride - padding + ky
                        if iy < 0 || iy >= inHeight || firstInside >= endInside {
                            body(column, 0, ox1 - ox0, false)
                        } else {
                            let a = min(max(ox0, firstInside), ox1), b = max(min(ox1, endInside), a)
                            if a > ox0 { body(column, 0, a - ox0, false) }
                            if b > a {
                                body(column + a - ox0, c * inPlane + iy * inWidth + a * stride - padding + kx, b - a, true)
                            }
                            if ox1 > b { body(column + b - ox0, 0, ox1 - b, false) }
                        }
                        j += ox1 - ox0
                    }
                    row += 1
                }
            }
        }
    }

    /// Fills `columns` (row-major, `channels.count·kernelArea` rows × `positions.count`) with the column
    /// matrix of one image (`image` points at its first channel).
    func im2col(image: UnsafePointer<Float>, channels: Range<Int>, positions: Range<Int>,
                into columns: UnsafeMutablePointer<Float>) {
        let stride = self.stride
        forEachRun(channels: channels, positions: positions) { column, offset, count, inside in
            let destination = columns + column
            if !inside {
                destination.update(repeating: 0, count: count)
            } else if stride == 1 {
                let source = image + offset   // an inline loop: runs are short, a memmove call costs more
                for i in 0..<count { destination[i] = source[i] }
            } else {
                let source = image + offset
                for i in 0..<count { destination[i] = source[i * stride] }
            }
        }
    }

    /// The column-matrix block of `channels` × `positions` of one image and its row stride: the image itself
    /// for a pointwise convolution, otherwise `scratch` filled by `im2col`.
    @inline(__always)
    func columns(of image: UnsafePointer<Float>, channels: Range<Int>, positions: Range<Int>,
                 scratch: UnsafeMutablePointer<Float>) -> (UnsafePointer<Float>, Int) {
        if isPointwise { return (image + channels.lowerBound * outPlane + positions.lowerBound, outPlane) }
        im2col(image: image, channels: channels, positions: positions, into: scratch)
        return (UnsafePointer(scratch), positions.count)
    }

    /// Adds each element of `columns` (laid out as for `im2col`) into the image element it was read from:
    /// the adjoint of `im2col`. Elements that came from padding are dropped.
    func col2im(_ columns: UnsafePointer<Float>, channels: Range<Int>, positions: Range<Int>,
                addingInto image: UnsafeMutablePointer<Float>) {
        let stride = self.stride
        forEachRun(channels: channels, positions: positions) { column, offset, count, inside in
            guard inside else { return }
            let source = columns + column, destination = image + offset
            if stride == 1 {
                for i in 0..<count { destination[i] += source[i] }
            } else {
                for i in 0..<count { destination[i * stride] += source[i] }
            }
        }
    }
}

/// ⌈a / b⌉ for b > 0 and any sign of a.
@inline(__always)
func ceilingDivide(_ a: Int, by b: Int) -> Int { -floorDivide(-a, by: b) }

/// ⌊a / b⌋ for b > 0 and any sign of a.
@inline(__always)
func floorDivide(_ a: Int, by b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }

// MARK: - Splitting work

/// `total` items cut into `parts` contiguous ranges whose sizes differ by at most one.
struct EvenPartition: Sendable {
    let total: Int
    let parts: Int

    /// Cuts `total` into `parts` ranges (`parts` is clamped to `1...max(1, total)`).
    init(total: Int, parts: Int) {
        self.total = total
        self.parts = max(1, min(parts, max(total, 1)))
    }

    /// Cuts `total` into the fewest ranges of at most `largest` items.
    init(total: Int, atMost largest: Int) {
        self.init(total: total, parts: ceilingDivide(total, by: max(1, largest)))
    }

    /// The `i`-th range.
    @inline(__always)
    subscript(i: Int) -> Range<Int> { total * i / parts ..< total * (i + 1) / parts }

    /// Size of the largest range.
    var largest: Int { ceilingDivide(total, by: parts) }
}
