import CUNetSegTypes
import UNetNN
import UNetTensor
import UNetTrain
import _UNetSupport

// The model: creation, forward, modes, named parameters (for state_dict round trips), files, prediction.

/// The `unetseg_model **` out-parameter of the functions that make a model.
public typealias ModelOut = UnsafeMutablePointer<UnsafeMutablePointer<unetseg_model>?>

extension unetseg_model_params {
    /// The U-Net configuration these parameters describe, validated.
    func validatedConfig() throws(UnetsegError) -> UNetConfig {
        let config = UNetConfig(channelsIn: Int(channels_in), nClasses: Int(n_classes), depth: Int(depth),
                                nFilters: Int(n_filters), dropout: dropout, batchNorm: batch_norm)
        try config.validate()
        return config
    }

    /// A new U-Net of this shape (validated), initialised from `seed`, or from the global generator for -1:
    /// the work of unetseg_model_create.
    func makeModel() throws(UnetsegError) -> ModelHandle {
        let config = try validatedConfig()
        try checkArgument(seed >= -1, "seed must be -1 (global generator) or >= 0, got \(seed)")
        if seed == -1 { return ModelHandle(try UNet(config), seed: -1) }
        var generator = RandomGenerator(seed: UInt64(seed))
        return ModelHandle(try UNet(config, generator: &generator), seed: seed)
    }

    /// The parameters describing `config` and `seed`.
    init(_ config: UNetConfig, seed: Int64) {
        self.init(channels_in: Int32(clamping: config.channelsIn), n_classes: Int32(clamping: config.nClasses),
                  depth: Int32(clamping: config.depth), n_filters: Int32(clamping: config.nFilters),
                  dropout: config.dropout, seed: seed, batch_norm: config.batchNorm)
    }
}

extension ModelHandle {
    /// Throws `outOfMemory` when a batch of `batch` images of `height`×`width` would need activations of
    /// more elements than a tensor may hold (the widest is the last up block's concatenation, twice the
    /// first level's channels at full resolution).
    func requireActivationsFit(batch: Int, height: Int, width: Int) throws(UnetsegError) {
        let widest = Shape.elementCount([batch, 2 * model.config.channels(level: 1), height, width])
        guard let widest, widest <= TensorStorage.maximumCount else {
            throw .outOfMemory("a batch of \(batch) images of \(height)x\(width) needs activations of more than \(TensorStorage.maximumCount) elements; use smaller batches")
        }
    }

    /// The model's probabilities for `x`, once its shape and size are checked: the work of
    /// unetseg_model_forward (C, Python and R).
    ///
    /// In training mode, a model made from the library's generator (seed -1: made without a seed, or
    /// loaded) draws its dropout masks from that generator (`unetseg_manual_seed`), as torch's dropout draws
    /// from its global one: after the same seed, the post's model written with the layer ops (whose dropout
    /// draws from it too) gives bit-identical outputs. The generator is held for the pass, so that
    /// concurrent passes draw one after the other. A model made with a seed draws from a stream of its
    /// seed, as the trainer's model does, so that a loop written by hand reproduces `unetseg_train`.
    func forward(_ x: Tensor) throws(UnetsegError) -> Tensor {
        try model.validateInput(x)
        try requireActivationsFit(batch: x.shape[0], height: x.shape[2], width: x.shape[3])
        guard model.isTraining, model.config.dropout > 0, seed < 0 else { return try model(x) }
        return try defaultGenerator.withLock { (generator: inout RandomGenerator) throws(UnetsegError) -> Tensor in
            model.dropoutRandomness.generator = generator
            defer { generator = model.dropoutRandomness.generator }
            return try model(x)
        }
    }

    /// The parameters describing this model's shape and seed: what unetseg_model_get_params writes.
    var params: unetseg_model_params { unetseg_model_params(model.config, seed: seed) }

    /// Saves the model to `file` as safetensors (and logs it): the work of unetseg_model_save.
    func save(to file: String) throws(UnetsegError) {
        try Checkpoint.save(model, to: file)
        Log.emit(UNETSEG_LOG_INFO, "saved the model to \(file)")
    }

