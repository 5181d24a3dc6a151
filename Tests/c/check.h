/*
 * check.h: a minimal test harness for the C API tests.
 *
 * A test is a function `static void test_x(void)` run with RUN(test_x); it passes when none of its
 * CHECKs fails. Failed checks print file, line, the expression and, for status checks, the library's
 * message. main() ends with `return finish();`, which prints "N passed, M failed" (tests, not checks) as
 * the last line, for Tests/c/run-tests to add up.
 */
#ifndef UNETSEG_TEST_CHECK_H
#define UNETSEG_TEST_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "unetseg.h"

static int tests_passed, tests_failed, current_test_failed;

static inline void check_failed(const char *file, int line, const char *what, const char *detail) {
    current_test_failed = 1;
    fprintf(stderr, "%s:%d: check failed: %s%s%s\n", file, line, what, detail[0] ? ": " : "", detail);
}

/* A condition that must hold. */
#define CHECK(condition) \
    do { if (!(condition)) check_failed(__FILE__, __LINE__, #condition, ""); } while (0)

/* A call that must return UNETSEG_STATUS_OK and leave an empty message. */
#define CHECK_OK(call) \
    do { \
        int32_t status_ = (call); \
        if (status_ != UNETSEG_STATUS_OK) check_failed(__FILE__, __LINE__, #call, unetseg_last_error()); \
        else if (unetseg_last_error()[0] != '\0') check_failed(__FILE__, __LINE__, #call, "OK but a message is set"); \
    } while (0)

/* A call that must fail with `expected` and a message containing `fragment`. */
#define CHECK_ERROR(call, expected, fragment) \
    do { \
        int32_t status_ = (call); \
        const char *message_ = unetseg_last_error(); \
        if (status_ != (expected)) { \
            char detail_[512]; \
            snprintf(detail_, sizeof detail_, "status %s, expected %s (message: %s)", \
                     unetseg_status_string(status_), unetseg_status_string(expected), message_); \
            check_failed(__FILE__, __LINE__, #call, detail_); \
        } else if (strstr(message_, (fragment)) == NULL) { \
            char detail_[512]; \
            snprintf(detail_, sizeof detail_, "message \"%s\" lacks \"%s\"", message_, (fragment)); \
            check_failed(__FILE__, __LINE__, #call, detail_); \
        } \
    } while (0)

/* Two floats equal within an absolute-or-relative tolerance. */
#define CHECK_CLOSE(actual, expected, tolerance) \
    do { \
        double a_ = (actual), e_ = (expected); \
        if (!(fabs(a_ - e_) <= (tolerance) * (1.0 + fabs(e_)))) { \
            char detail_[128]; \
            snprintf(detail_, sizeof detail_, "%.9g, expected %.9g", a_, e_); \
            check_failed(__FILE__, __LINE__, #actual, detail_); \
        } \
    } while (0)

#define RUN(test) \
    do { \
        current_test_failed = 0; \
        test(); \
        if (current_test_failed) { tests_failed++; fprintf(stderr, "FAIL %s\n", #test); } \
        else { tests_passed++; printf("ok   %s\n", #test); } \
        fflush(stdout); \
    } while (0)

/* The last test of every program: every handle made was freed. */
static inline void test_no_handle_leaked(void) {
    CHECK(unetseg_live_handle_count() == 0);
}

static inline int finish(void) {
    RUN(test_no_handle_leaked);
    printf("%d passed, %d failed\n", tests_passed, tests_failed);
    return tests_failed == 0 ? 0 : 1;
}

/* A new tensor from a literal array, or NULL (and a failed check). */
static inline unetseg_tensor *make_tensor(const float *data, const int64_t *shape, int32_t ndim) {
    unetseg_tensor *tensor = NULL;
    CHECK_OK(unetseg_tensor_create(data, shape, ndim, &tensor));
    return tensor;
}

/* The value of a one-element tensor (NAN if it cannot be read). */
static inline float item(const unetseg_tensor *tensor) {
    float value = NAN;
    CHECK_OK(unetseg_tensor_item(tensor, &value));
    return value;
}

/* A model with the post's shape at a tiny size (depth 2, 4 first channels), seeded. */
static inline unetseg_model *make_tiny_model(int64_t seed) {
    unetseg_model_params params = unetseg_model_default_params();
    params.depth = 2;
    params.n_filters = 2;
    params.seed = seed;
    unetseg_model *model = NULL;
    CHECK_OK(unetseg_model_create(&params, &model));
    return model;
}

/* A loader over `dataset` with these settings (seed 777). */
static inline unetseg_loader *make_loader(unetseg_dataset *dataset, int32_t batch_size, bool shuffle, bool drop_last,
                                          int32_t workers) {
    unetseg_loader_params params = unetseg_loader_default_params();
    params.batch_size = batch_size;
    params.shuffle = shuffle;
    params.drop_last = drop_last;
    params.workers = workers;
    unetseg_loader *loader = NULL;
    CHECK_OK(unetseg_loader_create(dataset, &params, &loader));
    return loader;
}

#endif
