/* The model: parameters, creation, forward and modes, named parameters, save and load, prediction. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"

#define FOREIGN_MODEL ((unetseg_model *)(uintptr_t)0x2240)

static char folder[64];

static void path_in_folder(char *path, size_t size, const char *name) {
    snprintf(path, size, "%s/%s", folder, name);
}

static int write_file(const char *path, const void *bytes, size_t count) {
    FILE *file = fopen(path, "wb");
    if (file == NULL) return 0;
    size_t written = fwrite(bytes, 1, count, file);
    return fclose(file) == 0 && written == count;
}

/* Random-looking but fixed inputs in [0, 1). */
static void fill_images(float *images, int64_t count) {
    uint32_t state = 12345;
    for (int64_t i = 0; i < count; i++) {
        state = state * 1664525u + 1013904223u;
        images[i] = (float)(state >> 8) / 16777216.0f;
    }
}

/* All parameters of a model, concatenated in index order (caller frees), and their total count. */
static float *all_parameters(const unetseg_model *model, int64_t *out_total) {
    int64_t total = 0;
    CHECK_OK(unetseg_model_parameter_count(model, &total));
    float *values = malloc((size_t)total * sizeof(float));
    int32_t count = 0;
    CHECK_OK(unetseg_model_named_parameter_count(model, &count));
    int64_t offset = 0;
    for (int32_t i = 0; i < count && values != NULL; i++) {
        int64_t shape[4];
        int32_t ndim = 0;
        CHECK_OK(unetseg_model_parameter_shape(model, i, shape, 4, &ndim));
        int64_t numel = 1;
        for (int32_t d = 0; d < ndim; d++) numel *= shape[d];
        CHECK_OK(unetseg_model_parameter_get(model, i, values + offset, total - offset));
        offset += numel;
    }
    CHECK(offset == total);
    *out_total = total;
    return values;
}

static int same_parameters(const unetseg_model *a, const unetseg_model *b) {
    int64_t count_a = 0, count_b = 0;
    float *values_a = all_parameters(a, &count_a), *values_b = all_parameters(b, &count_b);
    int same = values_a != NULL && values_b != NULL && count_a == count_b
               && memcmp(values_a, values_b, (size_t)count_a * sizeof(float)) == 0;
    free(values_a);
    free(values_b);
    return same;
}

static void test_default_params(void) {
    unetseg_model_params params = unetseg_model_default_params();
    CHECK(params.channels_in == 3 && params.n_classes == 1 && params.depth == 5 && params.n_filters == 6);
    CHECK(params.dropout == 0.6f && params.seed == -1 && !params.batch_norm);
}

/* batch_norm: convolutions without bias, a batch norm's weight and bias after each; the mode decides the
 * statistics; save and load keep the option and the running statistics (eval outputs equal). */
