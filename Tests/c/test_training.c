/* Losses, SGD and the one-cycle schedule, and the post's training loop written by hand. */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"

#define FOREIGN_SGD ((unetseg_sgd *)(uintptr_t)0x3330)

static const int64_t shape4[2] = {2, 2};
static const float prediction4[4] = {0.9f, 0.2f, 0.6f, 0.1f};
static const float target4[4] = {1, 0, 1, 1};

static double expected_bce(void) {
    double sum = 0;
    for (int i = 0; i < 4; i++)
        sum -= target4[i] * log(prediction4[i]) + (1 - target4[i]) * log(1 - prediction4[i]);
    return sum / 4;
}

static double expected_dice(void) {
    double intersection = 0, p = 0, t = 0;
    for (int i = 0; i < 4; i++) {
        intersection += prediction4[i] * target4[i];
        p += prediction4[i];
        t += target4[i];
    }
    return 1 - (2 * intersection + 1) / (p + t + 1);
}

static void test_losses(void) {
    unetseg_tensor *prediction = make_tensor(prediction4, shape4, 2), *target = make_tensor(target4, shape4, 2);
    unetseg_tensor *bce = NULL, *dice = NULL, *total = NULL, *part_bce = NULL, *part_dice = NULL;
    CHECK_OK(unetseg_loss_bce(prediction, target, &bce));
    CHECK_OK(unetseg_loss_dice(prediction, target, &dice));
    CHECK_OK(unetseg_loss_combined(prediction, target, 0.3f, &total, &part_bce, &part_dice));
    CHECK_CLOSE(item(bce), expected_bce(), 1e-6);
    CHECK_CLOSE(item(dice), expected_dice(), 1e-6);
    CHECK_CLOSE(item(part_bce), expected_bce(), 1e-6);
    CHECK_CLOSE(item(part_dice), expected_dice(), 1e-6);
    CHECK_CLOSE(item(total), 0.3 * expected_dice() + 0.7 * expected_bce(), 1e-6);
    unetseg_tensor *results[] = {prediction, target, bce, dice, total, part_bce, part_dice};
    for (int i = 0; i < 7; i++) unetseg_tensor_free(results[i]);
}

static void test_loss_gradient(void) {
    /* d bce / d p = (p - t) / (p (1 - p)) / n */
    unetseg_tensor *prediction = make_tensor(prediction4, shape4, 2), *target = make_tensor(target4, shape4, 2);
    unetseg_tensor *bce = NULL, *grad = NULL;
    CHECK_OK(unetseg_tensor_set_requires_grad(prediction, true));
    CHECK_OK(unetseg_loss_bce(prediction, target, &bce));
    CHECK_OK(unetseg_tensor_backward(bce));
    CHECK_OK(unetseg_tensor_grad(prediction, &grad));
    float g[4];
    CHECK_OK(unetseg_tensor_copy_to(grad, g, 4));
    for (int i = 0; i < 4; i++) {
        double p = prediction4[i], t = target4[i];
        CHECK_CLOSE(g[i], (p - t) / (p * (1 - p)) / 4, 1e-5);
    }
    unetseg_tensor_free(prediction);
    unetseg_tensor_free(target);
    unetseg_tensor_free(bce);
    unetseg_tensor_free(grad);
}

