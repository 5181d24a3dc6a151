// Which kernels the library's own OpenBLAS runs, decided before OpenBLAS's constructor reads its settings.
//
// libopenblas.a is linked into unetseg with `--wrap=getenv`: every getenv call of the linked objects comes
// here first. OpenBLAS's own settings (OPENBLAS_CORETYPE, the thread counts, OPENBLAS_VERBOSE, ...) are
// answered by this file, so the instance does not depend on the host's environment (R started with
// OPENBLAS_CORETYPE=Prescott, OMP_NUM_THREADS=8): it always runs the fastest kernels this CPU allows, on one
// thread (the engine splits work itself). Every other name is the real getenv. The host's environment is
// never modified.
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "COwnBLAS.h"

char *__real_getenv(const char *name);
char *__wrap_getenv(const char *name);

static bool has_sse3(const own_blas_cpu *c) { return c->sse3; }
static bool has_sse4_2(const own_blas_cpu *c) { return c->sse3 && c->ssse3 && c->sse4_2; }
static bool has_avx(const own_blas_cpu *c) { return has_sse4_2(c) && c->avx; }
static bool has_avx2(const own_blas_cpu *c) { return has_avx(c) && c->avx2 && c->fma; }
static bool has_avx512(const own_blas_cpu *c) {
    return has_avx2(c) && c->avx512f && c->avx512bw && c->avx512dq && c->avx512vl && c->avx512cd;
}
static bool has_avx512_bf16(const own_blas_cpu *c) { return has_avx512(c) && c->avx512_bf16; }

/// The core types we start OpenBLAS with (all in Debian 12's DYNAMIC_ARCH build), with what each needs.
static const struct {
    const char *name;
    bool (*runs_on)(const own_blas_cpu *cpu);
} known_cores[] = {
    {"Prescott", has_sse3},       {"Nehalem", has_sse4_2}, {"Sandybridge", has_avx}, {"Haswell", has_avx2},
    {"Zen", has_avx2},            {"SkylakeX", has_avx512}, {"Cooperlake", has_avx512_bf16},
};

bool own_blas_core_runs_on(const char *name, const own_blas_cpu *cpu, const char **canonical) {
    for (size_t i = 0; i < sizeof known_cores / sizeof known_cores[0]; i++) {
        if (strcasecmp(name, known_cores[i].name) == 0) {
            if (canonical != NULL) *canonical = known_cores[i].name;
            return known_cores[i].runs_on(cpu);
        }
    }
    return false;
}

const char *own_blas_best_core(const own_blas_cpu *cpu) {
    if (has_avx512(cpu)) return "SkylakeX";
    if (has_avx2(cpu)) return "Haswell";
    if (has_avx(cpu)) return "Sandybridge";
    if (has_sse4_2(cpu)) return "Nehalem";
    return "Prescott";
}

static const char *chosen_core = "Prescott";
static char diagnostic[384];
static pthread_once_t choice_once = PTHREAD_ONCE_INIT;

static void choose(void) {
    const own_blas_cpu *cpu = own_blas_cpu_features();
    chosen_core = own_blas_best_core(cpu);
    const char *requested = __real_getenv("UNETSEG_BLAS_CORETYPE");
    if (requested == NULL || requested[0] == '\0') return;
    const char *canonical = NULL;
    if (own_blas_core_runs_on(requested, cpu, &canonical)) {
        chosen_core = canonical;
    } else if (canonical != NULL) {
        snprintf(diagnostic, sizeof diagnostic,
                 "UNETSEG_BLAS_CORETYPE=%.40s ignored: this CPU (%s) cannot run its instructions; using %s",
                 requested, cpu->model[0] ? cpu->model : cpu->vendor, chosen_core);
    } else {
        snprintf(diagnostic, sizeof diagnostic,
                 "UNETSEG_BLAS_CORETYPE=%.40s ignored: not a core type unetseg knows (Prescott, Nehalem, "
                 "Sandybridge, Haswell, Zen, SkylakeX, Cooperlake); using %s", requested, chosen_core);
    }
}

const char *own_blas_chosen_core(void) {
    pthread_once(&choice_once, choose);
    return chosen_core;
}

const char *own_blas_diagnostic(void) {
    pthread_once(&choice_once, choose);
    return diagnostic;
}

/// The settings OpenBLAS reads from the environment, and what our instance sees instead.
static bool is_openblas_setting(const char *name, const char **value) {
    static const char *const threads[] = {"OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS",
                                          "OPENBLAS_DEFAULT_NUM_THREADS"};
    static const char *const unset[] = {"OPENBLAS_VERBOSE", "OPENBLAS_BLOCK_FACTOR", "OPENBLAS_THREAD_TIMEOUT",
                                        "OPENBLAS_MAIN_FREE", "GOTOBLAS_MAIN_FREE", "OPENBLAS_LOOPS"};
    if (strcmp(name, "OPENBLAS_CORETYPE") == 0) {
        *value = own_blas_chosen_core();
        return true;
    }
    for (size_t i = 0; i < sizeof threads / sizeof threads[0]; i++) {
        if (strcmp(name, threads[i]) == 0) { *value = "1"; return true; }
    }
    for (size_t i = 0; i < sizeof unset / sizeof unset[0]; i++) {
        if (strcmp(name, unset[i]) == 0) { *value = NULL; return true; }
    }
    return false;
}

char *__wrap_getenv(const char *name) {
    const char *value = NULL;
    if (name != NULL && is_openblas_setting(name, &value)) return (char *)value;
    return __real_getenv(name);
}
