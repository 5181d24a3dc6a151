/* Library-wide functions: versions, system report, threads, status strings, thread-local errors, logging. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdlib.h>

#include "check.h"

static void test_versions(void) {
    const char *version = unetseg_version();
    CHECK(version != NULL && strlen(version) >= 5 && strchr(version, '.') != NULL);
    CHECK(unetseg_api_version() == UNETSEG_API_VERSION);
}

static void test_system_info(void) {
    unetseg_system_report report;
    memset(&report, 0x7f, sizeof report);
    CHECK_OK(unetseg_system_info(&report));
    CHECK(strcmp(report.version, unetseg_version()) == 0);
    CHECK(report.blas_core[0] != '\0' && memchr(report.blas_core, '\0', sizeof report.blas_core) != NULL);
    CHECK(memchr(report.blas_coretype_set, '\0', sizeof report.blas_coretype_set) != NULL);
    CHECK(strcmp(report.simd, "avx512") == 0 || strcmp(report.simd, "avx2") == 0 || strcmp(report.simd, "avx") == 0
          || strcmp(report.simd, "sse") == 0 || strcmp(report.simd, "unknown") == 0);
    CHECK(report.num_threads >= 1 && report.num_cpus >= 1);
    CHECK(report.api_version == UNETSEG_API_VERSION);
    /* No OpenBLAS of the host's here (test_blas_host has that case), and no UNETSEG_BLAS_CORETYPE. */
    CHECK(!report.blas_loaded_before && strcmp(report.blas_warning, "") == 0);
    CHECK(strcmp(report.blas_core, report.blas_coretype_set) == 0);
    CHECK_ERROR(unetseg_system_info(NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_report is NULL");
}

static void test_system_info_string(void) {
    char text[256];
    CHECK_OK(unetseg_system_info_string(text, sizeof text));
    CHECK(strncmp(text, "unetseg ", 8) == 0 && strstr(text, "OpenBLAS core") != NULL);
    char small[8] = "xxxxxxx";
    CHECK_ERROR(unetseg_system_info_string(small, sizeof small), UNETSEG_STATUS_INVALID_ARGUMENT, "are needed");
    CHECK(strcmp(small, "xxxxxxx") == 0);
    CHECK_ERROR(unetseg_system_info_string(NULL, 256), UNETSEG_STATUS_INVALID_ARGUMENT, "out_text is NULL");
    CHECK_ERROR(unetseg_system_info_string(text, 0), UNETSEG_STATUS_INVALID_ARGUMENT, "holds 0 bytes");
}

static void test_threads(void) {
    unetseg_system_report report;
    CHECK_OK(unetseg_system_info(&report));
    CHECK_OK(unetseg_set_num_threads(1));
    CHECK(unetseg_get_num_threads() == 1);
    CHECK_OK(unetseg_set_num_threads(3));
    CHECK(unetseg_get_num_threads() == 3);
    CHECK_OK(unetseg_set_num_threads(0));
    CHECK(unetseg_get_num_threads() == report.num_cpus);
    CHECK_ERROR(unetseg_set_num_threads(-1), UNETSEG_STATUS_INVALID_ARGUMENT, "num_threads must be in 0...1024");
    CHECK_ERROR(unetseg_set_num_threads(5000), UNETSEG_STATUS_INVALID_ARGUMENT, "got 5000");
    CHECK(unetseg_get_num_threads() == report.num_cpus);
}

static void test_status_strings(void) {
    CHECK(strcmp(unetseg_status_string(UNETSEG_STATUS_OK), "ok") == 0);
    CHECK(strcmp(unetseg_status_string(UNETSEG_STATUS_INVALID_ARGUMENT), "invalid argument") == 0);
    CHECK(strcmp(unetseg_status_string(UNETSEG_STATUS_IO), "I/O error") == 0);
    CHECK(strcmp(unetseg_status_string(UNETSEG_STATUS_FORMAT), "format error") == 0);
    CHECK(strcmp(unetseg_status_string(UNETSEG_STATUS_OUT_OF_MEMORY), "out of memory") == 0);
    CHECK(strcmp(unetseg_status_string(UNETSEG_STATUS_NUMERIC), "numeric error") == 0);
    CHECK(strcmp(unetseg_status_string(UNETSEG_STATUS_CANCELLED), "cancelled") == 0);
    CHECK(strcmp(unetseg_status_string(UNETSEG_STATUS_INTERNAL), "internal error") == 0);
    CHECK(strcmp(unetseg_status_string(8), "unknown status") == 0);
    CHECK(strcmp(unetseg_status_string(-1), "unknown status") == 0);
    /* The numbering is part of the ABI. */
    CHECK(UNETSEG_STATUS_INVALID_ARGUMENT == 1 && UNETSEG_STATUS_IO == 2 && UNETSEG_STATUS_FORMAT == 3
          && UNETSEG_STATUS_OUT_OF_MEMORY == 4 && UNETSEG_STATUS_NUMERIC == 5 && UNETSEG_STATUS_CANCELLED == 6
          && UNETSEG_STATUS_INTERNAL == 7);
}

static void test_last_error_lifecycle(void) {
    CHECK_ERROR(unetseg_set_num_threads(-7), UNETSEG_STATUS_INVALID_ARGUMENT, "got -7");
    /* Calls that cannot fail leave the message alone... */
    CHECK(unetseg_get_num_threads() >= 1);
    CHECK(strcmp(unetseg_status_string(1), "invalid argument") == 0);
    CHECK(strstr(unetseg_last_error(), "got -7") != NULL);
    /* ...a successful fallible call clears it. */
    CHECK_OK(unetseg_set_num_threads(0));
    CHECK(strcmp(unetseg_last_error(), "") == 0);
}

struct thread_result {
    char message_before[128];
    char message_after[128];
};

static void *fail_on_other_thread(void *argument) {
    struct thread_result *result = argument;
    snprintf(result->message_before, sizeof result->message_before, "%s", unetseg_last_error());
    if (unetseg_set_num_threads(-2) == UNETSEG_STATUS_OK) return NULL;
    snprintf(result->message_after, sizeof result->message_after, "%s", unetseg_last_error());
    return NULL;
}

static void test_last_error_is_per_thread(void) {
    CHECK_ERROR(unetseg_set_num_threads(-1), UNETSEG_STATUS_INVALID_ARGUMENT, "got -1");
    struct thread_result result = {{0}, {0}};
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, fail_on_other_thread, &result) == 0);
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK(strcmp(result.message_before, "") == 0);
    CHECK(strstr(result.message_after, "got -2") != NULL);
    CHECK(strstr(unetseg_last_error(), "got -1") != NULL);
    CHECK_OK(unetseg_set_num_threads(0));
}

