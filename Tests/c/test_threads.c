/* Threads sharing one handle: calls on a handle are serialised by the library, so two threads calling into
 * the same scheduler, optimiser, loader or tensor give what a serial run gives, without a crash or a
 * deadlock. The worker threads record failures in their own structs; the checks run on the main thread. */
#define _XOPEN_SOURCE 700
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "files.h"

enum { THREADS = 2 };

static pthread_barrier_t start_line;

/* Called first by every thread body: returns when all THREADS threads are there, so that they overlap. */
static void wait_for_start(void) {
    pthread_barrier_wait(&start_line);
}

/* Runs `body(argument + i * size)` on THREADS threads at once and waits for them. */
static void run_threads(void *(*body)(void *), void *arguments, size_t size) {
    pthread_t threads[THREADS];
    CHECK(pthread_barrier_init(&start_line, NULL, THREADS) == 0);
    for (int i = 0; i < THREADS; i++) CHECK(pthread_create(&threads[i], NULL, body, (char *)arguments + i * size) == 0);
    for (int i = 0; i < THREADS; i++) CHECK(pthread_join(threads[i], NULL) == 0);
    pthread_barrier_destroy(&start_line);
}

/* One thread's share of calls: `times` calls of `call(handle)`, and how many did not return OK. */
struct repeated_call {
    int32_t (*call)(void *handle);
    void *handle;
    int times;
    int failures;
};

static void *repeat_call(void *argument) {
    struct repeated_call *r = argument;
    wait_for_start();
    for (int i = 0; i < r->times; i++) r->failures += r->call(r->handle) != UNETSEG_STATUS_OK;
    return NULL;
}

/* Runs `times` calls of `call(handle)` on each of THREADS threads at once; checks that all returned OK. */
static void call_from_all_threads(int32_t (*call)(void *), void *handle, int times) {
    struct repeated_call calls[THREADS];
    for (int i = 0; i < THREADS; i++) calls[i] = (struct repeated_call){call, handle, times, 0};
    run_threads(repeat_call, calls, sizeof calls[0]);
    for (int i = 0; i < THREADS; i++) CHECK(calls[i].failures == 0);
}

/* ---- one-cycle schedule: every step counts once ---------------------------------------------------- */

enum { STEPS_PER_THREAD = 20000 };

static int32_t step_scheduler(void *scheduler) {
    return unetseg_one_cycle_step(scheduler);
}

static unetseg_one_cycle *make_schedule(unetseg_model *model, unetseg_sgd **out_sgd) {
    unetseg_sgd_params sgd = unetseg_sgd_default_params();
    CHECK_OK(unetseg_sgd_create(model, &sgd, out_sgd));
    unetseg_one_cycle_params params = unetseg_one_cycle_default_params();
    params.epochs = 1;
    params.steps_per_epoch = THREADS * STEPS_PER_THREAD;
    unetseg_one_cycle *scheduler = NULL;
    CHECK_OK(unetseg_one_cycle_create(*out_sgd, &params, &scheduler));
    return scheduler;
}

static void test_scheduler_steps_from_two_threads(void) {
    unetseg_model *model = make_tiny_model(1);
    unetseg_sgd *sgd = NULL, *serial_sgd = NULL;
    unetseg_one_cycle *shared = make_schedule(model, &sgd), *serial = make_schedule(model, &serial_sgd);
    call_from_all_threads(step_scheduler, shared, STEPS_PER_THREAD);
    for (int i = 0; i < THREADS * STEPS_PER_THREAD - 1; i++) CHECK_OK(unetseg_one_cycle_step(serial));
    /* One step is left on the serial schedule only: every concurrent step was counted. */
    double lr = 0, serial_lr = 0;
    CHECK_OK(unetseg_one_cycle_step(serial));
    CHECK_OK(unetseg_one_cycle_get_lr(shared, &lr));
    CHECK_OK(unetseg_one_cycle_get_lr(serial, &serial_lr));
    CHECK(lr == serial_lr);
    CHECK_ERROR(unetseg_one_cycle_step(shared), UNETSEG_STATUS_INVALID_ARGUMENT, "Tried to step");
    unetseg_one_cycle_free(shared);
    unetseg_one_cycle_free(serial);
    unetseg_sgd_free(sgd);
    unetseg_sgd_free(serial_sgd);
    unetseg_model_free(model);
}

