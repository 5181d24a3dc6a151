/*
 * predict.c: loads a checkpoint, segments a folder of brain MRI slices and writes the predicted masks.
 *
 *     predict MODEL.safetensors INPUT OUT_DIR
 *
 * INPUT is a slice TIFF or a folder searched recursively for slices (PATIENT_N.tif, as in kaggle_3m; a
 * patient's folder, or a folder of patients). Each mask (prediction > 0.5) is written as a 0/255 TIFF,
 * OUT_DIR/PATIENT/PATIENT_N_pred.tif (never named like a label; OUT_DIR must lie outside INPUT). When
 * INPUT also has the true masks, prints the Dice of each patient's volume. MODEL is a file written by unetseg_model_save (examples/c/train.c, the unetseg CLI).
 *
 * Build (see `make examples-c`):
 *     cc -std=c11 -Iinclude examples/c/predict.c -L.build-lib/release -Wl,-rpath,$PWD/.build-lib/release \
 *        -lunetseg -lm -o predict
 */
#include <stdio.h>
#include <stdlib.h>

#include "unetseg.h"

#define TRY(call) \
    do { \
        int32_t status_ = (call); \
        if (status_ != UNETSEG_STATUS_OK) { \
            fprintf(stderr, "predict: %s failed (%s): %s\n", #call, unetseg_status_string(status_), unetseg_last_error()); \
            exit(1); \
        } \
    } while (0)

/* Prints progress every tenth image; returning false would stop the work. */
static bool show_progress(int64_t done, int64_t total, void *user_data) {
    const char *what = user_data;
    if (done == total || done % 10 == 0) printf("  %s %lld/%lld\n", what, (long long)done, (long long)total);
    return true;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: predict MODEL.safetensors INPUT OUT_DIR\n");
        return 2;
    }
    unetseg_model *model = NULL;
    TRY(unetseg_model_load(argv[1], NULL, &model)); /* NULL params: the shape comes from the file */
    unetseg_model_params shape;
    TRY(unetseg_model_get_params(model, &shape));
    printf("model %s: U-Net of depth %d, %d first channels\n", argv[1], shape.depth, 1 << shape.n_filters);

    int64_t written = 0;
    TRY(unetseg_predict_folder(model, argv[2], argv[3], show_progress, "segmented", &written));
    printf("%lld masks written to %s\n", (long long)written, argv[3]);

    /* With true masks beside the images: the Dice of each patient's volume. */
    unetseg_evaluate_params params = unetseg_evaluate_default_params();
    unetseg_evaluation_metrics metrics;
    unetseg_evaluation *result = NULL;
    if (unetseg_evaluate(model, argv[2], &params, NULL, NULL, &metrics, &result) == UNETSEG_STATUS_OK) {
        int32_t volumes = 0;
        TRY(unetseg_evaluation_volume_count(result, &volumes));
        for (int32_t i = 0; i < volumes; i++) {
            char patient[128];
            double dice = 0;
            TRY(unetseg_evaluation_patient(result, i, patient, sizeof patient));
            TRY(unetseg_evaluation_volume_dice(result, i, &dice));
            printf("  %s: volume Dice %.4f\n", patient, dice);
        }
        printf("mean volume Dice %.4f over %d patients (%lld slices), bce %.4f, dice loss %.4f\n",
               metrics.mean_volume_dice, metrics.patient_count, (long long)metrics.slice_count, metrics.bce,
               metrics.dice_loss);
        unetseg_evaluation_free(result);
    } else {
        printf("no Dice: %s\n", unetseg_last_error());
    }
    unetseg_model_free(model);
    return 0;
}