static void test_batch_norm_model(void) {
    unetseg_model_params params = unetseg_model_default_params();
    params.depth = 2;
    params.n_filters = 2;
    params.dropout = 0;
    params.seed = 8;
    params.batch_norm = true;
    unetseg_model *model = NULL, *loaded = NULL;
    CHECK_OK(unetseg_model_create(&params, &model));
    unetseg_model_params read;
    CHECK_OK(unetseg_model_get_params(model, &read));
    CHECK(read.batch_norm && read.depth == 2);
    int32_t index = -1;
    CHECK_OK(unetseg_model_parameter_index(model, "down_path.0.conv_block.conv_block.1.weight", &index));
    CHECK_ERROR(unetseg_model_parameter_index(model, "down_path.0.conv_block.conv_block.0.bias", &index),
                UNETSEG_STATUS_INVALID_ARGUMENT, "conv_block.0.bias");

    enum { N = 4, H = 8, W = 8 };
    static float images[N * 3 * H * W], before[N * H * W], after[N * H * W], reloaded[N * H * W];
    fill_images(images, N * 3 * H * W);
    CHECK_OK(unetseg_model_predict(model, images, N, H, W, before, N * H * W));
    unetseg_tensor *input = make_tensor(images, (const int64_t[]){N, 3, H, W}, 4), *output = NULL;
    CHECK_OK(unetseg_model_forward(model, input, &output)); /* training mode: the running statistics move */
    CHECK_OK(unetseg_model_predict(model, images, N, H, W, after, N * H * W));
    CHECK(memcmp(before, after, sizeof before) != 0);

    char path[128];
    path_in_folder(path, sizeof path, "batch_norm.safetensors");
    CHECK_OK(unetseg_model_save(model, path));
    CHECK_OK(unetseg_model_load(path, NULL, &loaded));
    CHECK_OK(unetseg_model_get_params(loaded, &read));
    CHECK(read.batch_norm);
    CHECK_OK(unetseg_model_predict(loaded, images, N, H, W, reloaded, N * H * W));
    CHECK(memcmp(after, reloaded, sizeof after) == 0);
    unetseg_model_free(loaded);

    /* The buffers: 3 blocks x 2 batch norms x (running_mean, running_var, num_batches_tracked), shared with
     * the model: setting the running variances changes the evaluation output. */
    int32_t buffers = 0;
    CHECK_OK(unetseg_model_named_buffer_count(model, &buffers));
    CHECK(buffers == 18);
    char name[128];
    CHECK_OK(unetseg_model_buffer_name(model, 0, name, sizeof name));
    CHECK(strcmp(name, "down_path.0.conv_block.conv_block.1.running_mean") == 0);
    CHECK_OK(unetseg_model_buffer_name(model, 17, name, sizeof name));
    CHECK(strcmp(name, "up_path.0.conv_block.conv_block.5.num_batches_tracked") == 0);
    CHECK_ERROR(unetseg_model_buffer_name(model, 18, name, sizeof name), UNETSEG_STATUS_INVALID_ARGUMENT, "18");
    unetseg_tensor *tracked = NULL, *variance = NULL;
    CHECK_OK(unetseg_model_buffer_tensor(model, 2, &tracked));
    float count = 0;
    CHECK_OK(unetseg_tensor_copy_to(tracked, &count, 1));
    CHECK(count == 1); /* one training-mode forward pass */
    CHECK_OK(unetseg_model_buffer_tensor(model, 1, &variance));
    const float large[4] = {9, 9, 9, 9};
    CHECK_OK(unetseg_tensor_copy_from(variance, large, 4));
    CHECK_OK(unetseg_model_predict(model, images, N, H, W, reloaded, N * H * W));
    CHECK(memcmp(after, reloaded, sizeof after) != 0);
    unetseg_tensor *none = NULL;
    CHECK_ERROR(unetseg_model_buffer_tensor(model, -1, &none), UNETSEG_STATUS_INVALID_ARGUMENT, "-1");
    CHECK(none == NULL);
    unetseg_tensor_free(tracked);
    unetseg_tensor_free(variance);
    unetseg_model *plain = make_tiny_model(1);
    CHECK_OK(unetseg_model_named_buffer_count(plain, &buffers));
    CHECK(buffers == 0);
    unetseg_model_free(plain);

    /* The file records the option: params without it do not fit. */
    params.batch_norm = false;
    CHECK_ERROR(unetseg_model_load(path, &params, &loaded), UNETSEG_STATUS_INVALID_ARGUMENT, "holds a model with config");
    unetseg_tensor_free(input);
    unetseg_tensor_free(output);
    unetseg_model_free(model);
}

static void test_the_posts_model(void) {
    unetseg_model_params params = unetseg_model_default_params();
    unetseg_model *model = NULL;
    CHECK_OK(unetseg_model_create(&params, &model));
    int64_t count = 0;
    int32_t named = 0;
    CHECK_OK(unetseg_model_parameter_count(model, &count));
    CHECK_OK(unetseg_model_named_parameter_count(model, &named));
    CHECK(count == 31031745);
    CHECK(named == 46);
    char name[128];
    CHECK_OK(unetseg_model_parameter_name(model, 0, name, sizeof name));
    CHECK(strcmp(name, "down_path.0.conv_block.conv_block.0.weight") == 0);
    CHECK_OK(unetseg_model_parameter_name(model, 10, name, sizeof name));
    CHECK(strcmp(name, "down_path.2.conv_block.conv_block.3.weight") == 0);
    CHECK_OK(unetseg_model_parameter_name(model, 20, name, sizeof name));
    CHECK(strcmp(name, "up_path.0.up.weight") == 0);
    CHECK_OK(unetseg_model_parameter_name(model, 45, name, sizeof name));
    CHECK(strcmp(name, "last.bias") == 0);
    int64_t shape[4];
    int32_t ndim = 0;
    CHECK_OK(unetseg_model_parameter_shape(model, 20, shape, 4, &ndim));
    CHECK(ndim == 4 && shape[0] == 1024 && shape[1] == 512 && shape[2] == 2 && shape[3] == 2);
    unetseg_model_params read = {0};
    CHECK_OK(unetseg_model_get_params(model, &read));
    CHECK(read.channels_in == 3 && read.n_classes == 1 && read.depth == 5 && read.n_filters == 6);
    CHECK(read.dropout == 0.6f && read.seed == -1);
    unetseg_model_free(model);
}

