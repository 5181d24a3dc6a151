import CUNetSegTypes
import UNetSegC

/// The calls a C API fuzz program can make: one per step, chosen by a byte, with every argument read
/// before the call.
extension CAPIProgram {
    typealias Tensor = UnsafeMutablePointer<unetseg_tensor>

    /// Makes the next call of the program.
    mutating func step() throws(FuzzViolation) {
        switch reader.byte() % 21 {
        case 0: try tensorCreate()
        case 1: try tensorZeros()
        case 2: try tensorBinary()
        case 3: try tensorScalar()
        case 4: try tensorUnary()
        case 5: try tensorReshape()
        case 6: try tensorQuery()
        case 7: try tensorAutograd()
        case 8: freeAny()
        case 9: try modelCreate()
        case 10: try modelQuery()
        case 11: try modelCompute()
        case 12: try modelFile()
        case 13: try sgd()
        case 14: try oneCycle()
        case 15: try loss()
        case 16: try augmentation()
        case 17: try dataset()
        case 18: try loader()
        case 19: try tensorLayer()
        default: try library()
        }
    }

    // MARK: - Helpers

    /// Calls `body` with an out-parameter (or NULL, rarely) and checks the tensor it returns.
    mutating func tensorCall(_ call: String, nullOut: Bool, _ body: (TensorOut?) -> Int32) throws(FuzzViolation) {
        var out: Tensor?
        let status = nullOut ? body(nil) : withUnsafeMutablePointer(to: &out) { body($0) }
        try checkMade(.tensor, status, out, call, outPassed: !nullOut)
    }

    /// Checks a call returning two tensors: both on success, neither on failure.
    mutating func tensorPair(_ call: String, _ body: (TensorOut, TensorOut) -> Int32) throws(FuzzViolation) {
        var first: Tensor?, second: Tensor?
        let status = withUnsafeMutablePointer(to: &first) { a in withUnsafeMutablePointer(to: &second) { b in body(a, b) } }
        try checkStatus(status, call)
        if (status == 0) != (first != nil) || (status == 0) != (second != nil) {
            throw FuzzViolation("\(call): status \(status) with handles \(String(describing: first)), \(String(describing: second))")
        }
        for t in [first, second] { if let t { keep(.tensor, t) } }
    }

    /// Checks a call that makes nothing.
    func plain(_ call: String, _ status: Int32) throws(FuzzViolation) { try checkStatus(status, call) }

    mutating func nullOut() -> Bool { reader.byte() == 0xAA }

    // MARK: - Tensors

    mutating func tensorCreate() throws(FuzzViolation) {
        guard let dims = shape() else { return }
        let data = Self.elements(dims).flatMap { buffer($0) }
        let null = nullOut()
        try tensorCall("unetseg_tensor_create", nullOut: null) { out in
            dims.withUnsafeBufferPointer { s in
                unetseg_tensor_create(data, s.baseAddress, Int32(s.count), out)
            }
        }
    }

    mutating func tensorZeros() throws(FuzzViolation) {
        guard let dims = shape() else { return }
        let rank = Int32(truncatingIfNeeded: reader.byte() == 0xFF ? Int64(reader.uint32()) : Int64(dims.count))
        let null = nullOut()
        guard rank <= dims.count else {
            // A rank larger than the array: pass NULL, as a caller that forgot the shape would.
            return try tensorCall("unetseg_tensor_zeros", nullOut: null) { unetseg_tensor_zeros(nil, rank, $0) }
        }
        try tensorCall("unetseg_tensor_zeros", nullOut: null) { out in
            dims.withUnsafeBufferPointer { unetseg_tensor_zeros($0.baseAddress, rank, out) }
        }
    }

    mutating func tensorBinary() throws(FuzzViolation) {
        let op = reader.byte() % 4
        let a: Tensor? = handle(), b: Tensor? = handle()
        let null = nullOut()
        try tensorCall("tensor binary op \(op)", nullOut: null) { out in
            switch op {
            case 0: unetseg_tensor_add(a, b, out)
            case 1: unetseg_tensor_sub(a, b, out)
            case 2: unetseg_tensor_mul(a, b, out)
            default: unetseg_tensor_div(a, b, out)
            }
        }
    }

