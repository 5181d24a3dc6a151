/* Layer ops with autograd (conv2d, conv_transpose2d, max_pool2d, relu, dropout, cat), uniform, copy_from,
 * a model parameter as a tensor (its gradient), SGD over caller-made tensors: hand-computed values and
 * every argument error. */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"

static void check_values(const unetseg_tensor *tensor, const float *expected, int64_t count) {
    float actual[64];
    int64_t numel = -1;
    CHECK_OK(unetseg_tensor_numel(tensor, &numel));
    CHECK(numel == count && count <= 64);
    CHECK_OK(unetseg_tensor_copy_to(tensor, actual, 64));
    for (int64_t i = 0; i < count && i < 64; i++) CHECK_CLOSE(actual[i], expected[i], 1e-6);
}

static void check_shape(const unetseg_tensor *tensor, const int64_t *expected, int32_t ndim) {
    int32_t actual_ndim = -1;
    int64_t shape[UNETSEG_MAX_NDIM] = {0};
    CHECK_OK(unetseg_tensor_ndim(tensor, &actual_ndim));
    CHECK(actual_ndim == ndim);
    CHECK_OK(unetseg_tensor_shape(tensor, shape, UNETSEG_MAX_NDIM));
    for (int32_t i = 0; i < ndim; i++) CHECK(shape[i] == expected[i]);
}

/* Back-propagates the sum of `out` and frees the graph's handles. */
static void backward_sum(unetseg_tensor *out) {
    unetseg_tensor *sum = NULL;
    CHECK_OK(unetseg_tensor_sum(out, &sum));
    CHECK_OK(unetseg_tensor_backward(sum));
    unetseg_tensor_free(sum);
}

static void check_grad(const unetseg_tensor *tensor, const float *expected, int64_t count) {
    unetseg_tensor *grad = NULL;
    CHECK_OK(unetseg_tensor_grad(tensor, &grad));
    CHECK(grad != NULL);
    if (grad) check_values(grad, expected, count);
    unetseg_tensor_free(grad);
}

