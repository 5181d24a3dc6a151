import CUNetSegTypes
import UNetNN
import UNetTensor
import UNetTrain
import _UNetSupport

// R (.C): the post's U-Net: creation, forward, modes, parameters, files. The work is that of the pointer
// API's unetseg_model_* (the Swift helpers they call), on the objects R's integer handles stand for.

/// R (.C): a U-Net with config = (channels_in, n_classes, depth, n_filters, batch_norm 0 or 1), *dropout
/// and *seed (-1: the global generator, see unetseg_r_manual_seed; else a whole number), as
/// unetseg_model_create. New handle in *out_model.
@c public func unetseg_r_model_create(_ config: UnsafePointer<Int32>?, _ dropout: UnsafePointer<Double>?,
                                      _ seed: UnsafePointer<Double>?, _ out_model: UnsafeMutablePointer<Int32>?,
                                      _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let c = try nonNull(config, "config")
        let s = try doubleFromR(seed, "seed")
        try checkArgument(s == -1 || (s >= 0 && s <= 0x1p53 && s.rounded() == s), "seed must be -1 or a whole number in 0...2^53, got \(s)")
        try checkArgument(c[4] == 0 || c[4] == 1, "batch_norm must be TRUE or FALSE, got \(c[4])")
        let params = unetseg_model_params(channels_in: c[0], n_classes: c[1], depth: c[2], n_filters: c[3],
                                          dropout: try rFloat(dropout, "dropout"), seed: Int64(s),
                                          batch_norm: c[4] == 1)
        try rReturn(try params.makeModel(), to: out_model, "out_model")
    }
}

/// R (.C): frees model handle *model (0 and dead handles are ignored).
@c public func unetseg_r_model_free(_ model: UnsafePointer<Int32>?, _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in rRelease(model, ModelHandle.self, function: #function) }
}

/// R (.C): writes the model's (channels_in, n_classes, depth, n_filters, batch_norm 0 or 1) into out_config
/// and its dropout into *out_dropout.
@c public func unetseg_r_model_config(_ model: UnsafePointer<Int32>?, _ out_config: UnsafeMutablePointer<Int32>?,
                                      _ out_dropout: UnsafeMutablePointer<Double>?, _ message: RString?,
                                      _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let params = try rModel(model).params
        let out = try nonNull(out_config, "out_config")
        (out[0], out[1], out[2], out[3]) = (params.channels_in, params.n_classes, params.depth, params.n_filters)
        out[4] = params.batch_norm ? 1 : 0
        try nonNull(out_dropout, "out_dropout").pointee = doubleForR(params.dropout)
    }
}

/// R (.C): runs the model on *input [N, channels_in, H, W] and returns the probabilities [N, n_classes, H,
/// W] as a new handle in *out_tensor (model(x)), as unetseg_model_forward.
@c public func unetseg_r_model_forward(_ model: UnsafePointer<Int32>?, _ input: UnsafePointer<Int32>?,
                                       _ out_tensor: UnsafeMutablePointer<Int32>?, _ message: RString?,
                                       _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let handle = try rModel(model)
        let x = try rTensor(input, "input")
        try rReturn(try handle.forward(x), to: out_tensor, "out_tensor")
    }
}

/// R (.C): training mode (dropout active) when *training is 1, evaluation mode when 0 (model$train(),
/// model$eval()).
@c public func unetseg_r_model_set_training(_ model: UnsafePointer<Int32>?, _ training: UnsafePointer<Int32>?,
                                            _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let network = try rModel(model).model
        if try rBool(training, "training") { network.train() } else { network.eval() }
    }
}

/// R (.C): writes 1 into *out_training in training mode, 0 in evaluation mode.
@c public func unetseg_r_model_is_training(_ model: UnsafePointer<Int32>?, _ out_training: UnsafeMutablePointer<Int32>?,
                                           _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        try nonNull(out_training, "out_training").pointee = try rModel(model).model.isTraining ? 1 : 0
    }
}

