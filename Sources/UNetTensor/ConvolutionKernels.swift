// The three matrix-product passes of a convolution, on raw row-major NCHW buffers, shared by `conv2d` and
// `convTranspose2d` (whose forward is a convolution's input gradient and vice versa).
//
// Per image, with W the weight as an [O, K] matrix (K = C·kh·kw), X the column matrix [K, L] (see
// Im2col.swift) and Y the output [O, L]:  Y = W·X,  dX = col2im(Wᵀ·dY),  dW = Σ_images dY·Xᵀ.
// The output positions are cut into tiles, and the channels into slices, such that one slice × tile of the
// column matrix (each worker's reused scratch) stays about `scratchFloats` floats; every tile is a separate
// single-threaded `BLAS.sgemm` call. Work is split on a grid that depends only on the shapes, never on the
// thread count, and each result element is summed in a fixed order: results are bitwise identical for any
// number of threads.

import _UNetSupport

enum ConvolutionKernels {
    /// Target size of one worker's column buffer, in floats (1 MiB, about a core's L2 share).
    static let scratchFloats = 1 << 18
    /// Fewest output positions per tile, so that each product keeps a long dimension for BLAS.
    static let minimumTileWidth = 256
    /// Fewest output positions per forward tile: the forward product has only as many rows as output
    /// channels (64 in the U-Net's first blocks), so it needs long ones.
    static let forwardMinimumTileWidth = 1024
    /// Positions per tile when no column buffer is needed (pointwise convolutions).
    static let pointwiseTileWidth = 4096
    /// Work items the sliced passes aim for, to balance the threads (a property of the shape only).
    static let itemTarget = 8
    /// Column-matrix rows per weight-gradient slice, at least (and at most `itemTarget` times that):
    /// narrower products repack gradOutput too often.
    static let weightSliceRows = 512
    /// Column-matrix rows per input-gradient slice, at most (when windows overlap).
    static let largestSliceRows = 1152

    /// `width` positions per tile, fewer for huge kernels so that one channel's column rows stay within
    /// four scratch budgets.
    static func bounded(_ width: Int, _ kernelArea: Int) -> Int {
        min(width, max(1, 4 * scratchFloats / kernelArea))
    }

