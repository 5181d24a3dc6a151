import COwnBLAS
#if canImport(Glibc)
import Glibc
#endif

/// The library's own OpenBLAS instance, and the CPU it chose its kernels for.
///
/// OpenBLAS is linked in statically with its symbols private, so a host process's OpenBLAS (R loads one at
/// start-up, numpy bundles one) and ours never meet: the host's keeps its kernels, threads and results, and
/// ours runs the kernels COwnBLAS chose from CPUID before OpenBLAS initialised, whatever the host's
/// environment says (`OPENBLAS_CORETYPE`, `OPENBLAS_NUM_THREADS`). So the CLI, C, Python and R compute
/// bit for bit the same on one machine. `UNETSEG_BLAS_CORETYPE` (in the environment before the library
/// loads) asks for another kernel set; one this CPU cannot run is ignored, with `diagnostic` saying so.
/// OpenBLAS runs on one thread; the library splits work across `Parallel.threadCount` threads itself.
public enum BLAS {
    /// The OpenBLAS core in use (e.g. `SkylakeX`, `Haswell`).
    public static let coreName: String = openblas_get_corename().map { String(cString: $0) } ?? "unknown"

    /// The core type the library started OpenBLAS with.
    public static let chosenCore = String(cString: own_blas_chosen_core())

    /// Why `UNETSEG_BLAS_CORETYPE` was not followed, or nil when it was (or is unset).
    public static let diagnostic: String? = {
        let text = String(cString: own_blas_diagnostic())
        return text.isEmpty ? nil : text
    }()

    /// The widest SIMD level the CPU and OS allow: `avx512`, `avx2`, `avx`, `sse` or `unknown`.
    public static let simdLevel = String(cString: own_blas_simd_level(own_blas_cpu_features()))

    /// The processor's brand string (e.g. "AMD EPYC 9B14"), or its vendor when it has none.
    public static let cpuModel: String = {
        let cpu = own_blas_cpu_features().pointee
        let model = withUnsafeBytes(of: cpu.model) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let vendor = withUnsafeBytes(of: cpu.vendor) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return model.isEmpty ? vendor : model
    }()

    /// Whether the host process has an OpenBLAS of its own loaded (R's, or the system's libblas); the
    /// library never uses it, and reports it only to explain that the two coexist.
    public static var hostHasOpenBLAS: Bool {
        for name in ["libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0", "libblas.so.3", "libcblas.so.3"] {
            guard let handle = dlopen(name, RTLD_NOW | RTLD_NOLOAD) else { continue }
            defer { dlclose(handle) }
            if dlsym(handle, "openblas_get_corename") != nil { return true }
        }
        return false
    }

    /// What a log or a bug report needs, e.g. "own OpenBLAS core SkylakeX, 2 threads, 2 CPUs, avx512
    /// (Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz)".
    public static var summary: String {
        "own OpenBLAS core \(coreName), \(Parallel.threadCount) threads, \(Parallel.onlineProcessors) CPUs, "
            + "\(simdLevel) (\(cpuModel))"
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
        let rowMajor: Int32 = 101, noTranspose: Int32 = 111, transpose: Int32 = 112
        cblas_sgemm(rowMajor, transA ? transpose : noTranspose, transB ? transpose : noTranspose,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
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
