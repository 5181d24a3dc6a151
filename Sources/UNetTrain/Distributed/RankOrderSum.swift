import UNetTensor
import _UNetSupport

/// The gradient sum of a distributed run, in a fixed order, so that every rank gets bitwise the same sum for
/// any rank count and any MPI algorithm (`MPI_Allreduce` promises neither).
///
/// A buffer of n floats (padded to `size · chunk`) is reduced in two collectives, as a ring allreduce moves
/// data: `MPI_Alltoall` sends block r of every rank to rank r, which adds the `size` blocks in rank order
/// (`addInRankOrder`), and `MPI_Allgather` gives every rank every summed block. Each rank sends and receives
/// 2·(size−1)/size of the buffer, the bandwidth of the best allreduce, and each element is summed exactly
/// once, by one rank.
public enum RankOrderSum {
    /// `out[i] = Σ_r blocks[r · out.count + i]` for r = 0, 1, …, ranks−1 in that order, accumulated in
    /// float64 and rounded to float once (so the sum of a few float32 terms is the correctly rounded one far
    /// more often than a float32 running sum). `blocks` holds `ranks · out.count` floats. Elements are
    /// split over threads by position only: the result does not depend on the thread count.
    public static func addInRankOrder(_ blocks: UnsafeBufferPointer<Float>, ranks: Int, into out: UnsafeMutableBufferPointer<Float>) {
        let n = out.count
        guard n > 0, ranks > 0, blocks.count >= ranks * n, let b = blocks.baseAddress, let o = out.baseAddress else { return }
        Parallel.forEachChunk(n) { lo, hi in
            for i in lo..<hi {
                var sum = 0.0
                for r in 0..<ranks { sum += Double(b[r * n + i]) }
                o[i] = Float(sum)
            }
        }
    }

    /// Floats per rank's block for a buffer of `count` floats over `ranks` ranks: ⌈count / ranks⌉.
    public static func chunk(count: Int, ranks: Int) -> Int { (count + ranks - 1) / max(1, ranks) }
}

/// Reusable buffers of the fixed-order sum (three of the gradient's size), kept across steps.
final class RankOrderSumBuffers {
    var values: [Float] = []
    var received: [Float] = []
    var block: [Float] = []

    /// Makes `values` hold `count` floats padded to `ranks · chunk`, zeroed; `received` and `block` sized.
    func prepare(count: Int, ranks: Int) {
        let chunk = RankOrderSum.chunk(count: count, ranks: ranks)
        if values.count != chunk * ranks {
            values = [Float](repeating: 0, count: chunk * ranks)
            received = [Float](repeating: 0, count: chunk * ranks)
            block = [Float](repeating: 0, count: chunk)
        } else {
            values.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        }
    }
}

extension Communicator {
    /// Replaces `buffers.values` on every rank by the sum over the ranks of every rank's `buffers.values`,
    /// added in rank order (see `RankOrderSum`). Collective; `values.count` must be a multiple of `size`.
    func sumInRankOrder(_ buffers: RankOrderSumBuffers) throws(UnetsegError) {
        guard size > 1 else { return }
        let ranks = size
        let blockBytes = try mpiCount(buffers.block.count * MemoryLayout<Float>.stride, "MPI_Alltoall")
        buffers.values.withUnsafeBytes { send in
            buffers.received.withUnsafeMutableBytes { receive in
                if let s = send.baseAddress, let r = receive.baseAddress { allToAll(s, into: r, bytesPerRank: blockBytes) }
            }
        }
        buffers.received.withUnsafeBufferPointer { blocks in
            buffers.block.withUnsafeMutableBufferPointer { RankOrderSum.addInRankOrder(blocks, ranks: ranks, into: $0) }
        }
        buffers.block.withUnsafeBytes { send in
            buffers.values.withUnsafeMutableBytes { receive in
                if let s = send.baseAddress, let r = receive.baseAddress { allGather(s, into: r, bytesPerRank: blockBytes) }
            }
        }
    }

    /// Sums the gradients of `parameters` over the ranks (in rank order, bitwise the same on every rank) and
    /// leaves the sum in each parameter's `grad` (a new tensor); a parameter without a gradient on a rank (an empty shard)
    /// counts as zeros there. Collective.
    func sumGradients(of parameters: [Tensor], buffers: RankOrderSumBuffers) throws(UnetsegError) {
        let total = parameters.reduce(0) { $0 + $1.count }
        buffers.prepare(count: total, ranks: size)
        buffers.values.withUnsafeMutableBufferPointer { flat in
            var offset = 0
            for p in parameters {
                if let g = p.grad, g.count == p.count, let base = flat.baseAddress {
                    (base + offset).update(from: g.storage.pointer, count: p.count)
                }
                offset += p.count
            }
        }
        try sumInRankOrder(buffers)
        var offset = 0
        for p in parameters {
            // A new tensor: the old gradient may be shared with another tensor of the graph.
            let grad = Tensor.zeros(like: p)
            buffers.values.withUnsafeBufferPointer { flat in
                if let base = flat.baseAddress { grad.storage.pointer.update(from: base + offset, count: p.count) }
            }
            p.grad = grad
            offset += p.count
        }
    }
}
