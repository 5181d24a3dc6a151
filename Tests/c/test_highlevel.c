/* High level: a whole training run (compared number for number with the CLI's), cancelling and resuming
 * it, evaluation and folder prediction.
 *
 * Run as `test_highlevel REFERENCE`, where REFERENCE is a folder Tests/c/run-tests fills with the unetseg
 * CLI (the Swift API): data/ (unetseg synth), split/{train,valid} (unetseg split) and run/ (unetseg train:
 * 2 epochs of the tiny model below). Without it the comparison tests fail, saying so. */
#define _XOPEN_SOURCE 700
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "files.h"

#define FOREIGN_HANDLE ((void *)(uintptr_t)0x5550)

/* What run-tests passed to `unetseg synth`, `unetseg split` and `unetseg train`. */
enum { PATIENTS = 4, SLICES = 8, SIZE = 32, VALID_PATIENTS = 1, EPOCHS = 2, BATCH = 4, DEPTH = 2, FILTERS = 2 };
#define SYNTH_SEED 3
#define TRAIN_SEED 11

static const char *reference; /* argv[1], or NULL */
static char folder[64], train_dir[512], valid_dir[512];

/* ---- The CLI's log.json ---------------------------------------------------------------------------- */

/* The epochs of a log.json as written by the trainer: [{"epoch": 1, "train": [bce, dice, loss], "valid":
   [bce, dice, loss], "lr": x, ...}, ...]. Returns the number of epochs read (at most `capacity`). */
static int read_log(const char *path, unetseg_epoch_metrics *epochs, int capacity) {
    char *text = read_file(path, NULL);
    if (text == NULL) return 0;
    int count = 0;
    for (char *at = strstr(text, "\"epoch\":"); at != NULL && count < capacity; at = strstr(at + 1, "\"epoch\":")) {
        unetseg_epoch_metrics *e = &epochs[count++];
        e->epoch = (int32_t)strtol(at + 8, NULL, 10);
        const char *keys[2] = {"\"train\": [", "\"valid\": ["};
        unetseg_loss_values *parts[2] = {&e->train, &e->valid};
        for (int k = 0; k < 2; k++) {
            char *list = strstr(at, keys[k]);
            if (list == NULL) return 0;
            char *end = list + strlen(keys[k]);
            parts[k]->bce = strtod(end, &end);
            parts[k]->dice = strtod(end + 1, &end);
            parts[k]->loss = strtod(end + 1, &end);
        }
        char *lr = strstr(at, "\"lr\": ");
        if (lr == NULL) return 0;
        e->lr = strtod(lr + 6, NULL);
    }
    free(text);
    return count;
}

static int same_losses(unetseg_loss_values a, unetseg_loss_values b) {
    return a.bce == b.bce && a.dice == b.dice && a.loss == b.loss;
}

/* Whether two epochs have the same numbers (the time aside), exactly. */
static int same_epoch(const unetseg_epoch_metrics *a, const unetseg_epoch_metrics *b) {
    return a->epoch == b->epoch && same_losses(a->train, b->train) && same_losses(a->valid, b->valid) && a->lr == b->lr;
}

static void print_epoch(const char *what, const unetseg_epoch_metrics *e) {
    fprintf(stderr, "  %s epoch %d: train %.17g %.17g %.17g, valid %.17g %.17g %.17g, lr %.17g\n", what, e->epoch,
            e->train.bce, e->train.dice, e->train.loss, e->valid.bce, e->valid.dice, e->valid.loss, e->lr);
}

/* ---- Training ------------------------------------------------------------------------------------- */

/* The params of the reference run, into out_dir. */
static unetseg_train_params tiny_run(const char *out_dir) {
    unetseg_train_params params = unetseg_train_default_params();
    params.train_dir = train_dir;
    params.valid_dir = valid_dir;
    params.out_dir = out_dir;
    params.epochs = EPOCHS;
    params.batch_size = BATCH;
    params.model.depth = DEPTH;
    params.model.n_filters = FILTERS;
    params.seed = TRAIN_SEED;
    return params;
}

struct run_record {
    int batches, epochs;
    int32_t batch_count;
    unetseg_epoch_metrics seen[8];
    int stop_at_batch;  /* return false from the batch callback at this batch of epoch 1 (0: never) */
    int stop_at_epoch;  /* return false from the epoch callback after this epoch (0: never) */
    int info_lines;     /* log lines at info level that look like the post's epoch lines */
};

static bool on_batch(const unetseg_batch_progress *progress, void *user_data) {
    struct run_record *record = user_data;
    record->batches++;
    record->batch_count = progress->batch_count;
    CHECK(progress->batch >= 1 && progress->batch <= progress->batch_count);
    CHECK(isfinite(progress->losses.loss) && isfinite(progress->running_mean.loss) && progress->slices_per_second > 0);
    CHECK(fabs(progress->losses.loss - (0.3 * progress->losses.dice + 0.7 * progress->losses.bce)) < 1e-5);
    /* The callback may call into the library. */
    CHECK(unetseg_get_num_threads() >= 1);
    return !(progress->epoch == 1 && progress->batch == record->stop_at_batch);
}

