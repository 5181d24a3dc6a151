/* Data: the synthetic writer, datasets, augmentation, loaders and the patient split. */
#define _XOPEN_SOURCE 700
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "files.h"

#define FOREIGN_HANDLE ((void *)(uintptr_t)0x4440)

static char folder[64];    /* everything the tests write */
static char root[512];     /* the synthetic dataset: 4 patients of 8 slices of 32 x 32 */
enum { PATIENTS = 4, SLICES = 8, SIZE = 32, ITEMS = PATIENTS * SLICES };

/* The synthetic dataset every test reads. */
static unetseg_synthetic_params small_synthetic(void) {
    unetseg_synthetic_params params = unetseg_synthetic_default_params();
    params.patients = PATIENTS;
    params.min_slices = SLICES;
    params.max_slices = SLICES;
    params.size = SIZE;
    params.seed = 3;
    return params;
}

/* A tensor's values (caller frees) and element count. */
static float *values_of(const unetseg_tensor *tensor, int64_t *out_count) {
    int64_t count = 0;
    CHECK_OK(unetseg_tensor_numel(tensor, &count));
    float *values = malloc((size_t)(count > 0 ? count : 1) * sizeof(float));
    CHECK_OK(unetseg_tensor_copy_to(tensor, values, count));
    *out_count = count;
    return values;
}

/* Whether a tensor has the given shape. */
static int has_shape(const unetseg_tensor *tensor, int32_t ndim, const int64_t *shape) {
    int32_t actual_ndim = -1;
    int64_t actual[UNETSEG_MAX_NDIM];
    if (unetseg_tensor_ndim(tensor, &actual_ndim) != UNETSEG_STATUS_OK || actual_ndim != ndim) return 0;
    if (unetseg_tensor_shape(tensor, actual, UNETSEG_MAX_NDIM) != UNETSEG_STATUS_OK) return 0;
    return memcmp(actual, shape, (size_t)ndim * sizeof(int64_t)) == 0;
}

/* Whether two tensors have the same elements. */
static int same_values(const unetseg_tensor *a, const unetseg_tensor *b) {
    int64_t count_a = 0, count_b = 0;
    float *values_a = values_of(a, &count_a), *values_b = values_of(b, &count_b);
    int same = count_a == count_b && memcmp(values_a, values_b, (size_t)count_a * sizeof(float)) == 0;
    free(values_a);
    free(values_b);
    return same;
}

static double sum_of(const unetseg_tensor *tensor) {
    int64_t count = 0;
    float *values = values_of(tensor, &count);
    double sum = 0;
    for (int64_t i = 0; i < count; i++) sum += values[i];
    free(values);
    return sum;
}

static unetseg_dataset *open_dataset(const char *path, int augment, int random_sampling) {
    unetseg_dataset_params params = unetseg_dataset_default_params();
    params.augmentation.enabled = augment;
    params.random_sampling = random_sampling;
    unetseg_dataset *dataset = NULL;
    CHECK_OK(unetseg_dataset_open(path, &params, &dataset));
    return dataset;
}

/* ---- Synthetic data ------------------------------------------------------------------------------- */

struct progress_record {
    int calls;
    int64_t last_done, last_total;
    int64_t stop_after; /* return false once done reaches this (0: never) */
};

static bool record_progress(int64_t done, int64_t total, void *user_data) {
    struct progress_record *record = user_data;
    record->calls++;
    record->last_done = done;
    record->last_total = total;
    return record->stop_after == 0 || done < record->stop_after;
}

static void test_synthetic_params(void) {
    unetseg_synthetic_params params = unetseg_synthetic_default_params();
    CHECK(params.patients == 110 && params.min_slices == 20 && params.max_slices == 40 && params.size == 256);
    CHECK(params.seed == 1 && params.lesion_slice_fraction == 0.38 && params.style == 0);
}

/* style 1 (realistic) reaches the generator: the same ids and file names as the simple style, other pixels;
 * any other style is refused by name. */
