import CUNetSegTypes
import UNetData
import UNetSegC
import UNetTensor

/// The C API's argument validation: the input is a program of calls with arguments taken from its bytes
/// (sizes, shapes, indices, capacities, floats with NaN and infinities, paths) and handles that are live,
/// freed, of another kind, NULL or arbitrary numbers. The functions are called directly from Swift, so the
/// library code they run is coverage-instrumented like the other targets. Checked after every call: a
/// failed call returns no handle, a successful one returns one, a failure leaves a message; after the
/// program, freeing what it made brings the live handle count back to where it was.
///
/// Pointers are always NULL or valid buffers of the capacity passed: a wrong pointer is the caller's
/// undefined behaviour, which no C library can detect.
enum CAPIFuzzing {
    static let maximumCalls = 64
    /// Largest tensor (elements) the program makes: larger valid shapes are skipped, since a valid 1 GB
    /// tensor is no bug but makes every later call on it too slow for a fuzzer's one-second limit.
    static let largestTensor: Int64 = 1 << 12
    /// Largest model (parameters) the program makes, for the same reason; larger valid configurations are
    /// skipped, invalid ones always passed.
    static let largestModel = 1 << 12
    /// Largest float buffer the harness passes (elements); larger declared sizes get a NULL buffer.
    static let largestBuffer = 1 << 14

    static func run(_ input: [UInt8], scratch: ScratchFolder) throws(FuzzViolation) {
        let fixture = try CAPIFixture.shared(in: scratch)
        let before = unetseg_live_handle_count()
        var program = CAPIProgram(reader: ByteReader(input), fixture: fixture)
        var violation: FuzzViolation?
        do {
            for _ in 0..<maximumCalls where program.reader.hasMore { try program.step() }
        } catch { violation = error }
        program.freeAll()
        _ = unetseg_set_num_threads(0)
        if let violation { throw violation }
        let after = unetseg_live_handle_count()
        guard after == before else { throw FuzzViolation("\(after - before) handles still live after freeing all") }
    }
}

/// Files the C API program may name: a tiny valid dataset, a missing path, a file that is not a folder,
/// and where a model may be saved. Made once per process.
struct CAPIFixture {
    let dataset: String
    let missing: String
    let modelFile: String

    nonisolated(unsafe) private static var made: CAPIFixture?

    static func shared(in scratch: ScratchFolder) throws(FuzzViolation) -> CAPIFixture {
        if let made { return made }
        let fixture = CAPIFixture(dataset: scratch.file("c-api-dataset"), missing: scratch.file("missing"),
                                  modelFile: scratch.file("c-api-model.safetensors"))
        do {
            try TinySliceFolder.write(to: fixture.dataset, patient: "TCGA_AA_0001_20000101", slices: 2, size: 16)
        } catch {
            throw FuzzViolation("harness: cannot write the fixture dataset: \(error.message)")
        }
        made = fixture
        return fixture
    }

    /// The path an argument byte chooses, or NULL (nil).
    func path(_ choice: UInt8) -> String? {
        switch choice % 5 {
        case 0: dataset
        case 1: missing
        case 2: modelFile
        case 3: ""
        default: nil
        }
    }
}