static bool on_epoch(const unetseg_epoch_metrics *metrics, void *user_data) {
    struct run_record *record = user_data;
    if (record->epochs < 8) record->seen[record->epochs] = *metrics;
    record->epochs++;
    return metrics->epoch != record->stop_at_epoch;
}

static void count_epoch_lines(int32_t level, const char *message, void *user_data) {
    struct run_record *record = user_data;
    if (level == UNETSEG_LOG_INFO && strncmp(message, "Epoch ", 6) == 0 && strstr(message, ", training: loss:") != NULL)
        record->info_lines++;
}

static void test_train_params(void) {
    unetseg_train_params params = unetseg_train_default_params();
    CHECK(params.train_dir == NULL && params.valid_dir == NULL && params.out_dir == NULL);
    CHECK(params.epochs == 20 && params.batch_size == 4 && params.lr == 0.1 && params.momentum == 0.9f);
    CHECK(params.model.depth == 5 && params.model.n_filters == 6 && params.model.dropout == 0.6f);
    CHECK(params.dice_weight == 0.3f && params.augmentation.enabled && params.augmentation.scale == 0.05f);
    CHECK(params.augmentation.angle == 15.0f && params.augmentation.flip == 0.5f && params.random_sampling);
    CHECK(params.seed == 777 && params.threads == 0 && params.loader_workers == 1 && !params.resume);
    CHECK(params.checkpoint_every_epoch && !params.overwrite && !params.distributed);
    CHECK(params.normalization == 0);
}

/* The C API's synthetic writer makes the files the CLI made from the same values. */
static void test_synthetic_data_matches_cli(void) {
    CHECK(reference != NULL);
    if (reference == NULL) return;
    unetseg_synthetic_params params = unetseg_synthetic_default_params();
    params.patients = PATIENTS;
    params.min_slices = SLICES;
    params.max_slices = SLICES;
    params.size = SIZE;
    params.seed = SYNTH_SEED;
    char mine[512], theirs[512], patient[64], a[512], b[512];
    join(mine, folder, "synthetic");
    join(theirs, reference, "data");
    CHECK_OK(unetseg_synthetic_write(mine, &params, NULL, NULL, NULL));
    CHECK(first_entry(theirs, "TCGA_", patient));
    CHECK(same_file_content(slice_file(a, mine, patient, 4, ".tif"), slice_file(b, theirs, patient, 4, ".tif")));
    CHECK(same_file_content(slice_file(a, mine, patient, 4, "_mask.tif"), slice_file(b, theirs, patient, 4, "_mask.tif")));
    CHECK(remove_tree(mine) == 0);
}

/* Two epochs of the tiny model through the C API give exactly the losses the CLI wrote. */
static void test_train_matches_cli(void) {
    CHECK(reference != NULL);
    if (reference == NULL) return;
    char out[512], log[512], path[512];
    join(out, folder, "run");
    unetseg_train_params params = tiny_run(out);
    struct run_record record;
    memset(&record, 0, sizeof record);
    unetseg_set_log_callback(count_epoch_lines, &record);
    unetseg_epoch_metrics last;
    memset(&last, 0, sizeof last);
    unetseg_model *model = NULL;
    CHECK_OK(unetseg_train(&params, on_batch, on_epoch, &record, &last, &model));
    unetseg_set_log_callback(NULL, NULL);
    CHECK(record.batch_count == 6 && record.batches == EPOCHS * 6 && record.epochs == EPOCHS);
    CHECK(record.info_lines == EPOCHS);
    CHECK(same_epoch(&last, &record.seen[EPOCHS - 1]) && last.has_valid && last.seconds > 0);

    unetseg_epoch_metrics expected[4];
    snprintf(log, sizeof log, "%s/run/log.json", reference);
    CHECK(read_log(log, expected, 4) == EPOCHS);
    for (int e = 0; e < EPOCHS; e++) {
        if (!same_epoch(&record.seen[e], &expected[e])) {
            CHECK(same_epoch(&record.seen[e], &expected[e]));
            print_epoch("C API", &record.seen[e]);
            print_epoch("CLI  ", &expected[e]);
        }
    }
    /* And the run folder has what the CLI's has. */
    const char *files[] = {"model_1.safetensors", "model_2.safetensors", "best.safetensors", "log.csv", "log.json",
                           "training_state.safetensors"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) CHECK(file_exists(join(path, out, files[i])));

    /* The trained model comes back, in training mode, with the depth asked for. */
    unetseg_model_params got;
    bool training = false;
    CHECK_OK(unetseg_model_get_params(model, &got));
    CHECK_OK(unetseg_model_is_training(model, &training));
    CHECK(got.depth == DEPTH && got.n_filters == FILTERS && training);
    unetseg_model_free(model);
}

