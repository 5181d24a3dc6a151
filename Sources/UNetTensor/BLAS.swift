import CBLAS
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// OpenBLAS, loaded at run time so that its CPU kernels can be chosen first.
///
/// Some OpenBLAS builds (Debian 12's 0.3.21) do not recognise recent CPUs and silently fall back to slow
/// generic kernels; `OPENBLAS_CORETYPE` fixes that, but only if set before OpenBLAS initialises. So the
/// library does not link OpenBLAS: on first use it reads the CPU's features, sets `OPENBLAS_CORETYPE`
/// (unless the user already set it) and then `dlopen`s OpenBLAS. OpenBLAS itself runs on one thread; the
/// library splits work across `Parallel.threadCount` threads itself.
///
/// When the host process loaded OpenBLAS before (R does at start-up), the variable comes too late; if
/// the kernels in use are then slower than the CPU allows, `slowCoreWarning` says so with the fix, and
/// loading writes it once to stderr.
public enum BLAS {
    typealias SgemmFunction = @convention(c) (
        CBLAS_ORDER, CBLAS_TRANSPOSE, CBLAS_TRANSPOSE, Int32, Int32, Int32,
        Float, UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32,
        Float, UnsafeMutablePointer<Float>?, Int32) -> Void
    typealias CorenameFunction = @convention(c) () -> UnsafeMutablePointer<CChar>?
    typealias SetThreadsFunction = @convention(c) (Int32) -> Void

    /// What loading found: the functions, or why there are none.
    struct Library: @unchecked Sendable {
        var sgemm: SgemmFunction?
        var setThreads: SetThreadsFunction?
        var coreName: String
        var coreTypeSetByLibrary: String?
        var path: String
        var error: String?
        var loadedBefore = false
        var warning: String?
    }

    /// File names tried, in order.
    static let candidates = ["libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0"]

    static let library: Library = load()

    /// The OpenBLAS core in use (e.g. `SkylakeX`, `Haswell`, `Zen`), or `unavailable: <reason>`.
    public static var coreName: String {
        library.error.map { "unavailable: \($0)" } ?? library.coreName
    }

    /// The `OPENBLAS_CORETYPE` the library set before loading OpenBLAS, or nil if it set none.
    public static var coreTypeSetByLibrary: String? { library.coreTypeSetByLibrary }

    /// The path of the OpenBLAS that was loaded.
    public static var libraryPath: String { library.path }

    /// Whether OpenBLAS was already in the process when the library loaded it, too late for
    /// `OPENBLAS_CORETYPE` to choose its kernels.
    public static var wasLoadedBefore: Bool { library.loadedBefore }

    /// When OpenBLAS was loaded before the library with kernels slower than this CPU allows (Prescott on
    /// an AVX2 CPU, say): a warning naming the core and the fix (set `OPENBLAS_CORETYPE` before the
    /// process starts, for R in `~/.Renviron`). Nil otherwise.
    public static var slowCoreWarning: String? { library.warning }

    /// The OpenBLAS cores whose kernels use AVX2 or AVX-512 (lower case); any other core on a CPU with
    /// AVX2 is a slow fallback such as `Prescott`, `Nehalem`, `Sandybridge` or `unknown`.
    static let fastCores: Set<String> = ["haswell", "zen", "skylakex", "cooperlake", "sapphirerapids", "excavator"]

    /// The warning for `core` on a CPU whose best core type is `preferred`, or nil if `core` is fast.
    static func slowCoreWarning(core: String, preferred: String?) -> String? {
        guard let preferred, !fastCores.contains(core.lowercased()) else { return nil }
        return "unetseg: OpenBLAS was loaded by this process before unetseg (R does so at start-up) and uses its "
            + "slow '\(core)' kernels on a CPU that supports \(preferred); matrix products run several times "
            + "slower. Fix: set OPENBLAS_CORETYPE=\(preferred) in the environment before starting the program "
            + "(for R, add the line OPENBLAS_CORETYPE=\(preferred) to ~/.Renviron and restart R)."
    }

    /// Whether an OpenBLAS (under its own name or as the system's libblas) is already loaded.
    static func openBLASAlreadyLoaded() -> Bool {
        for name in candidates + ["libblas.so.3", "libcblas.so.3"] {
            guard let handle = dlopen(name, RTLD_NOW | RTLD_NOLOAD) else { continue }
            defer { dlclose(handle) }
            if dlsym(handle, "openblas_get_corename") != nil { return true }
        }
        return false
    }

    /// Throws unless OpenBLAS could be loaded.
    public static func ensureAvailable() throws(UnetsegError) {
        if let error = library.error { throw .internal("OpenBLAS is not available: \(error)") }
    }

