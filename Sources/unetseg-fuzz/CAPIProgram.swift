import CUNetSegTypes
import UNetSegC
import UNetTensor

/// The state of one C API fuzz program: its reader and the handles it has made (live or freed, each with
/// its kind), from which the arguments of the next call are drawn.
struct CAPIProgram {
    enum Kind: CaseIterable { case tensor, model, sgd, oneCycle, dataset, loader }

    struct Made {
        let kind: Kind
        let handle: UnsafeMutableRawPointer
        var live: Bool
    }

    var reader: ByteReader
    let fixture: CAPIFixture
    private(set) var made: [Made] = []

    init(reader: ByteReader, fixture: CAPIFixture) {
        self.reader = reader
        self.fixture = fixture
    }

    // MARK: - Arguments

    /// A handle argument: one the program made (live or freed, of any kind), NULL, or an arbitrary number.
    mutating func handle<T>(_ type: T.Type = T.self) -> UnsafeMutablePointer<T>? {
        let choice = reader.byte()
        switch choice {
        case 0xFF: return nil
        case 0xFE: return UnsafeMutablePointer(bitPattern: UInt(truncatingIfNeeded: reader.uint64()))
        default:
            guard !made.isEmpty else { return nil }
            return made[Int(choice) % made.count].handle.assumingMemoryBound(to: T.self)
        }
    }

    /// A shape argument: a rank (0 to 9, one past UNETSEG_MAX_NDIM) and that many sizes; nil for a shape
    /// the library accepts but whose tensor would be too large to compute with at fuzzing speed (see
    /// `CAPIFuzzing.largestTensor`). Shapes over the library's limit are kept: they must be refused.
    mutating func shape() -> [Int64]? {
        let dims = (0..<Int(reader.byte() % 10)).map { _ in reader.size() }
        guard let count = Self.elements(dims), dims.allSatisfy({ $0 > 0 }),
              count > CAPIFuzzing.largestTensor, count <= TensorStorage.maximumCount else { return dims }
        return nil
    }

    /// A float buffer for `count` elements (a declared size, maybe absurd), or nil when it is too large.
    mutating func buffer(_ count: Int64) -> [Float]? {
        guard count >= 0, count <= CAPIFuzzing.largestBuffer else { return nil }
        return (0..<Int(count)).map { _ in reader.float() }
    }

    /// Element count of `shape`, or nil on overflow.
    static func elements(_ shape: [Int64]) -> Int64? {
        var total: Int64 = 1
        for d in shape {
            let (product, overflow) = total.multipliedReportingOverflow(by: d)
            guard !overflow else { return nil }
            total = product
        }
        return total
    }

    // MARK: - Checks

    /// Checks a call that makes one handle: a handle exactly when it succeeded, a message when it failed.
    mutating func checkMade<T>(_ kind: Kind, _ status: Int32, _ out: UnsafeMutablePointer<T>?, _ call: String,
                          outPassed: Bool = true) throws(FuzzViolation) {
        try checkStatus(status, call)
        if status == 0, outPassed, out == nil { throw FuzzViolation("\(call) succeeded without a handle") }
        if status != 0, out != nil { throw FuzzViolation("\(call) failed (status \(status)) but returned a handle") }
        if let out { keep(kind, out) }
    }

    /// Records a handle a call made.
    mutating func keep<T>(_ kind: Kind, _ handle: UnsafeMutablePointer<T>) {
        made.append(Made(kind: kind, handle: UnsafeMutableRawPointer(handle), live: true))
    }

    /// Checks a status: a known code, and a message when it is not OK.
    func checkStatus(_ status: Int32, _ call: String) throws(FuzzViolation) {
        guard status != 0 else { return }
        guard String(cString: unetseg_status_string(status)) != String(cString: unetseg_status_string(-1)) else {
            throw FuzzViolation("\(call) returned the unknown status \(status)")
        }
        guard unetseg_last_error().pointee != 0 else {
            throw FuzzViolation("\(call) failed (status \(status)) without a message")
        }
    }

    // MARK: - Freeing

    /// Calls the free function of `kind` on `handle` (which may be of another kind, freed, or arbitrary),
    /// and marks what it freed.
    mutating func free(_ kind: Kind, _ handle: UnsafeMutableRawPointer?) {
        let live = handle.flatMap { h in made.firstIndex { $0.handle == h && $0.live && $0.kind == kind } }
        switch kind {
        case .tensor: unetseg_tensor_free(handle?.assumingMemoryBound(to: unetseg_tensor.self))
        case .model: unetseg_model_free(handle?.assumingMemoryBound(to: unetseg_model.self))
        case .sgd: unetseg_sgd_free(handle?.assumingMemoryBound(to: unetseg_sgd.self))
        case .oneCycle: unetseg_one_cycle_free(handle?.assumingMemoryBound(to: unetseg_one_cycle.self))
        case .dataset: unetseg_dataset_free(handle?.assumingMemoryBound(to: unetseg_dataset.self))
        case .loader: unetseg_loader_free(handle?.assumingMemoryBound(to: unetseg_loader.self))
        }
        if let live { made[live].live = false }
    }

    /// Frees every live handle the program made, newest first.
    mutating func freeAll() {
        for entry in made.reversed() where entry.live { free(entry.kind, entry.handle) }
    }
}