    /// The model saved in `file`, of shape `config` when given (and logs it): the work of
    /// unetseg_model_load.
    static func load(from file: String, config: UNetConfig?) throws(UnetsegError) -> ModelHandle {
        let (model, normalization) = try Checkpoint.loadRecordingNormalization(file, config: config)
        let handle = ModelHandle(model, seed: -1, normalization: normalization)
        Log.emit(UNETSEG_LOG_INFO, "loaded a model of \(handle.model.parameterCount) parameters from \(file)")
        return handle
    }
}

/// The post's model: channels_in 3, n_classes 1, depth 5, n_filters 6 (64 first channels), dropout 0.6,
/// seed -1 (initial weights from the global generator, see unetseg_manual_seed), batch_norm false.
@c public func unetseg_model_default_params() -> unetseg_model_params {
    unetseg_model_params(UNetConfig(), seed: -1)
}

/// Makes a U-Net with the shape in params, initialised as torch initialises the post's model, in training
/// mode (dropout active).
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_model (free it with unetseg_model_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a field out of range (the message names it).
@c public func unetseg_model_create(_ params: UnsafePointer<unetseg_model_params>?, _ out_model: ModelOut?) -> Int32 {
    returningHandle(out_model, "out_model", function: #function) { () throws(UnetsegError) in
        try nonNull(params, "params").pointee.makeModel()
    }
}

/// Frees a model handle. NULL is accepted and ignored; a handle that is not live is ignored with a
/// warning. Tensors it made and optimisers over its parameters stay valid.
@c public func unetseg_model_free(_ model: UnsafeMutablePointer<unetseg_model>?) {
    Handles.release(UnsafeRawPointer(model), ModelHandle.self, #function)
}

/// Writes model's shape into *out_params; seed is the one it was created with (-1 for the global
/// generator or a loaded model).
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_model_get_params(_ model: UnsafePointer<unetseg_model>?,
                                        _ out_params: UnsafeMutablePointer<unetseg_model_params>?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let handle = try Handles.model(model)
        try nonNull(out_params, "out_params").pointee = handle.params
    }
}

/// Runs the model on input [N, channels_in, H, W] (H and W multiples of 2^(depth-1)) and returns the
/// probabilities [N, n_classes, H, W]. In training mode dropout is active: a model created with seed -1
/// or loaded draws its masks from the library's generator (unetseg_manual_seed), as
/// unetseg_tensor_dropout does; one created with a seed draws them from a stream of that seed, as
/// unetseg_train's model. The graph for unetseg_tensor_backward is recorded in either mode.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_tensor (free it with unetseg_tensor_free);
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle or a wrong input shape;
/// UNETSEG_STATUS_OUT_OF_MEMORY for a batch too large.
@c public func unetseg_model_forward(_ model: UnsafeMutablePointer<unetseg_model>?, _ input: UnsafePointer<unetseg_tensor>?,
                                     _ out_tensor: TensorOut?) -> Int32 {
    returningTensor(out_tensor) { () throws(UnetsegError) in
        let handle = try Handles.model(model)
        return try handle.forward(try Handles.tensor(input, "input"))
    }
}

/// Puts the model in training mode (dropout active, batch norms use and update batch statistics), as
/// model$train().
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_model_train(_ model: UnsafeMutablePointer<unetseg_model>?) -> Int32 {
    withStatus { () throws(UnetsegError) in try Handles.model(model).model.train() }
}

/// Puts the model in evaluation mode (dropout is the identity, batch norms use their running statistics),
/// as model$eval().
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_model_eval(_ model: UnsafeMutablePointer<unetseg_model>?) -> Int32 {
    withStatus { () throws(UnetsegError) in try Handles.model(model).model.eval() }
}

/// Writes whether the model is in training mode into *out_training.
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_model_is_training(_ model: UnsafePointer<unetseg_model>?, _ out_training: UnsafeMutablePointer<Bool>?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let handle = try Handles.model(model)
        try nonNull(out_training, "out_training").pointee = handle.model.isTraining
    }
}

/// Drops the gradients of all the model's parameters (as an optimiser's zero_grad).
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_model_zero_grad(_ model: UnsafeMutablePointer<unetseg_model>?) -> Int32 {
    withStatus { () throws(UnetsegError) in try Handles.model(model).model.zeroGrad() }
}

// MARK: - Named parameters

/// Writes the total number of parameter elements (weights and biases) into *out_count.
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_model_parameter_count(_ model: UnsafePointer<unetseg_model>?, _ out_count: UnsafeMutablePointer<Int64>?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let handle = try Handles.model(model)
        try nonNull(out_count, "out_count").pointee = Int64(handle.model.parameterCount)
    }
}

