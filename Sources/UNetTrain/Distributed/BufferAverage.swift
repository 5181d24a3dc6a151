import UNetTensor
import _UNetSupport

extension Communicator {
    /// Makes the model buffers (batch norm's running statistics and batch count) the same on every rank
    /// after a distributed training step. In training mode each rank's batch norms normalise with the
    /// statistics of its own shard (as PyTorch's DistributedDataParallel without SyncBatchNorm) and move
    /// their running statistics by them; this replaces every buffer element on every rank by the mean of
    /// the ranks' values weighted by their shard's items (`items`; a rank with an empty shard ran no forward
    /// pass, its buffers did not move, and it weighs nothing). The weighted sums are added in rank order
    /// (`RankOrderSum`), so every rank gets the same bits. Collective; a no-op on one rank.
    func averageBuffers(_ modelBuffers: [Tensor], items: Int, sums: RankOrderSumBuffers) throws(UnetsegError) {
        guard size > 1, !modelBuffers.isEmpty else { return }
        let total = modelBuffers.reduce(0) { $0 + $1.count }
        sums.prepare(count: total + 1, ranks: size)
        let weight = Float(items)
        sums.values.withUnsafeMutableBufferPointer { flat in
            guard let base = flat.baseAddress else { return }
            var offset = 0
            for buffer in modelBuffers {
                for k in 0..<buffer.count { base[offset + k] = weight * buffer.storage.pointer[k] }
                offset += buffer.count
            }
            base[total] = weight
        }
        try sumInRankOrder(sums)
        let allItems = Double(sums.values[total])
        try checkArgument(allItems > 0, "averaging the model's buffers: no rank had items in this batch")
        var offset = 0
        for buffer in modelBuffers {
            for k in 0..<buffer.count { buffer.storage.pointer[k] = Float(Double(sums.values[offset + k]) / allItems) }
            offset += buffer.count
        }
    }
}