/* Stopping from the batch callback saves the state; resuming finishes with the uninterrupted numbers. */
static void test_train_cancel_and_resume(void) {
    CHECK(reference != NULL);
    if (reference == NULL) return;
    char out[512], path[512], log[512];
    join(out, folder, "interrupted");
    unetseg_train_params params = tiny_run(out);
    params.loader_workers = 0; /* any worker count gives the same batches */
    struct run_record record;
    memset(&record, 0, sizeof record);
    record.stop_at_batch = 3;
    unetseg_model *model = FOREIGN_HANDLE;
    unetseg_epoch_metrics last;
    memset(&last, 0x55, sizeof last);
    CHECK_ERROR(unetseg_train(&params, on_batch, on_epoch, &record, &last, &model), UNETSEG_STATUS_CANCELLED,
                "training stopped in epoch 1 after batch 3");
    CHECK(model == NULL && record.batches == 3 && record.epochs == 0);
    CHECK(file_exists(join(path, out, "interrupted.safetensors")));
    CHECK(file_exists(join(path, out, "training_state.safetensors")));

    memset(&record, 0, sizeof record);
    params.resume = true;
    CHECK_OK(unetseg_train(&params, on_batch, on_epoch, &record, NULL, NULL));
    CHECK(record.batches == EPOCHS * 6 - 3 && record.epochs == EPOCHS);
    unetseg_epoch_metrics expected[4];
    snprintf(log, sizeof log, "%s/run/log.json", reference);
    CHECK(read_log(log, expected, 4) == EPOCHS);
    for (int e = 0; e < EPOCHS; e++) CHECK(same_epoch(&record.seen[e], &expected[e]));

    /* Resuming a finished run trains nothing and reports its last epoch. */
    memset(&record, 0, sizeof record);
    CHECK_OK(unetseg_train(&params, on_batch, on_epoch, &record, &last, NULL));
    CHECK(record.batches == 0 && same_epoch(&last, &expected[EPOCHS - 1]));
    CHECK(remove_tree(out) == 0);
}

static void test_train_cancel_after_an_epoch(void) {
    char out[512], path[512];
    join(out, folder, "one-epoch");
    unetseg_train_params params = tiny_run(out);
    params.valid_dir = NULL; /* no validation: NaN valid losses */
    struct run_record record;
    memset(&record, 0, sizeof record);
    record.stop_at_epoch = 1;
    CHECK_ERROR(unetseg_train(&params, NULL, on_epoch, &record, NULL, NULL), UNETSEG_STATUS_CANCELLED,
                "training stopped after epoch 1");
    CHECK(record.epochs == 1 && !record.seen[0].has_valid && isnan(record.seen[0].valid.loss));
    CHECK(isfinite(record.seen[0].train.loss) && record.seen[0].lr > 0);
    CHECK(file_exists(join(path, out, "model_1.safetensors")) && !file_exists(join(path, out, "model_2.safetensors")));
    CHECK(remove_tree(out) == 0);
}

