/* Tensors: creation and validation, shape and data, ops, autograd, dead and foreign handles. */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"

/* A handle value the library never made: never dereferenced, so this is safe to pass. */
#define FOREIGN_TENSOR ((unetseg_tensor *)(uintptr_t)0x1238)

static const float values6[6] = {1, 2, 3, 4, 5, 6};
static const int64_t shape23[2] = {2, 3};

static void check_values(const unetseg_tensor *tensor, const float *expected, int64_t count) {
    float actual[64];
    int64_t numel = -1;
    CHECK_OK(unetseg_tensor_numel(tensor, &numel));
    CHECK(numel == count && count <= 64);
    CHECK_OK(unetseg_tensor_copy_to(tensor, actual, 64));
    for (int64_t i = 0; i < count && i < 64; i++) CHECK_CLOSE(actual[i], expected[i], 1e-6);
}

static void test_create_and_read_back(void) {
    unetseg_tensor *t = make_tensor(values6, shape23, 2);
    int32_t ndim = -1;
    int64_t shape[UNETSEG_MAX_NDIM] = {0};
    CHECK_OK(unetseg_tensor_ndim(t, &ndim));
    CHECK(ndim == 2);
    CHECK_OK(unetseg_tensor_shape(t, shape, UNETSEG_MAX_NDIM));
    CHECK(shape[0] == 2 && shape[1] == 3);
    check_values(t, values6, 6);
    float out[6] = {0};
    CHECK_OK(unetseg_tensor_copy_to(t, out, 6));
    CHECK(memcmp(out, values6, sizeof out) == 0);
    bool requires_grad = true;
    CHECK_OK(unetseg_tensor_requires_grad(t, &requires_grad));
    CHECK(!requires_grad);
    unetseg_tensor_free(t);
}

static void test_create_copies_the_data(void) {
    float data[2] = {1, 2};
    int64_t shape[1] = {2};
    unetseg_tensor *t = make_tensor(data, shape, 1);
    data[0] = 99;
    shape[0] = 7;
    const float expected[2] = {1, 2};
    check_values(t, expected, 2);
    unetseg_tensor_free(t);
}

static void test_scalar_and_zeros(void) {
    float value = 2.5f;
    unetseg_tensor *scalar = make_tensor(&value, NULL, 0);
    int32_t ndim = -1;
    CHECK_OK(unetseg_tensor_ndim(scalar, &ndim));
    CHECK(ndim == 0);
    CHECK(item(scalar) == 2.5f);
    int64_t shape[4] = {1, 2, 2, 2};
    unetseg_tensor *zeros = NULL;
    CHECK_OK(unetseg_tensor_zeros(shape, 4, &zeros));
    const float expected[8] = {0};
    check_values(zeros, expected, 8);
    unetseg_tensor_free(scalar);
    unetseg_tensor_free(zeros);
}