static void test_losses_reject_bad_arguments(void) {
    const float outside[4] = {1.5f, 0.2f, 0.6f, 0.1f};
    unetseg_tensor *prediction = make_tensor(prediction4, shape4, 2), *target = make_tensor(target4, shape4, 2);
    unetseg_tensor *bad = make_tensor(outside, shape4, 2), *flat = make_tensor(target4, (const int64_t[]){4}, 1);
    unetseg_tensor *three = make_tensor(target4, (const int64_t[]){3}, 1);
    unetseg_tensor *loss = (unetseg_tensor *)FOREIGN_SGD, *total = loss, *bce = loss, *dice = loss;
    CHECK_ERROR(unetseg_loss_bce(bad, target, &loss), UNETSEG_STATUS_INVALID_ARGUMENT, "between 0 and 1, found 1.5");
    CHECK(loss == NULL);
    CHECK_ERROR(unetseg_loss_bce(prediction, flat, &loss), UNETSEG_STATUS_INVALID_ARGUMENT, "shapes [2, 2] and [4] differ");
    CHECK_ERROR(unetseg_loss_bce(NULL, target, &loss), UNETSEG_STATUS_INVALID_ARGUMENT, "prediction is NULL");
    CHECK_ERROR(unetseg_loss_bce(prediction, NULL, &loss), UNETSEG_STATUS_INVALID_ARGUMENT, "target is NULL");
    CHECK_ERROR(unetseg_loss_bce(prediction, target, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_loss is NULL");
    CHECK_ERROR(unetseg_loss_dice(prediction, three, &loss), UNETSEG_STATUS_INVALID_ARGUMENT, "shapes [4] and [3] differ");
    CHECK_ERROR(unetseg_loss_dice(NULL, target, &loss), UNETSEG_STATUS_INVALID_ARGUMENT, "prediction is NULL");
    CHECK_ERROR(unetseg_loss_dice(prediction, target, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_loss is NULL");
    CHECK_ERROR(unetseg_loss_combined(prediction, target, 1.5f, &total, &bce, &dice), UNETSEG_STATUS_INVALID_ARGUMENT,
                "dice weight must be in [0, 1], got 1.5");
    CHECK(total == NULL && bce == NULL && dice == NULL);
    CHECK_ERROR(unetseg_loss_combined(bad, target, 0.3f, &total, &bce, &dice), UNETSEG_STATUS_INVALID_ARGUMENT, "found 1.5");
    CHECK_ERROR(unetseg_loss_combined(prediction, target, 0.3f, &total, NULL, &dice), UNETSEG_STATUS_INVALID_ARGUMENT,
                "out_bce is NULL");
    CHECK_ERROR(unetseg_loss_combined(prediction, target, 0.3f, NULL, &bce, &dice), UNETSEG_STATUS_INVALID_ARGUMENT,
                "out_total is NULL");
    CHECK_ERROR(unetseg_loss_combined(prediction, target, 0.3f, &total, &bce, NULL), UNETSEG_STATUS_INVALID_ARGUMENT,
                "out_dice is NULL");
    unetseg_tensor *inputs[] = {prediction, target, bad, flat, three};
    for (int i = 0; i < 5; i++) unetseg_tensor_free(inputs[i]);
}

static void test_sgd_params(void) {
    unetseg_sgd_params params = unetseg_sgd_default_params();
    CHECK(params.lr == 0.1f && params.momentum == 0.9f && params.dampening == 0 && params.weight_decay == 0);
    CHECK(!params.nesterov);
}

/* One loss on a fixed batch: images [2, 3, 8, 8], masks [2, 1, 8, 8]. */
static float batch_loss(unetseg_model *model, const unetseg_tensor *images, const unetseg_tensor *masks, int backward) {
    unetseg_tensor *prediction = NULL, *total = NULL, *bce = NULL, *dice = NULL;
    CHECK_OK(unetseg_model_forward(model, images, &prediction));
    CHECK_OK(unetseg_loss_combined(prediction, masks, 0.3f, &total, &bce, &dice));
    float value = item(total);
    if (backward) CHECK_OK(unetseg_tensor_backward(total));
    unetseg_tensor_free(prediction);
    unetseg_tensor_free(total);
    unetseg_tensor_free(bce);
    unetseg_tensor_free(dice);
    return value;
}

static void make_batch(unetseg_tensor **images, unetseg_tensor **masks) {
    static float image_values[2 * 3 * 8 * 8], mask_values[2 * 8 * 8];
    for (int n = 0; n < 2; n++)
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++) {
                int lesion = (x - 4) * (x - 4) + (y - 3 - n) * (y - 3 - n) < 5;
                mask_values[(n * 8 + y) * 8 + x] = (float)lesion;
                for (int c = 0; c < 3; c++)
                    image_values[((n * 3 + c) * 8 + y) * 8 + x] = lesion ? 0.8f : 0.1f + 0.05f * (float)((x + c) % 3);
            }
    *images = make_tensor(image_values, (const int64_t[]){2, 3, 8, 8}, 4);
    *masks = make_tensor(mask_values, (const int64_t[]){2, 1, 8, 8}, 4);
}

static void test_sgd_step_and_zero_grad(void) {
    unetseg_model *model = make_tiny_model(71);
    CHECK_OK(unetseg_model_eval(model));
    unetseg_tensor *images, *masks;
    make_batch(&images, &masks);
    unetseg_sgd_params params = unetseg_sgd_default_params();
    params.momentum = 0;
    unetseg_sgd *optimizer = NULL;
    CHECK_OK(unetseg_sgd_create(model, &params, &optimizer));
    float before[4], after[4];
    CHECK_OK(unetseg_model_parameter_get(model, 14, before, 4));

    /* Without gradients a step changes nothing. */
    CHECK_OK(unetseg_sgd_step(optimizer));
    CHECK_OK(unetseg_model_parameter_get(model, 14, after, 4));
    CHECK(memcmp(before, after, sizeof before) == 0);

    /* Plain gradient descent lowers the loss on the batch it steps on. */
    float first = batch_loss(model, images, masks, 1);
    CHECK_OK(unetseg_sgd_step(optimizer));
    CHECK_OK(unetseg_model_parameter_get(model, 14, after, 4));
    CHECK(memcmp(before, after, sizeof before) != 0);
    CHECK_OK(unetseg_sgd_zero_grad(optimizer));
    CHECK_OK(unetseg_sgd_step(optimizer)); /* gradients dropped: no change */
    float again[4];
    CHECK_OK(unetseg_model_parameter_get(model, 14, again, 4));
    CHECK(memcmp(after, again, sizeof after) == 0);
    float second = batch_loss(model, images, masks, 0);
    CHECK(second < first);

    /* unetseg_model_zero_grad drops the same gradients. */
    (void)batch_loss(model, images, masks, 1);
    CHECK_OK(unetseg_model_zero_grad(model));
    CHECK_OK(unetseg_sgd_step(optimizer));
    CHECK_OK(unetseg_model_parameter_get(model, 14, again, 4));
    CHECK(memcmp(after, again, sizeof after) == 0);

    unetseg_sgd_free(optimizer);
    unetseg_tensor_free(images);
    unetseg_tensor_free(masks);
    unetseg_model_free(model);
}

static void test_sgd_rejects_bad_arguments(void) {
    unetseg_model *model = make_tiny_model(72);
    unetseg_sgd_params params = unetseg_sgd_default_params();
    unetseg_sgd *optimizer = FOREIGN_SGD;
    CHECK_ERROR(unetseg_sgd_create(model, NULL, &optimizer), UNETSEG_STATUS_INVALID_ARGUMENT, "params is NULL");
    CHECK(optimizer == NULL);
    CHECK_ERROR(unetseg_sgd_create(NULL, &params, &optimizer), UNETSEG_STATUS_INVALID_ARGUMENT, "model is NULL");
    CHECK_ERROR(unetseg_sgd_create(model, &params, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_optimizer is NULL");
    params.lr = -1;
    CHECK_ERROR(unetseg_sgd_create(model, &params, &optimizer), UNETSEG_STATUS_INVALID_ARGUMENT, "learning rate");
    params = unetseg_sgd_default_params();
    params.momentum = NAN;
    CHECK_ERROR(unetseg_sgd_create(model, &params, &optimizer), UNETSEG_STATUS_INVALID_ARGUMENT, "momentum");
    params = unetseg_sgd_default_params();
    params.nesterov = true;
    params.dampening = 0.5f;
    CHECK_ERROR(unetseg_sgd_create(model, &params, &optimizer), UNETSEG_STATUS_INVALID_ARGUMENT, "Nesterov");
    CHECK_ERROR(unetseg_sgd_step(NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "optimizer is NULL");
    CHECK_ERROR(unetseg_sgd_zero_grad(NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "optimizer is NULL");
    CHECK_ERROR(unetseg_sgd_step(FOREIGN_SGD), UNETSEG_STATUS_INVALID_ARGUMENT, "optimizer is not a live unetseg_sgd");
    CHECK_ERROR(unetseg_sgd_step((unetseg_sgd *)model), UNETSEG_STATUS_INVALID_ARGUMENT,
                "optimizer is a unetseg_model, not a unetseg_sgd");
    params = unetseg_sgd_default_params();
    CHECK_OK(unetseg_sgd_create(model, &params, &optimizer));
    unetseg_sgd_free(optimizer);
    CHECK_ERROR(unetseg_sgd_step(optimizer), UNETSEG_STATUS_INVALID_ARGUMENT, "not a live unetseg_sgd");
    unetseg_sgd_free(optimizer);
    unetseg_model_free(model);
}

static void test_one_cycle_schedule(void) {
    unetseg_one_cycle_params params = unetseg_one_cycle_default_params();
    CHECK(params.max_lr == 0.1 && params.epochs == 20 && params.steps_per_epoch == 0 && params.pct_start == 0.3);
    CHECK(params.div_factor == 25 && params.final_div_factor == 1e4 && params.base_momentum == 0.85);
    CHECK(params.max_momentum == 0.95 && params.cycle_momentum);

    unetseg_model *model = make_tiny_model(73);
    unetseg_sgd_params sgd_params = unetseg_sgd_default_params();
    unetseg_sgd *optimizer = NULL;
    CHECK_OK(unetseg_sgd_create(model, &sgd_params, &optimizer));
    unetseg_one_cycle *scheduler = (unetseg_one_cycle *)FOREIGN_SGD;
    CHECK_ERROR(unetseg_one_cycle_create(optimizer, &params, &scheduler), UNETSEG_STATUS_INVALID_ARGUMENT,
                "steps per epoch > 0");
    CHECK(scheduler == NULL);
    params.epochs = 2;
    params.steps_per_epoch = 5;
    CHECK_OK(unetseg_one_cycle_create(optimizer, &params, &scheduler));
    double lr = 0, momentum = 0;
    CHECK_OK(unetseg_one_cycle_get_lr(scheduler, &lr));
    CHECK_OK(unetseg_one_cycle_get_momentum(scheduler, &momentum));
    CHECK_CLOSE(lr, 0.1 / 25, 1e-12);
    CHECK_CLOSE(momentum, 0.95, 1e-12);
    /* Peak at step pct_start * total - 1 = 2, then down to max_lr / (div_factor * final_div_factor). */
    CHECK_OK(unetseg_one_cycle_step(scheduler));
    CHECK_OK(unetseg_one_cycle_step(scheduler));
    CHECK_OK(unetseg_one_cycle_get_lr(scheduler, &lr));
    CHECK_OK(unetseg_one_cycle_get_momentum(scheduler, &momentum));
    CHECK_CLOSE(lr, 0.1, 1e-12);
    CHECK_CLOSE(momentum, 0.85, 1e-12);
    for (int i = 2; i < 9; i++) CHECK_OK(unetseg_one_cycle_step(scheduler));
    CHECK_OK(unetseg_one_cycle_get_lr(scheduler, &lr));
    CHECK_CLOSE(lr, 0.1 / 25 / 1e4, 1e-9);
    CHECK_OK(unetseg_one_cycle_step(scheduler)); /* the 10th step is allowed, as in torch */
    CHECK_ERROR(unetseg_one_cycle_step(scheduler), UNETSEG_STATUS_INVALID_ARGUMENT, "Tried to step 11 times");

    CHECK_ERROR(unetseg_one_cycle_get_lr(scheduler, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_lr is NULL");
    CHECK_ERROR(unetseg_one_cycle_get_momentum(scheduler, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_momentum is NULL");
    CHECK_ERROR(unetseg_one_cycle_get_lr(NULL, &lr), UNETSEG_STATUS_INVALID_ARGUMENT, "scheduler is NULL");
    CHECK_ERROR(unetseg_one_cycle_step(NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "scheduler is NULL");
    unetseg_one_cycle *other = NULL;
    CHECK_ERROR(unetseg_one_cycle_create(NULL, &params, &other), UNETSEG_STATUS_INVALID_ARGUMENT, "optimizer is NULL");
    CHECK_ERROR(unetseg_one_cycle_create(optimizer, NULL, &other), UNETSEG_STATUS_INVALID_ARGUMENT, "params is NULL");
    CHECK_ERROR(unetseg_one_cycle_create(optimizer, &params, NULL), UNETSEG_STATUS_INVALID_ARGUMENT, "out_scheduler is NULL");
    params.pct_start = 1.5;
    CHECK_ERROR(unetseg_one_cycle_create(optimizer, &params, &other), UNETSEG_STATUS_INVALID_ARGUMENT, "pct_start");
    params.pct_start = 0.3;
    params.max_momentum = NAN;
    CHECK_ERROR(unetseg_one_cycle_create(optimizer, &params, &other), UNETSEG_STATUS_INVALID_ARGUMENT, "momenta");
    params.max_momentum = 0.95;
    params.max_lr = 0;
    CHECK_ERROR(unetseg_one_cycle_create(optimizer, &params, &other), UNETSEG_STATUS_INVALID_ARGUMENT, "max_lr");
    CHECK(other == NULL);

    unetseg_one_cycle_free(scheduler);
    CHECK_ERROR(unetseg_one_cycle_get_lr(scheduler, &lr), UNETSEG_STATUS_INVALID_ARGUMENT,
                "scheduler is not a live unetseg_one_cycle");
    unetseg_one_cycle_free(scheduler);
    unetseg_sgd_free(optimizer);
    unetseg_model_free(model);
}

/* The post's loop: zero_grad, forward, combined loss, backward, step, schedule step; free in any order. */
static void test_training_loop(void) {
    unetseg_manual_seed(777);
    unetseg_model *model = make_tiny_model(-1);
    unetseg_tensor *images, *masks;
    make_batch(&images, &masks);
    unetseg_sgd_params sgd_params = unetseg_sgd_default_params();
    unetseg_sgd *optimizer = NULL;
    CHECK_OK(unetseg_sgd_create(model, &sgd_params, &optimizer));
    unetseg_one_cycle_params schedule = unetseg_one_cycle_default_params();
    schedule.epochs = 1;
    schedule.steps_per_epoch = 12;
    schedule.max_lr = 0.05;
    unetseg_one_cycle *scheduler = NULL;
    CHECK_OK(unetseg_one_cycle_create(optimizer, &schedule, &scheduler));
    /* The model and optimiser handles may go first: the schedule keeps what it needs alive. */
    unetseg_model_free(model);
    unetseg_sgd_free(optimizer);
    CHECK(unetseg_live_handle_count() == 3);
    CHECK_ERROR(unetseg_sgd_step(optimizer), UNETSEG_STATUS_INVALID_ARGUMENT, "not a live");
    unetseg_one_cycle_free(scheduler);
    unetseg_tensor_free(images);
    unetseg_tensor_free(masks);

    /* Now the real loop, with dropout off for a stable trend. */
    unetseg_manual_seed(777);
    model = make_tiny_model(-1);
    CHECK_OK(unetseg_model_eval(model));
    make_batch(&images, &masks);
    CHECK_OK(unetseg_sgd_create(model, &sgd_params, &optimizer));
    CHECK_OK(unetseg_one_cycle_create(optimizer, &schedule, &scheduler));
    float first = 0, last = 0;
    for (int step = 0; step < 12; step++) {
        CHECK_OK(unetseg_sgd_zero_grad(optimizer));
        float loss = batch_loss(model, images, masks, 1);
        CHECK(isfinite(loss));
        CHECK_OK(unetseg_sgd_step(optimizer));
        CHECK_OK(unetseg_one_cycle_step(scheduler));
        if (step == 0) first = loss;
        last = loss;
    }
    CHECK(last < first);
    unetseg_one_cycle_free(scheduler);
    unetseg_sgd_free(optimizer);
    unetseg_model_free(model);
    unetseg_tensor_free(images);
    unetseg_tensor_free(masks);
}

int main(void) {
    RUN(test_losses);
    RUN(test_loss_gradient);
    RUN(test_losses_reject_bad_arguments);
    RUN(test_sgd_params);
    RUN(test_sgd_step_and_zero_grad);
    RUN(test_sgd_rejects_bad_arguments);
    RUN(test_one_cycle_schedule);
    RUN(test_training_loop);
    return finish();
}
