import Testing
import UNetNN
import UNetTensor
@testable import UNetTrain
import _UNetSupport

/// One rank's view of a two-rank exchange in a single process: `allGather` puts this rank's bytes in its
/// slot and the other rank's recorded bytes in the other; `broadcast` from the other rank gives its bytes.
final class TwoRankView: Communicator {
    let rank: Int
    let size = 2
    let localSize = 2
    /// What the other rank sends, in order of the calls.
    var otherSends: [[UInt8]]

    init(rank: Int, otherSends: [[UInt8]]) {
        self.rank = rank
        self.otherSends = otherSends
    }

    func allGather(_ send: UnsafeRawPointer, into receive: UnsafeMutableRawPointer, bytesPerRank bytes: Int32) {
        let n = Int(bytes), other = otherSends.removeFirst()
        (receive + rank * n).copyMemory(from: send, byteCount: n)
        other.withUnsafeBytes { (receive + (1 - rank) * n).copyMemory(from: $0.baseAddress!, byteCount: n) }
    }

    func allToAll(_ send: UnsafeRawPointer, into receive: UnsafeMutableRawPointer, bytesPerRank bytes: Int32) {}

    func broadcast(_ buffer: UnsafeMutableRawPointer, bytes: Int32, from root: Int) {
        let other = otherSends.removeFirst()
        if root != rank { other.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: Int(bytes)) } }
    }
}

