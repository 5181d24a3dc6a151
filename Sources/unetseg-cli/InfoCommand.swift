import ArgumentParser
import UNetTensor

/// `unetseg info`: the CPU and the kernels the engine computes with, for logs and bug reports.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print the CPU, its SIMD level and the kernels of unetseg's own OpenBLAS.",
        discussion: """
            unetseg links its own OpenBLAS instance and starts it with the fastest kernels this CPU allows \
            (UNETSEG_BLAS_CORETYPE asks for others); OPENBLAS_CORETYPE and OPENBLAS_NUM_THREADS do not \
            affect it.
            """)

    func run() {
        print("CPU: \(BLAS.cpuModel)")
        print("SIMD: \(BLAS.simdLevel)")
        print("BLAS: own OpenBLAS, core \(BLAS.coreName) (started as \(BLAS.chosenCore))")
        print("threads: \(Parallel.threadCount) of \(Parallel.onlineProcessors) CPUs")
        if let diagnostic = BLAS.diagnostic { print("warning: \(diagnostic)") }
    }
}