static void test_create_rejects_bad_arguments(void) {
    unetseg_tensor *t = FOREIGN_TENSOR;
    int64_t zero[2] = {2, 0}, negative[2] = {-2, 3}, nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    int64_t overflow[2] = {INT64_C(1) << 62, 4}, huge[2] = {INT64_C(1) << 20, INT64_C(1) << 13};
    CHECK_ERROR(unetseg_tensor_create(NULL, shape23, 2, &t), UNETSEG_STATUS_INVALID_ARGUMENT, "data is NULL");
    CHECK(t == NULL);
    CHECK_ERROR(unetseg_tensor_create(values6, NULL, 2, &t), UNETSEG_STATUS_INVALID_ARGUMENT, "shape is NULL");
    CHECK_ERROR(unetseg_tensor_create(values6, shape23, 2, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_tensor is NULL");
    CHECK_ERROR(unetseg_tensor_create(values6, shape23, -1, &t), UNETSEG_STATUS_INVALID_ARGUMENT, "ndim must be in 0...8");
    CHECK_ERROR(unetseg_tensor_create(values6, nine, 9, &t), UNETSEG_STATUS_INVALID_ARGUMENT, "got 9");
    CHECK_ERROR(unetseg_tensor_create(values6, zero, 2, &t), UNETSEG_STATUS_INVALID_ARGUMENT, "shape [2, 0]: sizes must be > 0");
    CHECK_ERROR(unetseg_tensor_create(values6, negative, 2, &t), UNETSEG_STATUS_INVALID_ARGUMENT, "[-2, 3]");
    CHECK_ERROR(unetseg_tensor_zeros(overflow, 2, &t), UNETSEG_STATUS_INVALID_ARGUMENT, "too many elements");
    CHECK_ERROR(unetseg_tensor_zeros(huge, 2, &t), UNETSEG_STATUS_OUT_OF_MEMORY, "8589934592 elements");
    CHECK(t == NULL);
    CHECK_ERROR(unetseg_tensor_zeros(NULL, 1, &t), UNETSEG_STATUS_INVALID_ARGUMENT, "shape is NULL");
}

static void test_reading_rejects_bad_arguments(void) {
    unetseg_tensor *t = make_tensor(values6, shape23, 2);
    int64_t shape[1];
    float small[5];
    float value;
    CHECK_ERROR(unetseg_tensor_shape(t, shape, 1), UNETSEG_STATUS_INVALID_ARGUMENT, "out_shape holds 1 sizes, the tensor has 2");
    CHECK_ERROR(unetseg_tensor_shape(t, NULL, 8), UNETSEG_STATUS_INVALID_ARGUMENT, "out_shape is NULL");
    CHECK_ERROR(unetseg_tensor_ndim(t, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_ndim is NULL");
    CHECK_ERROR(unetseg_tensor_numel(t, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_numel is NULL");
    CHECK_ERROR(unetseg_tensor_copy_to(t, small, 5), UNETSEG_STATUS_INVALID_ARGUMENT, "out_data holds 5 floats, 6 are needed");
    CHECK_ERROR(unetseg_tensor_copy_to(t, NULL, 6), UNETSEG_STATUS_INVALID_ARGUMENT, "out_data is NULL");
    CHECK_ERROR(unetseg_tensor_item(t, &value), UNETSEG_STATUS_INVALID_ARGUMENT, "one-element tensor");
    CHECK_ERROR(unetseg_tensor_item(t, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_value is NULL");
    CHECK_ERROR(unetseg_tensor_requires_grad(t, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_requires_grad is NULL");
    CHECK_ERROR(unetseg_tensor_ndim(NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "tensor is NULL");
    unetseg_tensor_free(t);
}

static void test_elementwise_ops(void) {
    const float b_values[6] = {2, 4, 1, -1, 0.5f, 3};
    unetseg_tensor *a = make_tensor(values6, shape23, 2), *b = make_tensor(b_values, shape23, 2);
    unetseg_tensor *sum = NULL, *difference = NULL, *product = NULL, *quotient = NULL;
    CHECK_OK(unetseg_tensor_add(a, b, &sum));
    CHECK_OK(unetseg_tensor_sub(a, b, &difference));
    CHECK_OK(unetseg_tensor_mul(a, b, &product));
    CHECK_OK(unetseg_tensor_div(a, b, &quotient));
    const float expected_sum[6] = {3, 6, 4, 3, 5.5f, 9}, expected_difference[6] = {-1, -2, 2, 5, 4.5f, 3};
    const float expected_product[6] = {2, 8, 3, -4, 2.5f, 18}, expected_quotient[6] = {0.5f, 0.5f, 3, -4, 10, 2};
    check_values(sum, expected_sum, 6);
    check_values(difference, expected_difference, 6);
    check_values(product, expected_product, 6);
    check_values(quotient, expected_quotient, 6);
    unetseg_tensor *result = FOREIGN_TENSOR, *other = make_tensor(values6, (const int64_t[]){6}, 1);
    CHECK_ERROR(unetseg_tensor_add(a, other, &result), UNETSEG_STATUS_INVALID_ARGUMENT, "add: shapes [2, 3] and [6] differ");
    CHECK(result == NULL);
    CHECK_ERROR(unetseg_tensor_sub(a, other, &result), UNETSEG_STATUS_INVALID_ARGUMENT, "sub: shapes");
    CHECK_ERROR(unetseg_tensor_mul(a, other, &result), UNETSEG_STATUS_INVALID_ARGUMENT, "mul: shapes");
    CHECK_ERROR(unetseg_tensor_div(a, other, &result), UNETSEG_STATUS_INVALID_ARGUMENT, "div: shapes");
    CHECK_ERROR(unetseg_tensor_add(NULL, b, &result), UNETSEG_STATUS_INVALID_ARGUMENT, "a is NULL");
    CHECK_ERROR(unetseg_tensor_add(a, NULL, &result), UNETSEG_STATUS_INVALID_ARGUMENT, "b is NULL");
    CHECK_ERROR(unetseg_tensor_add(a, b, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_tensor is NULL");
    unetseg_tensor_free(a);
    unetseg_tensor_free(b);
    unetseg_tensor_free(other);
    unetseg_tensor_free(sum);
    unetseg_tensor_free(difference);
    unetseg_tensor_free(product);
    unetseg_tensor_free(quotient);
}

typedef int32_t (*tensor_scalar_op)(const unetseg_tensor *, float, unetseg_tensor **);
typedef int32_t (*scalar_tensor_op)(float, const unetseg_tensor *, unetseg_tensor **);

static void check_tensor_scalar(tensor_scalar_op op, float scalar, const float *expected) {
    unetseg_tensor *x = make_tensor(values6, shape23, 2), *y = NULL;
    CHECK_OK(op(x, scalar, &y));
    check_values(y, expected, 6);
    unetseg_tensor_free(y);
    CHECK_ERROR(op(NULL, scalar, &y), UNETSEG_STATUS_INVALID_ARGUMENT, "tensor is NULL");
    CHECK(y == NULL);
    CHECK_ERROR(op(x, scalar, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_tensor is NULL");
    unetseg_tensor_free(x);
}

static void check_scalar_tensor(scalar_tensor_op op, float scalar, const float *expected) {
    unetseg_tensor *x = make_tensor(values6, shape23, 2), *y = NULL;
    CHECK_OK(op(scalar, x, &y));
    check_values(y, expected, 6);
    unetseg_tensor_free(y);
    CHECK_ERROR(op(scalar, NULL, &y), UNETSEG_STATUS_INVALID_ARGUMENT, "tensor is NULL");
    CHECK(y == NULL);
    CHECK_ERROR(op(scalar, x, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_tensor is NULL");
    unetseg_tensor_free(x);
}

static void test_scalar_ops(void) {
    check_tensor_scalar(unetseg_tensor_add_scalar, 1, (const float[]){2, 3, 4, 5, 6, 7});
    check_tensor_scalar(unetseg_tensor_sub_scalar, 1, (const float[]){0, 1, 2, 3, 4, 5});
    check_tensor_scalar(unetseg_tensor_mul_scalar, -2, (const float[]){-2, -4, -6, -8, -10, -12});
    check_tensor_scalar(unetseg_tensor_div_scalar, 4, (const float[]){0.25f, 0.5f, 0.75f, 1, 1.25f, 1.5f});
    check_tensor_scalar(unetseg_tensor_gt_scalar, 3, (const float[]){0, 0, 0, 1, 1, 1});
    check_scalar_tensor(unetseg_tensor_radd_scalar, 1, (const float[]){2, 3, 4, 5, 6, 7});
    check_scalar_tensor(unetseg_tensor_rsub_scalar, 1, (const float[]){0, -1, -2, -3, -4, -5});
    check_scalar_tensor(unetseg_tensor_rmul_scalar, 0.5f, (const float[]){0.5f, 1, 1.5f, 2, 2.5f, 3});
    check_scalar_tensor(unetseg_tensor_rdiv_scalar, 6, (const float[]){6, 3, 2, 1.5f, 1.2f, 1});
}

static void test_reductions_and_sigmoid(void) {
    unetseg_tensor *x = make_tensor(values6, shape23, 2), *sum = NULL, *mean = NULL, *sigmoid = NULL;
    CHECK_OK(unetseg_tensor_sum(x, &sum));
    CHECK_OK(unetseg_tensor_mean(x, &mean));
    CHECK_OK(unetseg_tensor_sigmoid(x, &sigmoid));
    int32_t ndim = -1;
    CHECK_OK(unetseg_tensor_ndim(sum, &ndim));
    CHECK(ndim == 0);
    CHECK_CLOSE(item(sum), 21, 1e-6);
    CHECK_CLOSE(item(mean), 3.5, 1e-6);
    float expected[6];
    for (int i = 0; i < 6; i++) expected[i] = 1.0f / (1.0f + expf(-values6[i]));
    check_values(sigmoid, expected, 6);
    unetseg_tensor *result = NULL;
    CHECK_ERROR(unetseg_tensor_sum(NULL, &result), UNETSEG_STATUS_INVALID_ARGUMENT, "tensor is NULL");
    CHECK_ERROR(unetseg_tensor_mean(x, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_tensor is NULL");
    CHECK_ERROR(unetseg_tensor_sigmoid(NULL, &result), UNETSEG_STATUS_INVALID_ARGUMENT, "tensor is NULL");
    unetseg_tensor_free(x);
    unetseg_tensor_free(sum);
    unetseg_tensor_free(mean);
    unetseg_tensor_free(sigmoid);
}

static void test_view_and_reshape(void) {
    unetseg_tensor *x = make_tensor(values6, shape23, 2), *v = NULL, *r = NULL, *bad = FOREIGN_TENSOR;
    const int64_t inferred[2] = {-1, 2}, flat[1] = {6}, two_inferred[2] = {-1, -1}, wrong[2] = {4, 2};
    CHECK_OK(unetseg_tensor_view(x, inferred, 2, &v));
    int64_t shape[8];
    CHECK_OK(unetseg_tensor_shape(v, shape, 8));
    CHECK(shape[0] == 3 && shape[1] == 2);
    check_values(v, values6, 6);
    CHECK_OK(unetseg_tensor_reshape(x, flat, 1, &r));
    check_values(r, values6, 6);
    CHECK_ERROR(unetseg_tensor_view(x, two_inferred, 2, &bad), UNETSEG_STATUS_INVALID_ARGUMENT, "at most one -1");
    CHECK(bad == NULL);
    CHECK_ERROR(unetseg_tensor_view(x, wrong, 2, &bad), UNETSEG_STATUS_INVALID_ARGUMENT, "cannot view [2, 3]");
    CHECK_ERROR(unetseg_tensor_reshape(x, wrong, 2, &bad), UNETSEG_STATUS_INVALID_ARGUMENT, "as [4, 2]");
    CHECK_ERROR(unetseg_tensor_reshape(x, NULL, 2, &bad), UNETSEG_STATUS_INVALID_ARGUMENT, "shape is NULL");
    CHECK_ERROR(unetseg_tensor_view(x, flat, 9, &bad), UNETSEG_STATUS_INVALID_ARGUMENT, "ndim must be in 0...8");
    /* A view outlives the tensor it was made from. */
    unetseg_tensor_free(x);
    check_values(v, values6, 6);
    unetseg_tensor_free(v);
    unetseg_tensor_free(r);
}

static void test_autograd(void) {
    unetseg_tensor *x = make_tensor(values6, shape23, 2), *grad = FOREIGN_TENSOR;
    CHECK_OK(unetseg_tensor_grad(x, &grad));
    CHECK(grad == NULL);
    CHECK_OK(unetseg_tensor_set_requires_grad(x, true));
    bool requires_grad = false;
    CHECK_OK(unetseg_tensor_requires_grad(x, &requires_grad));
    CHECK(requires_grad);
    /* loss = sum(x * x) / 2 + mean(3 - x): d loss / dx = x - 1/6 */
    unetseg_tensor *squares = NULL, *half = NULL, *flipped = NULL, *m = NULL, *s = NULL, *loss = NULL;
    CHECK_OK(unetseg_tensor_mul(x, x, &squares));
    CHECK_OK(unetseg_tensor_sum(squares, &s));
    CHECK_OK(unetseg_tensor_div_scalar(s, 2, &half));
    CHECK_OK(unetseg_tensor_rsub_scalar(3, x, &flipped));
    CHECK_OK(unetseg_tensor_mean(flipped, &m));
    CHECK_OK(unetseg_tensor_add(half, m, &loss));
    CHECK_OK(unetseg_tensor_requires_grad(loss, &requires_grad));
    CHECK(requires_grad);
    CHECK_ERROR(unetseg_tensor_set_requires_grad(loss, false), UNETSEG_STATUS_INVALID_ARGUMENT, "leaf tensors");
    CHECK_ERROR(unetseg_tensor_backward(squares), UNETSEG_STATUS_INVALID_ARGUMENT, "one-element tensor");
    CHECK_OK(unetseg_tensor_backward(loss));
    CHECK_OK(unetseg_tensor_grad(x, &grad));
    float expected[6];
    for (int i = 0; i < 6; i++) expected[i] = values6[i] - 1.0f / 6.0f;
    check_values(grad, expected, 6);
    CHECK_OK(unetseg_tensor_zero_grad(x));
    unetseg_tensor *after = FOREIGN_TENSOR;
    CHECK_OK(unetseg_tensor_grad(x, &after));
    CHECK(after == NULL);
    check_values(grad, expected, 6); /* the handle taken before keeps its values */
    CHECK_ERROR(unetseg_tensor_grad(x, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_grad is NULL");
    CHECK_ERROR(unetseg_tensor_zero_grad(NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "tensor is NULL");
    CHECK_ERROR(unetseg_tensor_set_requires_grad(NULL, true), UNETSEG_STATUS_INVALID_ARGUMENT, "tensor is NULL");
    CHECK_ERROR(unetseg_tensor_backward(NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "tensor is NULL");
    unetseg_tensor *x_items[] = {x, grad, squares, half, flipped, m, s, loss};
    for (size_t i = 0; i < sizeof x_items / sizeof x_items[0]; i++) unetseg_tensor_free(x_items[i]);
}

static void test_backward_needs_grad(void) {
    float value = 3;
    unetseg_tensor *x = make_tensor(&value, NULL, 0);
    CHECK_ERROR(unetseg_tensor_backward(x), UNETSEG_STATUS_INVALID_ARGUMENT, "does not require grad");
    unetseg_tensor_free(x);
}

static void test_dead_and_foreign_handles(void) {
    unetseg_tensor *x = make_tensor(values6, shape23, 2), *y = FOREIGN_TENSOR;
    unetseg_tensor_free(x);
    int32_t ndim;
    CHECK_ERROR(unetseg_tensor_ndim(x, &ndim), UNETSEG_STATUS_INVALID_ARGUMENT, "tensor is not a live unetseg_tensor");
    CHECK_ERROR(unetseg_tensor_add_scalar(x, 1, &y), UNETSEG_STATUS_INVALID_ARGUMENT, "not a live unetseg_tensor");
    CHECK(y == NULL);
    CHECK_ERROR(unetseg_tensor_add(x, x, &y), UNETSEG_STATUS_INVALID_ARGUMENT, "a is not a live");
    CHECK_ERROR(unetseg_tensor_backward(x), UNETSEG_STATUS_INVALID_ARGUMENT, "not a live");
    CHECK_ERROR(unetseg_tensor_numel(FOREIGN_TENSOR, &(int64_t){0}), UNETSEG_STATUS_INVALID_ARGUMENT, "not a live");
    CHECK_ERROR(unetseg_tensor_numel((unetseg_tensor *)(uintptr_t)0x1001, &(int64_t){0}), UNETSEG_STATUS_INVALID_ARGUMENT, "not a live");
    unetseg_tensor_free(x);            /* twice: ignored */
    unetseg_tensor_free(FOREIGN_TENSOR); /* never made: ignored */
    /* A handle of another type is recognised. */
    unetseg_model *model = make_tiny_model(1);
    CHECK_ERROR(unetseg_tensor_ndim((const unetseg_tensor *)model, &ndim), UNETSEG_STATUS_INVALID_ARGUMENT,
                "tensor is a unetseg_model, not a unetseg_tensor");
    unetseg_tensor_free((unetseg_tensor *)model); /* wrong type: ignored, the model stays live */
    bool training;
    CHECK_OK(unetseg_model_is_training(model, &training));
    unetseg_model_free(model);
}

int main(void) {
    RUN(test_create_and_read_back);
    RUN(test_create_copies_the_data);
    RUN(test_scalar_and_zeros);
    RUN(test_create_rejects_bad_arguments);
    RUN(test_reading_rejects_bad_arguments);
    RUN(test_elementwise_ops);
    RUN(test_scalar_ops);
    RUN(test_reductions_and_sigmoid);
    RUN(test_view_and_reshape);
    RUN(test_autograd);
    RUN(test_backward_needs_grad);
    RUN(test_dead_and_foreign_handles);
    return finish();
}