    mutating func tensorScalar() throws(FuzzViolation) {
        let op = reader.byte() % 8
        let t: Tensor? = handle()
        let s = reader.float()
        let null = nullOut()
        try tensorCall("tensor scalar op \(op)", nullOut: null) { out in
            switch op {
            case 0: unetseg_tensor_add_scalar(t, s, out)
            case 1: unetseg_tensor_sub_scalar(t, s, out)
            case 2: unetseg_tensor_mul_scalar(t, s, out)
            case 3: unetseg_tensor_div_scalar(t, s, out)
            case 4: unetseg_tensor_radd_scalar(s, t, out)
            case 5: unetseg_tensor_rsub_scalar(s, t, out)
            case 6: unetseg_tensor_rmul_scalar(s, t, out)
            default: unetseg_tensor_rdiv_scalar(s, t, out)
            }
        }
    }

    mutating func tensorUnary() throws(FuzzViolation) {
        let op = reader.byte() % 4
        let t: Tensor? = handle()
        let s = reader.float()
        let null = nullOut()
        try tensorCall("tensor unary op \(op)", nullOut: null) { out in
            switch op {
            case 0: unetseg_tensor_sum(t, out)
            case 1: unetseg_tensor_mean(t, out)
            case 2: unetseg_tensor_sigmoid(t, out)
            default: unetseg_tensor_gt_scalar(t, s, out)
            }
        }
    }

    mutating func tensorReshape() throws(FuzzViolation) {
        let view = reader.bool()
        let t: Tensor? = handle()
        guard let dims = shape() else { return }
        let null = nullOut()
        try tensorCall(view ? "unetseg_tensor_view" : "unetseg_tensor_reshape", nullOut: null) { out in
            dims.withUnsafeBufferPointer { s in
                view ? unetseg_tensor_view(t, s.baseAddress, Int32(s.count), out)
                     : unetseg_tensor_reshape(t, s.baseAddress, Int32(s.count), out)
            }
        }
    }

    mutating func tensorQuery() throws(FuzzViolation) {
        let op = reader.byte() % 6
        let t: Tensor? = handle()
        let capacity = reader.size()
        let bounded = Int(min(max(capacity, 0), Int64(CAPIFuzzing.largestBuffer)))
        let passNull = nullOut()
        switch op {
        case 0:
            var ndim: Int32 = 0
            try plain("unetseg_tensor_ndim", passNull ? unetseg_tensor_ndim(t, nil) : unetseg_tensor_ndim(t, &ndim))
        case 1:
            var count: Int64 = 0
            try plain("unetseg_tensor_numel", passNull ? unetseg_tensor_numel(t, nil) : unetseg_tensor_numel(t, &count))
        case 2:
            var dims = [Int64](repeating: 0, count: bounded)
            try plain("unetseg_tensor_shape", passNull ? unetseg_tensor_shape(t, nil, Int32(truncatingIfNeeded: capacity))
                : unetseg_tensor_shape(t, &dims, Int32(dims.count)))
        case 3:
            var data = [Float](repeating: 0, count: bounded)
            try plain("unetseg_tensor_copy_to", passNull ? unetseg_tensor_copy_to(t, nil, capacity)
                : unetseg_tensor_copy_to(t, &data, Int64(data.count)))
        case 4:
            var value: Float = 0
            try plain("unetseg_tensor_item", passNull ? unetseg_tensor_item(t, nil) : unetseg_tensor_item(t, &value))
        default:
            var flag = false
            try plain("unetseg_tensor_requires_grad",
                      passNull ? unetseg_tensor_requires_grad(t, nil) : unetseg_tensor_requires_grad(t, &flag))
        }
    }

    mutating func tensorAutograd() throws(FuzzViolation) {
        let op = reader.byte() % 4
        let t: Tensor? = handle()
        let flag = reader.bool()
        switch op {
        case 0: try plain("unetseg_tensor_backward", unetseg_tensor_backward(t))
        case 1: try plain("unetseg_tensor_zero_grad", unetseg_tensor_zero_grad(t))
        case 2: try plain("unetseg_tensor_set_requires_grad", unetseg_tensor_set_requires_grad(t, flag))
        default:
            // A tensor without a gradient succeeds with NULL, so only the failure side is checked.
            var out: Tensor?
            let status = unetseg_tensor_grad(t, &out)
            try checkStatus(status, "unetseg_tensor_grad")
            if status != 0, out != nil { throw FuzzViolation("unetseg_tensor_grad failed but returned a handle") }
            if let out { keep(.tensor, out) }
        }
    }

    /// Some free function on some handle: of its kind or another, live or freed, NULL or arbitrary.
    mutating func freeAny() {
        let kind = Kind.allCases[Int(reader.byte()) % Kind.allCases.count]
        let h: UnsafeMutableRawPointer? = handle(UInt8.self).map { UnsafeMutableRawPointer($0) }
        free(kind, h)
    }
}
