// Winograd's minimal filtering F(2×2, 3×3) (Lavin and Gray, 2016) for the stride-1, padding-1 3×3
// convolutions that do almost all of the U-Net's work. A 2×2 block of outputs comes from a 4×4 block of
// input; transformed, the 3×3 convolution becomes 16 elementwise products summed over channels, that is
// 16 matrix products [O, C]·[C, tiles]: 16 multiplications per 4 outputs instead of 36, and no im2col.
//
//   kernels  U = G·g·Gᵀ      G  = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]
//   input    V = Bᵀ·d·B      Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]
//   output   Y = Aᵀ·M·A      Aᵀ = [1 1 1 0; 0 1 −1 −1]
//
// The input gradient of such a convolution is the same kind of convolution of the output gradient, with
// each kernel turned 180° and input and output channels swapped, so it runs here too. Work items are
// blocks of tile rows cut by a rule of the shape alone, and every output element is the sum of one
// product: results are bitwise identical for any thread count.

enum Winograd {
    /// Fewest input and output channels for which the 16 products beat im2col's one (measured on the
    /// U-Net's shapes: below this the products are too thin for BLAS).
    static let minimumChannels = 8
    /// Floats of transformed input and products per work item, about (a few MiB, a core's L2 share or two).
    static let scratchFloats = 1 << 21

    /// Whether `g` is a convolution this runs: 3×3 kernel, stride 1, padding 1, enough channels.
    static func handles(_ g: ConvolutionGeometry) -> Bool {
        g.kernelHeight == 3 && g.kernelWidth == 3 && g.stride == 1 && g.padding == 1
            && g.inChannels >= minimumChannels && g.outChannels >= minimumChannels
    }

    /// `output = conv(input, weight) + bias` for a convolution `handles` accepts.
    static func forward(_ g: ConvolutionGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                        bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>) {
        ConvolutionKernels.withScratch(16 * g.outChannels * g.inChannels) { u in
            transformKernels(weight, outChannels: g.outChannels, inChannels: g.inChannels, forInputGradient: false,
                             into: u)
            convolve(batch: g.batch, inChannels: g.inChannels, outChannels: g.outChannels, height: g.inHeight,
                     width: g.inWidth, input: input, kernels: u, bias: bias, output: output)
        }
    }

    /// `gradInput = conv(gradOutput, weight turned 180°, channels swapped)`: the input gradient of a
    /// convolution `handles` accepts (gradInput is overwritten).
    static func backwardInput(_ g: ConvolutionGeometry, gradOutput: UnsafePointer<Float>,
                              weight: UnsafePointer<Float>, gradInput: UnsafeMutablePointer<Float>) {
        ConvolutionKernels.withScratch(16 * g.outChannels * g.inChannels) { u in
            transformKernels(weight, outChannels: g.outChannels, inChannels: g.inChannels, forInputGradient: true,
                             into: u)
            convolve(batch: g.batch, inChannels: g.outChannels, outChannels: g.inChannels, height: g.outHeight,
                     width: g.outWidth, input: gradOutput, kernels: u, bias: nil, output: gradInput)
        }
    }

    // MARK: - Transforms

    /// The 16 transformed kernels of `weight` [O, C, 3, 3] as U[ξ][row][column]: [16, O, C], or for the
    /// input gradient [16, C, O] with each kernel turned 180°.
    static func transformKernels(_ weight: UnsafePointer<Float>, outChannels: Int, inChannels: Int,
                                 forInputGradient: Bool, into u: UnsafeMutablePointer<Float>) {
        let pairs = outChannels * inChannels
        Parallel.forEachChunk(pairs, minimumPerThread: 4096) { lo, hi in
            for pair in lo..<hi {
                // Pairs in the order of U's rows, so that its stores are sequential.
                let (o, c) = forInputGradient ? (pair % outChannels, pair / outChannels)
                    : (pair / inChannels, pair % inChannels)
                let source = weight + (o * inChannels + c) * 9
                // Kernel rows g0, g1, g2 (turned 180° for the input gradient).
                @inline(__always) func at(_ i: Int) -> Float { forInputGradient ? source[8 - i] : source[i] }
                let g0 = SIMD4<Float>(at(0), at(1), at(2), 0), g1 = SIMD4<Float>(at(3), at(4), at(5), 0)
                let g2 = SIMD4<Float>(at(6), at(7), at(8), 0)
                // t = G·g (4 rows of 3), then each row (a, b, e) of U = t·Gᵀ is (a, ½(a+b+e), ½(a−b+e), e).
                let t0 = g0, t1 = (g0 + g1 + g2) * 0.5, t2 = (g0 - g1 + g2) * 0.5, t3 = g2
                let (row, column, columns) = forInputGradient ? (c, o, outChannels) : (o, c, inChannels)
                let target = u + row * columns + column
                @inline(__always) func store(_ r: Int, _ t: SIMD4<Float>) {
                    target[(4 * r) * pairs] = t[0]
                    target[(4 * r + 1) * pairs] = (t[0] + t[1] + t[2]) * 0.5
                    target[(4 * r + 2) * pairs] = (t[0] - t[1] + t[2]) * 0.5
                    target[(4 * r + 3) * pairs] = t[2]
                }
                store(0, t0); store(1, t1); store(2, t2); store(3, t3)
            }
        }
    }