static void test_train_rejects_bad_arguments(void) {
    char out[512];
    join(out, folder, "bad-run");
    unetseg_train_params params = tiny_run(out);
    unetseg_model *model = FOREIGN_HANDLE;
    CHECK_ERROR(unetseg_train(NULL, NULL, NULL, NULL, NULL, &model), UNETSEG_STATUS_INVALID_ARGUMENT, "params is NULL");
    CHECK(model == NULL);
    params.train_dir = NULL;
    CHECK_ERROR(unetseg_train(&params, NULL, NULL, NULL, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "params->train_dir is NULL");
    params = tiny_run(out);
    params.out_dir = "";
    CHECK_ERROR(unetseg_train(&params, NULL, NULL, NULL, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "params->out_dir is empty");
    params = tiny_run(out);
    params.epochs = 0;
    CHECK_ERROR(unetseg_train(&params, NULL, NULL, NULL, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "epochs must be in 1...100000, got 0");
    params = tiny_run(out);
    params.lr = -1;
    CHECK_ERROR(unetseg_train(&params, NULL, NULL, NULL, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "learning rate");
    params = tiny_run(out);
    params.threads = -1;
    CHECK_ERROR(unetseg_train(&params, NULL, NULL, NULL, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "threads must be 0");
    params = tiny_run(out);
    params.loader_workers = 65;
    CHECK_ERROR(unetseg_train(&params, NULL, NULL, NULL, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "loader workers");
    params = tiny_run(out);
    params.model.depth = 0;
    CHECK_ERROR(unetseg_train(&params, NULL, NULL, NULL, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "depth must be in");
    params = tiny_run(out);
    params.augmentation.scale = 1;
    CHECK_ERROR(unetseg_train(&params, NULL, NULL, NULL, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "augmentation: scale 1.0");
    params = tiny_run(out);
    params.dice_weight = 2;
    CHECK_ERROR(unetseg_train(&params, NULL, NULL, NULL, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "dice weight");
    params = tiny_run(out);
    CHECK(params.optimizer == 0);
    params.optimizer = 2;
    CHECK_ERROR(unetseg_train(&params, NULL, NULL, NULL, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "params->optimizer must be 0 (SGD) or 1 (Adam), got 2");
    params = tiny_run(out);
    params.train_dir = "/nonexistent/unetseg-train";
    CHECK_ERROR(unetseg_train(&params, NULL, NULL, NULL, NULL, NULL), UNETSEG_STATUS_IO, "/nonexistent/unetseg-train");
    params = tiny_run(out);
    params.valid_dir = "/nonexistent/unetseg-valid";
    CHECK_ERROR(unetseg_train(&params, NULL, NULL, NULL, NULL, NULL), UNETSEG_STATUS_IO, "/nonexistent/unetseg-valid");
    params = tiny_run(out);
    params.resume = true;
    CHECK_ERROR(unetseg_train(&params, NULL, NULL, NULL, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "nothing to resume");
    params = tiny_run("/proc/unetseg-cannot-be-here");
    CHECK_ERROR(unetseg_train(&params, NULL, NULL, NULL, NULL, NULL), UNETSEG_STATUS_IO, "/proc/unetseg-cannot-be-here");
    remove_tree(out);
}

/* A second run into a run folder is refused and changes nothing; overwrite replaces it. */
static void test_train_refuses_an_earlier_run(void) {
    CHECK(reference != NULL);
    if (reference == NULL) return;
    char out[512], notes[512];
    join(out, folder, "run-twice");
    unetseg_train_params params = tiny_run(out);
    params.epochs = 1;
    CHECK_OK(unetseg_train(&params, NULL, NULL, NULL, NULL, NULL));
    FILE *file = fopen(join(notes, out, "notes.txt"), "w");
    CHECK(file != NULL && fputs("mine", file) >= 0 && fclose(file) == 0);
    uint64_t before = tree_digest(out);
    CHECK(before != 0);
    for (int every_epoch = 0; every_epoch < 2; every_epoch++) {
        params.checkpoint_every_epoch = every_epoch;
        CHECK_ERROR(unetseg_train(&params, NULL, NULL, NULL, NULL, NULL), UNETSEG_STATUS_IO, "overwrite");
        CHECK(strstr(unetseg_last_error(), out) != NULL);
        CHECK(tree_digest(out) == before);
    }
    params.overwrite = true;
    params.resume = true;
    CHECK_ERROR(unetseg_train(&params, NULL, NULL, NULL, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "exclude each other");
    params.resume = false;
    CHECK_OK(unetseg_train(&params, NULL, NULL, NULL, NULL, NULL));
    CHECK(file_exists(notes) && file_exists(join(notes, out, "model_1.safetensors")));
    CHECK(remove_tree(out) == 0);
}

/* ---- Evaluation and prediction --------------------------------------------------------------------- */

static unetseg_model *load_trained_model(void) {
    char path[512];
    unetseg_model *model = NULL;
    CHECK_OK(unetseg_model_load(join(path, folder, "run/best.safetensors"), NULL, &model));
    return model;
}

struct stop_record {
    int calls;
    int64_t stop_after;
};

static bool stop_progress(int64_t done, int64_t total, void *user_data) {
    struct stop_record *record = user_data;
    record->calls++;
    CHECK(done >= 1 && done <= total);
    return record->stop_after == 0 || done < record->stop_after;
}

static void test_evaluate(void) {
    CHECK(reference != NULL);
    if (reference == NULL) return;
    unetseg_model *model = load_trained_model();
    char out[512], predictions[512], path[512], run_model[512];
    join(out, folder, "evaluation");
    join(predictions, out, "predictions");
    unetseg_evaluate_params params = unetseg_evaluate_default_params();
    CHECK(params.batch_size == 8 && params.predictions_dir == NULL && params.output_dir == NULL && params.model_path == NULL);

    /* Metrics only. */
    unetseg_evaluation_metrics metrics;
    memset(&metrics, 0, sizeof metrics);
    CHECK_OK(unetseg_evaluate(model, valid_dir, &params, NULL, NULL, &metrics, NULL));
    CHECK(metrics.slice_count == VALID_PATIENTS * SLICES && metrics.patient_count == VALID_PATIENTS);
    CHECK(metrics.mean_volume_dice >= 0 && metrics.mean_volume_dice <= 1);
    CHECK(metrics.median_volume_dice == metrics.mean_volume_dice); /* one patient */
    CHECK(metrics.bce > 0 && isfinite(metrics.bce) && metrics.dice_loss > 0 && metrics.dice_loss <= 1);

    /* Everything written, and the per-volume result; batches of 3 give the same numbers. */
    params.batch_size = 3;
    params.predictions_dir = predictions;
    params.output_dir = out;
    params.model_path = join(run_model, folder, "run/model_2.safetensors");
    struct stop_record progress = {0, 0};
    unetseg_evaluation_metrics again;
    unetseg_evaluation *result = NULL;
    bool training = false;
    CHECK_OK(unetseg_model_is_training(model, &training));
    CHECK(training);
    CHECK_OK(unetseg_evaluate(model, valid_dir, &params, stop_progress, &progress, &again, &result));
    CHECK_OK(unetseg_model_is_training(model, &training));
    CHECK(training); /* the mode is restored */
    CHECK(progress.calls == 3);
    CHECK(fabs(again.mean_volume_dice - metrics.mean_volume_dice) < 1e-12 && fabs(again.bce - metrics.bce) < 1e-6);
    CHECK(file_exists(join(path, out, "metrics.json")) && file_exists(join(path, out, "loss_curves.png")));
    int32_t count = 0;
    double dice = -1;
    char patient[64], expected_patient[64];
    CHECK_OK(unetseg_evaluation_volume_count(result, &count));
    CHECK(count == VALID_PATIENTS);
    CHECK_OK(unetseg_evaluation_volume_dice(result, 0, &dice));
    CHECK(dice == again.mean_volume_dice);
    CHECK_OK(unetseg_evaluation_patient(result, 0, patient, sizeof patient));
    CHECK(first_entry(valid_dir, "TCGA_", expected_patient) && strcmp(patient, expected_patient) == 0);
    /* The volume's scores: its Dice again, ratios in 0...1, Hausdorff-95 within the diagonal (in voxels). */
    unetseg_volume_scores scores;
    CHECK_OK(unetseg_evaluation_volume_scores(result, 0, &scores));
    CHECK(scores.dice == dice && scores.precision >= 0 && scores.precision <= 1 && scores.sensitivity >= 0
          && scores.sensitivity <= 1);
    CHECK(scores.hausdorff95 >= 0 && scores.hausdorff95 <= scores.diagonal && scores.diagonal > 0);
    CHECK(scores.true_voxels >= 0 && scores.predicted_voxels >= 0 && isfinite(scores.relative_volume_difference));
    CHECK(again.mean_precision == scores.precision && again.median_hausdorff95 == scores.hausdorff95);
    CHECK(again.mean_absolute_volume_difference == fabs((double)(scores.predicted_voxels - scores.true_voxels)));
    CHECK_ERROR(unetseg_evaluation_volume_scores(result, 1, &scores), UNETSEG_STATUS_INVALID_ARGUMENT, "index 1");
    CHECK_ERROR(unetseg_evaluation_volume_scores(result, 0, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "out_scores is NULL");
    CHECK(file_exists(join(path, out, "volume_dice.png")));
    char patient_predictions[512];
    CHECK(count_entries(join(patient_predictions, predictions, patient)) == SLICES);
    CHECK(file_exists(slice_file(path, predictions, patient, SLICES, "_pred.tif")));

    /* Pictures of lesion slices, when the folder has any. */
    unetseg_dataset_params dataset_params = unetseg_dataset_default_params();
    unetseg_dataset *dataset = NULL;
    CHECK_OK(unetseg_dataset_open(valid_dir, &dataset_params, &dataset));
    int64_t lesion_slices = 0;
    for (int64_t i = 0; i < SLICES; i++) {
        int64_t lesion = 0;
        CHECK_OK(unetseg_dataset_slice_info(dataset, i, NULL, 0, NULL, &lesion));
        lesion_slices += lesion > 0;
    }
    unetseg_dataset_free(dataset);
    CHECK(file_exists(join(path, out, "predictions.png")) == (lesion_slices > 0));
    CHECK(file_exists(join(path, out, "contours.png")) == (lesion_slices > 0));

    /* Result getters on bad input. */
    char tiny[4] = "xxx";
    CHECK_ERROR(unetseg_evaluation_patient(result, 0, tiny, sizeof tiny), UNETSEG_STATUS_INVALID_ARGUMENT, "are needed");
    CHECK(strcmp(tiny, "xxx") == 0);
    CHECK_ERROR(unetseg_evaluation_patient(result, 1, patient, sizeof patient), UNETSEG_STATUS_INVALID_ARGUMENT,
                "index 1 is outside 0..<1");
    CHECK_ERROR(unetseg_evaluation_volume_dice(result, -1, &dice), UNETSEG_STATUS_INVALID_ARGUMENT, "index -1");
    CHECK_ERROR(unetseg_evaluation_volume_dice(result, 0, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_dice is NULL");
    CHECK_ERROR(unetseg_evaluation_volume_count(result, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_count is NULL");
    CHECK_ERROR(unetseg_evaluation_volume_count(NULL, &count), UNETSEG_STATUS_INVALID_ARGUMENT, "evaluation is NULL");
    CHECK_ERROR(unetseg_evaluation_volume_count((unetseg_evaluation *)model, &count), UNETSEG_STATUS_INVALID_ARGUMENT,
                "evaluation is a unetseg_model, not a unetseg_evaluation");
    unetseg_evaluation_free(result);
    CHECK_ERROR(unetseg_evaluation_volume_count(result, &count), UNETSEG_STATUS_INVALID_ARGUMENT,
                "not a live unetseg_evaluation");
    unetseg_evaluation_free(result);
    unetseg_evaluation_free(NULL);
    unetseg_model_free(model);
    CHECK(remove_tree(out) == 0);
}

/* A run with normalization 2 (percentile) records it: the model it returns and the checkpoint it wrote are
 * evaluated with it by default (-1), and an explicit other normalization is refused; the reference run
 * (minmax, no record in its files) refuses zscore. */
static void test_normalization_follows_the_model(void) {
    CHECK(reference != NULL);
    if (reference == NULL) return;
    char out[512], path[512];
    unetseg_train_params params = tiny_run(join(out, folder, "run-percentile"));
    params.epochs = 1;
    params.normalization = 2;
    unetseg_model *trained = NULL, *loaded = NULL, *minmax = load_trained_model();
    CHECK_OK(unetseg_train(&params, NULL, NULL, NULL, NULL, &trained));
    CHECK_OK(unetseg_model_load(join(path, out, "model_1.safetensors"), NULL, &loaded));
    unetseg_evaluate_params evaluate = unetseg_evaluate_default_params();
    CHECK(evaluate.normalization == -1);
    unetseg_evaluation_metrics by_default, explicit, from_file;
    CHECK_OK(unetseg_evaluate(trained, valid_dir, &evaluate, NULL, NULL, &by_default, NULL));
    CHECK_OK(unetseg_evaluate(loaded, valid_dir, &evaluate, NULL, NULL, &from_file, NULL));
    evaluate.normalization = 2;
    CHECK_OK(unetseg_evaluate(trained, valid_dir, &evaluate, NULL, NULL, &explicit, NULL));
    CHECK(by_default.bce == explicit.bce && by_default.dice_loss == explicit.dice_loss);
    CHECK(from_file.bce == explicit.bce && from_file.dice_loss == explicit.dice_loss);
    evaluate.normalization = 0;
    CHECK_ERROR(unetseg_evaluate(loaded, valid_dir, &evaluate, NULL, NULL, &explicit, NULL),
                UNETSEG_STATUS_INVALID_ARGUMENT, "trained with normalization percentile, not minmax");
    evaluate.normalization = 1;
    CHECK_ERROR(unetseg_evaluate(minmax, valid_dir, &evaluate, NULL, NULL, &explicit, NULL),
                UNETSEG_STATUS_INVALID_ARGUMENT, "trained with normalization minmax, not zscore");
    evaluate.normalization = 7;
    CHECK_ERROR(unetseg_evaluate(minmax, valid_dir, &evaluate, NULL, NULL, &explicit, NULL),
                UNETSEG_STATUS_INVALID_ARGUMENT, "params->normalization");
    params.normalization = -1;
    params.out_dir = join(out, folder, "run-bad-normalization");
    CHECK_ERROR(unetseg_train(&params, NULL, NULL, NULL, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "params->normalization");
    unetseg_model_free(trained);
    unetseg_model_free(loaded);
    unetseg_model_free(minmax);
}

static void test_evaluate_rejects_bad_arguments(void) {
    unetseg_model *model = make_tiny_model(5);
    unetseg_evaluate_params params = unetseg_evaluate_default_params();
    unetseg_evaluation_metrics metrics;
    unetseg_evaluation *result = FOREIGN_HANDLE;
    CHECK_ERROR(unetseg_evaluate(NULL, valid_dir, &params, NULL, NULL, &metrics, &result), UNETSEG_STATUS_INVALID_ARGUMENT,
                "model is NULL");
    CHECK(result == NULL);
    CHECK_ERROR(unetseg_evaluate(model, NULL, &params, NULL, NULL, &metrics, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "data_dir is NULL");
    CHECK_ERROR(unetseg_evaluate(model, valid_dir, NULL, NULL, NULL, &metrics, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "params is NULL");
    CHECK_ERROR(unetseg_evaluate(model, valid_dir, &params, NULL, NULL, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "out_metrics is NULL");
    params.batch_size = 0;
    CHECK_ERROR(unetseg_evaluate(model, valid_dir, &params, NULL, NULL, &metrics, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "batch_size must be in 1...4096, got 0");
    params = unetseg_evaluate_default_params();
    CHECK(params.postprocess == 0);
    params.postprocess = 2;
    CHECK_ERROR(unetseg_evaluate(model, valid_dir, &params, NULL, NULL, &metrics, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "params->postprocess must be 0 (none) or 1 (largest component), got 2");
    /* The largest component of each volume: never more predicted voxels than the raw prediction, same losses. */
    unetseg_evaluation_metrics raw_metrics, kept_metrics;
    unetseg_evaluation *raw = NULL, *kept = NULL;
    params.postprocess = 0;
    CHECK_OK(unetseg_evaluate(model, valid_dir, &params, NULL, NULL, &raw_metrics, &raw));
    params.postprocess = 1;
    CHECK_OK(unetseg_evaluate(model, valid_dir, &params, NULL, NULL, &kept_metrics, &kept));
    CHECK(kept_metrics.bce == raw_metrics.bce && kept_metrics.dice_loss == raw_metrics.dice_loss);
    for (int32_t i = 0; i < raw_metrics.patient_count; i++) {
        unetseg_volume_scores a, b;
        CHECK_OK(unetseg_evaluation_volume_scores(raw, i, &a));
        CHECK_OK(unetseg_evaluation_volume_scores(kept, i, &b));
        CHECK(b.predicted_voxels <= a.predicted_voxels && b.true_voxels == a.true_voxels);
    }
    unetseg_evaluation_free(raw);
    unetseg_evaluation_free(kept);
    params = unetseg_evaluate_default_params();
    CHECK_ERROR(unetseg_evaluate(model, "/nonexistent/unetseg", &params, NULL, NULL, &metrics, NULL), UNETSEG_STATUS_IO,
                "/nonexistent/unetseg: no such folder");
    params.output_dir = "/proc/unetseg-cannot-be-here";
    CHECK_ERROR(unetseg_evaluate(model, valid_dir, &params, NULL, NULL, &metrics, NULL), UNETSEG_STATUS_IO,
                "/proc/unetseg-cannot-be-here");
    params = unetseg_evaluate_default_params();
    /* Stopped by the progress callback after the first batch. */
    params.batch_size = 2;
    struct stop_record stop = {0, 2};
    CHECK_ERROR(unetseg_evaluate(model, valid_dir, &params, stop_progress, &stop, &metrics, &result), UNETSEG_STATUS_CANCELLED,
                "evaluation stopped after 2 slices");
    CHECK(stop.calls == 1 && result == NULL);

    /* Models that cannot segment these slices. */
    unetseg_model_params shape = unetseg_model_default_params();
    shape.channels_in = 1;
    shape.depth = 2;
    shape.n_filters = 1;
    unetseg_model *gray = NULL, *deep = NULL;
    CHECK_OK(unetseg_model_create(&shape, &gray));
    CHECK_ERROR(unetseg_evaluate(gray, valid_dir, &params, NULL, NULL, &metrics, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "channels_in 3 and n_classes 1");
    shape = unetseg_model_default_params();
    shape.depth = 7;
    shape.n_filters = 0;
    CHECK_OK(unetseg_model_create(&shape, &deep));
    CHECK_ERROR(unetseg_evaluate(deep, valid_dir, &params, NULL, NULL, &metrics, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "multiples of 64");
    unetseg_model_free(gray);
    unetseg_model_free(deep);
    unetseg_model_free(model);
    CHECK_ERROR(unetseg_evaluate(model, valid_dir, &params, NULL, NULL, &metrics, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "model is not a live unetseg_model");
}

static void test_predict_folder(void) {
    unetseg_model *model = make_tiny_model(6);
    CHECK_OK(unetseg_model_eval(model));
    char out[512], path[512], patient[64], image[512];
    join(out, folder, "predicted");
    int64_t written = 0;
    struct stop_record progress = {0, 0};
    CHECK_OK(unetseg_predict_folder(model, valid_dir, out, stop_progress, &progress, &written));
    CHECK(written == VALID_PATIENTS * SLICES && progress.calls == written);
    CHECK(first_entry(valid_dir, "TCGA_", patient));
    CHECK(file_exists(slice_file(path, out, patient, 1, "_pred.tif")));
    CHECK(file_size(path) > 0);
    bool training = true;
    CHECK_OK(unetseg_model_is_training(model, &training));
    CHECK(!training); /* the mode is restored */

    /* One image; the count may be NULL. */
    char single[512];
    join(single, folder, "predicted-one");
    CHECK_OK(unetseg_predict_folder(model, slice_file(image, valid_dir, patient, 2, ".tif"), single, NULL, NULL, NULL));
    CHECK(file_exists(slice_file(path, single, patient, 2, "_pred.tif")));
    CHECK(remove_tree(single) == 0);

    /* Stopped, and bad input. */
    struct stop_record stop = {0, 2};
    written = -1;
    CHECK_ERROR(unetseg_predict_folder(model, valid_dir, out, stop_progress, &stop, &written), UNETSEG_STATUS_CANCELLED,
                "prediction stopped after 2 images");
    CHECK(written == -1 && stop.calls == 2);
    CHECK_ERROR(unetseg_predict_folder(model, "/nonexistent/unetseg", out, NULL, NULL, NULL), UNETSEG_STATUS_IO,
                "/nonexistent/unetseg: no such file or folder");
    char empty[512];
    join(empty, folder, "no-images");
    CHECK(mkdir(empty, 0755) == 0);
    CHECK_ERROR(unetseg_predict_folder(model, empty, out, NULL, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "no slice images");
    CHECK(rmdir(empty) == 0);
    CHECK_ERROR(unetseg_predict_folder(model, valid_dir, "/proc/unetseg-cannot-be-here", NULL, NULL, NULL),
                UNETSEG_STATUS_IO, "/proc/unetseg-cannot-be-here");
    CHECK_ERROR(unetseg_predict_folder(NULL, valid_dir, out, NULL, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "model is NULL");
    CHECK_ERROR(unetseg_predict_folder(model, NULL, out, NULL, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "input is NULL");
    CHECK_ERROR(unetseg_predict_folder(model, valid_dir, "", NULL, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "out_dir is empty");
    unetseg_model_params shape = unetseg_model_default_params();
    shape.n_classes = 2;
    shape.depth = 1;
    shape.n_filters = 1;
    unetseg_model *two_classes = NULL;
    CHECK_OK(unetseg_model_create(&shape, &two_classes));
    CHECK_ERROR(unetseg_predict_folder(two_classes, valid_dir, out, NULL, NULL, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "n_classes 1");
    unetseg_model_free(two_classes);
    unetseg_model_free(model);
    CHECK(remove_tree(out) == 0);
}

/* Predictions and evaluation outputs are never written into the data, directly or through the split's
   links into it; the data's files keep their bytes. */
static void test_outputs_never_overlap_the_input(void) {
    CHECK(reference != NULL);
    if (reference == NULL) return;
    unetseg_model *model = make_tiny_model(7);
    char data[512], split[512], patient[64], inside[512];
    join(data, reference, "data");
    join(split, reference, "split");
    CHECK(first_entry(valid_dir, "TCGA_", patient));
    join(inside, data, patient);
    uint64_t before = tree_digest(data);
    CHECK(before != 0);
    /* predict: into the data, inside it, through the split's links, and from the links into the data. */
    const char *cases[][2] = {{data, data}, {data, inside}, {valid_dir, data}, {valid_dir, inside}, {data, valid_dir}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_ERROR(unetseg_predict_folder(model, cases[i][0], cases[i][1], NULL, NULL, NULL),
                    UNETSEG_STATUS_INVALID_ARGUMENT, "outputs are never written");
        CHECK(strstr(unetseg_last_error(), cases[i][0]) != NULL && strstr(unetseg_last_error(), cases[i][1]) != NULL);
        CHECK(tree_digest(data) == before);
    }
    /* evaluate: predictions or outputs in the data, or in a folder holding the split's links. */
    unetseg_evaluate_params params = unetseg_evaluate_default_params();
    unetseg_evaluation_metrics metrics;
    params.predictions_dir = data;
    const char *outputs[][2] = {{data, NULL}, {inside, NULL}, {NULL, split}};
    for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++) {
        params.predictions_dir = outputs[i][0];
        params.output_dir = outputs[i][1];
        CHECK_ERROR(unetseg_evaluate(model, valid_dir, &params, NULL, NULL, &metrics, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                    "outputs are never written");
        CHECK(strstr(unetseg_last_error(), outputs[i][0] != NULL ? outputs[i][0] : outputs[i][1]) != NULL);
        CHECK(strstr(unetseg_last_error(), valid_dir) != NULL);
    }
    CHECK(tree_digest(data) == before);
    unetseg_model_free(model);
}

int main(int argc, char **argv) {
    reference = argc > 1 ? argv[1] : NULL;
    if (reference == NULL)
        fprintf(stderr, "test_highlevel: no reference folder given (Tests/c/run-tests makes one with the CLI)\n");
    make_temporary_folder(folder, "highlevel");
    snprintf(train_dir, sizeof train_dir, "%s/split/train", reference != NULL ? reference : "/nonexistent");
    snprintf(valid_dir, sizeof valid_dir, "%s/split/valid", reference != NULL ? reference : "/nonexistent");
    RUN(test_train_params);
    RUN(test_synthetic_data_matches_cli);
    RUN(test_train_matches_cli);
    RUN(test_train_cancel_and_resume);
    RUN(test_train_cancel_after_an_epoch);
    RUN(test_train_rejects_bad_arguments);
    RUN(test_evaluate);
    RUN(test_evaluate_rejects_bad_arguments);
    RUN(test_normalization_follows_the_model);
    RUN(test_predict_folder);
    RUN(test_train_refuses_an_earlier_run);
    RUN(test_outputs_never_overlap_the_input);
    CHECK(remove_tree(folder) == 0);
    return finish();
}
