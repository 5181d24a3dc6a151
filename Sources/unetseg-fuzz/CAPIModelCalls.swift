import CUNetSegTypes
import UNetNN
import UNetSegC

/// The model, optimiser, scheduler, loss and augmentation calls of a C API fuzz program.
extension CAPIProgram {
    typealias Model = UnsafeMutablePointer<unetseg_model>

    /// Model parameters from the input: any values, so most are out of range and some absurdly large; nil
    /// for a valid configuration over `CAPIFuzzing.largestModel` parameters.
    mutating func modelParams() -> unetseg_model_params? {
        var params = unetseg_model_default_params()
        params.channels_in = Int32(truncatingIfNeeded: reader.size())
        params.n_classes = Int32(truncatingIfNeeded: reader.size())
        params.depth = Int32(truncatingIfNeeded: reader.size())
        params.n_filters = Int32(truncatingIfNeeded: reader.size())
        params.dropout = reader.float()
        params.seed = reader.size()
        let config = UNetConfig(channelsIn: Int(params.channels_in), nClasses: Int(params.n_classes),
                                depth: Int(params.depth), nFilters: Int(params.n_filters), dropout: params.dropout)
        if (try? config.validate()) != nil, config.parameterCount > CAPIFuzzing.largestModel { return nil }
        return params
    }

    mutating func modelCreate() throws(FuzzViolation) {
        guard var params = modelParams() else { return }
        let nullParams = nullOut()
        var out: Model?
        let status = nullParams ? unetseg_model_create(nil, &out) : unetseg_model_create(&params, &out)
        try checkMade(.model, status, out, "unetseg_model_create")
    }

    mutating func modelQuery() throws(FuzzViolation) {
        let op = reader.byte() % 8
        let m: Model? = handle()
        let index = Int32(truncatingIfNeeded: reader.size())
        let capacity = Int(min(max(reader.size(), 0), 256))
        let nameBytes = Array(reader.bytes(Int(reader.byte() % 64))) + [0]
        switch op {
        case 0:
            var count: Int64 = 0
            try plain("unetseg_model_parameter_count", unetseg_model_parameter_count(m, &count))
        case 1:
            var count: Int32 = 0
            try plain("unetseg_model_named_parameter_count", unetseg_model_named_parameter_count(m, &count))
        case 2:
            var name = [CChar](repeating: 0, count: capacity)
            try plain("unetseg_model_parameter_name", unetseg_model_parameter_name(m, index, &name, UInt(name.count)))
        case 3:
            var dims = [Int64](repeating: 0, count: capacity % 10)
            var ndim: Int32 = 0
            try plain("unetseg_model_parameter_shape", unetseg_model_parameter_shape(m, index, &dims, Int32(dims.count), &ndim))
        case 4:
            var out: Int32 = 0
            let status = nameBytes.withUnsafeBufferPointer { b in
                b.withMemoryRebound(to: CChar.self) { unetseg_model_parameter_index(m, $0.baseAddress, &out) }
            }
            try plain("unetseg_model_parameter_index", status)
        case 5:
            var params = unetseg_model_default_params()
            try plain("unetseg_model_get_params", unetseg_model_get_params(m, &params))
        case 6:
            var training = false
            try plain("unetseg_model_is_training", unetseg_model_is_training(m, &training))
        default:
            try plain("unetseg_model_train/eval", index & 1 == 0 ? unetseg_model_train(m) : unetseg_model_eval(m))
        }
    }

    mutating func modelCompute() throws(FuzzViolation) {
        let op = reader.byte() % 5
        let m: Model? = handle()
        let index = Int32(truncatingIfNeeded: reader.size())
        switch op {
        case 0:
            let input: Tensor? = handle()
            let null = nullOut()
            try tensorCall("unetseg_model_forward", nullOut: null) { unetseg_model_forward(m, input, $0) }
        case 1:
            let (n, h, w) = (reader.size(), reader.size(), reader.size())
            // The model reads n × channels_in × h × w floats: room for the most channels (16) any model has.
            let fill = reader.float()
            let images = Self.elements([n, 16, h, w]).flatMap { count in
                count >= 0 && count <= CAPIFuzzing.largestBuffer ? [Float](repeating: fill, count: Int(count)) : nil
            }
            let capacity = reader.size()
            var out = [Float](repeating: 0, count: Int(min(max(capacity, 0), Int64(CAPIFuzzing.largestBuffer))))
            try plain("unetseg_model_predict", unetseg_model_predict(m, images, n, h, w, &out, Int64(out.count)))
        case 2:
            var data = [Float](repeating: 0, count: Int(min(max(reader.size(), 0), Int64(CAPIFuzzing.largestBuffer))))
            try plain("unetseg_model_parameter_get", unetseg_model_parameter_get(m, index, &data, Int64(data.count)))
        case 3:
            let data = buffer(reader.size()) ?? []
            try plain("unetseg_model_parameter_set", unetseg_model_parameter_set(m, index, data, Int64(data.count)))
        default:
            try plain("unetseg_model_zero_grad", unetseg_model_zero_grad(m))
        }
    }