    /// The `OPENBLAS_CORETYPE` that gives this CPU its fast kernels, from the flags in /proc/cpuinfo:
    /// `SkylakeX` with AVX-512 (F, BW, DQ, VL), `Haswell` with AVX2 and FMA (also OpenBLAS's Zen kernels),
    /// nil otherwise (OpenBLAS's own detection is then as good as any).
    static func preferredCoreType(cpuFlags: Set<Substring>) -> String? {
        if ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(cpuFlags.contains) { return "SkylakeX" }
        if ["avx2", "fma"].allSatisfy(cpuFlags.contains) { return "Haswell" }
        return nil
    }

    /// The flags line of /proc/cpuinfo, split into words (empty if unreadable).
    public static func cpuFlags() -> Set<Substring> {
        guard let file = fopen("/proc/cpuinfo", "r") else { return [] }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            let text = String(cString: line)
            if text.hasPrefix("flags") {
                return Set(text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == ":" }))
            }
        }
        return []
    }

    private static func load() -> Library {
        var result = Library(coreName: "unknown", path: "")
        result.loadedBefore = openBLASAlreadyLoaded()
        let preferred = preferredCoreType(cpuFlags: cpuFlags())
        if getenv("OPENBLAS_CORETYPE") == nil, let core = preferred {
            setenv("OPENBLAS_CORETYPE", core, 0)
            result.coreTypeSetByLibrary = core
        }
        var handle: UnsafeMutableRawPointer? = nil
        for name in candidates {
            handle = dlopen(name, RTLD_NOW | RTLD_GLOBAL)
            if handle != nil { result.path = name; break }
        }
        guard let handle else {
            result.error = "could not load \(candidates.joined(separator: ", ")) (install libopenblas0)"
            return result
        }
        guard let sgemm = dlsym(handle, "cblas_sgemm") else {
            result.error = "\(result.path) has no cblas_sgemm"
            return result
        }
        result.sgemm = unsafeBitCast(sgemm, to: SgemmFunction.self)
        if let f = dlsym(handle, "openblas_set_num_threads") {
            let setThreads = unsafeBitCast(f, to: SetThreadsFunction.self)
            setThreads(1)
            result.setThreads = setThreads
        }
        if let f = dlsym(handle, "openblas_get_corename"),
           let name = unsafeBitCast(f, to: CorenameFunction.self)() {
            result.coreName = String(cString: name)
        }
        if result.loadedBefore, let warning = slowCoreWarning(core: result.coreName, preferred: preferred) {
            result.warning = warning
            let line = Array((warning + "\n").utf8)
            _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
        }
        return result
    }

    /// OpenBLAS's own threads for the next calls (the library keeps it at 1; benchmarks may raise it).
    public static func setOpenBLASThreads(_ n: Int) {
        library.setThreads?(Int32(max(1, n)))
    }

    /// `C = alpha·op(A)·op(B) + beta·C`, row-major, single-threaded (callers parallelise).
    ///
    /// `op(A)` is m×k, `op(B)` is k×n, C is m×n; `lda`, `ldb`, `ldc` are row strides. Sizes must be valid;
    /// callers check shapes at their public entry points.
    @inline(__always)
    public static func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        guard let sgemm = library.sgemm else {
            naiveSgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                       b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
              Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// A plain triple loop with the same contract as `sgemm`, used only when OpenBLAS is missing.
    static func naiveSgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                           a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                           beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        for i in 0..<m {
            for j in 0..<n {
                var sum: Float = 0
                for p in 0..<k {
                    sum += (transA ? a[p * lda + i] : a[i * lda + p]) * (transB ? b[j * ldb + p] : b[p * ldb + j])
                }
                c[i * ldc + j] = alpha * sum + (beta == 0 ? 0 : beta * c[i * ldc + j])
            }
        }
    }

    /// `sgemm` split over `Parallel.threadCount` threads by blocks of columns of C (or rows when C is tall).
    public static func parallelSgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                     beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let splitRows = m > n
        let extent = splitRows ? m : n
        let workers = min(Parallel.threadCount, max(1, (m * n * max(k, 1)) / (1 << 18)))
        Parallel.forEachWorker(maxWorkers: workers) { w, count in
            let lo = extent * w / count, hi = extent * (w + 1) / count
            guard lo < hi else { return }
            if splitRows {
                let aBlock = transA ? a + lo : a + lo * lda
                sgemm(transA: transA, transB: transB, m: hi - lo, n: n, k: k, alpha: alpha, a: aBlock, lda: lda,
                      b: b, ldb: ldb, beta: beta, c: c + lo * ldc, ldc: ldc)
            } else {
                let bBlock = transB ? b + lo * ldb : b + lo
                sgemm(transA: transA, transB: transB, m: m, n: hi - lo, k: k, alpha: alpha, a: a, lda: lda,
                      b: bBlock, ldb: ldb, beta: beta, c: c + lo, ldc: ldc)
            }
        }
    }
}