struct log_record {
    int calls;
    int32_t last_level;
    char last_message[512];
};

static void record_log(int32_t level, const char *message, void *user_data) {
    struct log_record *record = user_data;
    record->calls++;
    record->last_level = level;
    snprintf(record->last_message, sizeof record->last_message, "%s", message);
}

static void test_log_callback(void) {
    struct log_record record = {0, -1, ""};
    unetseg_set_log_callback(record_log, &record);
    CHECK_ERROR(unetseg_set_num_threads(-3), UNETSEG_STATUS_INVALID_ARGUMENT, "got -3");
    CHECK(record.calls == 1 && record.last_level == UNETSEG_LOG_DEBUG);
    CHECK(strstr(record.last_message, "unetseg_set_num_threads failed: ") != NULL);
    CHECK(strstr(record.last_message, "got -3") != NULL);

    /* Freeing a handle twice is ignored, with a warning. */
    float value = 1;
    unetseg_tensor *tensor = make_tensor(&value, NULL, 0);
    unetseg_tensor_free(tensor);
    int before = record.calls;
    unetseg_tensor_free(tensor);
    CHECK(record.calls == before + 1 && record.last_level == UNETSEG_LOG_WARNING);
    CHECK(strstr(record.last_message, "unetseg_tensor_free: ignoring handle") != NULL);
    CHECK(strstr(record.last_message, "not live") != NULL);

    /* Successful calls log nothing at these levels; NULL stops logging. */
    before = record.calls;
    CHECK_OK(unetseg_set_num_threads(0));
    CHECK(record.calls == before);
    unetseg_set_log_callback(NULL, NULL);
    CHECK_ERROR(unetseg_set_num_threads(-4), UNETSEG_STATUS_INVALID_ARGUMENT, "got -4");
    CHECK(record.calls == before);
}

/* A log callback that calls into the library: calls that cannot fail, a succeeding fallible call (which
 * clears this thread's message) and a failing one (which sets its own; its own log message comes back
 * here nested, and is not answered with yet another call). */
struct reentrant_log {
    int calls;
    int depth;
    int answers_right; /* the calls made from the callback returned what they should */
};

static void log_calling_into_library(int32_t level, const char *message, void *user_data) {
    (void)level;
    (void)message;
    struct reentrant_log *log = user_data;
    log->calls++;
    if (log->depth > 0) return;
    log->depth++;
    log->answers_right = strlen(unetseg_version()) >= 5
        && strcmp(unetseg_status_string(UNETSEG_STATUS_IO), "I/O error") == 0
        && unetseg_set_num_threads(0) == UNETSEG_STATUS_OK
        && unetseg_set_num_threads(-9) == UNETSEG_STATUS_INVALID_ARGUMENT;
    log->depth--;
}

static void test_log_callback_keeps_the_failing_calls_message(void) {
    struct reentrant_log log = {0, 0, 0};
    unetseg_set_log_callback(log_calling_into_library, &log);
    CHECK_ERROR(unetseg_set_num_threads(-5), UNETSEG_STATUS_INVALID_ARGUMENT, "got -5");
    CHECK(log.calls == 2 && log.answers_right);
    CHECK(strstr(unetseg_last_error(), "got -9") == NULL);
    unetseg_set_log_callback(NULL, NULL);
    CHECK_OK(unetseg_set_num_threads(0));
}

static void test_frees_accept_null(void) {
    unetseg_tensor_free(NULL);
    unetseg_model_free(NULL);
    unetseg_sgd_free(NULL);
    unetseg_one_cycle_free(NULL);
    unetseg_dataset_free(NULL);
    unetseg_loader_free(NULL);
    unetseg_evaluation_free(NULL);
    CHECK(unetseg_live_handle_count() == 0);
}

static void test_live_handle_count(void) {
    float values[2] = {1, 2};
    int64_t shape[1] = {2};
    int64_t before = unetseg_live_handle_count();
    unetseg_tensor *a = make_tensor(values, shape, 1);
    unetseg_tensor *b = make_tensor(values, shape, 1);
    CHECK(unetseg_live_handle_count() == before + 2);
    unetseg_tensor_free(a);
    CHECK(unetseg_live_handle_count() == before + 1);
    unetseg_tensor_free(b);
    CHECK(unetseg_live_handle_count() == before);
}

int main(void) {
    RUN(test_versions);
    RUN(test_system_info);
    RUN(test_system_info_string);
    RUN(test_threads);
    RUN(test_status_strings);
    RUN(test_last_error_lifecycle);
    RUN(test_last_error_is_per_thread);
    RUN(test_log_callback);
    RUN(test_log_callback_keeps_the_failing_calls_message);
    RUN(test_frees_accept_null);
    RUN(test_live_handle_count);
    return finish();
}
