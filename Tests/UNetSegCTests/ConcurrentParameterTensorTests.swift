import CUNetSegTypes
import Dispatch
import Testing
import UNetSegC
import UNetTensor
import _UNetSupport

/// A model parameter taken as a tensor handle (unetseg_model_parameter_tensor) shares the model's lock: a
/// thread reading it while another overwrites the parameter through the model always sees one whole write.
/// (In ConcurrentHandleTests' serialized suite: its tests count the live handles.)
extension ConcurrentHandleTests {
    /// One thread sets the 147,456 values of a 3x3 convolution's weight to k (k = 1, 2, …) through the
    /// model handle; another copies them out through the parameter's tensor handle: every copy holds a
    /// single value.
    @Test func readsThroughTheParameterTensorNeverSeeAHalfWrittenParameter() throws {
        var params = unetseg_model_default_params()
        params.depth = 2
        params.n_filters = 6
        params.seed = 1
        var created: UnsafeMutablePointer<unetseg_model>?
        try #require(unetseg_model_create(&params, &created) == Self.ok)
        var found: Int32 = -1
        try #require(unetseg_model_parameter_index(created, "down_path.1.conv_block.conv_block.3.weight", &found) == Self.ok)
        var tensor: UnsafeMutablePointer<unetseg_tensor>?
        try #require(unetseg_model_parameter_tensor(created, found, &tensor) == Self.ok)
        var elements: Int64 = 0
        try #require(unetseg_tensor_numel(tensor, &elements) == Self.ok && elements == 128 * 128 * 9)
        let index = found, count = elements
        let zeros = [Float](repeating: 0, count: Int(count))
        try #require(unetseg_model_parameter_set(created, index, zeros, count) == Self.ok)
        let model = UncheckedSendable(created), parameter = UncheckedSendable(tensor)
        let torn = Locked<[String]>([])
        let rounds = 200
        DispatchQueue.concurrentPerform(iterations: 2) { thread in
            var values = [Float](repeating: 0, count: Int(count))
            for round in 1...rounds {
                if thread == 0 {
                    for i in values.indices { values[i] = Float(round) }
                    let status = unetseg_model_parameter_set(model.value, index, values, count)
                    if status != Self.ok { torn.withLock { $0.append("set \(round): status \(status)") } }
                } else {
                    let status = unetseg_tensor_copy_to(parameter.value, &values, count)
                    if status != Self.ok || values.contains(where: { $0 != values[0] }) {
                        torn.withLock { $0.append("read \(round): status \(status), \(Set(values).count) values") }
                    }
                }
            }
        }
        unetseg_tensor_free(tensor)
        unetseg_model_free(created)
        #expect(torn.withLock { $0 }.isEmpty, "\(torn.withLock { $0.prefix(3) })")
    }
}
