#if canImport(Glibc)
import Glibc
#endif
import UNetTensor
import _UNetSupport

/// One fuzz target: a function from arbitrary bytes to a check of what the library did with them.
///
/// Each target feeds its input to one reader of untrusted data (a TIFF file, a safetensors file, JSON text,
/// a training state, a dataset folder) or drives the C API, and throws a `FuzzViolation` when the library
/// broke a promise without crashing (an error that does not name the file, a result inconsistent with
/// itself, a leaked handle). A crash, a hang or a huge allocation is left to libFuzzer and AddressSanitizer
/// to catch.
enum FuzzTarget: String, CaseIterable {
    /// The memory limit of the library's calls while fuzzing, unless UNETSEG_MEMORY_LIMIT is set: a
    /// request within the default limit (3/4 of physical memory) can be legitimate and still take seconds
    /// in this unoptimised AddressSanitizer build (zeroing a large tensor; a binary cross-entropy over 64 Mi
    /// elements took 15 s), which libFuzzer reports as a hang. With this limit such requests take the
    /// refusal path (an out-of-memory error), which is what the targets check, and runs stay fast.
    static let memoryLimit = "64M"

    /// Sets up the process for fuzzing or replay: applies `memoryLimit`.
    static func prepareProcess() {
        setenv(MemoryBudget.environmentVariable, memoryLimit, 0)
    }

    case tiff
    case safetensors
    case json
    case trainingState = "training-state"
    case datasetFolder = "dataset-folder"
    case cAPI = "c-api"

    /// The largest input libFuzzer should build for this target (`-max_len`): room for the seeds and for
    /// mutations that grow them, small enough to keep runs fast.
    var maximumInputLength: Int {
        switch self {
        case .tiff: 16_384
        case .safetensors, .trainingState: 8_192
        case .json: 4_096
        case .datasetFolder: 16_384
        case .cAPI: 2_048
        }
    }

    /// Runs the target on one input.
    func run(_ input: [UInt8], scratch: ScratchFolder) throws(FuzzViolation) {
        switch self {
        case .tiff: try TIFFFuzzing.run(input, scratch: scratch)
        case .safetensors: try SafeTensorsFuzzing.run(input)
        case .json: try JSONFuzzing.run(input)
        case .trainingState: try TrainingStateFuzzing.run(input, scratch: scratch)
        case .datasetFolder: try DatasetFolderFuzzing.run(input, scratch: scratch)
        case .cAPI: try CAPIFuzzing.run(input, scratch: scratch)
        }
    }
}

/// A promise the library broke on a fuzz input without crashing.
struct FuzzViolation: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Throws unless `error`'s message names `path`: every error about a bad file must say which file.
func requireNamed(_ path: String, in error: UnetsegError) throws(FuzzViolation) {
    guard error.message.contains(path) else {
        throw FuzzViolation("the error does not name the file \(path): \(error.message)")
    }
}
