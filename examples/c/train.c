/*
 * train.c: the training loop of the post "Brain image segmentation with torch", written by hand with the
 * tensor-level C API of libunetseg, on a small synthetic dataset.
 *
 *     train OUT_DIR [PATIENTS [SIZE [EPOCHS [DEPTH [FILTERS]]]]]
 *
 * Writes a synthetic LGG-like dataset to OUT_DIR/data (PATIENTS patients, default 8, of 8 to 12 slices of
 * SIZE x SIZE pixels, default 64), splits it into OUT_DIR/split/{train,valid}, trains a U-Net of DEPTH
 * blocks (default 4) with 2^FILTERS first channels (default 4; the post's model is depth 5, filters 6) for
 * EPOCHS epochs (default 3) and saves OUT_DIR/model_<epoch>.safetensors after every epoch. OUT_DIR must not
 * exist yet, or be empty. Prints the post's lines:
 *
 *     Epoch 1, training: loss:0.703190, bce: 0.595909, dice: 0.953513
 *     Epoch 1, validation: loss:0.606525, bce: 0.447412, dice: 0.977790
 *
 * Build (see `make examples-c`):
 *     cc -std=c11 -Iinclude examples/c/train.c -L.build-lib/release -Wl,-rpath,$PWD/.build-lib/release \
 *        -lunetseg -lm -o train
 * or, with the library installed: cc train.c $(pkg-config --cflags --libs unetseg) -o train
 */
#include <stdio.h>
#include <stdlib.h>

#include "unetseg.h"