/// Writes the number of named parameter tensors (the entries of the state_dict) into *out_count. They are
/// numbered 0 to count - 1 in the order of torch's named_parameters(). A batch-norm model's buffers
/// (running_mean, running_var, num_batches_tracked) are not parameters: see unetseg_model_named_buffer_count.
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_model_named_parameter_count(_ model: UnsafePointer<unetseg_model>?, _ out_count: UnsafeMutablePointer<Int32>?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let handle = try Handles.model(model)
        try nonNull(out_count, "out_count").pointee = Int32(clamping: handle.parameters.count)
    }
}

/// Copies the name of parameter index (a state_dict key such as "down_path.0.conv_block.conv_block.0.weight")
/// and a NUL into out_name, which holds capacity bytes.
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle, an index out
/// of range or a buffer too small (the message says how many bytes are needed; 128 suffice for the
/// post's model).
@c public func unetseg_model_parameter_name(_ model: UnsafePointer<unetseg_model>?, _ index: Int32,
                                            _ out_name: UnsafeMutablePointer<CChar>?, _ capacity: UInt) -> Int32 {
    withStatus { () throws(UnetsegError) in
        try copyName(of: try Handles.model(model).parameters, index, to: out_name, capacity: capacity)
    }
}

/// Copies the name of entry `index` of `entries` (a model's parameters or buffers) into `out_name`.
private func copyName(of entries: [(name: String, tensor: Tensor)], _ index: Int32, to out_name: UnsafeMutablePointer<CChar>?,
                      capacity: UInt) throws(UnetsegError) {
    try copyOut(entries[try indexArgument(index, count: entries.count)].name, to: out_name, capacity: capacity, "out_name")
}

/// Writes the index of the parameter called name into *out_index.
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle or a name the
/// model does not have.
@c public func unetseg_model_parameter_index(_ model: UnsafePointer<unetseg_model>?, _ name: UnsafePointer<CChar>?,
                                             _ out_index: UnsafeMutablePointer<Int32>?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let handle = try Handles.model(model)
        let key = String(cString: try nonNull(name, "name"))
        let out = try nonNull(out_index, "out_index")
        guard let i = handle.parameters.firstIndex(where: { $0.name == key }) else {
            throw .invalidArgument("the model has no parameter called \"\(key)\"")
        }
        out.pointee = Int32(clamping: i)
    }
}

/// Writes the number of dimensions of parameter index into *out_ndim and its sizes into out_shape, which
/// holds capacity elements (conv weights are [out, in, kh, kw], transposed-conv weights [in, out, kh, kw],
/// biases [out]; 4 always suffice).
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle, an index out
/// of range or a capacity below the parameter's ndim.
@c public func unetseg_model_parameter_shape(_ model: UnsafePointer<unetseg_model>?, _ index: Int32,
                                             _ out_shape: UnsafeMutablePointer<Int64>?, _ capacity: Int32,
                                             _ out_ndim: UnsafeMutablePointer<Int32>?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let handle = try Handles.model(model)
        let tensor = handle.parameters[try indexArgument(index, count: handle.parameters.count)].tensor
        let shape = try nonNull(out_shape, "out_shape"), ndim = try nonNull(out_ndim, "out_ndim")
        try checkArgument(Int(capacity) >= tensor.rank, "out_shape holds \(capacity) sizes, the parameter has \(tensor.rank) dimensions")
        for (i, size) in tensor.shape.enumerated() { shape[i] = Int64(size) }
        ndim.pointee = Int32(tensor.rank)
    }
}

/// Copies the values of parameter index, row-major, into out_data, which holds capacity floats.
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle, an index out
/// of range or a capacity below the parameter's element count.
@c public func unetseg_model_parameter_get(_ model: UnsafePointer<unetseg_model>?, _ index: Int32,
                                           _ out_data: UnsafeMutablePointer<Float>?, _ capacity: Int64) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let handle = try Handles.model(model)
        let tensor = handle.parameters[try indexArgument(index, count: handle.parameters.count)].tensor
        try copyOut(tensor.storage.pointer, count: tensor.count, to: out_data, capacity: capacity, "out_data")
    }
}

