// The library's own OpenBLAS instance: Debian's static libopenblas.a linked into unetseg with its symbols
// kept private, so whatever OpenBLAS a host process loaded (R's, numpy's, a C program's) neither chooses
// our kernels nor sees our calls. This header declares the few OpenBLAS functions the engine calls and the
// CPU report that chose the kernels (cpu_features.c, core_choice.c).
#ifndef COWNBLAS_H
#define COWNBLAS_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---- OpenBLAS (libopenblas.a; enums as in cblas.h: row major 101, no transpose 111, transpose 112) ----

/// C = alpha·op(A)·op(B) + beta·C on the library's own OpenBLAS instance (one thread: callers parallelise).
void cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
                 int lda, const float *b, int ldb, float beta, float *c, int ldc);

/// The name of the kernel set the instance runs ("SkylakeX", "Haswell", ...).
char *openblas_get_corename(void);

// ---- What the CPU offers (CPUID and XGETBV: what the processor and the OS let us run) -----------------

/// The instruction sets that decide OpenBLAS's kernels, each true only when the OS saves its registers.
typedef struct own_blas_cpu {
    bool sse3, ssse3, sse4_2, avx, fma, avx2;
    bool avx512f, avx512bw, avx512dq, avx512vl, avx512cd, avx512_bf16;
    char vendor[13];  ///< "GenuineIntel", "AuthenticAMD", ...
    char model[49];   ///< the processor's brand string, "" if it has none
} own_blas_cpu;

/// This CPU, read once (thread-safe).
const own_blas_cpu *own_blas_cpu_features(void);

/// The widest SIMD level the CPU and OS allow: "avx512", "avx2", "avx", "sse" or "unknown".
const char *own_blas_simd_level(const own_blas_cpu *cpu);

/// The OpenBLAS core type the instance was started with: the fastest this CPU runs, or the one named by
/// UNETSEG_BLAS_CORETYPE when that is known and this CPU can run it.
const char *own_blas_chosen_core(void);

/// The core type best suited to `cpu` ("SkylakeX", "Haswell", "Sandybridge", "Nehalem" or "Prescott").
const char *own_blas_best_core(const own_blas_cpu *cpu);

/// Whether `cpu` has every instruction set the OpenBLAS core type `name` needs; false for unknown names.
/// Writes the canonical spelling of a known name to *canonical.
bool own_blas_core_runs_on(const char *name, const own_blas_cpu *cpu, const char **canonical);

/// "" or why UNETSEG_BLAS_CORETYPE was not followed (an unknown name, or kernels this CPU cannot run).
const char *own_blas_diagnostic(void);

#ifdef __cplusplus
}
#endif

#endif
