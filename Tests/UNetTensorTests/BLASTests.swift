import COwnBLAS
import Testing
@testable import UNetTensor

/// The library's own OpenBLAS: the kernels chosen for the CPU, and what a chosen core needs.
@Suite struct BLASTests {
    /// A CPU with the instruction sets named (`avx512` means F, BW, DQ, VL and CD).
    func cpu(_ sets: Set<String>) -> own_blas_cpu {
        var c = own_blas_cpu()
        let avx512 = sets.contains("avx512")
        c.sse3 = sets.contains("sse3") || sets.contains("sse4.2") || sets.contains("avx") || sets.contains("avx2") || avx512
        c.ssse3 = c.sse3 && !sets.contains("sse3")
        c.sse4_2 = c.ssse3
        c.avx = sets.contains("avx") || sets.contains("avx2") || avx512
        c.avx2 = sets.contains("avx2") || avx512
        c.fma = c.avx2
        (c.avx512f, c.avx512bw, c.avx512dq, c.avx512vl, c.avx512cd) = (avx512, avx512, avx512, avx512, avx512)
        c.avx512_bf16 = avx512 && sets.contains("bf16")
        return c
    }

    @Test func theBestCoreFollowsTheInstructionSets() {
        var c = cpu(["avx512"])
        #expect(String(cString: own_blas_best_core(&c)) == "SkylakeX")
        c.avx512bw = false  // AVX-512 F without BW (Knights Landing): not enough for the SkylakeX kernels
        #expect(String(cString: own_blas_best_core(&c)) == "Haswell")
        c = cpu(["avx2"])
        #expect(String(cString: own_blas_best_core(&c)) == "Haswell")
        c = cpu(["avx"])
        #expect(String(cString: own_blas_best_core(&c)) == "Sandybridge")
        c = cpu(["sse4.2"])
        #expect(String(cString: own_blas_best_core(&c)) == "Nehalem")
        c = cpu(["sse3"])
        #expect(String(cString: own_blas_best_core(&c)) == "Prescott")
    }

    @Test func aCoreRunsOnlyWhereItsInstructionsExist() {
        var avx2 = cpu(["avx2"]), avx512 = cpu(["avx512"]), bf16 = cpu(["avx512", "bf16"])
        var canonical: UnsafePointer<CChar>? = nil
        #expect(own_blas_core_runs_on("skylakex", &avx512, &canonical))
        #expect(canonical.map { String(cString: $0) } == "SkylakeX")
        #expect(!own_blas_core_runs_on("SkylakeX", &avx2, &canonical))
        #expect(canonical.map { String(cString: $0) } == "SkylakeX")
        #expect(!own_blas_core_runs_on("Cooperlake", &avx512, nil))
        #expect(own_blas_core_runs_on("Cooperlake", &bf16, nil))
        for core in ["Prescott", "Nehalem", "Sandybridge", "Haswell", "Zen"] {
            #expect(own_blas_core_runs_on(core, &avx2, nil))
        }
        canonical = nil
        #expect(!own_blas_core_runs_on("Bogus", &avx512, &canonical))
        #expect(canonical == nil)
    }

    @Test func theInstanceRunsTheCoreChosenForThisCPU() {
        // Whatever this machine is: the core in use is the one chosen, and this CPU can run it.
        #expect(BLAS.coreName.lowercased() == BLAS.chosenCore.lowercased())
        #expect(own_blas_core_runs_on(BLAS.chosenCore, own_blas_cpu_features(), nil))
        #expect(["avx512", "avx2", "avx", "sse"].contains(BLAS.simdLevel))
        #expect(!BLAS.cpuModel.isEmpty)
        #expect(BLAS.summary.contains("own OpenBLAS core \(BLAS.coreName)"))
    }

    @Test func sgemmMatchesAPlainLoopOnEveryTransposition() {
        let m = 7, n = 5, k = 9
        let a = (0..<(m * k)).map { Float(($0 * 7) % 11) - 5 }, b = (0..<(k * n)).map { Float(($0 * 5) % 13) - 6 }
        for (transA, transB) in [(false, false), (true, false), (false, true), (true, true)] {
            var c = [Float](repeating: 1, count: m * n)
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    c.withUnsafeMutableBufferPointer { c in
                        BLAS.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 2, a: a.baseAddress!,
                                   lda: transA ? m : k, b: b.baseAddress!, ldb: transB ? k : n, beta: 0.5,
                                   c: c.baseAddress!, ldc: n)
                    }
                }
            }
            for i in 0..<m {
                for j in 0..<n {
                    var sum: Float = 0
                    for p in 0..<k { sum += (transA ? a[p * m + i] : a[i * k + p]) * (transB ? b[j * k + p] : b[p * n + j]) }
                    #expect(c[i * n + j] == 2 * sum + 0.5)  // small integers: exact in float32
                }
            }
        }
    }
}
