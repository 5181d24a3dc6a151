import UNetTensor
import _UNetSupport

extension Communicator {
    /// Every rank's hash of the bytes of `parameters` (FNV-1a over the float bit patterns, in order), by
    /// rank; throws `.internal` on every rank unless all are equal (the ranks' weights have diverged, which
    /// the fixed-order gradient sum rules out). Collective.
    public func checkReplicasIdentical(_ parameters: [Tensor]) throws(UnetsegError) -> [UInt64] {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for p in parameters {
            let values = p.storage.pointer
            for k in 0..<p.count {
                hash = (hash ^ UInt64(values[k].bitPattern)) &* 0x0000_0100_0000_01B3
            }
        }
        let hashes = try allGather([hash], zero: 0).map { $0[0] }
        guard hashes.allSatisfy({ $0 == hashes[0] }) else {
            throw .internal("the model's weights differ between ranks (hashes \(hashes.map { String($0, radix: 16) }))")
        }
        return hashes
    }
}
