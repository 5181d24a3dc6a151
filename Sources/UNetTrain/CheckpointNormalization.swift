import UNetData
import UNetNN
import UNetTensor
import _UNetSupport

/// The intensity normalisation a model was trained with, recorded in its checkpoints so that evaluation and
/// prediction read data the same way.
extension Checkpoint {
    /// The `__metadata__` key holding the normalisation's name (`IntensityNormalization`).
    public static let normalizationKey = "normalization"

    /// The metadata recording `normalization`: none for `minmax`, so that the post's checkpoints stay as they
    /// were (a checkpoint without the key was trained with min-max scaling).
    public static func normalizationMetadata(_ normalization: IntensityNormalization) -> [String: String] {
        normalization == .minmax ? [:] : [normalizationKey: normalization.rawValue]
    }

    /// The normalisation recorded in `file` (read from `source`): its value, `minmax` for one of our files
    /// without the key, nil for a file without our metadata (a PyTorch `state_dict`), which records nothing.
    /// An unknown value is `.format` naming the file.
    public static func storedNormalization(_ file: SafeTensorsFile, source: String) throws(UnetsegError) -> IntensityNormalization? {
        guard let name = file.metadata[normalizationKey] else {
            return file.metadata["format"] == format ? .minmax : nil
        }
        do { return try IntensityNormalization(named: name) } catch { throw .format("\(source): \(error.message)") }
    }

    /// The normalisation to read data with for a model that was trained with `trained` (nil: not recorded)
    /// and saved in `source`: `requested` when given, else the recorded one, else `minmax`. A `requested`
    /// that differs from the recorded one is refused (`.invalidArgument`): the data would not be scaled as
    /// the model learnt it.
    public static func normalization(requested: IntensityNormalization?, trained: IntensityNormalization?,
                                     source: String) throws(UnetsegError) -> IntensityNormalization {
        guard let trained else { return requested ?? .minmax }
        if let requested, requested != trained {
            throw .invalidArgument("\(source) was trained with normalization \(trained.rawValue), not \(requested.rawValue): "
                + "leave the normalization out to use the model's")
        }
        return trained
    }

    /// The model saved at `path` (see `load(_:config:)`) and the normalisation it was trained with (nil when
    /// the file does not record one).
    public static func loadRecordingNormalization(_ path: String, config: UNetConfig? = nil)
        throws(UnetsegError) -> (model: UNet, normalization: IntensityNormalization?) {
        let file = try SafeTensors.read(path: path)
        return (try model(from: file, source: path, config: config), try storedNormalization(file, source: path))
    }
}