    /// Padding-1 3×3 convolution of `input` [N, inChannels, H, W] with transformed `kernels`
    /// [16, outChannels, inChannels] into `output` [N, outChannels, H, W] (overwritten), plus `bias`.
    static func convolve(batch: Int, inChannels: Int, outChannels: Int, height: Int, width: Int,
                         input: UnsafePointer<Float>, kernels: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                         output: UnsafeMutablePointer<Float>) {
        let tileRows = (height + 1) / 2, tileColumns = (width + 1) / 2
        let targetTiles = max(tileColumns, scratchFloats / (16 * (inChannels + outChannels)))
        let blocks = EvenPartition(total: tileRows, atMost: max(1, targetTiles / tileColumns))
        let items = batch * blocks.parts
        let rowFloats = 4 * paddedRowLength(tileColumns: tileColumns)
        let scratchPerWorker = 16 * (inChannels + outChannels) * blocks.largest * tileColumns + rowFloats
        let workers = min(Parallel.threadCount, items)
        let plane = height * width
        ConvolutionKernels.withScratch(workers * scratchPerWorker) { scratch in
            Parallel.forEachItem(items, maxWorkers: workers) { worker, item in
                let n = item / blocks.parts, rows = blocks[item % blocks.parts]
                let tiles = rows.count * tileColumns
                let v = scratch + worker * scratchPerWorker, m = v + 16 * inChannels * tiles
                let paddedRows = scratch + (worker + 1) * scratchPerWorker - rowFloats
                let image = input + n * inChannels * plane
                for c in 0..<inChannels {
                    transformInput(image + c * plane, height: height, width: width, tileRows: rows,
                                   tileColumns: tileColumns, rows: paddedRows, into: v + c * tiles,
                                   stride: inChannels * tiles)
                }
                for xi in 0..<16 {
                    BLAS.sgemm(transA: false, transB: false, m: outChannels, n: tiles, k: inChannels,
                               a: kernels + xi * outChannels * inChannels, lda: inChannels,
                               b: v + xi * inChannels * tiles, ldb: tiles, c: m + xi * outChannels * tiles, ldc: tiles)
                }
                let target = output + n * outChannels * plane
                for o in 0..<outChannels {
                    transformOutput(m + o * tiles, stride: outChannels * tiles, bias: bias?[o] ?? 0,
                                    into: target + o * plane, height: height, width: width, tileRows: rows,
                                    tileColumns: tileColumns)
                }
            }
        }
    }

    /// Floats of one zero-padded input row as `transformInput` reads it: a zero on the left, the row,
    /// zeros up to the end of the last group of 8 tiles (whose 16-wide loads reach 18 floats past its start).
    static func paddedRowLength(tileColumns: Int) -> Int { 2 * ceilingDivide(tileColumns, by: 8) * 8 + 18 }