func bytes(_ values: [Double]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

/// The pieces of distributed training that need no MPI: the fixed-order sum, the loss of a global batch
/// from the ranks' partial sums, dropout per global item, and the agreement on failures.
@Suite struct DistributedTests {
    @Test func rankOrderSumAddsInRankOrderInDoubleAndIsThreadIndependent() {
        // Three ranks, two elements each: 1e8 + 1 − 1e8 is 0 in a float32 running sum, 1 in float64.
        let blocks: [Float] = [1e8, 2, 1, 3, -1e8, 4]
        var out = [Float](repeating: -7, count: 2)
        blocks.withUnsafeBufferPointer { b in
            out.withUnsafeMutableBufferPointer { RankOrderSum.addInRankOrder(b, ranks: 3, into: $0) }
        }
        #expect(out == [1, 9])
        // Many elements over any thread count: the same bits.
        var generator = RandomGenerator(seed: 3)
        let many = (0..<(4 * 1001)).map { _ in generator.uniform(-1, 1) * 1000 }
        func sum(threads: Int) -> [Float] {
            Parallel.setThreadCount(threads)
            var result = [Float](repeating: 0, count: 1001)
            many.withUnsafeBufferPointer { b in
                result.withUnsafeMutableBufferPointer { RankOrderSum.addInRankOrder(b, ranks: 4, into: $0) }
            }
            return result
        }
        let before = Parallel.threadCount
        defer { Parallel.setThreadCount(before) }
        let one = sum(threads: 1)
        #expect(one == sum(threads: 2))
        #expect(one[5] == Float(Double(many[5]) + Double(many[1006]) + Double(many[2007]) + Double(many[3008])))
        #expect(RankOrderSum.chunk(count: 10, ranks: 4) == 3)
    }

    /// Two ranks holding 3 and 1 items of a batch of 4: the global losses are those of the whole batch, and
    /// the sum of the two ranks' gradients is the whole batch's gradient (dice over the whole batch).
    @Test func globalBatchLossMatchesTheWholeBatchAndItsGradient() throws {
        var generator = RandomGenerator(seed: 8)
        let logits = try Tensor.normal([4, 1, 5, 5], generator: &generator)
        let probabilities = logits.sigmoid()
        let masks = try Tensor(probabilities.toArray().enumerated().map { i, _ in Float((i * 7) % 3 == 0 ? 1 : 0) }, shape: [4, 1, 5, 5])
        // The whole batch on one process.
        let whole = try Tensor(probabilities.toArray(), shape: [4, 1, 5, 5], requiresGrad: true)
        let reference = try segmentationLoss(whole, masks, diceWeight: 0.3)
        try reference.total.backward()
        let referenceGradient = try #require(whole.grad).toArray()
        // Rank 0 holds items 0..<3, rank 1 item 3.
        let perItem = 25
        let values = probabilities.toArray(), targets = masks.toArray()
        func part(_ range: Range<Int>) throws -> Tensor {
            try Tensor(Array(values[(range.lowerBound * perItem)..<(range.upperBound * perItem)]), shape: [range.count, 1, 5, 5], requiresGrad: true)
        }
        func target(_ range: Range<Int>) throws -> Tensor {
            try Tensor(Array(targets[(range.lowerBound * perItem)..<(range.upperBound * perItem)]), shape: [range.count, 1, 5, 5])
        }
        let p0 = try part(0..<3), p1 = try part(3..<4)
        let partial0 = try GlobalBatchLoss.partial(p0, try target(0..<3))
        let partial1 = try GlobalBatchLoss.partial(p1, try target(3..<4))
        let loss0 = try GlobalBatchLoss(partial0, diceWeight: 0.3,
                                        communicator: TwoRankView(rank: 0, otherSends: [bytes(partial1.values)]))
        let loss1 = try GlobalBatchLoss(partial1, diceWeight: 0.3,
                                        communicator: TwoRankView(rank: 1, otherSends: [bytes(partial0.values)]))
        #expect(loss0.summary.loss == loss1.summary.loss, "every rank gets the same numbers")
        #expect(abs(loss0.summary.loss - Double(try reference.total.item())) < 1e-6)
        #expect(abs(loss0.summary.dice - Double(try reference.dice.item())) < 1e-6)
        #expect(abs(loss0.summary.bce - Double(try reference.bce.item())) < 1e-6)
        try #require(loss0.local).backward()
        try #require(loss1.local).backward()
        let distributed = try #require(p0.grad).toArray() + #require(p1.grad).toArray()
        for (a, b) in zip(distributed, referenceGradient) { #expect(abs(a - b) <= 1e-6 + 1e-4 * abs(b)) }
        // An empty shard takes part with zeros and gets no tensor to back-propagate.
        let empty = try GlobalBatchLoss(nil, diceWeight: 0.3, communicator: TwoRankView(rank: 1, otherSends: [bytes(partial0.values)]))
        #expect(empty.local == nil)
        #expect(empty.summary.loss.isFinite)
    }

    /// Dropout of a shard draws the masks the whole batch draws for those items, and leaves the stream
    /// where the whole batch leaves it.
    @Test func dropoutOfAShardMatchesTheWholeBatch() throws {
        var generator = RandomGenerator(seed: 4)
        let input = try Tensor.normal([5, 2, 3, 3], generator: &generator)
        let whole = DropoutRandomness(RandomGenerator(seed: 12, position: 40))
        let expected = try Dropout(p: 0.5, randomness: whole)(input).toArray()
        let perItem = 18
        var pieces: [Float] = []
        for range in [0..<3, 3..<5] {
            let randomness = DropoutRandomness(RandomGenerator(seed: 12, position: 40))
            randomness.shard = (range, 5)
            let slice = try Tensor(Array(input.toArray()[(range.lowerBound * perItem)..<(range.upperBound * perItem)]),
                                   shape: [range.count, 2, 3, 3])
            pieces += try Dropout(p: 0.5, randomness: randomness)(slice).toArray()
            #expect(randomness.generator == whole.generator)
        }
        #expect(pieces == expected)
    }

    @Test func agreementOnOneRankThrowsTheFailureAsItIs() throws {
        let one = SingleProcessCommunicator()
        #expect(throws: UnetsegError.io("cannot read a.tif")) { try one.agree(.io("cannot read a.tif")) }
        #expect(try one.agree(nil, stop: true))
        #expect(try !one.agree(nil))
    }

    /// The other rank failed: this rank throws its error, kind and message (naming the file), prefixed by
    /// its rank.
    @Test func agreementThrowsTheLowestFailingRanksError() throws {
        let message = Array("cannot read b.tif".utf8)
        let codes: [Int32] = [RankFailure.code(of: .format("")), 0]
        let view = TwoRankView(rank: 1, otherSends: [codes.withUnsafeBytes { Array($0) },
                                                     [Int32(message.count)].withUnsafeBytes { Array($0) }, message])
        #expect(throws: UnetsegError.format("rank 0 of 2: cannot read b.tif")) { try view.agree(nil) }
        let calm = TwoRankView(rank: 0, otherSends: [[Int32(0), 1].withUnsafeBytes { Array($0) }])
        #expect(try calm.agree(nil), "the other rank asked to stop")
    }
}
