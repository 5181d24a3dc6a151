import UNetNN
import UNetTensor
import _UNetSupport

/// What `--resume` needs besides the model weights, saved as `training_state.safetensors` in the run folder:
/// the optimiser's state (SGD's momentum buffers as tensors `momentum.<parameter name>`; Adam's moments as
/// `exp_avg.<name>` and `exp_avg_sq.<name>` and its steps in the metadata) and, in the metadata, where the run stands
/// (next epoch and batch, scheduler step, the dropout generator's position), the losses of a partly done
/// epoch, the history so far, the name of the model file with the matching weights, and the options that
/// must not change when resuming. Package-visible for the fuzz target over its loader.
package struct TrainingState {
    package static let fileName = "training_state.safetensors"
    static let format = "unetseg-training-state"
    /// The metadata key of a model file written for resuming: the position (`"<epoch>:<batch>"`, as
    /// `position`) its weights belong to. Resume compares it with the state's, so weights saved just before
    /// a crash cannot be paired with an older state (which would replay batches).
    static let positionKey = "resume_position"

    /// A position as stored under `positionKey`: the next epoch and batch, `"<epoch>:<batch>"`.
    static func position(epoch: Int, batch: Int) -> String { "\(epoch):\(batch)" }

    /// Where this state stands, as `position(epoch:batch:)`.
    var position: String { Self.position(epoch: epoch, batch: batch) }

    /// 1-based epoch to run next.
    var epoch: Int
    /// 0-based batch of `epoch` to run next.
    var batch: Int
    var schedulerStep: Int
    var dropout: RandomGenerator
    var partialLosses: [LossSummary]
    var history: [EpochReport]
    /// File in the run folder with the weights at this point.
    var modelFile: String
    /// The options that define the run, as JSON text.
    var fingerprint: String
    /// The optimiser's buffers and counters (`Optimizer.state(parameterNames:)`).
    var optimizerState: OptimizerState

    func save(to path: String) throws(UnetsegError) {
        var metadata: [String: String] = [
            "format": Self.format, "format_version": "1",
            "epoch": String(epoch), "batch": String(batch), "scheduler_step": String(schedulerStep),
            "dropout_seed": String(dropout.seed), "dropout_position": String(dropout.position),
            "partial_losses": JSONValue.array(partialLosses.map(\.json)).serialized(pretty: false),
            "history": JSONValue.array(history.map(\.json)).serialized(pretty: false),
            "model_file": modelFile, "options": fingerprint,
        ]
        metadata.merge(optimizerState.metadata) { ours, _ in ours }
        try SafeTensors.write(optimizerState.tensors, metadata: metadata, to: path)
    }

    package static func load(from path: String) throws(UnetsegError) -> TrainingState {
        let file = try SafeTensors.read(path: path)
        let m = file.metadata
        func field(_ key: String) throws(UnetsegError) -> String {
            guard let v = m[key] else { throw .format("\(path): training state has no \"\(key)\"") }
            return v
        }
        func integer(_ key: String) throws(UnetsegError) -> Int {
            guard let v = Int(try field(key)), v >= 0 else { throw .format("\(path): \"\(key)\" is not a count") }
            return v
        }
        func unsigned(_ key: String) throws(UnetsegError) -> UInt64 {
            guard let v = UInt64(try field(key)) else { throw .format("\(path): \"\(key)\" is not a number") }
            return v
        }
        guard m["format"] == format else { throw .format("\(path) is not a unetseg training state") }
        let partialText = try field("partial_losses")
        let partialJSON: JSONValue
        do { partialJSON = try JSONValue.parse(partialText) } catch {
            throw .format("\(path): partial_losses is not valid JSON: \(error.message)")
        }
        guard let partial = partialJSON.arrayValue?.compactMap(LossSummary.init(json:)) else {
            throw .format("\(path): malformed partial_losses")
        }
        let modelFile = try field("model_file")
        try checkArgument(!modelFile.contains("/") && !modelFile.isEmpty, "\(path): model_file must be a file name in the run folder")
        return TrainingState(
            epoch: try integer("epoch"), batch: try integer("batch"), schedulerStep: try integer("scheduler_step"),
            dropout: RandomGenerator(seed: try unsigned("dropout_seed"), position: try unsigned("dropout_position")),
            partialLosses: partial, history: try TrainingLog.parse(try field("history"), source: path),
            modelFile: modelFile, fingerprint: try field("options"),
            optimizerState: OptimizerState(tensors: file.tensors.map { ($0.name, $0.tensor) }, metadata: m))
    }
}
