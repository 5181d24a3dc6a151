// Concatenation along one dimension (the U-Net joins `[up, bridge]` along channels, dim 1 of NCHW).

import _UNetSupport

extension Tensor {
    /// Joins `tensors` along `dim`; all other dimensions must agree. Differentiable: each input gets its
    /// slice of the gradient.
    public static func cat(_ tensors: [Tensor], dim: Int) throws(UnetsegError) -> Tensor {
        guard let first = tensors.first else { throw .invalidArgument("cat: no tensors") }
        try checkArgument(dim >= 0 && dim < first.rank, "cat: dim \(dim) out of range for rank \(first.rank)")
        for t in tensors {
            try checkArgument(t.rank == first.rank && t.shape.indices.allSatisfy { $0 == dim || t.shape[$0] == first.shape[$0] },
                        "cat: shapes \(Shape.describe(first.shape)) and \(Shape.describe(t.shape)) differ outside dim \(dim)")
        }
        var outShape = first.shape
        outShape[dim] = tensors.reduce(0) { $0 + $1.shape[dim] }
        let outer = first.shape[..<dim].reduce(1, *)
        let inner = first.shape[(dim + 1)...].reduce(1, *)
        let out = try Tensor.zeros(outShape)
        let outRow = outShape[dim] * inner
        var offset = 0
        var offsets: [Int] = []
        for t in tensors {
            offsets.append(offset)
            let rowCount = t.shape[dim] * inner
            copyBlocks(from: t.storage.pointer, sourceRow: rowCount, sourceOffset: 0,
                       to: out.storage.pointer, destinationRow: outRow, destinationOffset: offset,
                       length: rowCount, rows: outer)
            offset += rowCount
        }
        let shapes = tensors.map(\.shape)
        Autograd.record(out, inputs: tensors) { g in
            zip(shapes, offsets).map { shape, offset in
                let part = Tensor(uncheckedZeros: shape)
                let rowCount = shape[dim] * inner
                copyBlocks(from: g.storage.pointer, sourceRow: outRow, sourceOffset: offset,
                           to: part.storage.pointer, destinationRow: rowCount, destinationOffset: 0,
                           length: rowCount, rows: outer)
                return part
            }
        }
        return out
    }

    /// Copies `rows` blocks of `length` floats between two row layouts, in parallel over rows.
    private static func copyBlocks(from source: UnsafeMutablePointer<Float>, sourceRow: Int, sourceOffset: Int,
                                   to destination: UnsafeMutablePointer<Float>, destinationRow: Int,
                                   destinationOffset: Int, length: Int, rows: Int) {
        Parallel.forEachChunk(rows, minimumPerThread: max(1, 32_768 / max(length, 1))) { lo, hi in
            for r in lo..<hi {
                (destination + r * destinationRow + destinationOffset)
                    .update(from: source + r * sourceRow + sourceOffset, count: length)
            }
        }
    }
}