/* ---- SGD: momentum updates from two threads equal the same number made in a row ------------------- */

enum { SGD_STEPS_PER_THREAD = 200 };

static int32_t step_optimizer(void *optimizer) {
    return unetseg_sgd_step(optimizer);
}

/* A tiny model in evaluation mode with the gradients of one BCE loss, and an SGD over it. */
static unetseg_model *model_with_gradients(unetseg_sgd **out_sgd) {
    unetseg_model *model = make_tiny_model(7);
    CHECK_OK(unetseg_model_eval(model));
    float images[2 * 3 * 8 * 8], masks[2 * 8 * 8];
    for (int i = 0; i < 2 * 3 * 8 * 8; i++) images[i] = (float)((i * 37) % 101) / 101.0f;
    for (int i = 0; i < 2 * 8 * 8; i++) masks[i] = (float)(i % 3 == 0);
    int64_t image_shape[4] = {2, 3, 8, 8}, mask_shape[4] = {2, 1, 8, 8};
    unetseg_tensor *x = make_tensor(images, image_shape, 4), *y = make_tensor(masks, mask_shape, 4);
    unetseg_tensor *prediction = NULL, *loss = NULL;
    CHECK_OK(unetseg_model_forward(model, x, &prediction));
    CHECK_OK(unetseg_loss_bce(prediction, y, &loss));
    CHECK_OK(unetseg_tensor_backward(loss));
    unetseg_tensor_free(loss);
    unetseg_tensor_free(prediction);
    unetseg_tensor_free(x);
    unetseg_tensor_free(y);
    unetseg_sgd_params params = unetseg_sgd_default_params();
    params.lr = 0.001;
    CHECK_OK(unetseg_sgd_create(model, &params, out_sgd));
    return model;
}

static void test_sgd_steps_from_two_threads(void) {
    unetseg_sgd *shared = NULL, *serial = NULL;
    unetseg_model *model = model_with_gradients(&shared), *twin = model_with_gradients(&serial);
    call_from_all_threads(step_optimizer, shared, SGD_STEPS_PER_THREAD);
    for (int i = 0; i < THREADS * SGD_STEPS_PER_THREAD; i++) CHECK_OK(unetseg_sgd_step(serial));
    int32_t count = 0;
    CHECK_OK(unetseg_model_named_parameter_count(model, &count));
    for (int32_t p = 0; p < count; p++) {
        int64_t shape[UNETSEG_MAX_NDIM];
        int32_t ndim = 0;
        CHECK_OK(unetseg_model_parameter_shape(model, p, shape, UNETSEG_MAX_NDIM, &ndim));
        int64_t n = 1;
        for (int32_t d = 0; d < ndim; d++) n *= shape[d];
        float *a = malloc((size_t)n * sizeof(float)), *b = malloc((size_t)n * sizeof(float));
        CHECK_OK(unetseg_model_parameter_get(model, p, a, n));
        CHECK_OK(unetseg_model_parameter_get(twin, p, b, n));
        CHECK(memcmp(a, b, (size_t)n * sizeof(float)) == 0);
        free(a);
        free(b);
    }
    unetseg_sgd_free(shared);
    unetseg_sgd_free(serial);
    unetseg_model_free(model);
    unetseg_model_free(twin);
}

/* ---- loader: the two threads share out one epoch's batches ---------------------------------------- */

enum { SLICES = 16, BATCH = 2, BATCHES = SLICES / BATCH, BATCHES_PER_THREAD = BATCHES / THREADS };

static char folder[64]; /* everything the tests write */
static char root[512];  /* a synthetic dataset of 2 patients of 8 slices of 32 x 32 */

static void write_dataset(void) {
    make_temporary_folder(folder, "threads");
    unetseg_synthetic_params synthetic = unetseg_synthetic_default_params();
    synthetic.patients = 2;
    synthetic.min_slices = synthetic.max_slices = SLICES / 2;
    synthetic.size = 32;
    CHECK_OK(unetseg_synthetic_write(join(root, folder, "data"), &synthetic, NULL, NULL, NULL));
}