/// Overwrites the values of parameter index with count floats from data, row-major (count must be the
/// parameter's element count). Optimiser state (momentum) is kept.
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle, an index out
/// of range or a wrong count (nothing is changed then).
@c public func unetseg_model_parameter_set(_ model: UnsafeMutablePointer<unetseg_model>?, _ index: Int32,
                                           _ data: UnsafePointer<Float>?, _ count: Int64) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let handle = try Handles.model(model)
        let entry = handle.parameters[try indexArgument(index, count: handle.parameters.count)]
        let source = try nonNull(data, "data")
        try checkArgument(count == Int64(entry.tensor.count),
                    "\(entry.name) has \(entry.tensor.count) elements (shape \(Shape.describe(entry.tensor.shape))), got \(count)")
        entry.tensor.storage.pointer.update(from: source, count: entry.tensor.count)
    }
}

/// A new tensor handle to parameter index itself (not a copy): it shares the parameter's storage, requires
/// grad, and unetseg_tensor_grad on it reads the gradient the last backward accumulated into the parameter
/// (torch's model.named_parameters()[name].grad). It keeps the parameter alive after the model is freed;
/// its calls are serialised with the model's.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_tensor (free it with unetseg_tensor_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle or an index out of range.
@c public func unetseg_model_parameter_tensor(_ model: UnsafeMutablePointer<unetseg_model>?, _ index: Int32,
                                              _ out_tensor: TensorOut?) -> Int32 {
    returningHandle(out_tensor, "out_tensor", sharingLockWith: UnsafeRawPointer(model), function: #function) { () throws(UnetsegError) in
        let handle = try Handles.model(model)
        return handle.parameters[try indexArgument(index, count: handle.parameters.count)].tensor
    }
}

// MARK: - Named buffers

/// Writes the number of named buffers into *out_count: state that is saved with the model but not trained
/// (torch's named_buffers()), the batch norms' running_mean, running_var and num_batches_tracked of a model
/// made with batch_norm (0 otherwise). They are numbered 0 to count - 1 in torch's order; a model's
/// state_dict is its parameters and its buffers.
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_model_named_buffer_count(_ model: UnsafePointer<unetseg_model>?, _ out_count: UnsafeMutablePointer<Int32>?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let handle = try Handles.model(model)
        try nonNull(out_count, "out_count").pointee = Int32(clamping: handle.buffers.count)
    }
}

/// Copies the name of buffer index (a state_dict key such as
/// "down_path.0.conv_block.conv_block.1.running_mean") and a NUL into out_name, which holds capacity bytes.
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle, an index out
/// of range or a buffer too small (the message says how many bytes are needed; 128 suffice).
@c public func unetseg_model_buffer_name(_ model: UnsafePointer<unetseg_model>?, _ index: Int32,
                                         _ out_name: UnsafeMutablePointer<CChar>?, _ capacity: UInt) -> Int32 {
    withStatus { () throws(UnetsegError) in
        try copyName(of: try Handles.model(model).buffers, index, to: out_name, capacity: capacity)
    }
}

/// A new tensor handle to buffer index itself (not a copy): it shares the buffer's storage (running
/// statistics are [channels]; num_batches_tracked is 0-dimensional, a float here), needs no grad, and
/// unetseg_tensor_copy_from on it sets the buffer. It keeps the buffer alive after the model is freed; its
/// calls are serialised with the model's.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_tensor (free it with unetseg_tensor_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle or an index out of range.
@c public func unetseg_model_buffer_tensor(_ model: UnsafeMutablePointer<unetseg_model>?, _ index: Int32,
                                           _ out_tensor: TensorOut?) -> Int32 {
    returningHandle(out_tensor, "out_tensor", sharingLockWith: UnsafeRawPointer(model), function: #function) { () throws(UnetsegError) in
        let handle = try Handles.model(model)
        return handle.buffers[try indexArgument(index, count: handle.buffers.count)].tensor
    }
}

// MARK: - Files

