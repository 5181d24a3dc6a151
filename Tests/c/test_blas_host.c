/* OpenBLAS loaded by the host process before unetseg, with slow kernels (what R does at start-up): the
 * library says so in unetseg_system_info and warns once, with the fix, on the log callback and stderr.
 *
 * This program plays R: before its first call into unetseg it asks OpenBLAS for the old Prescott kernels
 * (OPENBLAS_CORETYPE=Prescott) and loads it. On a CPU with AVX2 or AVX-512 that is the slow case. */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"

static char stderr_path[64];
static int saved_stderr = -1;

struct log_record {
    int warnings;
    char last_warning[1024];
};

static void record_log(int32_t level, const char *message, void *user_data) {
    struct log_record *record = user_data;
    if (level != UNETSEG_LOG_WARNING) return;
    record->warnings++;
    snprintf(record->last_warning, sizeof record->last_warning, "%s", message);
}

/* Occurrences of `needle` in the text written to stderr so far. */
static int stderr_count(const char *needle) {
    fflush(stderr);
    FILE *file = fopen(stderr_path, "r");
    if (file == NULL) return -1;
    static char text[8192];
    size_t size = fread(text, 1, sizeof text - 1, file);
    text[size] = '\0';
    fclose(file);
    int count = 0;
    for (const char *at = strstr(text, needle); at != NULL; at = strstr(at + 1, needle)) count++;
    return count;
}

static struct log_record record;
static int cpu_has_fast_kernels;

static void test_report_says_loaded_before(void) {
    unetseg_system_report report;
    memset(&report, 0x7f, sizeof report);
    CHECK_OK(unetseg_system_info(&report));
    CHECK(report.blas_loaded_before);
    CHECK(strcmp(report.blas_core, "Prescott") == 0);
    CHECK(strcmp(report.blas_coretype_set, "") == 0); /* the host had set it */
    CHECK(memchr(report.blas_warning, '\0', sizeof report.blas_warning) != NULL);
    cpu_has_fast_kernels = strcmp(report.simd, "avx2") == 0 || strcmp(report.simd, "avx512") == 0;
    if (cpu_has_fast_kernels) {
        CHECK(strstr(report.blas_warning, "slow 'Prescott' kernels") != NULL);
        CHECK(strstr(report.blas_warning, "OPENBLAS_CORETYPE=Haswell") != NULL
              || strstr(report.blas_warning, "OPENBLAS_CORETYPE=SkylakeX") != NULL);
        CHECK(strstr(report.blas_warning, "~/.Renviron") != NULL);
    } else {
        CHECK(report.blas_warning[0] == '\0');
    }
    char text[256];
    CHECK_OK(unetseg_system_info_string(text, sizeof text));
    CHECK(strstr(text, "OpenBLAS core Prescott (loaded before unetseg)") != NULL);
}

static void test_warned_once(void) {
    /* More calls into the library: still one warning on each channel. */
    int32_t ignored = unetseg_set_num_threads(0);
    CHECK(ignored == UNETSEG_STATUS_OK);
    unetseg_model *model = make_tiny_model(1);
    float images[3 * 8 * 8] = {0}, probabilities[8 * 8];
    CHECK_OK(unetseg_model_predict(model, images, 1, 8, 8, probabilities, 64));
    CHECK(probabilities[0] > 0 && probabilities[0] < 1); /* the slow kernels still compute */
    unetseg_model_free(model);
    if (cpu_has_fast_kernels) {
        CHECK(record.warnings == 1);
        CHECK(strstr(record.last_warning, "unetseg: OpenBLAS was loaded by this process before unetseg") == record.last_warning);
        CHECK(stderr_count("unetseg: OpenBLAS was loaded by this process before unetseg") == 1);
        CHECK(stderr_count("OPENBLAS_CORETYPE=") == 2);
    } else {
        CHECK(record.warnings == 0 && stderr_count("unetseg:") == 0);
    }
}

int main(void) {
    /* stderr goes to a file, to count what the library writes there. */
    snprintf(stderr_path, sizeof stderr_path, "/tmp/unetseg-c-stderr-XXXXXX");
    int fd = mkstemp(stderr_path);
    saved_stderr = dup(STDERR_FILENO);
    if (fd < 0 || saved_stderr < 0 || dup2(fd, STDERR_FILENO) < 0) {
        perror("redirecting stderr");
        return 1;
    }
    close(fd);
    /* The host loads OpenBLAS first, with old kernels. */
    setenv("OPENBLAS_CORETYPE", "Prescott", 1);
    void *openblas = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_GLOBAL);
    if (openblas == NULL) {
        dup2(saved_stderr, STDERR_FILENO);
        fprintf(stderr, "test_blas_preloaded: cannot load libopenblas.so.0: %s\n", dlerror());
        return 1;
    }
    unetseg_set_log_callback(record_log, &record);
    RUN(test_report_says_loaded_before);
    RUN(test_warned_once);
    unetseg_set_log_callback(NULL, NULL);
    /* The test's own failure messages go back to the real stderr. */
    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    char *text = NULL;
    FILE *file = fopen(stderr_path, "r");
    if (file != NULL) {
        static char captured[8192];
        size_t size = fread(captured, 1, sizeof captured - 1, file);
        captured[size] = '\0';
        text = captured;
        fclose(file);
    }
    if (text != NULL && tests_failed > 0) fprintf(stderr, "captured stderr:\n%s", text);
    remove(stderr_path);
    return finish();
}
