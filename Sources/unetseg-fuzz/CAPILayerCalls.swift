import CUNetSegTypes
import UNetSegC

/// The layer-op calls of a C API fuzz program (conv2d, conv_transpose2d, max_pool2d, relu, dropout, cat,
/// uniform, copy_from), a model parameter as a tensor, and SGD over tensors.
extension CAPIProgram {
    /// A stride, padding or kernel size: mostly small, sometimes negative or huge.
    mutating func layerSize() -> Int32 {
        reader.byte() == 0xFF ? Int32(truncatingIfNeeded: reader.uint32()) : Int32(reader.byte() % 5) - 1
    }

    /// An array of up to 4 handle arguments (any kind, NULL or arbitrary, as `handle()` picks them).
    mutating func tensorHandles() -> [UnsafePointer<unetseg_tensor>?] {
        (0..<Int(reader.byte() % 5)).map { _ in UnsafePointer(handle(unetseg_tensor.self)) }
    }

    mutating func tensorLayer() throws(FuzzViolation) {
        let op = reader.byte() % 10
        let a: Tensor? = handle(), b: Tensor? = handle(), c: Tensor? = reader.bool() ? handle() : nil
        let first = layerSize(), second = layerSize()
        let p = reader.float(), training = reader.bool()
        let null = nullOut()
        switch op {
        case 0: try tensorCall("unetseg_tensor_conv2d", nullOut: null) { unetseg_tensor_conv2d(a, b, c, first, second, $0) }
        case 1:
            try tensorCall("unetseg_tensor_conv_transpose2d", nullOut: null) {
                unetseg_tensor_conv_transpose2d(a, b, c, first, second, $0)
            }
        case 2: try tensorCall("unetseg_tensor_max_pool2d", nullOut: null) { unetseg_tensor_max_pool2d(a, first, second, $0) }
        case 3: try tensorCall("unetseg_tensor_relu", nullOut: null) { unetseg_tensor_relu(a, $0) }
        case 4: try tensorCall("unetseg_tensor_dropout", nullOut: null) { unetseg_tensor_dropout(a, p, training, $0) }
        case 5:
            let tensors = tensorHandles(), count = reader.byte() == 0xFF ? Int32(reader.byte()) : Int32(tensors.count)
            try tensorCall("unetseg_tensor_cat", nullOut: null) { out in
                tensors.isEmpty ? unetseg_tensor_cat(nil, count, first, out)
                    : tensors.withUnsafeBufferPointer { unetseg_tensor_cat($0.baseAddress, min(count, Int32(tensors.count)), first, out) }
            }
        case 6:
            guard let dims = shape() else { return }
            let high = reader.float()
            try tensorCall("unetseg_tensor_uniform", nullOut: null) { out in
                dims.withUnsafeBufferPointer { unetseg_tensor_uniform($0.baseAddress, Int32(dims.count), p, high, out) }
            }
        case 7:
            let count = reader.size()
            guard let data = buffer(count) else { return }
            try plain("unetseg_tensor_copy_from", unetseg_tensor_copy_from(a, data, count))
        case 8:
            let m: Model? = handle(), index = Int32(truncatingIfNeeded: reader.size())
            try tensorCall("unetseg_model_parameter_tensor", nullOut: null) { unetseg_model_parameter_tensor(m, index, $0) }
        default:
            let tensors = tensorHandles()
            var params = unetseg_sgd_default_params()
            params.lr = reader.float()
            var out: UnsafeMutablePointer<unetseg_sgd>?
            let status = tensors.withUnsafeBufferPointer {
                unetseg_sgd_create_for_tensors($0.baseAddress, Int32(tensors.count), &params, &out)
            }
            try checkMade(.sgd, status, out, "unetseg_sgd_create_for_tensors")
        }
    }
}
