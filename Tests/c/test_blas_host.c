/* The host process's own OpenBLAS and unetseg's live side by side without touching each other.
 *
 * This program plays R: its environment asks OpenBLAS for the old Prescott kernels and 2 threads before it
 * starts (it re-executes itself with OPENBLAS_CORETYPE=Prescott OPENBLAS_NUM_THREADS=2), and it loads the
 * system's libopenblas.so.0 as the host's BLAS. unetseg must still run the kernels it chose for this CPU,
 * compute bit for bit what it computes in a clean process, and leave the host's OpenBLAS as it was: same
 * kernels, same thread count, same results. */
#define _DEFAULT_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"

#define SIDE 32

typedef char *(*corename_function)(void);
typedef int (*get_threads_function)(void);
typedef void (*sgemm_function)(int, int, int, int, int, int, float, const float *, int, const float *, int,
                               float, float *, int);

static corename_function host_corename;
static get_threads_function host_get_threads;
static sgemm_function host_sgemm;

/* The probabilities a tiny seeded model predicts for a fixed image, as hexadecimal floats in `out`. */
static void predict_hex(char *out, size_t capacity) {
    unetseg_model *model = make_tiny_model(7);
    static float image[3 * SIDE * SIDE], probabilities[SIDE * SIDE];
    for (int i = 0; i < 3 * SIDE * SIDE; i++) image[i] = (float)((i * 37) % 101) / 101.0f;
    CHECK_OK(unetseg_model_predict(model, image, 1, SIDE, SIDE, probabilities, SIDE * SIDE));
    unetseg_model_free(model);
    size_t used = 0;
    for (int i = 0; i < SIDE * SIDE && used + 20 < capacity; i += 17) {
        used += (size_t)snprintf(out + used, capacity - used, "%a ", probabilities[i]);
    }
}

/* The host's sgemm on fixed 64×64 matrices: a checksum of C and its first element, exactly. */
static void host_product(double *sum, float *first) {
    enum { N = 64 };
    static float a[N * N], b[N * N], c[N * N];
    for (int i = 0; i < N * N; i++) {
        a[i] = (float)((i * 13) % 29) / 7.0f;
        b[i] = (float)((i * 11) % 31) / 9.0f;
    }
    host_sgemm(101, 111, 111, N, N, N, 1.0f, a, N, b, N, 0.0f, c, N);
    *sum = 0;
    for (int i = 0; i < N * N; i++) *sum += c[i];
    *first = c[0];
}

static char clean_output[4096];
static char self_path[4096];

/* The same prediction in a process whose environment has no OpenBLAS settings and no host OpenBLAS. */
static void run_clean_child(void) {
    char command[4200];
    snprintf(command, sizeof command, "/usr/bin/env -u OPENBLAS_CORETYPE -u OPENBLAS_NUM_THREADS '%s' --predict",
             self_path);
    FILE *child = popen(command, "r");
    CHECK(child != NULL);
    if (child == NULL) return;
    size_t size = fread(clean_output, 1, sizeof clean_output - 1, child);
    clean_output[size] = '\0';
    CHECK(pclose(child) == 0);
}

static void test_the_host_keeps_its_kernels_and_threads(void) {
    CHECK(strcmp(host_corename(), "Prescott") == 0);
    CHECK(host_get_threads() == 2);
}

static void test_unetseg_runs_its_own_kernels(void) {
    unetseg_system_report report;
    memset(&report, 0x7f, sizeof report);
    CHECK_OK(unetseg_system_info(&report));
    CHECK(report.blas_loaded_before);                                /* it sees the host's OpenBLAS */
    CHECK(strcmp(report.blas_core, report.blas_coretype_set) == 0);   /* and runs the core it chose */
    CHECK(report.blas_warning[0] == '\0');
    int has_wide_simd = strcmp(report.simd, "avx") == 0 || strcmp(report.simd, "avx2") == 0
        || strcmp(report.simd, "avx512") == 0;
    if (has_wide_simd) CHECK(strcmp(report.blas_core, "Prescott") != 0);
    /* The clean child reports the same core. */
    char core_line[160];
    snprintf(core_line, sizeof core_line, "core %s\n", report.blas_core);
    CHECK(strstr(clean_output, core_line) != NULL);
}

static void test_same_numbers_as_in_a_clean_process(void) {
    char here[2048] = "";
    predict_hex(here, sizeof here);
    CHECK(here[0] != '\0');
    CHECK(strstr(clean_output, here) != NULL);
    if (strstr(clean_output, here) == NULL) fprintf(stderr, "here:  %s\nclean: %s\n", here, clean_output);
}

static void test_the_host_blas_is_untouched_by_unetseg_work(void) {
    double before_sum, after_sum;
    float before_first, after_first;
    host_product(&before_sum, &before_first);
    char ignored[2048];
    predict_hex(ignored, sizeof ignored);  /* unetseg computes in between */
    CHECK_OK(unetseg_set_num_threads(1));
    predict_hex(ignored, sizeof ignored);
    CHECK_OK(unetseg_set_num_threads(0));
    host_product(&after_sum, &after_first);
    CHECK(before_sum == after_sum && before_first == after_first);
    CHECK(strcmp(host_corename(), "Prescott") == 0);
    CHECK(host_get_threads() == 2);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--predict") == 0) {
        unetseg_system_report report;
        if (unetseg_system_info(&report) != UNETSEG_STATUS_OK) return 1;
        char text[2048] = "";
        predict_hex(text, sizeof text);
        printf("core %s\n%s\n", report.blas_core, text);
        return current_test_failed;
    }
    const char *core = getenv("OPENBLAS_CORETYPE");
    if (core == NULL || strcmp(core, "Prescott") != 0) {
        /* Like R started with these settings: they are in the environment before the library loads. */
        setenv("OPENBLAS_CORETYPE", "Prescott", 1);
        setenv("OPENBLAS_NUM_THREADS", "2", 1);
        execv(argv[0], argv);
        perror("test_blas_host: re-executing with OPENBLAS_CORETYPE=Prescott");
        return 1;
    }
    if (realpath(argv[0], self_path) == NULL) {
        perror("test_blas_host: finding its own path");
        return 1;
    }
    void *openblas = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_GLOBAL);
    if (openblas == NULL) {
        fprintf(stderr, "test_blas_host: cannot load the host's libopenblas.so.0: %s\n", dlerror());
        return 1;
    }
    host_corename = (corename_function)dlsym(openblas, "openblas_get_corename");
    host_get_threads = (get_threads_function)dlsym(openblas, "openblas_get_num_threads");
    host_sgemm = (sgemm_function)dlsym(openblas, "cblas_sgemm");
    if (host_corename == NULL || host_get_threads == NULL || host_sgemm == NULL) {
        fprintf(stderr, "test_blas_host: libopenblas.so.0 lacks the functions this test calls\n");
        return 1;
    }
    run_clean_child();
    RUN(test_the_host_keeps_its_kernels_and_threads);
    RUN(test_unetseg_runs_its_own_kernels);
    RUN(test_same_numbers_as_in_a_clean_process);
    RUN(test_the_host_blas_is_untouched_by_unetseg_work);
    return finish();
}
