import UNetNN
import UNetTensor
import UNetTrain

/// safetensors decoding of arbitrary bytes (header JSON, dtypes, shapes, offsets), then what a checkpoint
/// load does with a decoded file: tensors whose sizes match their shapes and that re-encode to the same
/// names, shapes and metadata, or an error naming the file.
enum SafeTensorsFuzzing {
    /// The name the input goes by in errors.
    static let source = "fuzz-input.safetensors"

    /// Models up to this many parameters are built from a decoded file; larger (valid) configurations
    /// only have their configuration checked, so that one input stays well under a second.
    static let largestModelBuilt = 1 << 16

    static func run(_ input: [UInt8]) throws(FuzzViolation) {
        let file: SafeTensorsFile
        do { file = try SafeTensors.decode(input, source: source) } catch { return try requireNamed(source, in: error) }
        for (name, tensor) in file.tensors where tensor.count != tensor.shape.reduce(1, *) {
            throw FuzzViolation("tensor \(name) of shape \(tensor.shape) holds \(tensor.count) values")
        }
        try checkReencoding(file)
        do {
            guard let config = try Checkpoint.storedConfig(file, source: source),
                  config.parameterCount <= largestModelBuilt else { return }
            _ = try Checkpoint.model(from: file, source: source)
        } catch {
            try requireNamed(source, in: error)
        }
    }

    private static func checkReencoding(_ file: SafeTensorsFile) throws(FuzzViolation) {
        let again: SafeTensorsFile
        do {
            again = try SafeTensors.decode(try SafeTensors.encode(file.tensors.map { ($0.name, $0.tensor) },
                                                                  metadata: file.metadata), source: source)
        } catch {
            throw FuzzViolation("a decoded file does not encode and decode again: \(error.message)")
        }
        // The writer lays tensors out sorted by name, so the order may change; names and shapes may not.
        func shapes(_ f: SafeTensorsFile) -> [String: [Int]] {
            Dictionary(f.tensors.map { ($0.name, $0.tensor.shape) }, uniquingKeysWith: { a, _ in a })
        }
        guard again.metadata == file.metadata, again.tensors.count == file.tensors.count, shapes(again) == shapes(file) else {
            throw FuzzViolation("a decoded file changes when encoded and decoded again")
        }
    }
}
