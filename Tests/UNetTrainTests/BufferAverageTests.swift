import Testing
import UNetTensor
@testable import UNetTrain
import _UNetSupport

/// One rank's view of a fixed-order sum (`sumInRankOrder`: MPI_Alltoall then MPI_Allgather) among ranks
/// whose send buffers are given: `allToAll` hands this rank block `rank` of every rank's buffer, and
/// `allGather` hands it every rank's summed block, computed here from the same buffers.
final class SimulatedRankSum: Communicator {
    let rank: Int
    var size: Int { otherSends.count + 1 }
    var localSize: Int { size }
    /// The float send buffers of the other ranks, in rank order without this rank.
    let otherSends: [[Float]]
    private var sends: [[Float]] = []

    init(rank: Int, otherSends: [[Float]]) {
        self.rank = rank
        self.otherSends = otherSends
    }

    func allToAll(_ send: UnsafeRawPointer, into receive: UnsafeMutableRawPointer, bytesPerRank bytes: Int32) {
        let block = Int(bytes) / MemoryLayout<Float>.stride
        let mine = Array(UnsafeBufferPointer(start: send.assumingMemoryBound(to: Float.self), count: block * size))
        sends = otherSends
        sends.insert(mine, at: rank)
        let out = receive.assumingMemoryBound(to: Float.self)
        for r in 0..<size { for i in 0..<block { out[r * block + i] = sends[r][rank * block + i] } }
    }

    func allGather(_ send: UnsafeRawPointer, into receive: UnsafeMutableRawPointer, bytesPerRank bytes: Int32) {
        let block = Int(bytes) / MemoryLayout<Float>.stride
        let out = receive.assumingMemoryBound(to: Float.self)
        for q in 0..<size {
            for i in 0..<block {
                out[q * block + i] = q == rank ? send.assumingMemoryBound(to: Float.self)[i]
                    : Float(sends.reduce(0.0) { $0 + Double($1[q * block + i]) })
            }
        }
    }

    func broadcast(_ buffer: UnsafeMutableRawPointer, bytes: Int32, from root: Int) {}
}

/// The model buffers of a distributed step become the shard-weighted mean over the ranks.
@Suite struct BufferAverageTests {
    /// The send buffer `averageBuffers` builds on a rank: its buffers' values times its items, then its
    /// items, padded with zeros to `ranks` blocks.
    func send(_ values: [Float], items: Int, ranks: Int) -> [Float] {
        let raw = values.map { Float(items) * $0 } + [Float(items)]
        let chunk = RankOrderSum.chunk(count: raw.count, ranks: ranks)
        return raw + [Float](repeating: 0, count: chunk * ranks - raw.count)
    }

    @Test func buffersBecomeTheShardWeightedMeanOnEveryRank() throws {
        // Rank 0: 2 items, running mean [1, 2], count 5; rank 1: 1 item, [4, -1], 5; rank 2: empty shard,
        // stale values that must not count.
        let values: [[Float]] = [[1, 2, 5], [4, -1, 5], [100, 100, 4]]
        let items = [2, 1, 0]
        var results: [[Float]] = []
        for rank in 0..<3 {
            let others = (0..<3).filter { $0 != rank }.map { send(values[$0], items: items[$0], ranks: 3) }
            let communicator = SimulatedRankSum(rank: rank, otherSends: others)
            let mean = try Tensor(Array(values[rank].prefix(2)), shape: [2]), count = Tensor(scalar: values[rank][2])
            try communicator.averageBuffers([mean, count], items: items[rank], sums: RankOrderSumBuffers())
            results.append(mean.toArray() + count.toArray())
        }
        #expect(results[0] == [2, 1, 5])   // (2·1 + 4)/3, (2·2 − 1)/3, (2·5 + 5)/3
        #expect(results[1] == results[0] && results[2] == results[0])
    }

    @Test func oneRankOrNoBuffersChangeNothing() throws {
        let mean = try Tensor([3, 4], shape: [2])
        try SingleProcessCommunicator().averageBuffers([mean], items: 2, sums: RankOrderSumBuffers())
        #expect(mean.toArray() == [3, 4])
        try SimulatedRankSum(rank: 0, otherSends: [[]]).averageBuffers([], items: 2, sums: RankOrderSumBuffers())
    }
}
