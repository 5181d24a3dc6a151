#if UNETSEG_FUZZING
#if canImport(Glibc)
import Glibc
#endif

// Built with UNETSEG_FUZZ=1 and --sanitize=fuzzer: libFuzzer supplies main and calls these. The target is
// the environment variable UNETSEG_FUZZ_TARGET (see `FuzzTarget`); `scripts/fuzz` runs each in turn.

nonisolated(unsafe) private var fuzzTarget: FuzzTarget?
nonisolated(unsafe) private var fuzzScratch: ScratchFolder?

/// Chooses the target, or lists the targets and their input limits and exits when none is chosen.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    let name = getenv("UNETSEG_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        for target in FuzzTarget.allCases { print(target.rawValue, target.maximumInputLength) }
        exit(name.isEmpty ? 0 : 2)
    }
    FuzzTarget.prepareProcess()
    do { fuzzScratch = try ScratchFolder() } catch {
        print("unetseg-fuzz: \(error.message)")
        exit(2)
    }
    fuzzTarget = target
    return 0
}

/// Runs the chosen target on one input; a broken promise aborts, which libFuzzer reports as a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let fuzzTarget, let fuzzScratch else { return 0 }
    let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    do { try fuzzTarget.run(input, scratch: fuzzScratch) } catch {
        print("unetseg-fuzz \(fuzzTarget.rawValue): \(error)")
        abort()
    }
    return 0
}
#endif
