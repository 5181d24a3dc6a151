import UNetNN
import UNetTensor
import _UNetSupport

/// Model checkpoints as safetensors files holding exactly the PyTorch `state_dict` of the post's model, so
/// that `model.load_state_dict(safetensors.torch.load_file(path))` works in PyTorch, plus `__metadata__`
/// with `format: unetseg`, `format_version` and the model configuration as JSON (`config`).
public enum Checkpoint {
    /// The value of `__metadata__["format"]`.
    public static let format = "unetseg"
    /// The version of this layout, in `__metadata__["format_version"]`.
    public static let formatVersion = 1

    /// The configuration as the JSON object stored in `__metadata__["config"]`. "batch_norm" is written only
    /// when true, so that the post's model keeps the exact metadata (and training fingerprint) it had
    /// before the option existed.
    public static func configJSON(_ config: UNetConfig) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("channels_in", .number(Double(config.channelsIn))), ("n_classes", .number(Double(config.nClasses))),
            ("depth", .number(Double(config.depth))), ("n_filters", .number(Double(config.nFilters))),
            ("dropout", .number(Double("\(config.dropout)") ?? Double(config.dropout))),  // 0.6, not 0.6000000238
        ]
        if config.batchNorm { members.append(("batch_norm", .bool(true))) }
        return .object(members)
    }

    /// Reads a configuration from its JSON object; `source` names the file for errors.
    public static func config(from json: JSONValue, source: String) throws(UnetsegError) -> UNetConfig {
        func integer(_ key: String) throws(UnetsegError) -> Int {
            guard let v = json[key]?.intValue else { throw .format("\(source): model config has no integer \"\(key)\"") }
            return v
        }
        guard let dropout = json["dropout"]?.doubleValue else { throw .format("\(source): model config has no \"dropout\"") }
        // Files written before the batch-norm variant have no "batch_norm": the post's model.
        let batchNorm = json["batch_norm"] ?? .bool(false)
        guard let batchNorm = batchNorm.boolValue else { throw .format("\(source): model config's \"batch_norm\" is not true or false") }
        let config = UNetConfig(channelsIn: try integer("channels_in"), nClasses: try integer("n_classes"),
                                depth: try integer("depth"), nFilters: try integer("n_filters"), dropout: Float(dropout),
                                batchNorm: batchNorm)
        do { try config.validate() } catch { throw .format("\(source): \(error.message)") }
        return config
    }

    /// Writes `model`'s parameters and configuration to `path` (atomically). A model holding a NaN or an
    /// infinity is refused with `.numeric` naming the file and the tensor, and `path` is left as it was: a
    /// diverged model never replaces a good checkpoint.
    public static func save(_ model: UNet, to path: String, metadata extra: [String: String] = [:]) throws(UnetsegError) {
        let tensors = model.stateDict()
        if let bad = tensors.first(where: { $0.tensor.containsNonFinite }) {
            throw .numeric("cannot write \(path): \(bad.name) holds NaN or infinite values (the file was left as it was)")
        }
        var metadata = extra
        metadata["format"] = format
        metadata["format_version"] = String(formatVersion)
        metadata["config"] = configJSON(model.config).serialized(pretty: false)
        try SafeTensors.write(tensors.map { ($0.name, $0.tensor) }, metadata: metadata, to: path)
    }

    /// The configuration stored in a file's metadata, or nil for a file without ours (e.g. written by PyTorch).
    public static func storedConfig(_ file: SafeTensorsFile, source: String) throws(UnetsegError) -> UNetConfig? {
        guard let text = file.metadata["config"] else { return nil }
        let json: JSONValue
        do { json = try JSONValue.parse(text) } catch {
            throw .format("\(source): its model config is not valid JSON: \(error.message)")
        }
        return try config(from: json, source: source)
    }

    /// Parameters a model may declare beyond those its file holds and still be built (to list what does not
    /// fit): 16 Mi, 64 MiB of weights. Larger models must be backed by the file's tensors.
    public static let unbackedParameterAllowance = 1 << 24

    /// Loads a model from `path`. The configuration comes from the file's metadata; a file without it (a
    /// `state_dict` saved by PyTorch) needs `config`. When both exist they must agree (dropout aside).
    public static func load(_ path: String, config given: UNetConfig? = nil) throws(UnetsegError) -> UNet {
        try model(from: try SafeTensors.read(path: path), source: path, config: given)
    }

    /// The model in `file`, already read from `path`, as `load(_:config:)`.
    public static func model(from file: SafeTensorsFile, source path: String,
                             config given: UNetConfig? = nil) throws(UnetsegError) -> UNet {
        let stored = try storedConfig(file, source: path)
        guard let config = stored ?? given else {
            throw .invalidArgument("\(path) has no unetseg model config in its metadata; pass the model's config (depth, n_filters, ...)")
        }
        if let stored, let given {
            var a = stored, b = given
            a.dropout = 0; b.dropout = 0
            try checkArgument(a == b, "\(path) holds a model with config \(stored), not \(given)")
        }
        // A few bytes of config can declare a model of gigabytes: refuse a large one the file cannot hold
        // before building it. Smaller ones are built, so that loadStateDict lists every missing, unexpected
        // or mis-shaped tensor.
        let held = file.tensors.reduce(0) { $0 + $1.tensor.count }
        guard config.parameterCount <= max(held, unbackedParameterAllowance) else {
            throw .format("\(path): its model config (depth \(config.depth), n_filters \(config.nFilters), "
                + "channels_in \(config.channelsIn), n_classes \(config.nClasses)) declares "
                + "\(config.parameterCount) parameters, but the file holds \(held) values; refused before "
                + "building the model")
        }
        var generator = RandomGenerator(seed: 0)
        let model = try UNet(config, generator: &generator)
        do {
            try model.loadStateDict(file.tensors)
        } catch {
            throw .format("\(path): \(error.message)")
        }
        return model
    }
}