    /// Saving to and loading from the fixture's paths (a model file, a folder, a missing path, "" or NULL).
    mutating func modelFile() throws(FuzzViolation) {
        let save = reader.bool()
        let m: Model? = handle()
        let path = fixture.path(reader.byte())
        guard var params = modelParams() else { return }
        let passParams = reader.bool()
        if save {
            try plain("unetseg_model_save", unetseg_model_save(m, path))
        } else {
            var out: Model?
            let status = passParams ? unetseg_model_load(path, &params, &out) : unetseg_model_load(path, nil, &out)
            try checkMade(.model, status, out, "unetseg_model_load")
        }
    }

    mutating func sgd() throws(FuzzViolation) {
        let op = reader.byte() % 3
        var params = unetseg_sgd_default_params()
        params.lr = reader.float()
        params.momentum = reader.float()
        params.dampening = reader.float()
        params.weight_decay = reader.float()
        params.nesterov = reader.bool()
        switch op {
        case 0:
            let m: Model? = handle()
            var out: UnsafeMutablePointer<unetseg_sgd>?
            try checkMade(.sgd, unetseg_sgd_create(m, &params, &out), out, "unetseg_sgd_create")
        case 1:
            let o: UnsafeMutablePointer<unetseg_sgd>? = handle()
            try plain("unetseg_sgd_step", unetseg_sgd_step(o))
        default:
            let o: UnsafeMutablePointer<unetseg_sgd>? = handle()
            try plain("unetseg_sgd_zero_grad", unetseg_sgd_zero_grad(o))
        }
    }

    mutating func oneCycle() throws(FuzzViolation) {
        let op = reader.byte() % 4
        var params = unetseg_one_cycle_default_params()
        params.max_lr = Double(reader.float())
        params.epochs = Int32(truncatingIfNeeded: reader.size())
        params.steps_per_epoch = Int32(truncatingIfNeeded: reader.size())
        params.pct_start = Double(reader.float())
        params.div_factor = Double(reader.float())
        params.final_div_factor = Double(reader.float())
        params.base_momentum = Double(reader.float())
        params.max_momentum = Double(reader.float())
        params.cycle_momentum = reader.bool()
        switch op {
        case 0:
            let o: UnsafeMutablePointer<unetseg_sgd>? = handle()
            var out: UnsafeMutablePointer<unetseg_one_cycle>?
            try checkMade(.oneCycle, unetseg_one_cycle_create(o, &params, &out), out, "unetseg_one_cycle_create")
        case 1:
            let s: UnsafeMutablePointer<unetseg_one_cycle>? = handle()
            try plain("unetseg_one_cycle_step", unetseg_one_cycle_step(s))
        case 2:
            let s: UnsafeMutablePointer<unetseg_one_cycle>? = handle()
            var lr = 0.0
            try plain("unetseg_one_cycle_get_lr", unetseg_one_cycle_get_lr(s, &lr))
        default:
            let s: UnsafeMutablePointer<unetseg_one_cycle>? = handle()
            var momentum = 0.0
            try plain("unetseg_one_cycle_get_momentum", unetseg_one_cycle_get_momentum(s, &momentum))
        }
    }

    mutating func loss() throws(FuzzViolation) {
        let op = reader.byte() % 3
        let p: Tensor? = handle(), t: Tensor? = handle()
        let weight = reader.float()
        switch op {
        case 0:
            let null = nullOut()
            try tensorCall("unetseg_loss_bce", nullOut: null) { unetseg_loss_bce(p, t, $0) }
        case 1:
            let null = nullOut()
            try tensorCall("unetseg_loss_dice", nullOut: null) { unetseg_loss_dice(p, t, $0) }
        default:
            var total: Tensor?, bce: Tensor?, dice: Tensor?
            let status = unetseg_loss_combined(p, t, weight, &total, &bce, &dice)
            try checkStatus(status, "unetseg_loss_combined")
            for out in [total, bce, dice] {
                if (status == 0) != (out != nil) { throw FuzzViolation("unetseg_loss_combined: status \(status) with handle \(String(describing: out))") }
                if let out { keep(.tensor, out) }
            }
        }
    }

    mutating func augmentation() throws(FuzzViolation) {
        let op = reader.byte() % 6
        let image: Tensor? = handle(), mask: Tensor? = handle()
        let value = reader.float()
        try tensorPair("augmentation op \(op)") { a, b in
            switch op {
            case 0: unetseg_augmentation_hflip(image, mask, a, b)
            case 1: unetseg_augmentation_resize(image, mask, value, a, b)
            case 2: unetseg_augmentation_rotate(image, mask, value, a, b)
            case 3: unetseg_augmentation_random_flip(image, mask, value, a, b)
            case 4: unetseg_augmentation_random_resize(image, mask, value, a, b)
            default: unetseg_augmentation_random_rotate(image, mask, value, a, b)
            }
        }
    }
}
