/* The R bridge (bindings/R/unetseg_r.h), called as R's .C calls it: one route to the same Swift code as
 * the C API, the same handles, the same messages. */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "unetseg_r.h"

/* The debug lines of the log callback (one per failed call): how many, and the first one. */
static int failure_lines;
static char first_failure[512];

static void count_failures(int32_t level, const char *message, void *user_data) {
    (void)user_data;
    if (level != UNETSEG_LOG_DEBUG || strstr(message, " failed: ") == NULL) return;
    if (failure_lines++ == 0) snprintf(first_failure, sizeof first_failure, "%s", message);
}

/* A message buffer as R passes it: a string of `size - 1` characters, which the library may overwrite. */
static char message_buffer[256];
static char *message_string;

static char **fresh_message(void) {
    memset(message_buffer, 'x', sizeof message_buffer - 1);
    message_buffer[sizeof message_buffer - 1] = '\0';
    message_string = message_buffer;
    return &message_string;
}

/* An R function that fails reports it once, as itself (not also as the C API function whose work it does),
 * with the status and message the C API gives for the same arguments. */
static void test_r_failure_is_reported_once_with_the_c_message(void) {
    unetseg_model_params params = unetseg_model_default_params();
    params.depth = 0;
    unetseg_model *model = NULL;
    CHECK(unetseg_model_create(&params, &model) == UNETSEG_STATUS_INVALID_ARGUMENT);
    char c_message[256];
    snprintf(c_message, sizeof c_message, "%s", unetseg_last_error());

    const int32_t config[5] = {params.channels_in, params.n_classes, params.depth, params.n_filters, 0};
    const double dropout = 0.5, seed = -1;
    int32_t handle = -7, status = -1;
    failure_lines = 0;
    unetseg_set_log_callback(count_failures, NULL);
    unetseg_r_model_create(config, &dropout, &seed, &handle, fresh_message(), &status);
    unetseg_set_log_callback(NULL, NULL);
    CHECK(status == UNETSEG_STATUS_INVALID_ARGUMENT);
    CHECK(handle == 0);
    CHECK(strcmp(message_buffer, c_message) == 0);
    CHECK(failure_lines == 1);
    CHECK(strncmp(first_failure, "unetseg_r_model_create failed: ", strlen("unetseg_r_model_create failed: ")) == 0);
}

/* A model made through R is a C API handle: the C API reads the same shape, and R's free releases it. */
static void test_r_handles_are_c_api_handles(void) {
    const int32_t config[5] = {3, 1, 2, 1, 1};
    const double dropout = 0.25, seed = 5;
    int32_t handle = 0, status = -1;
    unetseg_r_model_create(config, &dropout, &seed, &handle, fresh_message(), &status);
    CHECK(status == UNETSEG_STATUS_OK);
    CHECK(message_buffer[0] == '\0');
    CHECK(handle > 0);

    unetseg_model_params params;
    CHECK_OK(unetseg_model_get_params((const unetseg_model *)(uintptr_t)handle, &params));
    CHECK(params.channels_in == 3 && params.n_classes == 1 && params.depth == 2 && params.n_filters == 1);
    CHECK(params.seed == 5 && params.batch_norm);

    int32_t read_config[5] = {0};
    double read_dropout = 0;
    unetseg_r_model_config(&handle, read_config, &read_dropout, fresh_message(), &status);
    CHECK(status == UNETSEG_STATUS_OK);
    CHECK(memcmp(read_config, config, sizeof config) == 0);
    CHECK(read_dropout == 0.25);

    unetseg_r_model_free(&handle, fresh_message(), &status);
    CHECK(status == UNETSEG_STATUS_OK);
    CHECK(unetseg_live_handle_count() == 0);
}

/* rsub_scalar is scalar - tensor, through R as through C. */
static void test_rsub_scalar_is_scalar_minus_tensor(void) {
    const double values[3] = {1, 2, 4.5}, length = 3;
    const int32_t shape[1] = {3}, ndim = 1, requires_grad = 0;
    int32_t x = 0, y = 0, status = -1;
    unetseg_r_tensor_create(values, &length, shape, &ndim, &requires_grad, &x, fresh_message(), &status);
    CHECK(status == UNETSEG_STATUS_OK);
    const double scalar = 3;
    unetseg_r_tensor_rsub_scalar(&scalar, &x, &y, fresh_message(), &status);
    CHECK(status == UNETSEG_STATUS_OK);
    float out[3] = {0};
    CHECK_OK(unetseg_tensor_copy_to((const unetseg_tensor *)(uintptr_t)y, out, 3));
    CHECK(out[0] == 2 && out[1] == 1 && out[2] == -1.5f);
    unetseg_r_tensor_free(&x, fresh_message(), &status);
    unetseg_r_tensor_free(&y, fresh_message(), &status);
}

int main(void) {
    RUN(test_r_failure_is_reported_once_with_the_c_message);
    RUN(test_r_handles_are_c_api_handles);
    RUN(test_rsub_scalar_is_scalar_minus_tensor);
    return finish();
}