/// Saves the model to path as safetensors: exactly the PyTorch state_dict of the post's model (loadable
/// with safetensors.torch.load_file) plus the model's shape in the metadata. Written to a temporary file
/// in the same folder and renamed, so a crash never leaves half a file.
///
/// Returns UNETSEG_STATUS_OK; UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, an empty path or a dead handle;
/// UNETSEG_STATUS_IO when the file cannot be written (the message names it); UNETSEG_STATUS_NUMERIC when a
/// weight is NaN or infinite (the message names the file and the tensor; an existing file is left as it was).
@c public func unetseg_model_save(_ model: UnsafePointer<unetseg_model>?, _ path: UnsafePointer<CChar>?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let handle = try Handles.model(model)
        try handle.save(to: try pathArgument(path))
    }
}

/// Loads a model from a safetensors file. A file written by unetseg_model_save carries its shape: pass
/// NULL params to require that. A state_dict written by PyTorch has none: pass the model's params (seed is
/// ignored); when both exist they must agree (dropout aside, which comes from the file). The model starts
/// in training mode, like a new one. The normalization the file records (unetseg_train_params.normalization;
/// min-max for our files without one) is kept with the model for unetseg_evaluate and unetseg_predict_folder.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_model (free it with unetseg_model_free);
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL out_model or path, params out of range, or a file without
/// our metadata and NULL params; UNETSEG_STATUS_IO for a file that cannot be read (or is not a regular
/// file: a FIFO is refused, never waited on); UNETSEG_STATUS_FORMAT for a file that is not valid
/// safetensors, that records an unknown normalization, whose config is not JSON or declares a model of over 16 Mi parameters that the file does
/// not hold (refused before the model is built), or that does not fit the model (missing, unexpected or mis-shaped tensors, all
/// listed). The message names the file.
@c public func unetseg_model_load(_ path: UnsafePointer<CChar>?, _ params: UnsafePointer<unetseg_model_params>?,
                                  _ out_model: ModelOut?) -> Int32 {
    returningHandle(out_model, "out_model", function: #function) { () throws(UnetsegError) in
        let file = try pathArgument(path)
        let given = try params.map { p throws(UnetsegError) in try p.pointee.validatedConfig() }
        return try ModelHandle.load(from: file, config: given)
    }
}

// MARK: - Prediction

/// Segments n images [n, channels_in, height, width] (float32, row-major, already normalised as for
/// training) from images and writes the probabilities [n, n_classes, height, width] into
/// out_probabilities, which holds capacity floats. Runs in evaluation mode (no dropout; the model's mode
/// is restored afterwards) without recording a graph, a few images at a time.
///
/// Returns UNETSEG_STATUS_OK; UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle, sizes that are
/// not positive or not multiples of 2^(depth-1), or a capacity too small (nothing is written then);
/// UNETSEG_STATUS_OUT_OF_MEMORY for images too large.
@c public func unetseg_model_predict(_ model: UnsafeMutablePointer<unetseg_model>?, _ images: UnsafePointer<Float>?,
                                     _ n: Int64, _ height: Int64, _ width: Int64,
                                     _ out_probabilities: UnsafeMutablePointer<Float>?, _ capacity: Int64) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let handle = try Handles.model(model)
        let model = handle.model, config = model.config
        let input = try nonNull(images, "images"), output = try nonNull(out_probabilities, "out_probabilities")
        try checkArgument(n > 0 && height > 0 && width > 0, "n, height and width must be > 0, got \(n), \(height), \(width)")
        let (count, h, w) = (Int(n), Int(height), Int(width))
        guard let inputCount = Shape.elementCount([count, config.channelsIn, h, w]),
              let outputCount = Shape.elementCount([count, config.nClasses, h, w]) else {
            throw .invalidArgument("\(n) images of \(height)x\(width) are too many elements")
        }
        try checkArgument(capacity >= Int64(outputCount),
                    "out_probabilities holds \(capacity) floats, \(outputCount) are needed ([\(n), \(config.nClasses), \(height), \(width)])")
        let batch = min(count, 4)
        try handle.requireActivationsFit(batch: batch, height: h, width: w)
        let wasTraining = model.isTraining
        model.eval()
        defer { if wasTraining { model.train() } }
        let imageSize = inputCount / count, maskSize = outputCount / count
        try Autograd.withNoGrad { () throws(UnetsegError) in
            for start in stride(from: 0, to: count, by: batch) {
                let size = min(batch, count - start)
                let x = try Tensor(copying: input + start * imageSize, shape: [size, config.channelsIn, h, w])
                let y = try model(x)
                (output + start * maskSize).update(from: y.storage.pointer, count: y.count)
            }
        }
    }
}