static const float one_to_nine[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
static const int64_t image33[4] = {1, 1, 3, 3};
static const int64_t kernel22[4] = {1, 1, 2, 2};

static void test_conv2d_values_and_gradients(void) {
    const float ones[4] = {1, 1, 1, 1}, half = 0.5f;
    const int64_t one = 1;
    unetseg_tensor *x = make_tensor(one_to_nine, image33, 4), *w = make_tensor(ones, kernel22, 4);
    unetseg_tensor *b = make_tensor(&half, &one, 1), *out = NULL;
    CHECK_OK(unetseg_tensor_set_requires_grad(x, true));
    CHECK_OK(unetseg_tensor_set_requires_grad(w, true));
    CHECK_OK(unetseg_tensor_set_requires_grad(b, true));
    CHECK_OK(unetseg_tensor_conv2d(x, w, b, 1, 0, &out));
    const int64_t shape[4] = {1, 1, 2, 2};
    check_shape(out, shape, 4);
    const float expected[4] = {12.5f, 16.5f, 24.5f, 28.5f};
    check_values(out, expected, 4);
    backward_sum(out);
    const float grad_w[4] = {12, 16, 24, 28}, grad_b = 4, grad_x[9] = {1, 2, 1, 2, 4, 2, 1, 2, 1};
    check_grad(w, grad_w, 4);
    check_grad(b, &grad_b, 1);
    check_grad(x, grad_x, 9);
    unetseg_tensor_free(out);

    /* Padding 1, stride 2, no bias: the windows at (-1, -1), (-1, 1), (1, -1), (1, 1). */
    CHECK_OK(unetseg_tensor_conv2d(x, w, NULL, 2, 1, &out));
    check_shape(out, shape, 4);
    const float padded[4] = {1, 5, 11, 28};
    check_values(out, padded, 4);
    unetseg_tensor_free(out);
    unetseg_tensor_free(x);
    unetseg_tensor_free(w);
    unetseg_tensor_free(b);
}

static void test_conv2d_errors(void) {
    const float zeros8[8] = {0};
    const int64_t two_in[4] = {1, 2, 2, 2}, bias_shape = 2;
    unetseg_tensor *x = make_tensor(one_to_nine, image33, 4), *w2 = make_tensor(zeros8, two_in, 4);
    unetseg_tensor *w = make_tensor(zeros8, kernel22, 4), *b2 = make_tensor(zeros8, &bias_shape, 1);
    unetseg_tensor *out = (unetseg_tensor *)x;
    CHECK_ERROR(unetseg_tensor_conv2d(x, w2, NULL, 1, 0, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "conv2d: weight");
    CHECK(out == NULL);
    CHECK_ERROR(unetseg_tensor_conv2d(x, w, b2, 1, 0, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "conv2d: bias");
    CHECK_ERROR(unetseg_tensor_conv2d(w, x, NULL, 1, 0, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "conv2d");
    CHECK_ERROR(unetseg_tensor_conv2d(x, w, NULL, 0, 0, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "stride");
    CHECK_ERROR(unetseg_tensor_conv2d(x, w, NULL, 1, -1, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "padding");
    CHECK_ERROR(unetseg_tensor_conv2d(NULL, w, NULL, 1, 0, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "input");
    CHECK_ERROR(unetseg_tensor_conv2d(x, NULL, NULL, 1, 0, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "weight");
    CHECK_ERROR(unetseg_tensor_conv2d(x, w, NULL, 1, 0, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_tensor");
    unetseg_tensor_free(b2);
    CHECK_ERROR(unetseg_tensor_conv2d(x, w, b2, 1, 0, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "bias");
    unetseg_tensor_free(x);
    unetseg_tensor_free(w);
    unetseg_tensor_free(w2);
}

static void test_conv_transpose2d_values_and_errors(void) {
    const float x_values[4] = {1, 2, 3, 4}, w_values[4] = {1, 10, 100, 1000};
    unetseg_tensor *x = make_tensor(x_values, kernel22, 4), *w = make_tensor(w_values, kernel22, 4), *out = NULL;
    CHECK_OK(unetseg_tensor_set_requires_grad(w, true));
    CHECK_OK(unetseg_tensor_conv_transpose2d(x, w, NULL, 2, 0, &out));
    const int64_t shape[4] = {1, 1, 4, 4};
    check_shape(out, shape, 4);
    /* Each input pixel writes its own 2x2 block x[i][j] * w. */
    const float expected[16] = {1, 10, 2, 20, 100, 1000, 200, 2000, 3, 30, 4, 40, 300, 3000, 400, 4000};
    check_values(out, expected, 16);
    backward_sum(out);
    const float grad_w[4] = {10, 10, 10, 10};
    check_grad(w, grad_w, 4);
    unetseg_tensor_free(out);
    const int64_t two_in[4] = {2, 1, 2, 2};
    const float zeros8[8] = {0};
    unetseg_tensor *w2 = make_tensor(zeros8, two_in, 4);
    CHECK_ERROR(unetseg_tensor_conv_transpose2d(x, w2, NULL, 2, 0, &out), UNETSEG_STATUS_INVALID_ARGUMENT,
                "conv_transpose2d: weight");
    CHECK_ERROR(unetseg_tensor_conv_transpose2d(x, w, NULL, 0, 0, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "stride");
    CHECK_ERROR(unetseg_tensor_conv_transpose2d(x, w, NULL, 2, -3, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "padding");
    unetseg_tensor_free(x);
    unetseg_tensor_free(w);
    unetseg_tensor_free(w2);
}

static void test_max_pool2d_values_and_errors(void) {
    float values[16];
    for (int i = 0; i < 16; i++) values[i] = (float)i;
    const int64_t shape[4] = {1, 1, 4, 4}, pooled[4] = {1, 1, 2, 2};
    unetseg_tensor *x = make_tensor(values, shape, 4), *out = NULL;
    CHECK_OK(unetseg_tensor_set_requires_grad(x, true));
    CHECK_OK(unetseg_tensor_max_pool2d(x, 2, 0, &out));
    check_shape(out, pooled, 4);
    const float expected[4] = {5, 7, 13, 15};
    check_values(out, expected, 4);
    backward_sum(out);
    const float grad[16] = {0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1};
    check_grad(x, grad, 16);
    unetseg_tensor_free(out);
    /* Kernel 3, stride 1: a 2x2 result of the 3x3 windows' maxima. */
    CHECK_OK(unetseg_tensor_max_pool2d(x, 3, 1, &out));
    const float overlapping[4] = {10, 11, 14, 15};
    check_values(out, overlapping, 4);
    unetseg_tensor_free(out);
    CHECK_ERROR(unetseg_tensor_max_pool2d(x, 0, 0, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "kernel_size");
    CHECK_ERROR(unetseg_tensor_max_pool2d(x, 5, 0, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "larger than the input");
    CHECK_ERROR(unetseg_tensor_max_pool2d(x, 2, -1, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "stride");
    const int64_t flat[2] = {4, 4};
    unetseg_tensor *matrix = make_tensor(values, flat, 2);
    CHECK_ERROR(unetseg_tensor_max_pool2d(matrix, 2, 0, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "[N, C, H, W]");
    unetseg_tensor_free(matrix);
    unetseg_tensor_free(x);
}

static void test_relu(void) {
    const float values[4] = {-1, 2, -3, 4};
    const int64_t shape = 4;
    unetseg_tensor *x = make_tensor(values, &shape, 1), *out = NULL;
    CHECK_OK(unetseg_tensor_set_requires_grad(x, true));
    CHECK_OK(unetseg_tensor_relu(x, &out));
    const float expected[4] = {0, 2, 0, 4}, grad[4] = {0, 1, 0, 1};
    check_values(out, expected, 4);
    backward_sum(out);
    check_grad(x, grad, 4);
    unetseg_tensor_free(out);
    unetseg_tensor_free(x);
    CHECK_ERROR(unetseg_tensor_relu(NULL, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "input");
}

/* The dropout of 1000 ones after seeding with `seed`, into `values`. */
static void dropped_ones(uint64_t seed, float p, bool training, float *values) {
    const int64_t shape = 1000;
    unetseg_tensor *ones = NULL, *out = NULL;
    CHECK_OK(unetseg_tensor_zeros(&shape, 1, &ones));
    unetseg_tensor *x = NULL;
    CHECK_OK(unetseg_tensor_add_scalar(ones, 1, &x));
    unetseg_manual_seed(seed);
    CHECK_OK(unetseg_tensor_dropout(x, p, training, &out));
    CHECK_OK(unetseg_tensor_copy_to(out, values, 1000));
    unetseg_tensor_free(out);
    unetseg_tensor_free(x);
    unetseg_tensor_free(ones);
}

static void test_dropout_seeded_scaled_and_errors(void) {
    static float first[1000], second[1000], other[1000];
    dropped_ones(7, 0.5f, true, first);
    dropped_ones(7, 0.5f, true, second);
    dropped_ones(8, 0.5f, true, other);
    int zeros = 0, scaled = 0;
    for (int i = 0; i < 1000; i++) {
        zeros += first[i] == 0;
        scaled += first[i] == 2;
    }
    CHECK(zeros + scaled == 1000);
    CHECK(zeros > 400 && zeros < 600);
    CHECK(memcmp(first, second, sizeof first) == 0);
    CHECK(memcmp(first, other, sizeof first) != 0);
    dropped_ones(7, 0.5f, false, first);
    for (int i = 0; i < 1000; i++) CHECK(first[i] == 1);
    dropped_ones(7, 0.0f, true, first);
    for (int i = 0; i < 1000; i++) CHECK(first[i] == 1);
    const float value = 1;
    unetseg_tensor *x = make_tensor(&value, NULL, 0), *out = NULL;
    CHECK_ERROR(unetseg_tensor_dropout(x, 1.5f, true, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "p must be in [0, 1]");
    CHECK_ERROR(unetseg_tensor_dropout(x, NAN, true, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "p must be in [0, 1]");
    CHECK_ERROR(unetseg_tensor_dropout(NULL, 0.5f, true, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "input");
    unetseg_tensor_free(x);
}

static void test_cat_values_gradients_and_errors(void) {
    const float a_values[2] = {1, 2}, b_values[3] = {3, 4, 5};
    const int64_t a_shape[2] = {1, 2}, b_shape[2] = {1, 3}, joined[2] = {1, 5};
    unetseg_tensor *a = make_tensor(a_values, a_shape, 2), *b = make_tensor(b_values, b_shape, 2), *out = NULL;
    CHECK_OK(unetseg_tensor_set_requires_grad(a, true));
    CHECK_OK(unetseg_tensor_set_requires_grad(b, true));
    const unetseg_tensor *both[2] = {a, b};
    CHECK_OK(unetseg_tensor_cat(both, 2, 1, &out));
    check_shape(out, joined, 2);
    const float expected[5] = {1, 2, 3, 4, 5}, ones[3] = {1, 1, 1};
    check_values(out, expected, 5);
    backward_sum(out);
    check_grad(a, ones, 2);
    check_grad(b, ones, 3);
    unetseg_tensor_free(out);
    CHECK_ERROR(unetseg_tensor_cat(both, 2, 0, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "differ outside dim 0");
    CHECK_ERROR(unetseg_tensor_cat(both, 2, 2, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "dim 2 out of range");
    CHECK_ERROR(unetseg_tensor_cat(both, 0, 1, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "count");
    CHECK_ERROR(unetseg_tensor_cat(NULL, 2, 1, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "tensors");
    const unetseg_tensor *with_null[2] = {a, NULL};
    CHECK_ERROR(unetseg_tensor_cat(with_null, 2, 1, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "tensors[1]");
    unetseg_tensor_free(a);
    unetseg_tensor_free(b);
    CHECK_ERROR(unetseg_tensor_cat(both, 2, 1, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "tensors[0]");
}

static void test_uniform_seeded_in_range_and_errors(void) {
    const int64_t shape = 1000;
    static float first[1000], second[1000];
    unetseg_tensor *t = NULL;
    unetseg_manual_seed(3);
    CHECK_OK(unetseg_tensor_uniform(&shape, 1, -2, 3, &t));
    CHECK_OK(unetseg_tensor_copy_to(t, first, 1000));
    unetseg_tensor_free(t);
    unetseg_manual_seed(3);
    CHECK_OK(unetseg_tensor_uniform(&shape, 1, -2, 3, &t));
    CHECK_OK(unetseg_tensor_copy_to(t, second, 1000));
    unetseg_tensor_free(t);
    CHECK(memcmp(first, second, sizeof first) == 0);
    double sum = 0;
    for (int i = 0; i < 1000; i++) {
        CHECK(first[i] >= -2 && first[i] < 3);
        sum += first[i];
    }
    CHECK(sum / 1000 > 0.2 && sum / 1000 < 0.8);
    CHECK_ERROR(unetseg_tensor_uniform(&shape, 1, 3, -2, &t), UNETSEG_STATUS_INVALID_ARGUMENT, "low <= high");
    CHECK_ERROR(unetseg_tensor_uniform(&shape, 1, 0, INFINITY, &t), UNETSEG_STATUS_INVALID_ARGUMENT, "finite");
    CHECK_ERROR(unetseg_tensor_uniform(NULL, 1, 0, 1, &t), UNETSEG_STATUS_INVALID_ARGUMENT, "shape");
    CHECK(t == NULL);
}

static void test_copy_from(void) {
    const int64_t shape = 3;
    const float values[3] = {1, 2, 3};
    unetseg_tensor *t = NULL;
    CHECK_OK(unetseg_tensor_zeros(&shape, 1, &t));
    CHECK_OK(unetseg_tensor_copy_from(t, values, 3));
    check_values(t, values, 3);
    const float zeros[3] = {0};
    CHECK_ERROR(unetseg_tensor_copy_from(t, zeros, 2), UNETSEG_STATUS_INVALID_ARGUMENT, "data");
    CHECK_ERROR(unetseg_tensor_copy_from(t, NULL, 3), UNETSEG_STATUS_INVALID_ARGUMENT, "data");
    check_values(t, values, 3);
    unetseg_tensor_free(t);
}

static void test_model_parameter_tensor_reads_the_gradient(void) {
    unetseg_model *model = make_tiny_model(5);
    const int64_t shape[4] = {1, 3, 4, 4};
    float input_values[48];
    for (int i = 0; i < 48; i++) input_values[i] = (float)(i % 7) / 7;
    unetseg_tensor *input = make_tensor(input_values, shape, 4), *prediction = NULL, *weight = NULL;
    CHECK_OK(unetseg_model_parameter_tensor(model, 0, &weight));
    unetseg_tensor *before = NULL;
    CHECK_OK(unetseg_tensor_grad(weight, &before));
    CHECK(before == NULL);
    bool requires_grad = false;
    CHECK_OK(unetseg_tensor_requires_grad(weight, &requires_grad));
    CHECK(requires_grad);
    CHECK_OK(unetseg_model_eval(model));
    CHECK_OK(unetseg_model_forward(model, input, &prediction));
    backward_sum(prediction);
    unetseg_tensor *grad = NULL;
    CHECK_OK(unetseg_tensor_grad(weight, &grad));
    CHECK(grad != NULL);
    int64_t count = 0;
    if (grad) CHECK_OK(unetseg_tensor_numel(grad, &count));
    CHECK(count == 4 * 3 * 3 * 3);
    float grad_values[108] = {0};
    if (grad) CHECK_OK(unetseg_tensor_copy_to(grad, grad_values, 108));
    double magnitude = 0;
    for (int i = 0; i < 108; i++) magnitude += fabs(grad_values[i]);
    CHECK(magnitude > 0);
    /* The tensor is the parameter itself: writing into it changes the model's values. */
    float values[108];
    for (int i = 0; i < 108; i++) values[i] = (float)i;
    CHECK_OK(unetseg_tensor_copy_from(weight, values, 108));
    float read_back[108] = {0};
    CHECK_OK(unetseg_model_parameter_get(model, 0, read_back, 108));
    CHECK(memcmp(values, read_back, sizeof values) == 0);
    unetseg_tensor *out = NULL;
    CHECK_ERROR(unetseg_model_parameter_tensor(model, 99, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "index");
    CHECK_ERROR(unetseg_model_parameter_tensor(NULL, 0, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "model");
    CHECK_ERROR(unetseg_model_parameter_tensor(model, 0, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_tensor");
    /* It outlives the model. */
    unetseg_model_free(model);
    CHECK_OK(unetseg_tensor_copy_to(weight, read_back, 108));
    CHECK(memcmp(values, read_back, sizeof values) == 0);
    unetseg_tensor_free(grad);
    unetseg_tensor_free(weight);
    unetseg_tensor_free(prediction);
    unetseg_tensor_free(input);
}

static void test_sgd_over_tensors(void) {
    const float values[2] = {1, 2};
    const int64_t shape = 2;
    unetseg_tensor *w = make_tensor(values, &shape, 1), *plain = make_tensor(values, &shape, 1);
    CHECK_OK(unetseg_tensor_set_requires_grad(w, true));
    unetseg_sgd_params params = unetseg_sgd_default_params();
    params.lr = 0.1;
    params.momentum = 0;
    unetseg_sgd *sgd = NULL;
    const unetseg_tensor *parameters[1] = {w};
    CHECK_OK(unetseg_sgd_create_for_tensors(parameters, 1, &params, &sgd));
    unetseg_tensor *square = NULL;
    CHECK_OK(unetseg_tensor_mul(w, w, &square));
    backward_sum(square); /* d sum(w^2) / dw = 2 w */
    CHECK_OK(unetseg_sgd_step(sgd));
    const float stepped[2] = {0.8f, 1.6f};
    check_values(w, stepped, 2);
    CHECK_OK(unetseg_sgd_zero_grad(sgd));
    unetseg_tensor *grad = (unetseg_tensor *)w;
    CHECK_OK(unetseg_tensor_grad(w, &grad));
    CHECK(grad == NULL);
    unetseg_one_cycle_params schedule = unetseg_one_cycle_default_params();
    schedule.steps_per_epoch = 2;
    unetseg_one_cycle *one_cycle = NULL;
    CHECK_OK(unetseg_one_cycle_create(sgd, &schedule, &one_cycle));
    CHECK_OK(unetseg_one_cycle_step(one_cycle));
    unetseg_one_cycle_free(one_cycle);

    unetseg_sgd *bad = NULL;
    const unetseg_tensor *no_grad[1] = {plain}, *twice[2] = {w, w}, *with_null[2] = {w, NULL};
    CHECK_ERROR(unetseg_sgd_create_for_tensors(no_grad, 1, &params, &bad), UNETSEG_STATUS_INVALID_ARGUMENT,
                "tensors[0] does not require grad");
    CHECK_ERROR(unetseg_sgd_create_for_tensors(twice, 2, &params, &bad), UNETSEG_STATUS_INVALID_ARGUMENT,
                "tensors[1] is given twice");
    CHECK_ERROR(unetseg_sgd_create_for_tensors(with_null, 2, &params, &bad), UNETSEG_STATUS_INVALID_ARGUMENT,
                "tensors[1]");
    CHECK_ERROR(unetseg_sgd_create_for_tensors(parameters, 0, &params, &bad), UNETSEG_STATUS_INVALID_ARGUMENT, "count");
    CHECK_ERROR(unetseg_sgd_create_for_tensors(parameters, 1, NULL, &bad), UNETSEG_STATUS_INVALID_ARGUMENT, "params");
    params.lr = -1;
    CHECK_ERROR(unetseg_sgd_create_for_tensors(parameters, 1, &params, &bad), UNETSEG_STATUS_INVALID_ARGUMENT, "learning rate");
    CHECK(bad == NULL);
    /* The optimiser keeps its tensors alive. */
    unetseg_tensor_free(w);
    CHECK_OK(unetseg_sgd_step(sgd));
    unetseg_sgd_free(sgd);
    unetseg_tensor_free(square);
    unetseg_tensor_free(plain);
}

int main(void) {
    RUN(test_conv2d_values_and_gradients);
    RUN(test_conv2d_errors);
    RUN(test_conv_transpose2d_values_and_errors);
    RUN(test_max_pool2d_values_and_errors);
    RUN(test_relu);
    RUN(test_dropout_seeded_scaled_and_errors);
    RUN(test_cat_values_gradients_and_errors);
    RUN(test_uniform_seeded_in_range_and_errors);
    RUN(test_copy_from);
    RUN(test_model_parameter_tensor_reads_the_gradient);
    RUN(test_sgd_over_tensors);
    return finish();
}