static void test_create_rejects_bad_params(void) {
    unetseg_model_params params = unetseg_model_default_params();
    unetseg_model *model = FOREIGN_MODEL;
    CHECK_ERROR(unetseg_model_create(NULL, &model), UNETSEG_STATUS_INVALID_ARGUMENT, "params is NULL");
    CHECK(model == NULL);
    CHECK_ERROR(unetseg_model_create(&params, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_model is NULL");
    params.depth = 0;
    CHECK_ERROR(unetseg_model_create(&params, &model), UNETSEG_STATUS_INVALID_ARGUMENT, "depth must be in 1...8, got 0");
    params = unetseg_model_default_params();
    params.channels_in = 17;
    CHECK_ERROR(unetseg_model_create(&params, &model), UNETSEG_STATUS_INVALID_ARGUMENT, "channels_in");
    params = unetseg_model_default_params();
    params.dropout = 1;
    CHECK_ERROR(unetseg_model_create(&params, &model), UNETSEG_STATUS_INVALID_ARGUMENT, "dropout");
    params = unetseg_model_default_params();
    params.n_filters = 10;
    CHECK_ERROR(unetseg_model_create(&params, &model), UNETSEG_STATUS_INVALID_ARGUMENT, "at most 12");
    params = unetseg_model_default_params();
    params.seed = -2;
    CHECK_ERROR(unetseg_model_create(&params, &model), UNETSEG_STATUS_INVALID_ARGUMENT, "seed must be -1");
    CHECK(model == NULL);
}

static void test_seeds(void) {
    unetseg_manual_seed(777);
    unetseg_model *a = make_tiny_model(-1);
    unetseg_manual_seed(777);
    unetseg_model *b = make_tiny_model(-1);
    unetseg_model *c = make_tiny_model(-1); /* the global generator moved on */
    unetseg_model *d = make_tiny_model(5), *e = make_tiny_model(5), *f = make_tiny_model(6);
    CHECK(same_parameters(a, b));
    CHECK(!same_parameters(a, c));
    CHECK(same_parameters(d, e));
    CHECK(!same_parameters(d, f));
    unetseg_model_params params;
    CHECK_OK(unetseg_model_get_params(d, &params));
    CHECK(params.seed == 5 && params.depth == 2 && params.n_filters == 2);
    unetseg_model *models[] = {a, b, c, d, e, f};
    for (int i = 0; i < 6; i++) unetseg_model_free(models[i]);
}

static void test_named_parameters(void) {
    unetseg_model *model = make_tiny_model(3);
    int32_t count = 0;
    CHECK_OK(unetseg_model_named_parameter_count(model, &count));
    CHECK(count == 16); /* 2 down blocks x 4, 1 up block x 6, last x 2 */
    char name[64];
    int32_t index = -1;
    for (int32_t i = 0; i < count; i++) {
        CHECK_OK(unetseg_model_parameter_name(model, i, name, sizeof name));
        CHECK_OK(unetseg_model_parameter_index(model, name, &index));
        CHECK(index == i);
    }
    CHECK_OK(unetseg_model_parameter_name(model, 14, name, sizeof name));
    CHECK(strcmp(name, "last.weight") == 0);
    int64_t shape[4];
    int32_t ndim = 0;
    CHECK_OK(unetseg_model_parameter_shape(model, 14, shape, 4, &ndim));
    CHECK(ndim == 4 && shape[0] == 1 && shape[1] == 4 && shape[2] == 1 && shape[3] == 1);
    CHECK_OK(unetseg_model_parameter_shape(model, 15, shape, 4, &ndim));
    CHECK(ndim == 1 && shape[0] == 1);

    /* Write, read back, and the change shows in the model's output. */
    const float weights[4] = {0.5f, -1, 2, 0.25f};
    float read[4] = {0};
    CHECK_OK(unetseg_model_parameter_set(model, 14, weights, 4));
    CHECK_OK(unetseg_model_parameter_get(model, 14, read, 4));
    CHECK(memcmp(read, weights, sizeof read) == 0);

    char small[4];
    CHECK_ERROR(unetseg_model_parameter_name(model, 14, small, sizeof small), UNETSEG_STATUS_INVALID_ARGUMENT,
                "out_name holds 4 bytes, 12 are needed");
    CHECK_ERROR(unetseg_model_parameter_name(model, 16, name, sizeof name), UNETSEG_STATUS_INVALID_ARGUMENT,
                "index 16 is outside 0..<16");
    CHECK_ERROR(unetseg_model_parameter_name(model, -1, name, sizeof name), UNETSEG_STATUS_INVALID_ARGUMENT, "index -1");
    CHECK_ERROR(unetseg_model_parameter_name(model, 0, NULL, 64), UNETSEG_STATUS_INVALID_ARGUMENT, "out_name is NULL");
    CHECK_ERROR(unetseg_model_parameter_index(model, "last.gamma", &index), UNETSEG_STATUS_INVALID_ARGUMENT,
                "no parameter called \"last.gamma\"");
    CHECK_ERROR(unetseg_model_parameter_index(model, NULL, &index), UNETSEG_STATUS_INVALID_ARGUMENT, "name is NULL");
    CHECK_ERROR(unetseg_model_parameter_index(model, "last.bias", NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_index is NULL");
    CHECK_ERROR(unetseg_model_parameter_shape(model, 14, shape, 3, &ndim), UNETSEG_STATUS_INVALID_ARGUMENT,
                "out_shape holds 3 sizes");
    CHECK_ERROR(unetseg_model_parameter_shape(model, 14, NULL, 4, &ndim), UNETSEG_STATUS_INVALID_ARGUMENT, "out_shape is NULL");
    CHECK_ERROR(unetseg_model_parameter_shape(model, 14, shape, 4, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_ndim is NULL");
    CHECK_ERROR(unetseg_model_parameter_get(model, 14, read, 3), UNETSEG_STATUS_INVALID_ARGUMENT,
                "out_data holds 3 floats, 4 are needed");
    CHECK_ERROR(unetseg_model_parameter_get(model, 14, NULL, 4), UNETSEG_STATUS_INVALID_ARGUMENT, "out_data is NULL");
    CHECK_ERROR(unetseg_model_parameter_set(model, 14, weights, 3), UNETSEG_STATUS_INVALID_ARGUMENT,
                "last.weight has 4 elements (shape [1, 4, 1, 1]), got 3");
    CHECK_ERROR(unetseg_model_parameter_set(model, 14, NULL, 4), UNETSEG_STATUS_INVALID_ARGUMENT, "data is NULL");
    CHECK_ERROR(unetseg_model_parameter_set(model, 99, weights, 4), UNETSEG_STATUS_INVALID_ARGUMENT, "index 99");
    int64_t total;
    CHECK_ERROR(unetseg_model_parameter_count(model, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_count is NULL");
    CHECK_ERROR(unetseg_model_named_parameter_count(model, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_count is NULL");
    CHECK_ERROR(unetseg_model_parameter_count(NULL, &total), UNETSEG_STATUS_INVALID_ARGUMENT, "model is NULL");
    CHECK_ERROR(unetseg_model_get_params(model, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_params is NULL");
    unetseg_model_free(model);
}

static void test_forward_and_modes(void) {
    unetseg_model *model = make_tiny_model(11);
    float images[2 * 3 * 8 * 8];
    fill_images(images, 2 * 3 * 8 * 8);
    const int64_t shape[4] = {2, 3, 8, 8};
    unetseg_tensor *input = make_tensor(images, shape, 4), *first = NULL, *second = NULL;
    bool training = false;
    CHECK_OK(unetseg_model_is_training(model, &training));
    CHECK(training);
    CHECK_OK(unetseg_model_forward(model, input, &first));
    CHECK_OK(unetseg_model_forward(model, input, &second));
    int64_t out_shape[4];
    CHECK_OK(unetseg_tensor_shape(first, out_shape, 4));
    CHECK(out_shape[0] == 2 && out_shape[1] == 1 && out_shape[2] == 8 && out_shape[3] == 8);
    float a[128], b[128];
    CHECK_OK(unetseg_tensor_copy_to(first, a, 128));
    CHECK_OK(unetseg_tensor_copy_to(second, b, 128));
    CHECK(memcmp(a, b, sizeof a) != 0); /* dropout differs between passes in training mode */
    for (int i = 0; i < 128; i++) CHECK(a[i] > 0 && a[i] < 1);
    bool requires_grad = false;
    CHECK_OK(unetseg_tensor_requires_grad(first, &requires_grad));
    CHECK(requires_grad);
    unetseg_tensor_free(first);
    unetseg_tensor_free(second);

    CHECK_OK(unetseg_model_eval(model));
    CHECK_OK(unetseg_model_is_training(model, &training));
    CHECK(!training);
    CHECK_OK(unetseg_model_forward(model, input, &first));
    CHECK_OK(unetseg_model_forward(model, input, &second));
    CHECK_OK(unetseg_tensor_copy_to(first, a, 128));
    CHECK_OK(unetseg_tensor_copy_to(second, b, 128));
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK_OK(unetseg_model_train(model));
    CHECK_OK(unetseg_model_is_training(model, &training));
    CHECK(training);
    unetseg_tensor_free(first);
    unetseg_tensor_free(second);
    unetseg_tensor_free(input);
    unetseg_model_free(model);
}

static void test_forward_rejects_bad_inputs(void) {
    unetseg_model *model = make_tiny_model(11);
    float images[3 * 9 * 9] = {0};
    unetseg_tensor *odd = make_tensor(images, (const int64_t[]){1, 3, 9, 8}, 4);
    unetseg_tensor *channels = make_tensor(images, (const int64_t[]){1, 2, 8, 8}, 4);
    unetseg_tensor *flat = make_tensor(images, (const int64_t[]){192}, 1);
    unetseg_tensor *out = (unetseg_tensor *)FOREIGN_MODEL;
    CHECK_ERROR(unetseg_model_forward(model, odd, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "multiples of 2 for depth 2");
    CHECK(out == NULL);
    CHECK_ERROR(unetseg_model_forward(model, channels, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "must be [N, 3, H, W], got [1, 2, 8, 8]");
    CHECK_ERROR(unetseg_model_forward(model, flat, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "got [192]");
    CHECK_ERROR(unetseg_model_forward(model, NULL, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "input is NULL");
    CHECK_ERROR(unetseg_model_forward(NULL, flat, &out), UNETSEG_STATUS_INVALID_ARGUMENT, "model is NULL");
    CHECK_ERROR(unetseg_model_forward(model, flat, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_tensor is NULL");
    CHECK_ERROR(unetseg_model_forward(model, (unetseg_tensor *)model, &out), UNETSEG_STATUS_INVALID_ARGUMENT,
                "input is a unetseg_model, not a unetseg_tensor");
    /* A batch whose activations could never be allocated is refused before any work. */
    unetseg_model_params params = unetseg_model_default_params();
    params.depth = 1;
    params.n_filters = 10;
    unetseg_model *wide = NULL;
    CHECK_OK(unetseg_model_create(&params, &wide));
    unetseg_tensor *big = NULL; /* 2 x 1024 channels of 2048 x 2048: 2^33 elements */
    CHECK_OK(unetseg_tensor_zeros((const int64_t[]){1, 3, 2048, 2048}, 4, &big));
    CHECK_ERROR(unetseg_model_forward(wide, big, &out), UNETSEG_STATUS_OUT_OF_MEMORY, "use smaller batches");
    unetseg_tensor_free(big);
    unetseg_model_free(wide);
    unetseg_tensor_free(odd);
    unetseg_tensor_free(channels);
    unetseg_tensor_free(flat);
    CHECK_ERROR(unetseg_model_train(NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "model is NULL");
    CHECK_ERROR(unetseg_model_eval(NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "model is NULL");
    CHECK_ERROR(unetseg_model_is_training(model, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_training is NULL");
    CHECK_ERROR(unetseg_model_zero_grad(NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "model is NULL");
    unetseg_model_free(model);
}

static void test_predict_matches_forward_in_eval_mode(void) {
    unetseg_model *model = make_tiny_model(21);
    enum { N = 6, H = 8, W = 12 };
    static float images[N * 3 * H * W], predicted[N * H * W], forwarded[N * H * W];
    fill_images(images, N * 3 * H * W);
    CHECK_OK(unetseg_model_predict(model, images, N, H, W, predicted, N * H * W));
    bool training = false;
    CHECK_OK(unetseg_model_is_training(model, &training));
    CHECK(training); /* restored */
    CHECK_OK(unetseg_model_eval(model));
    unetseg_tensor *input = make_tensor(images, (const int64_t[]){N, 3, H, W}, 4), *output = NULL;
    CHECK_OK(unetseg_model_forward(model, input, &output));
    CHECK_OK(unetseg_tensor_copy_to(output, forwarded, N * H * W));
    for (int i = 0; i < N * H * W; i++) CHECK_CLOSE(predicted[i], forwarded[i], 1e-5);
    unetseg_tensor_free(input);
    unetseg_tensor_free(output);

    float small[4];
    CHECK_ERROR(unetseg_model_predict(model, images, N, H, W, small, 4), UNETSEG_STATUS_INVALID_ARGUMENT,
                "out_probabilities holds 4 floats, 576 are needed");
    CHECK_ERROR(unetseg_model_predict(model, images, 0, H, W, predicted, N * H * W), UNETSEG_STATUS_INVALID_ARGUMENT,
                "must be > 0");
    CHECK_ERROR(unetseg_model_predict(model, images, 1, 7, W, predicted, N * H * W), UNETSEG_STATUS_INVALID_ARGUMENT,
                "multiples of 2");
    CHECK_ERROR(unetseg_model_predict(model, NULL, 1, H, W, predicted, N * H * W), UNETSEG_STATUS_INVALID_ARGUMENT,
                "images is NULL");
    CHECK_ERROR(unetseg_model_predict(model, images, 1, H, W, NULL, N * H * W), UNETSEG_STATUS_INVALID_ARGUMENT,
                "out_probabilities is NULL");
    CHECK_ERROR(unetseg_model_predict(model, images, INT64_C(1) << 40, INT64_C(1) << 20, INT64_C(1) << 20, predicted,
                                      INT64_MAX), UNETSEG_STATUS_INVALID_ARGUMENT, "too many elements");
    CHECK_ERROR(unetseg_model_predict(NULL, images, 1, H, W, predicted, N * H * W), UNETSEG_STATUS_INVALID_ARGUMENT,
                "model is NULL");
    unetseg_model_free(model);
}

static void test_save_and_load(void) {
    unetseg_model *model = make_tiny_model(31), *loaded = NULL;
    char path[128];
    path_in_folder(path, sizeof path, "tiny.safetensors");
    CHECK_OK(unetseg_model_save(model, path));
    CHECK_OK(unetseg_model_load(path, NULL, &loaded));
    CHECK(same_parameters(model, loaded));
    unetseg_model_params params;
    CHECK_OK(unetseg_model_get_params(loaded, &params));
    CHECK(params.depth == 2 && params.n_filters == 2 && params.dropout == 0.6f && params.seed == -1);
    unetseg_model_free(loaded);

    /* Params that agree are accepted; params that do not are an error. */
    params.seed = 99;
    CHECK_OK(unetseg_model_load(path, &params, &loaded));
    unetseg_model_free(loaded);
    params.depth = 3;
    loaded = FOREIGN_MODEL;
    CHECK_ERROR(unetseg_model_load(path, &params, &loaded), UNETSEG_STATUS_INVALID_ARGUMENT, "holds a model with config");
    CHECK(loaded == NULL);
    params.depth = 42;
    CHECK_ERROR(unetseg_model_load(path, &params, &loaded), UNETSEG_STATUS_INVALID_ARGUMENT, "depth must be in 1...8");

    /* A model holding NaN or infinity is refused (UNETSEG_STATUS_NUMERIC naming the file and the tensor)
     * and the checkpoint keeps the good weights. */
    float saved_weights[4], poisoned[4];
    CHECK_OK(unetseg_model_parameter_get(model, 14, saved_weights, 4));
    memcpy(poisoned, saved_weights, sizeof poisoned);
    poisoned[2] = NAN;
    CHECK_OK(unetseg_model_parameter_set(model, 14, poisoned, 4));
    CHECK_ERROR(unetseg_model_save(model, path), UNETSEG_STATUS_NUMERIC, "last.weight holds NaN or infinite values");
    CHECK(strstr(unetseg_last_error(), path) != NULL);
    poisoned[2] = -INFINITY;
    CHECK_OK(unetseg_model_parameter_set(model, 14, poisoned, 4));
    CHECK_ERROR(unetseg_model_save(model, path), UNETSEG_STATUS_NUMERIC, "last.weight holds NaN or infinite values");
    CHECK_OK(unetseg_model_load(path, NULL, &loaded));
    float kept[4];
    CHECK_OK(unetseg_model_parameter_get(loaded, 14, kept, 4));
    CHECK(memcmp(kept, saved_weights, sizeof kept) == 0);
    unetseg_model_free(loaded);
    CHECK_OK(unetseg_model_parameter_set(model, 14, saved_weights, 4));

    CHECK_ERROR(unetseg_model_save(model, "/nonexistent-folder/x.safetensors"), UNETSEG_STATUS_IO, "/nonexistent-folder");
    CHECK_ERROR(unetseg_model_save(model, ""), UNETSEG_STATUS_INVALID_ARGUMENT, "path is empty");
    CHECK_ERROR(unetseg_model_save(model, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "path is NULL");
    CHECK_ERROR(unetseg_model_save(NULL, path), UNETSEG_STATUS_INVALID_ARGUMENT, "model is NULL");
    CHECK_ERROR(unetseg_model_load(path, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_model is NULL");
    CHECK_ERROR(unetseg_model_load(NULL, NULL, &loaded), UNETSEG_STATUS_INVALID_ARGUMENT, "path is NULL");
    CHECK_ERROR(unetseg_model_load("\xff\xfe.safetensors", NULL, &loaded), UNETSEG_STATUS_INVALID_ARGUMENT, "not valid UTF-8");
    unetseg_model_free(model);
}

static void test_load_rejects_bad_files(void) {
    unetseg_model *loaded = FOREIGN_MODEL;
    char path[128];
    path_in_folder(path, sizeof path, "missing.safetensors");
    CHECK_ERROR(unetseg_model_load(path, NULL, &loaded), UNETSEG_STATUS_IO, "missing.safetensors");
    CHECK(loaded == NULL);

    path_in_folder(path, sizeof path, "garbage.safetensors");
    CHECK(write_file(path, "this is not a safetensors file at all", 37));
    CHECK_ERROR(unetseg_model_load(path, NULL, &loaded), UNETSEG_STATUS_FORMAT, "garbage.safetensors");

    /* A header length far past the end of the file. */
    const unsigned char long_header[12] = {0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, '{', '}', ' ', ' '};
    path_in_folder(path, sizeof path, "long-header.safetensors");
    CHECK(write_file(path, long_header, sizeof long_header));
    CHECK_ERROR(unetseg_model_load(path, NULL, &loaded), UNETSEG_STATUS_FORMAT, "long-header.safetensors");

    /* A valid checkpoint cut in half. */
    unetseg_model *model = make_tiny_model(41);
    path_in_folder(path, sizeof path, "whole.safetensors");
    CHECK_OK(unetseg_model_save(model, path));
    FILE *file = fopen(path, "rb");
    static unsigned char bytes[1 << 16];
    size_t size = file ? fread(bytes, 1, sizeof bytes, file) : 0;
    if (file) fclose(file);
    CHECK(size > 1000 && size < sizeof bytes);
    path_in_folder(path, sizeof path, "truncated.safetensors");
    CHECK(write_file(path, bytes, size / 2));
    CHECK_ERROR(unetseg_model_load(path, NULL, &loaded), UNETSEG_STATUS_FORMAT, "truncated.safetensors");

    /* A folder is not a file. */
    CHECK_ERROR(unetseg_model_load(folder, NULL, &loaded), UNETSEG_STATUS_IO, folder);
    CHECK(loaded == NULL);
    unetseg_model_free(model);
}

/* Writes the model's state_dict as PyTorch's safetensors.torch.save_file would: F32 tensors, no metadata. */
static int write_plain_state_dict(const unetseg_model *model, const char *path, int skip_index) {
    static char header[8192];
    static float data[1 << 14];
    int32_t count = 0;
    CHECK_OK(unetseg_model_named_parameter_count(model, &count));
    size_t used = (size_t)snprintf(header, sizeof header, "{");
    int64_t offset = 0;
    for (int32_t i = 0; i < count; i++) {
        if (i == skip_index) continue;
        char name[64];
        int64_t shape[4];
        int32_t ndim = 0;
        CHECK_OK(unetseg_model_parameter_name(model, i, name, sizeof name));
        CHECK_OK(unetseg_model_parameter_shape(model, i, shape, 4, &ndim));
        int64_t numel = 1;
        for (int32_t d = 0; d < ndim; d++) numel *= shape[d];
        CHECK_OK(unetseg_model_parameter_get(model, i, data + offset, (int64_t)(sizeof data / sizeof data[0]) - offset));
        used += (size_t)snprintf(header + used, sizeof header - used, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[",
                                 used > 1 ? "," : "", name);
        for (int32_t d = 0; d < ndim; d++)
            used += (size_t)snprintf(header + used, sizeof header - used, "%s%lld", d ? "," : "", (long long)shape[d]);
        used += (size_t)snprintf(header + used, sizeof header - used, "],\"data_offsets\":[%lld,%lld]}",
                                 (long long)(offset * 4), (long long)((offset + numel) * 4));
        offset += numel;
    }
    used += (size_t)snprintf(header + used, sizeof header - used, "}");
    while (used % 8 != 0) header[used++] = ' ';
    FILE *file = fopen(path, "wb");
    if (file == NULL) return 0;
    unsigned char length[8];
    for (int i = 0; i < 8; i++) length[i] = (unsigned char)(((uint64_t)used >> (8 * i)) & 0xff);
    int ok = fwrite(length, 1, 8, file) == 8 && fwrite(header, 1, used, file) == used
             && fwrite(data, sizeof(float), (size_t)offset, file) == (size_t)offset; /* little-endian host */
    return fclose(file) == 0 && ok;
}

static void test_load_a_pytorch_state_dict(void) {
    unetseg_model *model = make_tiny_model(51), *loaded = FOREIGN_MODEL;
    char path[128];
    path_in_folder(path, sizeof path, "torch.safetensors");
    CHECK(write_plain_state_dict(model, path, -1));
    CHECK_ERROR(unetseg_model_load(path, NULL, &loaded), UNETSEG_STATUS_INVALID_ARGUMENT, "has no unetseg model config");
    CHECK(loaded == NULL);
    unetseg_model_params params;
    CHECK_OK(unetseg_model_get_params(model, &params));
    CHECK_OK(unetseg_model_load(path, &params, &loaded));
    CHECK(same_parameters(model, loaded));
    unetseg_model_free(loaded);

    /* Loaded into the wrong shape, or with a tensor missing: every problem is listed. */
    params.n_filters = 3;
    CHECK_ERROR(unetseg_model_load(path, &params, &loaded), UNETSEG_STATUS_FORMAT, "shape mismatch");
    params.n_filters = 2;
    path_in_folder(path, sizeof path, "torch-missing.safetensors");
    CHECK(write_plain_state_dict(model, path, 15));
    CHECK_ERROR(unetseg_model_load(path, &params, &loaded), UNETSEG_STATUS_FORMAT, "missing keys: last.bias");
    unetseg_model_free(model);
}

static void test_dead_model_handles(void) {
    unetseg_model *model = make_tiny_model(61);
    unetseg_model_free(model);
    int64_t count;
    CHECK_ERROR(unetseg_model_parameter_count(model, &count), UNETSEG_STATUS_INVALID_ARGUMENT,
                "model is not a live unetseg_model");
    CHECK_ERROR(unetseg_model_train(model), UNETSEG_STATUS_INVALID_ARGUMENT, "not a live unetseg_model");
    CHECK_ERROR(unetseg_model_save(model, "/tmp/never.safetensors"), UNETSEG_STATUS_INVALID_ARGUMENT, "not a live");
    unetseg_model_free(model);
    unetseg_model_free(FOREIGN_MODEL);
    float value = 1;
    unetseg_tensor *tensor = make_tensor(&value, NULL, 0);
    CHECK_ERROR(unetseg_model_eval((unetseg_model *)tensor), UNETSEG_STATUS_INVALID_ARGUMENT,
                "model is a unetseg_tensor, not a unetseg_model");
    unetseg_model_free((unetseg_model *)tensor); /* wrong type: ignored */
    CHECK(item(tensor) == 1);
    unetseg_tensor_free(tensor);
}

static void remove_folder(void) {
    const char *names[] = {"tiny.safetensors", "garbage.safetensors", "long-header.safetensors", "whole.safetensors",
                           "truncated.safetensors", "torch.safetensors", "torch-missing.safetensors",
                           "batch_norm.safetensors"};
    char path[128];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        path_in_folder(path, sizeof path, names[i]);
        remove(path);
    }
    CHECK(rmdir(folder) == 0);
}

int main(void) {
    snprintf(folder, sizeof folder, "/tmp/unetseg-c-test-XXXXXX");
    if (mkdtemp(folder) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_default_params);
    RUN(test_batch_norm_model);
    RUN(test_the_posts_model);
    RUN(test_create_rejects_bad_params);
    RUN(test_seeds);
    RUN(test_named_parameters);
    RUN(test_forward_and_modes);
    RUN(test_forward_rejects_bad_inputs);
    RUN(test_predict_matches_forward_in_eval_mode);
    RUN(test_save_and_load);
    RUN(test_load_rejects_bad_files);
    RUN(test_load_a_pytorch_state_dict);
    RUN(test_dead_model_handles);
    RUN(remove_folder);
    return finish();
}