    /// V = Bᵀ·d·B for the 4×4 blocks (rows 2·ty−1…2·ty+2, zero outside) of one channel's `plane`, for tile
    /// rows `tileRows`: element ξ of tile p goes to `v[ξ·stride + p]`. Eight tiles of a row at a time: the
    /// four rows of their blocks are copied, zero-padded, into `rows` (4 × `paddedRowLength`), and the even
    /// and odd floats of two 16-wide loads are the four columns of the eight blocks.
    @inline(__always)
    static func transformInput(_ plane: UnsafePointer<Float>, height: Int, width: Int, tileRows: Range<Int>,
                               tileColumns: Int, rows: UnsafeMutablePointer<Float>,
                               into v: UnsafeMutablePointer<Float>, stride: Int) {
        let length = paddedRowLength(tileColumns: tileColumns)
        var p = 0
        for ty in tileRows {
            for r in 0..<4 {
                let y = 2 * ty - 1 + r, row = rows + r * length
                row.update(repeating: 0, count: length)
                if y >= 0, y < height { (row + 1).update(from: plane + y * width, count: width) }
            }
            var tx = 0
            while tx < tileColumns {
                /// Columns 0…3 of the 8 blocks' row `r`, each across the 8 tiles.
                @inline(__always) func columns(_ r: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
                    let at = rows + r * length + 2 * tx
                    let a = UnsafeRawPointer(at).loadUnaligned(as: SIMD16<Float>.self)
                    let b = UnsafeRawPointer(at + 2).loadUnaligned(as: SIMD16<Float>.self)
                    return (a.evenHalf, a.oddHalf, b.evenHalf, b.oddHalf)
                }
                let r0 = columns(0), r1 = columns(1), r2 = columns(2), r3 = columns(3)
                let count = min(8, tileColumns - tx)
                @inline(__always) func put(_ xi: Int, _ value: SIMD8<Float>) {
                    let target = v + xi * stride + p
                    if count == 8 {
                        UnsafeMutableRawPointer(target).storeBytes(of: value, as: SIMD8<Float>.self)
                    } else {
                        for i in 0..<count { target[i] = value[i] }
                    }
                }
                /// ·B on a row (c0, c1, c2, c3) of Bᵀ·d: (c0 − c2, c1 + c2, c2 − c1, c1 − c3).
                @inline(__always) func transformed(_ r: Int, _ c0: SIMD8<Float>, _ c1: SIMD8<Float>,
                                                   _ c2: SIMD8<Float>, _ c3: SIMD8<Float>) {
                    put(4 * r, c0 - c2); put(4 * r + 1, c1 + c2); put(4 * r + 2, c2 - c1); put(4 * r + 3, c1 - c3)
                }
                // Bᵀ·d: rows (d0 − d2, d1 + d2, d2 − d1, d1 − d3).
                transformed(0, r0.0 - r2.0, r0.1 - r2.1, r0.2 - r2.2, r0.3 - r2.3)
                transformed(1, r1.0 + r2.0, r1.1 + r2.1, r1.2 + r2.2, r1.3 + r2.3)
                transformed(2, r2.0 - r1.0, r2.1 - r1.1, r2.2 - r1.2, r2.3 - r1.3)
                transformed(3, r1.0 - r3.0, r1.1 - r3.1, r1.2 - r3.2, r1.3 - r3.3)
                p += count
                tx += 8
            }
        }
    }

    /// Y = Aᵀ·M·A + bias for the tiles of one output channel (element ξ of tile p at `m[ξ·stride + p]`),
    /// written to the 2×2 blocks of `plane` that lie inside it.
    @inline(__always)
    static func transformOutput(_ m: UnsafePointer<Float>, stride: Int, bias: Float,
                                into plane: UnsafeMutablePointer<Float>, height: Int, width: Int,
                                tileRows: Range<Int>, tileColumns: Int) {
        var p = 0
        for ty in tileRows {
            let y = 2 * ty
            var tx = 0
            while tx < tileColumns {
                let count = min(8, tileColumns - tx)
                /// Element ξ of the 8 tiles.
                @inline(__always) func load(_ xi: Int) -> SIMD8<Float> {
                    let source = m + xi * stride + p
                    if count == 8 { return UnsafeRawPointer(source).loadUnaligned(as: SIMD8<Float>.self) }
                    var value = SIMD8<Float>()
                    for i in 0..<count { value[i] = source[i] }
                    return value
                }
                // Aᵀ·M: rows (m0 + m1 + m2, m1 − m2 − m3) per column j, then ·A on each.
                let m00 = load(0), m01 = load(1), m02 = load(2), m03 = load(3)
                let m10 = load(4), m11 = load(5), m12 = load(6), m13 = load(7)
                let m20 = load(8), m21 = load(9), m22 = load(10), m23 = load(11)
                let m30 = load(12), m31 = load(13), m32 = load(14), m33 = load(15)
                let s00 = m00 + m10 + m20, s01 = m01 + m11 + m21, s02 = m02 + m12 + m22, s03 = m03 + m13 + m23
                let s10 = m10 - m20 - m30, s11 = m11 - m21 - m31, s12 = m12 - m22 - m32, s13 = m13 - m23 - m33
                let y00 = s00 + s01 + s02 + bias, y01 = s01 - s02 - s03 + bias
                let y10 = s10 + s11 + s12 + bias, y11 = s11 - s12 - s13 + bias
                let top = plane + y * width, bottom = top + width
                for i in 0..<count {
                    let x = 2 * (tx + i)
                    top[x] = y00[i]
                    if x + 1 < width { top[x + 1] = y01[i] }
                    if y + 1 < height {
                        bottom[x] = y10[i]
                        if x + 1 < width { bottom[x + 1] = y11[i] }
                    }
                }
                p += count
                tx += 8
            }
        }
    }
}
