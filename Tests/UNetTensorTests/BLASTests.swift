import Testing
@testable import UNetTensor

/// OpenBLAS loading: the core chosen for the CPU, and the warning when a host loaded OpenBLAS first.
@Suite struct BLASTests {
    @Test func preferredCoreTypeFollowsTheCPUFlags() {
        #expect(BLAS.preferredCoreType(cpuFlags: ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx2", "fma"]) == "SkylakeX")
        #expect(BLAS.preferredCoreType(cpuFlags: ["avx512f", "avx2", "fma"]) == "Haswell")
        #expect(BLAS.preferredCoreType(cpuFlags: ["avx2", "fma"]) == "Haswell")
        #expect(BLAS.preferredCoreType(cpuFlags: ["avx", "sse2"]) == nil)
    }

    @Test func slowCoresOnAFastCPUGetAWarningWithTheFix() throws {
        let warning = try #require(BLAS.slowCoreWarning(core: "Prescott", preferred: "SkylakeX"))
        #expect(warning.contains("slow 'Prescott' kernels"))
        #expect(warning.contains("set OPENBLAS_CORETYPE=SkylakeX in the environment before starting the program"))
        #expect(warning.contains("~/.Renviron"))
        for core in ["Nehalem", "Core2", "Atom", "Sandybridge", "unknown"] {
            #expect(BLAS.slowCoreWarning(core: core, preferred: "Haswell")?.contains("OPENBLAS_CORETYPE=Haswell") == true)
        }
    }

    @Test func fastCoresOrOldCPUsGetNoWarning() {
        for core in ["Haswell", "SkylakeX", "Zen", "COOPERLAKE", "SapphireRapids"] {
            #expect(BLAS.slowCoreWarning(core: core, preferred: "SkylakeX") == nil)
        }
        #expect(BLAS.slowCoreWarning(core: "Prescott", preferred: nil) == nil)
    }

    @Test func loadedByTheLibraryItselfHere() {
        // Nothing in the test process loads OpenBLAS before the library does.
        #expect(!BLAS.wasLoadedBefore)
        #expect(BLAS.slowCoreWarning == nil)
        #expect(!BLAS.coreName.isEmpty)
    }
}