/* Runs a library call; on failure prints its message and exits. */
#define TRY(call) \
    do { \
        int32_t status_ = (call); \
        if (status_ != UNETSEG_STATUS_OK) { \
            fprintf(stderr, "train: %s failed (%s): %s\n", #call, unetseg_status_string(status_), unetseg_last_error()); \
            exit(1); \
        } \
    } while (0)

static long argument(int argc, char **argv, int index, long fallback) {
    return argc > index ? strtol(argv[index], NULL, 10) : fallback;
}

/* The post's loss: dice_weight * dice + (1 - dice_weight) * bce, from the two loss tensors. Adds the
   three values to sums[0..2] (loss, bce, dice) and returns the loss tensor (caller frees). */
static unetseg_tensor *post_loss(const unetseg_tensor *output, const unetseg_tensor *target, float dice_weight,
                                 double sums[3]) {
    unetseg_tensor *bce = NULL, *dice = NULL, *weighted_dice = NULL, *weighted_bce = NULL, *loss = NULL;
    TRY(unetseg_loss_bce(output, target, &bce));
    TRY(unetseg_loss_dice(output, target, &dice));
    TRY(unetseg_tensor_mul_scalar(dice, dice_weight, &weighted_dice));
    TRY(unetseg_tensor_mul_scalar(bce, 1 - dice_weight, &weighted_bce));
    TRY(unetseg_tensor_add(weighted_dice, weighted_bce, &loss));
    float values[3];
    TRY(unetseg_tensor_item(loss, &values[0]));
    TRY(unetseg_tensor_item(bce, &values[1]));
    TRY(unetseg_tensor_item(dice, &values[2]));
    for (int i = 0; i < 3; i++) sums[i] += values[i];
    unetseg_tensor_free(bce);
    unetseg_tensor_free(dice);
    unetseg_tensor_free(weighted_dice);
    unetseg_tensor_free(weighted_bce);
    return loss;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: train OUT_DIR [PATIENTS [SIZE [EPOCHS [DEPTH [FILTERS]]]]]\n");
        return 2;
    }
    const char *out = argv[1];
    const int patients = (int)argument(argc, argv, 2, 8), size = (int)argument(argc, argv, 3, 64);
    const int epochs = (int)argument(argc, argv, 4, 3);
    const float dice_weight = 0.3f;
    char data[1024], train_dir[1024], valid_dir[1024], path[1100];
    snprintf(data, sizeof data, "%s/data", out);
    snprintf(train_dir, sizeof train_dir, "%s/split/train", out);
    snprintf(valid_dir, sizeof valid_dir, "%s/split/valid", out);

    char info[256];
    TRY(unetseg_system_info_string(info, sizeof info));
    printf("%s\n", info);
    unetseg_manual_seed(777); /* torch_manual_seed(777): the model's initial weights */

    /* A synthetic dataset in the kaggle_3m layout, and the post's split by patient. */
    unetseg_synthetic_params synthetic = unetseg_synthetic_default_params();
    synthetic.patients = patients;
    synthetic.min_slices = 8;
    synthetic.max_slices = 12;
    synthetic.size = size;
    int64_t slices = 0;
    TRY(unetseg_synthetic_write(data, &synthetic, NULL, NULL, &slices));
    unetseg_split_params split = unetseg_split_default_params();
    split.n_valid = patients / 4 > 0 ? patients / 4 : 1;
    int32_t n_train = 0, n_valid = 0;
    TRY(unetseg_split_patients(data, train_dir, valid_dir, &split, &n_train, &n_valid));
    printf("%lld slices of %d patients: %d for training, %d for validation\n", (long long)slices, patients, n_train, n_valid);

    /* train_ds <- brainseg_dataset(train_dir, augmentation_params = c(0.05, 15, 0.5), random_sampling = TRUE)
       valid_ds <- brainseg_dataset(valid_dir, augmentation_params = NULL, random_sampling = FALSE) */
    unetseg_dataset_params train_params = unetseg_dataset_default_params();
    train_params.augmentation.enabled = true;
    train_params.random_sampling = true;
    unetseg_dataset_params valid_params = unetseg_dataset_default_params();
    unetseg_dataset *train_ds = NULL, *valid_ds = NULL;
    TRY(unetseg_dataset_open(train_dir, &train_params, &train_ds));
    TRY(unetseg_dataset_open(valid_dir, &valid_params, &valid_ds));

    /* train_dl <- dataloader(train_ds, batch_size = 4); valid_dl likewise */
    unetseg_loader_params loader_params = unetseg_loader_default_params();
    loader_params.workers = 1; /* the next batch is read while this one trains */
    unetseg_loader *train_dl = NULL, *valid_dl = NULL;
    TRY(unetseg_loader_create(train_ds, &loader_params, &train_dl));
    TRY(unetseg_loader_create(valid_ds, &loader_params, &valid_dl));
    int64_t batches = 0;
    TRY(unetseg_loader_length(train_dl, &batches));

    /* model <- unet(depth = 5) ; optimizer <- optim_sgd(lr = 0.1, momentum = 0.9) ;
       scheduler <- lr_one_cycle(optimizer, max_lr = 0.1, steps_per_epoch = length(train_dl), epochs) */
    unetseg_model_params model_params = unetseg_model_default_params();
    model_params.depth = (int32_t)argument(argc, argv, 5, 4);
    model_params.n_filters = (int32_t)argument(argc, argv, 6, 4);
    unetseg_model *model = NULL;
    TRY(unetseg_model_create(&model_params, &model));
    int64_t parameters = 0;
    TRY(unetseg_model_parameter_count(model, &parameters));
    printf("U-Net of depth %d with %lld parameters, %lld batches per epoch\n", model_params.depth,
           (long long)parameters, (long long)batches);
    unetseg_sgd_params sgd_params = unetseg_sgd_default_params();
    unetseg_sgd *optimizer = NULL;
    TRY(unetseg_sgd_create(model, &sgd_params, &optimizer));
    unetseg_one_cycle_params schedule = unetseg_one_cycle_default_params();
    schedule.epochs = epochs;
    schedule.steps_per_epoch = (int32_t)batches;
    unetseg_one_cycle *scheduler = NULL;
    TRY(unetseg_one_cycle_create(optimizer, &schedule, &scheduler));

    for (int epoch = 1; epoch <= epochs; epoch++) {
        /* Training: each call of unetseg_loader_next gives the next batch, two NULLs at the end. */
        TRY(unetseg_model_train(model));
        double sums[3] = {0, 0, 0};
        int count = 0;
        for (;;) {
            unetseg_tensor *images = NULL, *masks = NULL, *output = NULL;
            TRY(unetseg_loader_next(train_dl, &images, &masks));
            if (images == NULL) break;
            TRY(unetseg_sgd_zero_grad(optimizer));
            TRY(unetseg_model_forward(model, images, &output));
            unetseg_tensor *loss = post_loss(output, masks, dice_weight, sums);
            TRY(unetseg_tensor_backward(loss));
            TRY(unetseg_sgd_step(optimizer));
            TRY(unetseg_one_cycle_step(scheduler));
            count++;
            unetseg_tensor_free(loss);
            unetseg_tensor_free(output);
            unetseg_tensor_free(images);
            unetseg_tensor_free(masks);
        }
        snprintf(path, sizeof path, "%s/model_%d.safetensors", out, epoch);
        TRY(unetseg_model_save(model, path));
        printf("Epoch %d, training: loss:%3f, bce: %3f, dice: %3f\n", epoch, sums[0] / count, sums[1] / count,
               sums[2] / count);

        /* Validation: no dropout; the graph each forward records is freed with its tensors. */
        TRY(unetseg_model_eval(model));
        double valid_sums[3] = {0, 0, 0};
        int valid_count = 0;
        for (;;) {
            unetseg_tensor *images = NULL, *masks = NULL, *output = NULL;
            TRY(unetseg_loader_next(valid_dl, &images, &masks));
            if (images == NULL) break;
            TRY(unetseg_model_forward(model, images, &output));
            unetseg_tensor_free(post_loss(output, masks, dice_weight, valid_sums));
            valid_count++;
            unetseg_tensor_free(output);
            unetseg_tensor_free(images);
            unetseg_tensor_free(masks);
        }
        printf("Epoch %d, validation: loss:%3f, bce: %3f, dice: %3f\n", epoch, valid_sums[0] / valid_count,
               valid_sums[1] / valid_count, valid_sums[2] / valid_count);
        fflush(stdout);
    }
    printf("checkpoints in %s/model_<epoch>.safetensors\n", out);

    unetseg_one_cycle_free(scheduler);
    unetseg_sgd_free(optimizer);
    unetseg_model_free(model);
    unetseg_loader_free(train_dl);
    unetseg_loader_free(valid_dl);
    unetseg_dataset_free(train_ds);
    unetseg_dataset_free(valid_ds);
    return unetseg_live_handle_count() == 0 ? 0 : 1;
}