static void test_synthetic_style(void) {
    unetseg_synthetic_params params = small_synthetic();
    char realistic[512], patient[64], simple_file[512], realistic_file[512];
    join(realistic, folder, "synthetic-realistic");
    params.style = 1;
    CHECK_OK(unetseg_synthetic_write(realistic, &params, NULL, NULL, NULL));
    CHECK(count_entries(realistic) == PATIENTS);
    CHECK(first_entry(root, "TCGA_", patient));
    slice_file(simple_file, root, patient, 3, ".tif");
    slice_file(realistic_file, realistic, patient, 3, ".tif");
    CHECK(file_exists(realistic_file) && !same_file_content(simple_file, realistic_file));
    slice_file(realistic_file, realistic, patient, SLICES, "_mask.tif");
    CHECK(file_exists(realistic_file));
    CHECK(remove_tree(realistic) == 0);
    params.style = 2;
    CHECK_ERROR(unetseg_synthetic_write(realistic, &params, NULL, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "style must be 0 (simple) or 1 (realistic), got 2");
    CHECK(!file_exists(realistic));
}

static void test_synthetic_write(void) {
    unetseg_synthetic_params params = small_synthetic();
    struct progress_record record = {0, 0, 0, 0};
    int64_t slices = 0;
    CHECK_OK(unetseg_synthetic_write(root, &params, record_progress, &record, &slices));
    CHECK(slices == ITEMS);
    CHECK(record.calls == PATIENTS && record.last_done == PATIENTS && record.last_total == PATIENTS);
    CHECK(count_entries(root) == PATIENTS);
    char patient[64], path[512], file[512];
    CHECK(first_entry(root, "TCGA_", patient));
    join(path, root, patient);
    CHECK(count_entries(path) == 2 * SLICES);
    slice_file(file, root, patient, SLICES, "_mask.tif");
    CHECK(file_exists(file));

    /* The same params give the same files; the slice count output is optional. */
    char again[512], again_file[512];
    join(again, folder, "synthetic-again");
    CHECK_OK(unetseg_synthetic_write(again, &params, NULL, NULL, NULL));
    slice_file(again_file, again, patient, SLICES, "_mask.tif");
    CHECK(same_file_content(file, again_file));
    slice_file(file, root, patient, 3, ".tif");
    slice_file(again_file, again, patient, 3, ".tif");
    CHECK(same_file_content(file, again_file));
    CHECK(remove_tree(again) == 0);
}

static void test_synthetic_rejects_bad_arguments(void) {
    unetseg_synthetic_params params = small_synthetic();
    char path[512];
    join(path, folder, "synthetic-bad");
    CHECK_ERROR(unetseg_synthetic_write(NULL, &params, NULL, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "root is NULL");
    CHECK_ERROR(unetseg_synthetic_write("", &params, NULL, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "root is empty");
    CHECK_ERROR(unetseg_synthetic_write(path, NULL, NULL, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "params is NULL");
    params.size = 31;
    CHECK_ERROR(unetseg_synthetic_write(path, &params, NULL, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "size must be in 32");
    params = small_synthetic();
    params.min_slices = 9;
    CHECK_ERROR(unetseg_synthetic_write(path, &params, NULL, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "minSlices (9) must not exceed maxSlices (8)");
    params = small_synthetic();
    params.patients = 0;
    CHECK_ERROR(unetseg_synthetic_write(path, &params, NULL, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "patients must be in");
    params = small_synthetic();
    params.lesion_slice_fraction = NAN;
    CHECK_ERROR(unetseg_synthetic_write(path, &params, NULL, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "lesionSliceFraction");
    CHECK(!file_exists(path));
    params = small_synthetic();
    CHECK_ERROR(unetseg_synthetic_write("/proc/unetseg-cannot-be-here", &params, NULL, NULL, NULL), UNETSEG_STATUS_IO,
                "/proc/unetseg-cannot-be-here");

    /* A callback that stops after two patients: cancelled, and the two stay. */
    struct progress_record record = {0, 0, 0, 2};
    int64_t slices = -1;
    CHECK_ERROR(unetseg_synthetic_write(path, &params, record_progress, &record, &slices), UNETSEG_STATUS_CANCELLED,
                "stopped after 2 of 4 patients");
    CHECK(record.calls == 2 && slices == -1);
    CHECK(count_entries(path) == 2);
    CHECK(remove_tree(path) == 0);
}

/* ---- Datasets ------------------------------------------------------------------------------------- */

static void test_dataset_params(void) {
    unetseg_dataset_params params = unetseg_dataset_default_params();
    CHECK(!params.augmentation.enabled && params.augmentation.scale == 0.05f && params.augmentation.angle == 15.0f);
    CHECK(params.augmentation.flip == 0.5f && !params.random_sampling && params.seed == 777);
    CHECK(params.normalization == 0);
}

/* normalization 1 z-scores each channel over the patient's volume: over the first patient's slices (items
 * 0 to SLICES - 1) every channel has mean 0 and standard deviation 1; 2 (percentile) gives other values;
 * other numbers are refused. */
static void test_dataset_normalization(void) {
    unetseg_dataset_params params = unetseg_dataset_default_params();
    unetseg_dataset *zscore = NULL, *percentile = NULL;
    params.normalization = 1;
    CHECK_OK(unetseg_dataset_open(root, &params, &zscore));
    params.normalization = 2;
    CHECK_OK(unetseg_dataset_open(root, &params, &percentile));
    double sum[3] = {0, 0, 0}, squares[3] = {0, 0, 0};
    int differs = 0;
    for (int64_t i = 0; i < SLICES; i++) {
        unetseg_tensor *image = NULL, *mask = NULL, *clipped = NULL, *clipped_mask = NULL;
        CHECK_OK(unetseg_dataset_get_item(zscore, i, 0, &image, &mask));
        CHECK_OK(unetseg_dataset_get_item(percentile, i, 0, &clipped, &clipped_mask));
        differs |= !same_values(image, clipped);
        int64_t count = 0;
        float *values = values_of(image, &count);
        for (int64_t k = 0; k < count; k++) {
            sum[k / (SIZE * SIZE)] += values[k];
            squares[k / (SIZE * SIZE)] += (double)values[k] * values[k];
        }
        free(values);
        unetseg_tensor *all[4] = {image, mask, clipped, clipped_mask};
        for (int k = 0; k < 4; k++) unetseg_tensor_free(all[k]);
    }
    const double n = (double)SLICES * SIZE * SIZE;
    for (int c = 0; c < 3; c++) {
        CHECK_CLOSE(sum[c] / n, 0, 1e-5);
        CHECK_CLOSE(squares[c] / n - (sum[c] / n) * (sum[c] / n), 1, 1e-4);
    }
    CHECK(differs);
    unetseg_dataset_free(zscore);
    unetseg_dataset_free(percentile);
    params.normalization = 3;
    unetseg_dataset *bad = FOREIGN_HANDLE;
    CHECK_ERROR(unetseg_dataset_open(root, &params, &bad), UNETSEG_STATUS_INVALID_ARGUMENT, "params->normalization");
    CHECK(bad == NULL);
}

static void test_dataset_items(void) {
    unetseg_dataset *dataset = open_dataset(root, 0, 0);
    int64_t length = 0, height = 0, width = 0;
    CHECK_OK(unetseg_dataset_length(dataset, &length));
    CHECK_OK(unetseg_dataset_image_size(dataset, &height, &width));
    CHECK(length == ITEMS && height == SIZE && width == SIZE);

    /* Slices are ordered by patient, then slice number. */
    char first_patient[64], patient[64];
    CHECK(first_entry(root, "TCGA_", first_patient));
    int32_t number = 0;
    int64_t lesion = -1;
    CHECK_OK(unetseg_dataset_slice_info(dataset, 0, patient, sizeof patient, &number, &lesion));
    CHECK(strcmp(patient, first_patient) == 0 && number == 1);
    CHECK_OK(unetseg_dataset_slice_info(dataset, SLICES - 1, patient, sizeof patient, &number, NULL));
    CHECK(strcmp(patient, first_patient) == 0 && number == SLICES);
    CHECK_OK(unetseg_dataset_slice_info(dataset, SLICES, patient, sizeof patient, &number, NULL));
    CHECK(strcmp(patient, first_patient) > 0 && number == 1);

    /* Every item: image [3, H, W] in [0, 1], mask [1, H, W] of 0/1 with the slice's lesion pixels. */
    int lesion_slices = 0;
    for (int64_t i = 0; i < length; i++) {
        unetseg_tensor *image = NULL, *mask = NULL;
        CHECK_OK(unetseg_dataset_get_item(dataset, i, 0, &image, &mask));
        CHECK(has_shape(image, 3, (const int64_t[]){3, SIZE, SIZE}));
        CHECK(has_shape(mask, 3, (const int64_t[]){1, SIZE, SIZE}));
        int64_t count = 0;
        float *values = values_of(image, &count);
        float low = 1, high = 0;
        for (int64_t k = 0; k < count; k++) {
            if (values[k] < low) low = values[k];
            if (values[k] > high) high = values[k];
        }
        CHECK(low >= 0 && low < 0.01f && high <= 1 && high > 0.99f);
        free(values);
        values = values_of(mask, &count);
        int64_t ones = 0, binary = 1;
        for (int64_t k = 0; k < count; k++) {
            ones += values[k] == 1;
            binary &= values[k] == 0 || values[k] == 1;
        }
        free(values);
        CHECK(binary);
        CHECK_OK(unetseg_dataset_slice_info(dataset, i, NULL, 0, NULL, &lesion));
        CHECK(ones == lesion);
        lesion_slices += lesion > 0;
        /* Without sampling, item i is slice i in every epoch. */
        int64_t slice = -1;
        CHECK_OK(unetseg_dataset_sampled_slice(dataset, i, 5, &slice));
        CHECK(slice == i);
        unetseg_tensor_free(image);
        unetseg_tensor_free(mask);
    }
    CHECK(lesion_slices > 0 && lesion_slices < ITEMS);
    unetseg_dataset_free(dataset);
}

static void test_dataset_sampling_and_augmentation(void) {
    unetseg_dataset *plain = open_dataset(root, 0, 0), *sampled = open_dataset(root, 0, 1);
    unetseg_dataset *augmented = open_dataset(root, 1, 0);

    /* Lesion-weighted sampling draws lesion slices far more often than their share, reproducibly. */
    int lesion_draws = 0, lesion_slices = 0;
    for (int64_t i = 0; i < ITEMS; i++) {
        int64_t lesion = 0;
        CHECK_OK(unetseg_dataset_slice_info(plain, i, NULL, 0, NULL, &lesion));
        lesion_slices += lesion > 0;
    }
    for (int64_t epoch = 1; epoch <= 8; epoch++)
        for (int64_t i = 0; i < ITEMS; i++) {
            int64_t slice = -1, again = -2, lesion = 0;
            CHECK_OK(unetseg_dataset_sampled_slice(sampled, i, epoch, &slice));
            CHECK_OK(unetseg_dataset_sampled_slice(sampled, i, epoch, &again));
            CHECK(slice == again && slice >= 0 && slice < ITEMS);
            CHECK_OK(unetseg_dataset_slice_info(sampled, slice, NULL, 0, NULL, &lesion));
            lesion_draws += lesion > 0;
        }
    CHECK((double)lesion_draws / (8 * ITEMS) > 0.75);
    CHECK((double)lesion_draws / (8 * ITEMS) > (double)lesion_slices / ITEMS + 0.2);

    /* A sampled item is the slice it names. */
    int64_t slice = -1;
    CHECK_OK(unetseg_dataset_sampled_slice(sampled, 3, 2, &slice));
    unetseg_tensor *image = NULL, *mask = NULL, *image2 = NULL, *mask2 = NULL;
    CHECK_OK(unetseg_dataset_get_item(sampled, 3, 2, &image, &mask));
    CHECK_OK(unetseg_dataset_get_item(plain, slice, 0, &image2, &mask2));
    CHECK(same_values(image, image2) && same_values(mask, mask2));
    unetseg_tensor *drop[] = {image, mask, image2, mask2};
    for (int i = 0; i < 4; i++) unetseg_tensor_free(drop[i]);

    /* Augmented items: reproducible per (epoch, index), different across epochs, masks stay 0/1. */
    int changed = 0, changed_across_epochs = 0;
    for (int64_t i = 0; i < 6; i++) {
        unetseg_tensor *a = NULL, *am = NULL, *b = NULL, *bm = NULL, *c = NULL, *cm = NULL, *p = NULL, *pm = NULL;
        CHECK_OK(unetseg_dataset_get_item(augmented, i, 1, &a, &am));
        CHECK_OK(unetseg_dataset_get_item(augmented, i, 1, &b, &bm));
        CHECK_OK(unetseg_dataset_get_item(augmented, i, 2, &c, &cm));
        CHECK_OK(unetseg_dataset_get_item(plain, i, 1, &p, &pm));
        CHECK(same_values(a, b) && same_values(am, bm));
        changed += !same_values(a, p);
        changed_across_epochs += !same_values(a, c);
        int64_t count = 0;
        float *values = values_of(am, &count);
        int binary = 1;
        for (int64_t k = 0; k < count; k++) binary &= values[k] == 0 || values[k] == 1;
        CHECK(binary);
        free(values);
        unetseg_tensor *all[] = {a, am, b, bm, c, cm, p, pm};
        for (int k = 0; k < 8; k++) unetseg_tensor_free(all[k]);
    }
    CHECK(changed == 6 && changed_across_epochs == 6);
    unetseg_dataset_free(plain);
    unetseg_dataset_free(sampled);
    unetseg_dataset_free(augmented);
}

static void test_dataset_rejects_bad_arguments(void) {
    unetseg_dataset_params params = unetseg_dataset_default_params();
    unetseg_dataset *dataset = FOREIGN_HANDLE;
    CHECK_ERROR(unetseg_dataset_open(NULL, &params, &dataset), UNETSEG_STATUS_INVALID_ARGUMENT, "root is NULL");
    CHECK(dataset == NULL);
    CHECK_ERROR(unetseg_dataset_open(root, NULL, &dataset), UNETSEG_STATUS_INVALID_ARGUMENT, "params is NULL");
    CHECK_ERROR(unetseg_dataset_open(root, &params, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_dataset is NULL");
    CHECK_ERROR(unetseg_dataset_open("/nonexistent/unetseg", &params, &dataset), UNETSEG_STATUS_IO,
                "/nonexistent/unetseg: no such folder");
    char empty[512], orphan[512], path[512], source[512], patient[256];
    join(empty, folder, "empty");
    CHECK(mkdir(empty, 0755) == 0);
    CHECK_ERROR(unetseg_dataset_open(empty, &params, &dataset), UNETSEG_STATUS_INVALID_ARGUMENT, "no slices");
    CHECK(rmdir(empty) == 0);
    /* An image without its mask. */
    join(orphan, folder, "orphan");
    CHECK(mkdir(orphan, 0755) == 0);
    CHECK(first_entry(root, "TCGA_", patient));
    slice_file(source, root, patient, 1, ".tif");
    join(path, orphan, "TCGA_XX_0000_20000101_1.tif");
    CHECK(copy_file(source, path));
    CHECK_ERROR(unetseg_dataset_open(orphan, &params, &dataset), UNETSEG_STATUS_FORMAT, "_1.tif: no mask");
    CHECK(remove_tree(orphan) == 0);
    params.augmentation.enabled = true;
    params.augmentation.angle = -1;
    CHECK_ERROR(unetseg_dataset_open(root, &params, &dataset), UNETSEG_STATUS_INVALID_ARGUMENT, "augmentation: angle -1");
    params.augmentation.angle = 15;
    params.augmentation.flip = 2;
    CHECK_ERROR(unetseg_dataset_open(root, &params, &dataset), UNETSEG_STATUS_INVALID_ARGUMENT, "flip probability 2");
    CHECK(dataset == NULL);

    dataset = open_dataset(root, 0, 0);
    unetseg_tensor *image = FOREIGN_HANDLE, *mask = FOREIGN_HANDLE;
    CHECK_ERROR(unetseg_dataset_get_item(dataset, ITEMS, 0, &image, &mask), UNETSEG_STATUS_INVALID_ARGUMENT,
                "index 32 is outside 0..<32");
    CHECK(image == NULL && mask == NULL);
    CHECK_ERROR(unetseg_dataset_get_item(dataset, -1, 0, &image, &mask), UNETSEG_STATUS_INVALID_ARGUMENT, "index -1");
    CHECK_ERROR(unetseg_dataset_get_item(dataset, 0, -1, &image, &mask), UNETSEG_STATUS_INVALID_ARGUMENT, "epoch must be in");
    CHECK_ERROR(unetseg_dataset_get_item(dataset, 0, 0, NULL, &mask), UNETSEG_STATUS_INVALID_ARGUMENT, "out_image is NULL");
    CHECK_ERROR(unetseg_dataset_get_item(dataset, 0, 0, &image, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_mask is NULL");
    CHECK_ERROR(unetseg_dataset_get_item(NULL, 0, 0, &image, &mask), UNETSEG_STATUS_INVALID_ARGUMENT, "dataset is NULL");
    int64_t value = -5;
    CHECK_ERROR(unetseg_dataset_length(NULL, &value), UNETSEG_STATUS_INVALID_ARGUMENT, "dataset is NULL");
    CHECK_ERROR(unetseg_dataset_length(dataset, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_length is NULL");
    CHECK_ERROR(unetseg_dataset_image_size(dataset, &value, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_width is NULL");
    CHECK_ERROR(unetseg_dataset_image_size(dataset, NULL, &value), UNETSEG_STATUS_INVALID_ARGUMENT, "out_height is NULL");
    CHECK_ERROR(unetseg_dataset_sampled_slice(dataset, 99, 0, &value), UNETSEG_STATUS_INVALID_ARGUMENT, "index 99");
    CHECK_ERROR(unetseg_dataset_sampled_slice(dataset, 0, 0, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_slice is NULL");
    char tiny[8] = "xxxxxxx";
    int32_t number = -5;
    CHECK_ERROR(unetseg_dataset_slice_info(dataset, 0, tiny, sizeof tiny, &number, &value), UNETSEG_STATUS_INVALID_ARGUMENT,
                "out_patient holds 8 bytes");
    CHECK(strcmp(tiny, "xxxxxxx") == 0 && number == -5 && value == -5);
    CHECK_ERROR(unetseg_dataset_slice_info(dataset, ITEMS, NULL, 0, &number, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "slice 32 is outside");
    CHECK_ERROR(unetseg_dataset_slice_info(NULL, 0, NULL, 0, &number, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "dataset is NULL");
    CHECK(value == -5);

    /* Dead and foreign handles. */
    unetseg_dataset_free(dataset);
    CHECK_ERROR(unetseg_dataset_length(dataset, &value), UNETSEG_STATUS_INVALID_ARGUMENT, "dataset is not a live unetseg_dataset");
    unetseg_dataset_free(dataset);
    unetseg_dataset_free(NULL);
    float one = 1;
    unetseg_tensor *tensor = make_tensor(&one, NULL, 0);
    CHECK_ERROR(unetseg_dataset_length((unetseg_dataset *)tensor, &value), UNETSEG_STATUS_INVALID_ARGUMENT,
                "dataset is a unetseg_tensor, not a unetseg_dataset");
    unetseg_tensor_free(tensor);

    /* An image that became unreadable after opening: an I/O or format error naming it. */
    char copy[512];
    join(copy, folder, "vanishing");
    unetseg_synthetic_params small = small_synthetic();
    small.patients = 1;
    CHECK_OK(unetseg_synthetic_write(copy, &small, NULL, NULL, NULL));
    dataset = open_dataset(copy, 0, 0);
    CHECK(first_entry(copy, "TCGA_", patient));
    slice_file(path, copy, patient, 2, ".tif");
    CHECK(remove(path) == 0);
    int32_t status = unetseg_dataset_get_item(dataset, 1, 0, &image, &mask);
    CHECK(status == UNETSEG_STATUS_IO || status == UNETSEG_STATUS_FORMAT);
    CHECK(strstr(unetseg_last_error(), "_2.tif") != NULL);
    CHECK(image == NULL && mask == NULL);
    unetseg_dataset_free(dataset);
    CHECK(remove_tree(copy) == 0);
}

/* ---- Augmentation --------------------------------------------------------------------------------- */

/* A 3 x 4 x 4 image with distinct values and a 1 x 4 x 4 mask with one corner set. */
static void make_pair(unetseg_tensor **image, unetseg_tensor **mask) {
    float image_values[48], mask_values[16] = {0};
    for (int i = 0; i < 48; i++) image_values[i] = (float)i / 47.0f;
    mask_values[3] = 1; /* row 0, column 3 */
    *image = make_tensor(image_values, (const int64_t[]){3, 4, 4}, 3);
    *mask = make_tensor(mask_values, (const int64_t[]){1, 4, 4}, 3);
}

static float element(const unetseg_tensor *tensor, int64_t index) {
    int64_t count = 0;
    float *values = values_of(tensor, &count);
    float value = index < count ? values[index] : NAN;
    free(values);
    return value;
}

static void free_all(unetseg_tensor **tensors, int count) {
    for (int i = 0; i < count; i++) unetseg_tensor_free(tensors[i]);
}

static void test_augmentation_fixed(void) {
    unetseg_tensor *image, *mask, *out[12] = {0};
    make_pair(&image, &mask);
    /* hflip mirrors each row. */
    CHECK_OK(unetseg_augmentation_hflip(image, mask, &out[0], &out[1]));
    CHECK(has_shape(out[0], 3, (const int64_t[]){3, 4, 4}) && has_shape(out[1], 3, (const int64_t[]){1, 4, 4}));
    CHECK(element(out[0], 0) == element(image, 3) && element(out[0], 16 + 5) == element(image, 16 + 6));
    CHECK(element(out[1], 0) == 1 && element(out[1], 3) == 0);
    /* 90 degrees counter-clockwise: output (x, y) is source (3 - y, x); the top-right corner goes top-left. */
    CHECK_OK(unetseg_augmentation_rotate(image, mask, 90, &out[2], &out[3]));
    CHECK(element(out[2], 0) == element(image, 3));
    CHECK(element(out[2], 1 * 4 + 2) == element(image, 2 * 4 + 2));
    CHECK(element(out[3], 0) == 1 && sum_of(out[3]) == 1);
    /* Identities: rotation by 0, resize by 1. */
    CHECK_OK(unetseg_augmentation_rotate(image, mask, 0, &out[4], &out[5]));
    CHECK(same_values(out[4], image) && same_values(out[5], mask));
    CHECK_OK(unetseg_augmentation_resize(image, mask, 1, &out[6], &out[7]));
    CHECK(same_values(out[6], image) && same_values(out[7], mask));
    /* Zooming in by 2 keeps the size and the centre; the mask stays 0/1. */
    CHECK_OK(unetseg_augmentation_resize(image, mask, 2, &out[8], &out[9]));
    CHECK(has_shape(out[8], 3, (const int64_t[]){3, 4, 4}) && !same_values(out[8], image));
    CHECK(sum_of(out[9]) == 0);
    /* Shrinking by 0.5 pads with zeros. */
    CHECK_OK(unetseg_augmentation_resize(image, mask, 0.5f, &out[10], &out[11]));
    CHECK(element(out[10], 0) == 0 && element(out[10], 5) != 0);
    /* The inputs are unchanged. */
    CHECK(element(image, 3) == 3.0f / 47.0f && element(mask, 3) == 1);
    free_all(out, 12);
    unetseg_tensor_free(image);
    unetseg_tensor_free(mask);
}

static void test_augmentation_random(void) {
    unetseg_tensor *image, *mask, *out[14] = {0};
    make_pair(&image, &mask);
    /* The extremes of the post's parameters are the fixed transforms or identities. */
    CHECK_OK(unetseg_augmentation_random_flip(image, mask, 1, &out[0], &out[1]));
    CHECK_OK(unetseg_augmentation_hflip(image, mask, &out[2], &out[3]));
    CHECK(same_values(out[0], out[2]) && same_values(out[1], out[3]));
    CHECK_OK(unetseg_augmentation_random_flip(image, mask, 0, &out[4], &out[5]));
    CHECK(same_values(out[4], image) && same_values(out[5], mask));
    CHECK_OK(unetseg_augmentation_random_resize(image, mask, 0, &out[6], &out[7]));
    CHECK(same_values(out[6], image));
    CHECK_OK(unetseg_augmentation_random_rotate(image, mask, 0, &out[8], &out[9]));
    CHECK(same_values(out[8], image));
    /* The global generator: the same seed gives the same angle, the next draw another. */
    unetseg_manual_seed(9);
    CHECK_OK(unetseg_augmentation_random_rotate(image, mask, 15, &out[10], &out[11]));
    unetseg_manual_seed(9);
    unetseg_tensor *again = NULL, *again_mask = NULL, *next = NULL, *next_mask = NULL;
    CHECK_OK(unetseg_augmentation_random_rotate(image, mask, 15, &again, &again_mask));
    CHECK_OK(unetseg_augmentation_random_rotate(image, mask, 15, &next, &next_mask));
    CHECK(same_values(out[10], again) && !same_values(out[10], next) && !same_values(out[10], image));
    CHECK_OK(unetseg_augmentation_random_resize(image, mask, 0.5f, &out[12], &out[13]));
    CHECK(!same_values(out[12], image));
    unetseg_tensor *more[] = {again, again_mask, next, next_mask};
    free_all(more, 4);
    free_all(out, 14);
    unetseg_tensor_free(image);
    unetseg_tensor_free(mask);
}

static void test_augmentation_rejects_bad_arguments(void) {
    unetseg_tensor *image, *mask, *a = FOREIGN_HANDLE, *b = FOREIGN_HANDLE;
    make_pair(&image, &mask);
    float values[75] = {0};
    unetseg_tensor *wide = make_tensor(values, (const int64_t[]){1, 5, 5}, 3);
    unetseg_tensor *flat = make_tensor(values, (const int64_t[]){16}, 1);
    CHECK_ERROR(unetseg_augmentation_hflip(image, wide, &a, &b), UNETSEG_STATUS_INVALID_ARGUMENT,
                "hflip: mask shape [1, 5, 5] does not match image [3, 4, 4]");
    CHECK(a == NULL && b == NULL);
    CHECK_ERROR(unetseg_augmentation_rotate(flat, mask, 10, &a, &b), UNETSEG_STATUS_INVALID_ARGUMENT,
                "rotate: image shape [16] is not [C, H, W]");
    CHECK_ERROR(unetseg_augmentation_rotate(image, mask, NAN, &a, &b), UNETSEG_STATUS_INVALID_ARGUMENT, "is not finite");
    CHECK_ERROR(unetseg_augmentation_resize(image, mask, 0, &a, &b), UNETSEG_STATUS_INVALID_ARGUMENT,
                "resize: scale 0.0 is not in (0, 100]");
    CHECK_ERROR(unetseg_augmentation_resize(image, mask, 101, &a, &b), UNETSEG_STATUS_INVALID_ARGUMENT, "scale 101.0");
    CHECK_ERROR(unetseg_augmentation_random_resize(image, mask, 1, &a, &b), UNETSEG_STATUS_INVALID_ARGUMENT,
                "scale parameter 1.0 is not in [0, 1)");
    CHECK_ERROR(unetseg_augmentation_random_rotate(image, mask, -1, &a, &b), UNETSEG_STATUS_INVALID_ARGUMENT,
                "angle parameter -1.0");
    CHECK_ERROR(unetseg_augmentation_random_flip(image, mask, 1.5f, &a, &b), UNETSEG_STATUS_INVALID_ARGUMENT,
                "probability 1.5 is not in [0, 1]");
    CHECK_ERROR(unetseg_augmentation_random_flip(image, wide, 0.5f, &a, &b), UNETSEG_STATUS_INVALID_ARGUMENT,
                "does not match");
    CHECK_ERROR(unetseg_augmentation_hflip(NULL, mask, &a, &b), UNETSEG_STATUS_INVALID_ARGUMENT, "image is NULL");
    CHECK_ERROR(unetseg_augmentation_hflip(image, NULL, &a, &b), UNETSEG_STATUS_INVALID_ARGUMENT, "mask is NULL");
    CHECK_ERROR(unetseg_augmentation_resize(image, mask, 1, NULL, &b), UNETSEG_STATUS_INVALID_ARGUMENT, "out_image is NULL");
    CHECK_ERROR(unetseg_augmentation_random_rotate(image, mask, 1, &a, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "out_mask is NULL");
    unetseg_tensor_free(wide);
    CHECK_ERROR(unetseg_augmentation_hflip(image, wide, &a, &b), UNETSEG_STATUS_INVALID_ARGUMENT,
                "mask is not a live unetseg_tensor");
    CHECK(a == NULL && b == NULL);
    unetseg_tensor_free(flat);
    unetseg_tensor_free(image);
    unetseg_tensor_free(mask);
}

/* ---- Loaders -------------------------------------------------------------------------------------- */

/* Reads one epoch: the number of batches, the batch sizes and the sum of all mask values. */
static int read_epoch(unetseg_loader *loader, int64_t *sizes, int capacity, double *mask_sum) {
    int batches = 0;
    *mask_sum = 0;
    for (;;) {
        unetseg_tensor *images = NULL, *masks = NULL;
        CHECK_OK(unetseg_loader_next(loader, &images, &masks));
        if (images == NULL) {
            CHECK(masks == NULL);
            break;
        }
        int64_t shape[4] = {0};
        CHECK_OK(unetseg_tensor_shape(images, shape, 4));
        CHECK(shape[1] == 3 && shape[2] == SIZE && shape[3] == SIZE);
        CHECK_OK(unetseg_tensor_shape(masks, shape, 4));
        CHECK(shape[1] == 1);
        if (batches < capacity) sizes[batches] = shape[0];
        *mask_sum += sum_of(masks);
        batches++;
        unetseg_tensor_free(images);
        unetseg_tensor_free(masks);
    }
    return batches;
}

/* The first batch of `epoch` (reset first). */
static void first_batch(unetseg_loader *loader, int64_t epoch, unetseg_tensor **images, unetseg_tensor **masks) {
    CHECK_OK(unetseg_loader_reset(loader, epoch));
    CHECK_OK(unetseg_loader_next(loader, images, masks));
}

static void test_loader_epochs(void) {
    unetseg_loader_params params = unetseg_loader_default_params();
    CHECK(params.batch_size == 4 && !params.shuffle && !params.drop_last && params.workers == 0 && params.seed == 777);

    unetseg_dataset *dataset = open_dataset(root, 0, 0);
    unetseg_loader *loader = make_loader(dataset, 5, false, false, 0);
    unetseg_loader *dropping = make_loader(dataset, 5, false, true, 0);
    int64_t length = 0, epoch = 0;
    CHECK_OK(unetseg_loader_length(loader, &length));
    CHECK(length == 7);
    CHECK_OK(unetseg_loader_length(dropping, &length));
    CHECK(length == 6);
    CHECK_OK(unetseg_loader_epoch(loader, &epoch));
    CHECK(epoch == 1);

    int64_t sizes[8] = {0};
    double total = 0, again = 0;
    CHECK(read_epoch(loader, sizes, 8, &total) == 7);
    CHECK(sizes[0] == 5 && sizes[5] == 5 && sizes[6] == 2);
    CHECK_OK(unetseg_loader_epoch(loader, &epoch));
    CHECK(epoch == 2);
    CHECK(read_epoch(loader, sizes, 8, &again) == 7 && again == total);
    CHECK(read_epoch(dropping, sizes, 8, &again) == 6 && sizes[5] == 5);

    /* The dataset's mask pixels, all seen once per epoch. */
    double expected = 0;
    for (int64_t i = 0; i < ITEMS; i++) {
        int64_t lesion = 0;
        CHECK_OK(unetseg_dataset_slice_info(dataset, i, NULL, 0, NULL, &lesion));
        expected += (double)lesion;
    }
    CHECK(total == expected && total > 0);

    /* Reset in the middle of an epoch starts it again. */
    unetseg_tensor *a = NULL, *am = NULL, *b = NULL, *bm = NULL;
    CHECK_OK(unetseg_loader_reset(loader, 1));
    CHECK_OK(unetseg_loader_next(loader, &a, &am));
    unetseg_tensor *skip = NULL, *skip_mask = NULL;
    CHECK_OK(unetseg_loader_next(loader, &skip, &skip_mask));
    CHECK(!same_values(a, skip));
    first_batch(loader, 1, &b, &bm);
    CHECK(same_values(a, b) && same_values(am, bm));
    CHECK_OK(unetseg_loader_epoch(loader, &epoch));
    CHECK(epoch == 1);
    unetseg_tensor *drop[] = {a, am, b, bm, skip, skip_mask};
    free_all(drop, 6);
    unetseg_loader_free(loader);
    unetseg_loader_free(dropping);
    unetseg_dataset_free(dataset);
}

static void test_loader_shuffle_and_workers(void) {
    unetseg_dataset *dataset = open_dataset(root, 1, 1);
    unetseg_loader *serial = make_loader(dataset, 6, true, false, 0), *parallel = make_loader(dataset, 6, true, false, 3);
    /* The dataset handle may go first: the loaders keep it alive. */
    unetseg_dataset_free(dataset);
    /* Background workers give the same batches, epoch by epoch. */
    for (int64_t epoch = 1; epoch <= 2; epoch++) {
        for (int b = 0; b < 6; b++) {
            unetseg_tensor *x = NULL, *xm = NULL, *y = NULL, *ym = NULL;
            CHECK_OK(unetseg_loader_next(serial, &x, &xm));
            CHECK_OK(unetseg_loader_next(parallel, &y, &ym));
            CHECK(x != NULL && y != NULL && same_values(x, y) && same_values(xm, ym));
            unetseg_tensor *drop[] = {x, xm, y, ym};
            free_all(drop, 4);
        }
        unetseg_tensor *x = FOREIGN_HANDLE, *xm = FOREIGN_HANDLE;
        CHECK_OK(unetseg_loader_next(serial, &x, &xm));
        CHECK(x == NULL && xm == NULL);
        CHECK_OK(unetseg_loader_next(parallel, &x, &xm));
        CHECK(x == NULL && xm == NULL);
    }
    /* Shuffled epochs differ; the same epoch read again is the same. */
    unetseg_tensor *e1 = NULL, *e1m = NULL, *e2 = NULL, *e2m = NULL, *e1again = NULL, *e1againm = NULL;
    first_batch(serial, 1, &e1, &e1m);
    first_batch(serial, 2, &e2, &e2m);
    first_batch(serial, 1, &e1again, &e1againm);
    CHECK(!same_values(e1, e2) && same_values(e1, e1again));
    unetseg_tensor *drop[] = {e1, e1m, e2, e2m, e1again, e1againm};
    free_all(drop, 6);
    /* A loader freed in the middle of an epoch stops its threads. */
    unetseg_tensor *x = NULL, *xm = NULL;
    CHECK_OK(unetseg_loader_next(parallel, &x, &xm));
    unetseg_loader_free(parallel);
    CHECK(x != NULL);
    unetseg_tensor_free(x);
    unetseg_tensor_free(xm);
    unetseg_loader_free(serial);
}

static void test_loader_rejects_bad_arguments(void) {
    unetseg_dataset *dataset = open_dataset(root, 0, 0);
    unetseg_loader_params params = unetseg_loader_default_params();
    unetseg_loader *loader = FOREIGN_HANDLE;
    CHECK_ERROR(unetseg_loader_create(NULL, &params, &loader), UNETSEG_STATUS_INVALID_ARGUMENT, "dataset is NULL");
    CHECK(loader == NULL);
    CHECK_ERROR(unetseg_loader_create(dataset, NULL, &loader), UNETSEG_STATUS_INVALID_ARGUMENT, "params is NULL");
    CHECK_ERROR(unetseg_loader_create(dataset, &params, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_loader is NULL");
    params.batch_size = 0;
    CHECK_ERROR(unetseg_loader_create(dataset, &params, &loader), UNETSEG_STATUS_INVALID_ARGUMENT,
                "batch_size must be in 1...4096, got 0");
    params = unetseg_loader_default_params();
    params.workers = 65;
    CHECK_ERROR(unetseg_loader_create(dataset, &params, &loader), UNETSEG_STATUS_INVALID_ARGUMENT,
                "workers must be in 0...64, got 65");
    params.workers = -1;
    CHECK_ERROR(unetseg_loader_create(dataset, &params, &loader), UNETSEG_STATUS_INVALID_ARGUMENT, "got -1");
    params = unetseg_loader_default_params();
    CHECK_OK(unetseg_loader_create(dataset, &params, &loader));
    unetseg_tensor *images = FOREIGN_HANDLE, *masks = FOREIGN_HANDLE;
    CHECK_ERROR(unetseg_loader_next(NULL, &images, &masks), UNETSEG_STATUS_INVALID_ARGUMENT, "loader is NULL");
    CHECK(images == NULL && masks == NULL);
    CHECK_ERROR(unetseg_loader_next(loader, NULL, &masks), UNETSEG_STATUS_INVALID_ARGUMENT, "out_images is NULL");
    CHECK_ERROR(unetseg_loader_next(loader, &images, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_masks is NULL");
    CHECK_ERROR(unetseg_loader_reset(loader, -1), UNETSEG_STATUS_INVALID_ARGUMENT, "epoch must be in");
    CHECK_ERROR(unetseg_loader_reset(NULL, 1), UNETSEG_STATUS_INVALID_ARGUMENT, "loader is NULL");
    int64_t value = 0;
    CHECK_ERROR(unetseg_loader_length(loader, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_length is NULL");
    CHECK_ERROR(unetseg_loader_epoch(loader, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_epoch is NULL");
    CHECK_ERROR(unetseg_loader_length((unetseg_loader *)dataset, &value), UNETSEG_STATUS_INVALID_ARGUMENT,
                "loader is a unetseg_dataset, not a unetseg_loader");
    unetseg_loader_free(loader);
    CHECK_ERROR(unetseg_loader_epoch(loader, &value), UNETSEG_STATUS_INVALID_ARGUMENT, "loader is not a live unetseg_loader");
    CHECK_ERROR(unetseg_loader_next(loader, &images, &masks), UNETSEG_STATUS_INVALID_ARGUMENT, "not a live");
    unetseg_loader_free(loader);
    unetseg_loader_free(NULL);
    unetseg_dataset_free(dataset);

    /* A slice that cannot be read ends the epoch with its error (background workers too). */
    char copy[512], patient[256], path[512];
    join(copy, folder, "unreadable");
    unetseg_synthetic_params small = small_synthetic();
    small.patients = 1;
    CHECK_OK(unetseg_synthetic_write(copy, &small, NULL, NULL, NULL));
    dataset = open_dataset(copy, 0, 0);
    CHECK(first_entry(copy, "TCGA_", patient));
    slice_file(path, copy, patient, 5, ".tif");
    CHECK(remove(path) == 0);
    for (int32_t workers = 0; workers <= 2; workers += 2) {
        loader = make_loader(dataset, 4, false, false, workers);
        CHECK_OK(unetseg_loader_next(loader, &images, &masks));
        unetseg_tensor_free(images);
        unetseg_tensor_free(masks);
        int32_t status = unetseg_loader_next(loader, &images, &masks);
        CHECK(status == UNETSEG_STATUS_IO || status == UNETSEG_STATUS_FORMAT);
        CHECK(strstr(unetseg_last_error(), "_5.tif") != NULL && images == NULL && masks == NULL);
        CHECK_OK(unetseg_loader_next(loader, &images, &masks));
        CHECK(images == NULL);
        unetseg_loader_free(loader);
    }
    unetseg_dataset_free(dataset);
    CHECK(remove_tree(copy) == 0);
}

/* ---- Patient split -------------------------------------------------------------------------------- */

static void test_split(void) {
    unetseg_split_params params = unetseg_split_default_params();
    CHECK(params.n_valid == 30 && params.seed == 777 && !params.overwrite);
    params.n_valid = 1;
    char base[512], train[512], valid[512], record[512];
    join(base, folder, "split");
    join(train, base, "train");
    join(valid, base, "valid");
    int32_t n_train = 0, n_valid = 0;
    CHECK_OK(unetseg_split_patients(root, train, valid, &params, &n_train, &n_valid));
    CHECK(n_train == PATIENTS - 1 && n_valid == 1);
    CHECK(count_entries(train) == PATIENTS - 1 && count_entries(valid) == 1);
    join(record, base, "split.json");
    char *json = read_file(record, NULL);
    CHECK(json != NULL && strstr(json, "\"seed\": \"777\"") != NULL && strstr(json, "\"n_valid\": 1") != NULL);
    /* The halves are datasets, together the whole. */
    unetseg_dataset *train_set = open_dataset(train, 0, 0), *valid_set = open_dataset(valid, 0, 0);
    int64_t train_length = 0, valid_length = 0;
    CHECK_OK(unetseg_dataset_length(train_set, &train_length));
    CHECK_OK(unetseg_dataset_length(valid_set, &valid_length));
    CHECK(train_length == (PATIENTS - 1) * SLICES && valid_length == SLICES);
    unetseg_dataset_free(train_set);
    unetseg_dataset_free(valid_set);

    /* The same seed chooses the same patients; counts may be NULL. */
    char base2[512], train2[512], valid2[512], record2[512];
    join(base2, folder, "split-again");
    join(train2, base2, "train");
    join(valid2, base2, "valid");
    CHECK_OK(unetseg_split_patients(root, train2, valid2, &params, NULL, NULL));
    char *json2 = read_file(join(record2, base2, "split.json"), NULL);
    CHECK(json2 != NULL && json != NULL && strcmp(json, json2) == 0);
    free(json);
    free(json2);
    CHECK(remove_tree(base2) == 0);

    /* Errors: nothing is made. */
    char other[512], other_train[512], other_valid[512];
    join(other, folder, "split-bad");
    join(other_train, other, "train");
    join(other_valid, other, "valid");
    params.n_valid = 5;
    CHECK_ERROR(unetseg_split_patients(root, other_train, other_valid, &params, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "cannot choose 5 validation patients out of 4");
    params.n_valid = -1;
    CHECK_ERROR(unetseg_split_patients(root, other_train, other_valid, &params, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "n_valid must be >= 0");
    params.n_valid = 1;
    CHECK_ERROR(unetseg_split_patients("/nonexistent/unetseg", other_train, other_valid, &params, NULL, NULL),
                UNETSEG_STATUS_IO, "/nonexistent/unetseg does not exist");
    CHECK_ERROR(unetseg_split_patients(root, train, other_valid, &params, NULL, NULL), UNETSEG_STATUS_IO, "overwrite");
    CHECK_ERROR(unetseg_split_patients(root, other_train, other_train, &params, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "are the same");
    char inside[512];
    CHECK_ERROR(unetseg_split_patients(root, join(inside, root, "train"), other_valid, &params, NULL, NULL),
                UNETSEG_STATUS_INVALID_ARGUMENT, "overlaps the dataset folder");
    CHECK_ERROR(unetseg_split_patients(NULL, other_train, other_valid, &params, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "root is NULL");
    CHECK_ERROR(unetseg_split_patients(root, NULL, other_valid, &params, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "train_dir is NULL");
    CHECK_ERROR(unetseg_split_patients(root, other_train, "", &params, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "valid_dir is empty");
    CHECK_ERROR(unetseg_split_patients(root, other_train, other_valid, NULL, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "params is NULL");
    CHECK(!file_exists(other_train) && !file_exists(other_valid));

    /* An earlier split is replaced only with overwrite; the source keeps its bytes. */
    uint64_t source = tree_digest(root), earlier = tree_digest(base);
    CHECK(source != 0 && earlier != 0);
    params.n_valid = 2;
    params.seed = 5;
    CHECK_ERROR(unetseg_split_patients(root, train, valid, &params, NULL, NULL), UNETSEG_STATUS_IO, "split.json exists");
    CHECK(strstr(unetseg_last_error(), record) != NULL);
    CHECK(tree_digest(base) == earlier);
    params.overwrite = true;
    CHECK_OK(unetseg_split_patients(root, train, valid, &params, &n_train, &n_valid));
    CHECK(n_valid == 2 && count_entries(valid) == 2 && count_entries(train) == PATIENTS - 2);
    char *replaced = read_file(record, NULL);
    CHECK(replaced != NULL && strstr(replaced, "\"n_valid\": 2") != NULL);
    free(replaced);
    CHECK(tree_digest(root) == source);
    CHECK(remove_tree(base) == 0);
}

int main(void) {
    make_temporary_folder(folder, "data");
    join(root, folder, "synthetic");
    RUN(test_synthetic_params);
    RUN(test_synthetic_write);
    RUN(test_synthetic_style);
    RUN(test_synthetic_rejects_bad_arguments);
    RUN(test_dataset_params);
    RUN(test_dataset_normalization);
    RUN(test_dataset_items);
    RUN(test_dataset_sampling_and_augmentation);
    RUN(test_dataset_rejects_bad_arguments);
    RUN(test_augmentation_fixed);
    RUN(test_augmentation_random);
    RUN(test_augmentation_rejects_bad_arguments);
    RUN(test_loader_epochs);
    RUN(test_loader_shuffle_and_workers);
    RUN(test_loader_rejects_bad_arguments);
    RUN(test_split);
    CHECK(remove_tree(folder) == 0);
    return finish();
}