struct reading {
    unetseg_loader *loader;
    double sums[BATCHES_PER_THREAD];
    int failures;
};

static double sum_of(const unetseg_tensor *tensor) {
    int64_t count = 0;
    if (unetseg_tensor_numel(tensor, &count) != UNETSEG_STATUS_OK) return NAN;
    float *values = malloc((size_t)count * sizeof(float));
    double sum = NAN;
    if (unetseg_tensor_copy_to(tensor, values, count) == UNETSEG_STATUS_OK) {
        sum = 0;
        for (int64_t i = 0; i < count; i++) sum += values[i];
    }
    free(values);
    return sum;
}

static void *read_batches(void *argument) {
    struct reading *r = argument;
    for (int b = 0; b < BATCHES_PER_THREAD; b++) {
        unetseg_tensor *images = NULL, *masks = NULL;
        if (unetseg_loader_next(r->loader, &images, &masks) != UNETSEG_STATUS_OK || images == NULL) {
            r->failures++;
            continue;
        }
        r->sums[b] = sum_of(images);
        unetseg_tensor_free(images);
        unetseg_tensor_free(masks);
    }
    return NULL;
}

static void *read_batches_together(void *argument) {
    wait_for_start();
    return read_batches(argument);
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_loader_read_by_two_threads(void) {
    unetseg_dataset_params params = unetseg_dataset_default_params();
    unetseg_dataset *dataset = NULL;
    CHECK_OK(unetseg_dataset_open(root, &params, &dataset));
    for (int32_t workers = 0; workers <= 2; workers += 2) {
        unetseg_loader *shared = make_loader(dataset, BATCH, true, false, workers);
        unetseg_loader *serial = make_loader(dataset, BATCH, true, false, 0);
        struct reading arguments[THREADS];
        memset(arguments, 0, sizeof arguments);
        for (int i = 0; i < THREADS; i++) arguments[i].loader = shared;
        run_threads(read_batches_together, arguments, sizeof arguments[0]);
        double concurrent[BATCHES], expected[BATCHES];
        for (int i = 0; i < THREADS; i++) {
            CHECK(arguments[i].failures == 0);
            memcpy(concurrent + i * BATCHES_PER_THREAD, arguments[i].sums, sizeof arguments[i].sums);
        }
        struct reading serial_reading;
        memset(&serial_reading, 0, sizeof serial_reading);
        serial_reading.loader = serial;
        for (int half = 0; half < THREADS; half++) {
            read_batches(&serial_reading);
            memcpy(expected + half * BATCHES_PER_THREAD, serial_reading.sums, sizeof serial_reading.sums);
        }
        CHECK(serial_reading.failures == 0);
        /* The same batches, each once, whichever thread got it; then the end of epoch 1. */
        qsort(concurrent, BATCHES, sizeof(double), compare_doubles);
        qsort(expected, BATCHES, sizeof(double), compare_doubles);
        CHECK(memcmp(concurrent, expected, sizeof expected) == 0);
        unetseg_tensor *images = (unetseg_tensor *)1, *masks = (unetseg_tensor *)1;
        CHECK_OK(unetseg_loader_next(shared, &images, &masks));
        CHECK(images == NULL && masks == NULL);
        unetseg_loader_free(shared);
        unetseg_loader_free(serial);
    }
    unetseg_dataset_free(dataset);
}

/* ---- tensors: a binary op on (a, b) and on (b, a) at once takes both locks without deadlock ------- */

enum { OPS_PER_THREAD = 3000 };

struct adding {
    const unetseg_tensor *left, *right;
    unetseg_tensor *toggled;
    int wrong;
};

static void *add_repeatedly(void *argument) {
    struct adding *a = argument;
    wait_for_start();
    for (int i = 0; i < OPS_PER_THREAD; i++) {
        unetseg_tensor *sum = NULL, *total = NULL;
        float value = NAN;
        if (unetseg_tensor_add(a->left, a->right, &sum) != UNETSEG_STATUS_OK
            || unetseg_tensor_sum(sum, &total) != UNETSEG_STATUS_OK
            || unetseg_tensor_item(total, &value) != UNETSEG_STATUS_OK || value != 30.0f
            || unetseg_tensor_set_requires_grad(a->toggled, i % 2 == 0) != UNETSEG_STATUS_OK) {
            a->wrong++;
        }
        unetseg_tensor_free(total);
        unetseg_tensor_free(sum);
    }
    return NULL;
}

static void test_tensor_ops_from_two_threads_in_opposite_order(void) {
    float values_a[4] = {1, 2, 3, 4}, values_b[4] = {2, 4, 6, 8};
    int64_t shape[1] = {4};
    unetseg_tensor *a = make_tensor(values_a, shape, 1), *b = make_tensor(values_b, shape, 1);
    int64_t before = unetseg_live_handle_count();
    struct adding arguments[THREADS] = {{a, b, a, 0}, {b, a, b, 0}};
    run_threads(add_repeatedly, arguments, sizeof arguments[0]);
    for (int i = 0; i < THREADS; i++) CHECK(arguments[i].wrong == 0);
    CHECK(unetseg_live_handle_count() == before);
    unetseg_tensor_free(a);
    unetseg_tensor_free(b);
}

/* ---- a call on a handle waits for another thread's call on it to return ------------------------------ */

/* Thread A evaluates a model; in its first progress callback (inside the call) it lets thread B call
 * into an optimiser over the same model, and waits up to a second for B's call to return. B's call must
 * not return before A's evaluation has: the optimiser shares the model's lock. */
struct overlap {
    pthread_mutex_t mutex;
    pthread_cond_t changed;
    unetseg_sgd *optimizer;
    int in_callback, other_returned, other_returned_during_call;
    int32_t other_status;
};

static bool wait_in_callback(int64_t done, int64_t total, void *user_data) {
    (void)done;
    (void)total;
    struct overlap *o = user_data;
    pthread_mutex_lock(&o->mutex);
    if (!o->in_callback) {
        o->in_callback = 1;
        pthread_cond_broadcast(&o->changed);
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 1;
        while (!o->other_returned && pthread_cond_timedwait(&o->changed, &o->mutex, &deadline) == 0) {}
        o->other_returned_during_call = o->other_returned;
    }
    pthread_mutex_unlock(&o->mutex);
    return true;
}

static void *step_when_told(void *argument) {
    struct overlap *o = argument;
    pthread_mutex_lock(&o->mutex);
    while (!o->in_callback) pthread_cond_wait(&o->changed, &o->mutex);
    pthread_mutex_unlock(&o->mutex);
    int32_t status = unetseg_sgd_zero_grad(o->optimizer);
    pthread_mutex_lock(&o->mutex);
    o->other_status = status;
    o->other_returned = 1;
    pthread_cond_broadcast(&o->changed);
    pthread_mutex_unlock(&o->mutex);
    return NULL;
}

static void test_call_waits_for_a_call_on_the_same_model(void) {
    unetseg_model *model = make_tiny_model(3);
    struct overlap o = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0, 0, -1};
    unetseg_sgd_params sgd = unetseg_sgd_default_params();
    CHECK_OK(unetseg_sgd_create(model, &sgd, &o.optimizer));
    pthread_t other;
    CHECK(pthread_create(&other, NULL, step_when_told, &o) == 0);
    unetseg_evaluate_params params = unetseg_evaluate_default_params();
    unetseg_evaluation_metrics metrics;
    CHECK_OK(unetseg_evaluate(model, root, &params, wait_in_callback, &o, &metrics, NULL));
    CHECK(pthread_join(other, NULL) == 0);
    CHECK(o.in_callback && o.other_returned && !o.other_returned_during_call);
    CHECK(o.other_status == UNETSEG_STATUS_OK);
    unetseg_sgd_free(o.optimizer);
    unetseg_model_free(model);
}

int main(void) {
    write_dataset();
    RUN(test_call_waits_for_a_call_on_the_same_model);
    RUN(test_scheduler_steps_from_two_threads);
    RUN(test_sgd_steps_from_two_threads);
    RUN(test_loader_read_by_two_threads);
    RUN(test_tensor_ops_from_two_threads_in_opposite_order);
    remove_tree(folder);
    return finish();
}