/// R (.C): writes the number of named parameter tensors (state_dict entries) into *out_count and of their
/// elements into *out_elements.
@c public func unetseg_r_model_parameter_count(_ model: UnsafePointer<Int32>?, _ out_count: UnsafeMutablePointer<Int32>?,
                                               _ out_elements: UnsafeMutablePointer<Double>?, _ message: RString?,
                                               _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let handle = try rModel(model)
        try nonNull(out_count, "out_count").pointee = Int32(clamping: handle.parameters.count)
        try nonNull(out_elements, "out_elements").pointee = Double(handle.model.parameterCount)
    }
}

/// R (.C): parameter *index (0-based, torch's named_parameters() order): its state_dict name into
/// *out_name (R passes 128 characters) and a new handle to the parameter tensor itself (not a copy: an
/// optimiser over it updates the model) in *out_tensor.
@c public func unetseg_r_model_parameter(_ model: UnsafePointer<Int32>?, _ index: UnsafePointer<Int32>?,
                                         _ out_name: RString?, _ out_tensor: UnsafeMutablePointer<Int32>?,
                                         _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        try rNamedEntry(try rModel(model).parameters, index, out_name, out_tensor)
    }
}

/// Entry *index of `entries` (a model's parameters or buffers): its name into *out_name and a new handle
/// to the tensor itself in *out_tensor.
private func rNamedEntry(_ entries: [(name: String, tensor: Tensor)], _ index: UnsafePointer<Int32>?,
                         _ out_name: RString?, _ out_tensor: UnsafeMutablePointer<Int32>?) throws(UnetsegError) {
    let i = try indexArgument(try nonNull(index, "index").pointee, count: entries.count)
    try rWrite(entries[i].name, to: out_name, "out_name")
    try rReturn(entries[i].tensor, to: out_tensor, "out_tensor")
}

/// R (.C): writes the number of named buffers (batch norms' running statistics; 0 without batch norm) into
/// *out_count, as unetseg_model_named_buffer_count.
@c public func unetseg_r_model_buffer_count(_ model: UnsafePointer<Int32>?, _ out_count: UnsafeMutablePointer<Int32>?,
                                            _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        try nonNull(out_count, "out_count").pointee = Int32(clamping: try rModel(model).buffers.count)
    }
}

/// R (.C): buffer *index (0-based, torch's named_buffers() order): its state_dict name into *out_name (R
/// passes 128 characters) and a new handle to the buffer tensor itself (not a copy) in *out_tensor.
@c public func unetseg_r_model_buffer(_ model: UnsafePointer<Int32>?, _ index: UnsafePointer<Int32>?,
                                      _ out_name: RString?, _ out_tensor: UnsafeMutablePointer<Int32>?,
                                      _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        try rNamedEntry(try rModel(model).buffers, index, out_name, out_tensor)
    }
}

/// R (.C): saves the model to *path as safetensors (torch_save), as unetseg_model_save.
@c public func unetseg_r_model_save(_ model: UnsafePointer<Int32>?, _ path: RString?, _ message: RString?,
                                    _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let handle = try rModel(model)
        try handle.save(to: try rPath(path, "path"))
    }
}

/// R (.C): loads a model saved by unetseg_r_model_save or unetseg_model_save from *path (torch_load), as
/// unetseg_model_load without params. New handle in *out_model (in training mode).
@c public func unetseg_r_model_load(_ path: RString?, _ out_model: UnsafeMutablePointer<Int32>?, _ message: RString?,
                                    _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let file = try rPath(path, "path")
        try rReturn(try ModelHandle.load(from: file, config: nil), to: out_model, "out_model")
    }
}

/// R (.C): drops the gradients of all the model's parameters (model$zero_grad()).
@c public func unetseg_r_model_zero_grad(_ model: UnsafePointer<Int32>?, _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in try rModel(model).model.zeroGrad() }
}
