import UNetTensor

/// Smooth random texture for the synthetic brain: 3-D value noise. Random values in [-1, 1] sit on a lattice
/// (hashed from `seed` with SplitMix64's mixer, so any point is computed directly) and are blended with a
/// smoothstep; octaves halve the cell size and the amplitude. Cells are `cellSize` pixels across and
/// `cellDepth` slices deep, so the slices of a volume cut one continuous 3-D field.
struct ValueNoise: Sendable {
    /// Key of the lattice values.
    var seed: UInt64
    /// Lattice spacing of the first octave in pixels.
    var cellSize: Float
    /// Lattice spacing of the first octave in slices.
    var cellDepth: Float
    /// Number of octaves summed.
    var octaves: Int

    /// The lattice value at integer point (x, y, z), uniform in [-1, 1).
    @inline(__always)
    static func latticeValue(_ seed: UInt64, _ x: Int, _ y: Int, _ z: Int) -> Float {
        var h = RandomGenerator.mix64(seed ^ UInt64(bitPattern: Int64(x)))
        h = RandomGenerator.mix64(h ^ UInt64(bitPattern: Int64(y)))
        h = RandomGenerator.mix64(h ^ UInt64(bitPattern: Int64(z)))
        return Float(h >> 40) * 0x1p-23 - 1
    }

    /// 3t² − 2t³, the blend weight for a fraction t in [0, 1].
    @inline(__always)
    static func smooth(_ t: Float) -> Float { t * t * (3 - 2 * t) }

    /// Writes `amplitude · noise(x + ½, y + ½, depth)` to the pixels `columns × rows` of a row-major plane
    /// with `rowStride` floats per row (other pixels are left alone).
    func fill(_ plane: UnsafeMutablePointer<Float>, rowStride: Int, columns: Range<Int>, rows: Range<Int>,
             depth: Float, amplitude: Float) {
        guard !columns.isEmpty, !rows.isEmpty else { return }
        var cell = cellSize, cellZ = cellDepth, amp = amplitude
        for octave in 0..<octaves {
            addOctave(to: plane, rowStride: rowStride, columns: columns, rows: rows, depth: depth,
                      seed: RandomGenerator.mix64(seed &+ UInt64(octave)), cell: cell, cellZ: cellZ, amplitude: amp,
                      overwrite: octave == 0)
            cell *= 0.5
            cellZ *= 0.5
            amp *= 0.5
        }
    }

    /// One octave of `fill`, added to the plane or, for the first, written over it: the lattice plane at this
    /// depth is built once, then blended per pixel.
    private func addOctave(to plane: UnsafeMutablePointer<Float>, rowStride: Int, columns: Range<Int>,
                           rows: Range<Int>, depth: Float, seed: UInt64, cell: Float, cellZ: Float,
                           amplitude: Float, overwrite: Bool) {
        let inverse = 1 / cell
        func latticeIndex(_ pixel: Int) -> Int { Int((Float(pixel) + 0.5) * inverse) }
        let gx0 = latticeIndex(columns.lowerBound), gx1 = latticeIndex(columns.upperBound - 1) + 1
        let gy0 = latticeIndex(rows.lowerBound), gy1 = latticeIndex(rows.upperBound - 1) + 1
        let nx = gx1 - gx0 + 1, ny = gy1 - gy0 + 1
        let zf = depth / cellZ, zFloor = zf.rounded(.down), gz = Int(zFloor), wz = Self.smooth(zf - zFloor)

        // Lattice values of this depth, scaled by the amplitude.
        var lattice = [Float](repeating: 0, count: nx * ny)
        lattice.withUnsafeMutableBufferPointer { l in
            for j in 0..<ny {
                for i in 0..<nx {
                    let a = Self.latticeValue(seed, gx0 + i, gy0 + j, gz)
                    let b = Self.latticeValue(seed, gx0 + i, gy0 + j, gz + 1)
                    l[j * nx + i] = amplitude * (a + (b - a) * wz)
                }
            }
        }
        // Per column: lattice cell and blend weight.
        var cellOfColumn = [Int](repeating: 0, count: columns.count)
        var weightOfColumn = [Float](repeating: 0, count: columns.count)
        for (k, x) in columns.enumerated() {
            let fx = (Float(x) + 0.5) * inverse, fxFloor = fx.rounded(.down)
            cellOfColumn[k] = Int(fxFloor) - gx0
            weightOfColumn[k] = Self.smooth(fx - fxFloor)
        }
        var blendedRow = [Float](repeating: 0, count: nx)
        lattice.withUnsafeBufferPointer { l in
            cellOfColumn.withUnsafeBufferPointer { cx in
                weightOfColumn.withUnsafeBufferPointer { wx in
                    blendedRow.withUnsafeMutableBufferPointer { r in
                        guard let lb = l.baseAddress, let cxb = cx.baseAddress, let wxb = wx.baseAddress,
                              let row = r.baseAddress else { return }
                        for y in rows {
                            // Blend the two lattice rows around y once, then interpolate along the row.
                            let fy = (Float(y) + 0.5) * inverse, fyFloor = fy.rounded(.down)
                            let wy = Self.smooth(fy - fyFloor)
                            let top = lb + (Int(fyFloor) - gy0) * nx, bottom = top + nx
                            for i in 0..<nx { row[i] = top[i] + (bottom[i] - top[i]) * wy }
                            let out = plane + y * rowStride + columns.lowerBound
                            if overwrite {
                                for k in 0..<columns.count {
                                    let i = cxb[k]
                                    out[k] = row[i] + (row[i + 1] - row[i]) * wxb[k]
                                }
                            } else {
                                for k in 0..<columns.count {
                                    let i = cxb[k]
                                    out[k] += row[i] + (row[i + 1] - row[i]) * wxb[k]
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