    /// Calls `body` with `count` uninitialised floats that live for the call. Large buffers come from
    /// `BlockPool` (so the next call finds the same pages), small ones from the heap.
    @inline(__always)
    static func withScratch<R>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        if bytes >= BlockPool.granularity, let block = BlockPool.shared.obtain(bytes, zeroed: false) {
            defer { BlockPool.shared.give(block.address, size: block.size) }
            return body(block.address.bindMemory(to: Float.self, capacity: max(count, 1)))
        }
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        defer { scratch.deallocate() }
        return body(scratch)
    }

    // MARK: - Forward

    /// `output = conv(input, weight) + bias`: input [N, C, H, W], weight [O, C, kh, kw], bias [O] or nil,
    /// output [N, O, Ho, Wo] (overwritten).
    static func forward(_ g: ConvolutionGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                        bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>) {
        if g.forwardAlgorithm == .winograd {
            Winograd.forward(g, input: input, weight: weight, bias: bias, output: output)
            return
        }
        let plane = g.outPlane, rows = g.columnRows, area = g.kernelArea
        // Tiles wide enough for BLAS, and with column buffer and output tile cache-sized when that allows.
        let tiles = EvenPartition(total: plane, atMost: g.isPointwise
                                  ? pointwiseTileWidth
                                  : bounded(max(forwardMinimumTileWidth, scratchFloats / (rows + g.outChannels)), area))
        // Large filters: slice the channels so the buffer stays cache-sized; slices accumulate in order.
        let slices = EvenPartition(total: g.inChannels, atMost: g.isPointwise
                                   ? g.inChannels : max(1, scratchFloats / (area * tiles.largest)))
        let items = g.batch * tiles.parts
        let workers = min(Parallel.threadCount, items)
        let scratchPerWorker = g.isPointwise ? 0 : slices.largest * area * tiles.largest
        withScratch(workers * scratchPerWorker) { scratch in
            Parallel.forEachItem(items, maxWorkers: workers) { worker, item in
                let n = item / tiles.parts, positions = tiles[item % tiles.parts]
                let image = input + n * g.inChannels * g.inPlane
                let target = output + n * g.outChannels * plane + positions.lowerBound
                let buffer = scratch + worker * scratchPerWorker
                // The bias is the products' starting value (saves BLAS its zeroing pass).
                if let bias {
                    for o in 0..<g.outChannels { (target + o * plane).update(repeating: bias[o], count: positions.count) }
                }
                for s in 0..<slices.parts {
                    let channels = slices[s]
                    let (columns, ldColumns) = g.columns(of: image, channels: channels, positions: positions,
                                                         scratch: buffer)
                    BLAS.sgemm(transA: false, transB: false, m: g.outChannels, n: positions.count,
                               k: channels.count * area, a: weight + channels.lowerBound * area, lda: rows,
                               b: columns, ldb: ldColumns, beta: s == 0 && bias == nil ? 0 : 1, c: target, ldc: plane)
                }
            }
        }
    }

    // MARK: - Input gradient

    /// `gradInput += col2im(Wᵀ·gradOutput)`: gradOutput [N, O, Ho, Wo], weight [O, C, kh, kw], gradInput
    /// [N, C, H, W] (must hold zeros: the im2col path adds into it, the Winograd path overwrites it).
    ///
    /// Input channels are sliced; when windows overlap, one worker does all scatter-adds of a slice of an
    /// image, tile after tile (so no two threads add into the same element), otherwise tiles run in parallel.
    static func backwardInput(_ g: ConvolutionGeometry, gradOutput: UnsafePointer<Float>,
                              weight: UnsafePointer<Float>, gradInput: UnsafeMutablePointer<Float>) {
        if g.inputGradientAlgorithm == .winograd {
            Winograd.backwardInput(g, gradOutput: gradOutput, weight: weight, gradInput: gradInput)
            return
        }
        let plane = g.outPlane, rows = g.columnRows, area = g.kernelArea
        let overlap = g.windowsOverlap
        // With overlapping windows an item is one slice of one image (scatters of different items never
        // meet); slices as large as the cache allows, since each slice re-reads the whole gradOutput.
        let slices = overlap
            ? EvenPartition(total: g.inChannels, parts: max(ceilingDivide(itemTarget, by: max(1, g.batch)),
                                                            ceilingDivide(rows, by: largestSliceRows)))
            : EvenPartition(total: g.inChannels, atMost: g.isPointwise
                            ? g.inChannels : max(1, scratchFloats / (area * minimumTileWidth)))
        let tiles = EvenPartition(total: plane, atMost: g.isPointwise
                                  ? pointwiseTileWidth
                                  : bounded(max(minimumTileWidth, scratchFloats / (slices.largest * area)), area))
        let scratchPerWorker = g.isPointwise ? 0 : slices.largest * area * tiles.largest

        /// One slice × image × tile: the product, then its scatter into gradInput.
        func run(slice s: Int, image n: Int, tile t: Int, buffer: UnsafeMutablePointer<Float>) {
            let channels = slices[s], positions = tiles[t]
            let gradImage = gradInput + n * g.inChannels * g.inPlane
            let product = g.isPointwise ? gradImage + channels.lowerBound * plane + positions.lowerBound : buffer
            BLAS.sgemm(transA: true, transB: false, m: channels.count * area, n: positions.count, k: g.outChannels,
                       a: weight + channels.lowerBound * area, lda: rows,
                       b: gradOutput + n * g.outChannels * plane + positions.lowerBound, ldb: plane,
                       beta: g.isPointwise ? 1 : 0, c: product, ldc: g.isPointwise ? plane : positions.count)
            if !g.isPointwise {
                g.col2im(buffer, channels: channels, positions: positions, addingInto: gradImage)
            }
        }

        let items = overlap ? slices.parts * g.batch : slices.parts * g.batch * tiles.parts
        let workers = min(Parallel.threadCount, items)
        withScratch(workers * scratchPerWorker) { scratch in
            Parallel.forEachItem(items, maxWorkers: workers) { worker, item in
                let buffer = scratch + worker * scratchPerWorker
                if overlap {
                    let s = item % slices.parts, n = item / slices.parts
                    for t in 0..<tiles.parts { run(slice: s, image: n, tile: t, buffer: buffer) }
                } else {
                    let s = item % slices.parts, rest = item / slices.parts
                    run(slice: s, image: rest / tiles.parts, tile: rest % tiles.parts, buffer: buffer)
                }
            }
        }
    }

    // MARK: - Weight gradient

    /// `gradWeight = Σ_n gradOutput[n]·X[n]ᵀ`: input [N, C, H, W], gradOutput [N, O, Ho, Wo], gradWeight
    /// [O, C, kh, kw] (overwritten).
    ///
    /// Items are (channel slice, group of tiles); each sums its tiles in order into its own columns of
    /// gradWeight, or, when there are few channels and so several tile groups, into a partial (at most
    /// 2²⁶ floats in all) that is added up afterwards in group order.
    static func backwardWeight(_ g: ConvolutionGeometry, input: UnsafePointer<Float>,
                               gradOutput: UnsafePointer<Float>, gradWeight: UnsafeMutablePointer<Float>) {
        let plane = g.outPlane, rows = g.columnRows, area = g.kernelArea, weightCount = g.outChannels * rows
        guard g.batch > 0 else {
            gradWeight.update(repeating: 0, count: weightCount)
            return
        }
        let slices = EvenPartition(total: g.inChannels, parts: max(min(itemTarget, rows / weightSliceRows),
                                                                   ceilingDivide(rows, by: itemTarget * weightSliceRows)))
        let tiles = EvenPartition(total: plane, atMost: g.isPointwise
                                  ? pointwiseTileWidth
                                  : bounded(max(minimumTileWidth, scratchFloats / (slices.largest * area)), area))
        let tileCount = g.batch * tiles.parts
        let groups = EvenPartition(total: tileCount, parts: min(ceilingDivide(itemTarget, by: slices.parts),
                                                                max(1, (1 << 26) / weightCount)))
        let scratchPerWorker = g.isPointwise ? 0 : slices.largest * area * tiles.largest
        let partialCount = groups.parts > 1 ? groups.parts * weightCount : 0
        let items = slices.parts * groups.parts
        let workers = min(Parallel.threadCount, items)

        withScratch(workers * scratchPerWorker + partialCount) { scratch in
            let partials = scratch + workers * scratchPerWorker
            Parallel.forEachItem(items, maxWorkers: workers) { worker, item in
                let s = item % slices.parts, group = item / slices.parts
                let channels = slices[s]
                let buffer = scratch + worker * scratchPerWorker
                let target = (groups.parts > 1 ? partials + group * weightCount : gradWeight) + channels.lowerBound * area
                for (step, tile) in groups[group].enumerated() {
                    let n = tile / tiles.parts, positions = tiles[tile % tiles.parts]
                    let (columns, ldColumns) = g.columns(of: input + n * g.inChannels * g.inPlane, channels: channels,
                                                         positions: positions, scratch: buffer)
                    BLAS.sgemm(transA: false, transB: true, m: g.outChannels, n: channels.count * area,
                               k: positions.count,
                               a: gradOutput + n * g.outChannels * plane + positions.lowerBound, lda: plane,
                               b: columns, ldb: ldColumns, beta: step == 0 ? 0 : 1, c: target, ldc: rows)
                }
            }
            guard groups.parts > 1 else { return }
            Parallel.forEachChunk(weightCount, minimumPerThread: 16_384) { lo, hi in
                for i in lo..<hi {
                    var sum = partials[i]
                    for group in 1..<groups.parts { sum += partials[group * weightCount + i] }
                    gradWeight[i] = sum
                }
            }
        }
    }

    // MARK: - Bias

    /// `output[n, c, :] += bias[c]` over a [batch, channels, plane] buffer.
    static func addBias(_ bias: UnsafePointer<Float>, to output: UnsafeMutablePointer<Float>,
                        batch: Int, channels: Int, plane: Int) {
        Parallel.forEachChunk(batch * channels, minimumPerThread: max(1, 32_768 / max(plane, 1))) { lo, hi in
            for p in lo..<hi {
                let row = output + p * plane, b = bias[p % channels]
                for j in 0..<plane { row[j] += b }
            }
        }
    }

    /// `gradBias[c] = Σ_{n, i} gradOutput[n, c, i]` over a [batch, channels, plane] buffer, summed per
    /// channel in a fixed order (in double precision).
    static func biasGradient(_ gradOutput: UnsafePointer<Float>, into gradBias: UnsafeMutablePointer<Float>,
                             batch: Int, channels: Int, plane: Int) {
        let perChannel = max(1, batch * plane)
        Parallel.forEachChunk(channels, minimumPerThread: max(1, 32_768 / perChannel)) { lo, hi in
            for c in lo..<hi {
                var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
                for n in 0..<batch {
                    let row = gradOutput + (n * channels + c) * plane
                    var j = 0
                    while j + 4 <= plane {
                        s0 += Double(row[j]); s1 += Double(row[j + 1]); s2 += Double(row[j + 2]); s3 += Double(row[j + 3])
                        j += 4
                    }
                    while j < plane { s0 += Double(row[j]); j += 1 }
                }
                gradBias[c] = Float((s0 + s1) + (s2 + s3))
            }
        }
    }
}
