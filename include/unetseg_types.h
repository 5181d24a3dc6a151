/*
 * unetseg_types.h: the types of the unetseg C API.
 *
 * Written by hand; <unetseg.h> includes it, so programs include only <unetseg.h> (whose opening comment
 * explains the layout, ownership and error rules). This file holds what the Swift compiler cannot
 * generate: the status and log-level enums, the parameter structs with their defaults in words, the
 * opaque handle types and UNETSEG_API_VERSION.
 *
 * Compatibility: enum values are never renumbered, only appended. Structs only ever grow at the end, and
 * UNETSEG_API_VERSION goes up when one does; always start from the unetseg_<thing>_default_params()
 * function, so fields added later get their defaults.
 */
#ifndef UNETSEG_TYPES_H
#define UNETSEG_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Version of the C API this header describes; unetseg_api_version() returns the library's. */
#define UNETSEG_API_VERSION 5

/** Most dimensions a tensor may have: a shape array of UNETSEG_MAX_NDIM elements always suffices. */
#define UNETSEG_MAX_NDIM 8

/* ---------------------------------------------------------------------------------------------------
 * Status codes
 * ------------------------------------------------------------------------------------------------- */

/**
 * What every fallible function returns (as int32_t). 0 is success; for anything else
 * unetseg_last_error() has a message naming the problem. Values are only ever appended.
 */
typedef enum unetseg_status {
    UNETSEG_STATUS_OK = 0,               /* success */
    UNETSEG_STATUS_INVALID_ARGUMENT = 1, /* a NULL pointer, a value out of range, a shape that does not fit,
                                            a handle that is not live (freed already) */
    UNETSEG_STATUS_IO = 2,               /* a file or folder could not be read or written */
    UNETSEG_STATUS_FORMAT = 3,           /* a file was read but its content is not what it should be */
    UNETSEG_STATUS_OUT_OF_MEMORY = 4,    /* a buffer could not be allocated or would be absurdly large */
    UNETSEG_STATUS_NUMERIC = 5,          /* a NaN or infinity where a finite number is needed */
    UNETSEG_STATUS_CANCELLED = 6,        /* a callback asked to stop */
    UNETSEG_STATUS_INTERNAL = 7          /* a bug in the library; the message says where */
} unetseg_status;

/* ---------------------------------------------------------------------------------------------------
 * Logging
 * ------------------------------------------------------------------------------------------------- */

/** Severity of a log message. Values are only ever appended. */
typedef enum unetseg_log_level {
    UNETSEG_LOG_DEBUG = 0,   /* every failed call, with its message */
    UNETSEG_LOG_INFO = 1,    /* files written and read */
    UNETSEG_LOG_WARNING = 2, /* something is probably wrong (a handle freed twice) */
    UNETSEG_LOG_ERROR = 3    /* reserved for failures the library cannot report through a status */
} unetseg_log_level;

/**
 * Receives the library's log messages: level is a unetseg_log_level, message is valid only during the
 * call, user_data is the pointer given to unetseg_set_log_callback(). It may be called from any thread
 * that calls into the library, and must not call back into the library.
 */
typedef void (*unetseg_log_callback)(int32_t level, const char *message, void *user_data);

/* ---------------------------------------------------------------------------------------------------
 * Progress callbacks
 * ------------------------------------------------------------------------------------------------- */

/**
 * Reports the progress of long work (writing a synthetic dataset, evaluating, predicting a folder): done of
 * total units (patients or slices) are finished. Return true to go on, false to stop: the function then
 * returns UNETSEG_STATUS_CANCELLED. user_data is the pointer given with the callback. Called on the thread
 * that called the library.
 */
typedef bool (*unetseg_progress_callback)(int64_t done, int64_t total, void *user_data);

/* ---------------------------------------------------------------------------------------------------
 * Opaque handles
 *
 * Made by a _create, _load or op function, released by the matching _free. Never dereference one. A
 * handle that was freed is detected: using it gives UNETSEG_STATUS_INVALID_ARGUMENT.
 * ------------------------------------------------------------------------------------------------- */

#if defined(__swift__)
/* Swift, which implements the library, needs complete types to write "unetseg_tensor *" rather than
   "void *" into the generated header. C and C++ see incomplete (opaque) types. */
struct unetseg_tensor { char swift_only_; };
struct unetseg_model { char swift_only_; };
struct unetseg_sgd { char swift_only_; };
struct unetseg_one_cycle { char swift_only_; };
struct unetseg_dataset { char swift_only_; };
struct unetseg_loader { char swift_only_; };
struct unetseg_evaluation { char swift_only_; };
#endif

/** A float32 tensor: contiguous, row-major, NCHW for images; may carry a gradient and autograd graph. */
typedef struct unetseg_tensor unetseg_tensor;
/** The U-Net of the post, with its parameters and training/evaluation mode. */
typedef struct unetseg_model unetseg_model;
/** Stochastic gradient descent over a model's parameters (torch.optim.SGD). */
typedef struct unetseg_sgd unetseg_sgd;
/** The one-cycle learning-rate and momentum schedule (torch's OneCycleLR) driving an SGD optimiser. */
typedef struct unetseg_one_cycle unetseg_one_cycle;
/** The slices of a kaggle_3m-style folder as (image [3, H, W], mask [1, H, W]) items: the post's
    brainseg_dataset, with optional augmentation and lesion-weighted sampling. */
typedef struct unetseg_dataset unetseg_dataset;
/** Batches of a dataset, epoch after epoch (torch's dataloader): images [B, 3, H, W], masks [B, 1, H, W]. */
typedef struct unetseg_loader unetseg_loader;
/** What unetseg_evaluate() found: the Dice of every patient's volume, by patient. */
typedef struct unetseg_evaluation unetseg_evaluation;

/* ---------------------------------------------------------------------------------------------------
 * Parameter structs (get defaults from the matching _default_params() function)
 * ------------------------------------------------------------------------------------------------- */

/** What unetseg_system_info() reports. Strings are NUL-terminated and truncated to fit. */
typedef struct unetseg_system_report {
    char version[32];           /* library version, as unetseg_version() */
    char blas_core[96];         /* kernels of the library's own OpenBLAS ("SkylakeX", "Haswell", ...) */
    char blas_coretype_set[32]; /* the core type the library started its OpenBLAS with: the fastest this CPU
                                   runs, or UNETSEG_BLAS_CORETYPE when set and runnable */
    char simd[16];              /* widest SIMD the CPU and OS allow: "avx512", "avx2", "avx", "sse", "unknown" */
    int32_t num_threads;        /* compute threads in use (unetseg_set_num_threads) */
    int32_t num_cpus;           /* CPUs online */
    int32_t api_version;        /* as unetseg_api_version() */
    bool blas_loaded_before;    /* the host process has an OpenBLAS of its own (R's, say); unetseg neither
                                   uses nor changes it */
    char blas_warning[512];     /* "" or why UNETSEG_BLAS_CORETYPE was ignored (unknown, or kernels this CPU
                                   cannot run); also sent once to the log callback and stderr */
} unetseg_system_report;

/** The shape of a U-Net, as the post's unet(channels_in, n_classes, depth, n_filters), and its init. */
typedef struct unetseg_model_params {
    int32_t channels_in; /* input channels: 3 (pre-contrast, FLAIR, post-contrast); 1...16 */
    int32_t n_classes;   /* output channels: 1 (lesion probability); 1...16 */
    int32_t depth;       /* down blocks: 5; image height and width must be multiples of 2^(depth-1); 1...8 */
    int32_t n_filters;   /* log2 of the first block's channels: 6 (64 channels); 0...10 */
    float dropout;       /* dropout probability in every conv block: 0.6; [0, 1) */
    int64_t seed;        /* initial weights: -1 (default) draws them from the global generator seeded by
                            unetseg_manual_seed(), as torch does; a seed >= 0 uses a private generator */
    bool batch_norm;     /* false (default): the post's model; true: every 3x3 convolution has no bias and is
                            followed by a batch norm (Buda et al. 2019's U-Net; buffers running_mean,
                            running_var, num_batches_tracked are saved with the model) */
} unetseg_model_params;

/** Stochastic gradient descent with torch's rules (defaults: the post's lr 0.1, momentum 0.9). */
typedef struct unetseg_sgd_params {
    float lr;           /* learning rate: 0.1; >= 0 (a one-cycle schedule overwrites it every step) */
    float momentum;     /* momentum factor: 0.9; >= 0 (a one-cycle schedule cycles it) */
    float dampening;    /* dampening of the momentum's gradient term: 0 */
    float weight_decay; /* L2 penalty added to the gradient: 0; >= 0 */
    bool nesterov;      /* Nesterov momentum: false (needs momentum > 0 and dampening 0) */
} unetseg_sgd_params;

/** The one-cycle schedule as torch's OneCycleLR with cosine annealing (defaults: the post's). */
typedef struct unetseg_one_cycle_params {
    double max_lr;           /* peak learning rate: 0.1; > 0 */
    int32_t epochs;          /* epochs: 20; > 0 */
    int32_t steps_per_epoch; /* batches per epoch: 0, which is invalid; set it to the loader's length */
    double pct_start;        /* fraction of the steps spent raising the rate: 0.3; (0, 1) */
    double div_factor;       /* initial rate = max_lr / div_factor: 25; > 0 */
    double final_div_factor; /* final rate = initial rate / final_div_factor: 1e4; > 0 */
    double base_momentum;    /* momentum at the peak rate: 0.85 */
    double max_momentum;     /* momentum at the start and the end: 0.95 */
    bool cycle_momentum;     /* whether momentum is cycled: true */
} unetseg_one_cycle_params;

/* ---------------------------------------------------------------------------------------------------
 * Data
 * ------------------------------------------------------------------------------------------------- */

/** The post's training augmentation c(scale, angle, flip), applied to each item in that order. */
typedef struct unetseg_augmentation_params {
    bool enabled; /* whether items are augmented: false for a dataset, true for training */
    float scale;  /* resize factor drawn from U(1 - scale, 1 + scale), then centre crop or zero pad: 0.05;
                     [0, 1) */
    float angle;  /* rotation drawn from U(-angle, angle) degrees: 15; >= 0 */
    float flip;   /* probability of a horizontal flip: 0.5; [0, 1] */
} unetseg_augmentation_params;

/** How a dataset serves its items (defaults: in order, not augmented, as the post's validation set). */
typedef struct unetseg_dataset_params {
    unetseg_augmentation_params augmentation; /* disabled, with the post's values (0.05, 15, 0.5): set
                                                 augmentation.enabled for the post's training set */
    bool random_sampling; /* item i is a slice drawn by lesion weight (the post's calc_slice_weights)
                             instead of slice i: false (the post's training set: true) */
    uint64_t seed;        /* key of the sampling and augmentation: 777. Item i of epoch e depends only on
                             (seed, e, i), so loaders with any number of workers give the same batches */
    int32_t normalization; /* how images are scaled as read: 0 min-max per slice to [0, 1] (the post's),
                              1 z-score per channel over the patient's volume, 2 the volume clipped to
                              its 10th and 99th percentiles, then z-scored (Buda et al. 2019): 0 */
} unetseg_dataset_params;

/** How a loader groups items into batches (defaults: the post's dataloader(ds, batch_size = 4)). */
typedef struct unetseg_loader_params {
    int32_t batch_size; /* items per batch: 4; 1...4096 */
    bool shuffle;       /* visit the items of each epoch in a random order drawn from (seed, epoch): false */
    bool drop_last;     /* leave out an incomplete last batch: false */
    int32_t workers;    /* background threads preparing batches ahead: 0 (batches are made in
                           unetseg_loader_next); 0...64. The batches are the same for any count */
    uint64_t seed;      /* key of the shuffles: 777 */
} unetseg_loader_params;

/** The post's train/validation split by patient. */
typedef struct unetseg_split_params {
    int32_t n_valid; /* patients for validation: 30; 0...number of patients */
    uint64_t seed;   /* key of the choice: 777 */
    bool overwrite;  /* replace an earlier split: empty non-empty train/valid folders and rewrite split.json:
                        false (both are refused) */
} unetseg_split_params;

/** A synthetic LGG-like MRI dataset in the kaggle_3m layout, for trying the library without the real one. */
typedef struct unetseg_synthetic_params {
    int32_t patients;             /* patient folders: 110 (as the real set); 1...5000 */
    int32_t min_slices;           /* fewest slices per patient: 20; 8...88 */
    int32_t max_slices;           /* most slices per patient: 40; min_slices...88 */
    int32_t size;                 /* width and height of every slice in pixels: 256; 32...1024 */
    uint64_t seed;                /* key of everything drawn: 1; the same params give the same files */
    double lesion_slice_fraction; /* target share of slices with lesion pixels: 0.38; [0, 0.7] */
    int32_t style;                /* generator: 0 simple (the first phantom), 1 realistic (MRI-like contrasts,
                                     bias, noise, 0-3 lumpy lesions): 0 */
} unetseg_synthetic_params;

/* ---------------------------------------------------------------------------------------------------
 * Training, evaluation
 * ------------------------------------------------------------------------------------------------- */

/** Mean binary cross-entropy, dice loss and total loss (dice_weight * dice + (1 - dice_weight) * bce). */
typedef struct unetseg_loss_values {
    double bce;
    double dice;
    double loss;
} unetseg_loss_values;

/** A training run, as the post's script and the unetseg CLI (defaults: the post's settings). */
typedef struct unetseg_train_params {
    const char *train_dir;  /* folder of training patients (kaggle_3m layout): NULL, must be set */
    const char *valid_dir;  /* folder of validation patients: NULL (or "") for none */
    const char *out_dir;    /* run folder for checkpoints and logs, created if missing: NULL, must be set */
    int32_t epochs;         /* epochs: 20; 1...100000 */
    int32_t batch_size;     /* slices per batch: 4; 1...4096 */
    double lr;              /* peak learning rate of the one-cycle schedule: 0.1; > 0 */
    float momentum;         /* SGD momentum: 0.9 (the schedule cycles it from 0.95 to 0.85); [0, 1) */
    unetseg_model_params model; /* the post's model; model.seed is ignored: the weights derive from seed */
    float dice_weight;      /* loss = dice_weight * dice + (1 - dice_weight) * bce: 0.3; [0, 1]; 1 is the
                               dice-only loss of Buda et al. 2019 */
    unetseg_augmentation_params augmentation; /* of training items: enabled, (0.05, 15, 0.5) */
    bool random_sampling;   /* lesion-weighted sampling of training slices: true */
    uint64_t seed;          /* key of every random choice of the run (weights, dropout, sampling,
                               augmentation): 777. The same params give the same losses */
    int32_t threads;        /* compute threads: 0 keeps the current setting (unetseg_set_num_threads) */
    int32_t loader_workers; /* background data-loading threads: 1; 0...64 */
    bool resume;            /* continue the run saved in out_dir (after a cancel or a crash): false */
    bool checkpoint_every_epoch; /* keep model_<epoch>.safetensors of every epoch (the post's torch_save per
                                    epoch), not just the last (only files of this call are ever deleted): true */
    bool overwrite;         /* start a new run in a non-empty out_dir, deleting the earlier run's checkpoints,
                               state and logs first: false (a non-empty out_dir is refused unless resume) */
    bool distributed;       /* train as one rank of an Open MPI job (every process of `mpirun -np N` calls
                               unetseg_train with the same params): batch_size is the global batch, each
                               rank computes its share, rank 0 alone writes out_dir. Needs Open MPI's
                               libmpi.so.40 at run time; MPI is initialised here unless the host did
                               (finalised at exit). Calls must come from the thread of the first one: false */
    int32_t optimizer;      /* what the one-cycle schedule drives: 0 SGD with momentum (the post's), 1 Adam
                               (torch.optim.Adam: betas (0.9, 0.999), the first cycled as SGD's momentum, eps
                               1e-8; set lr too, 1e-3 is usual): 0 */
    int32_t normalization;  /* how slices are scaled as read, as unetseg_dataset_params.normalization
                               (0 minmax, 1 zscore, 2 percentile); stored in the checkpoints, so that
                               evaluation and prediction of the model use it: 0 */
} unetseg_train_params;

/** Progress of one training batch, as unetseg_train() reports it. */
typedef struct unetseg_batch_progress {
    int32_t epoch;                    /* 1-based epoch */
    int32_t batch;                    /* 1-based batch within the epoch */
    int32_t batch_count;              /* batches per epoch */
    unetseg_loss_values losses;       /* this batch's losses */
    unetseg_loss_values running_mean; /* mean losses of the epoch so far */
    double slices_per_second;         /* training speed over the epoch so far */
} unetseg_batch_progress;

/** What one training epoch gave (a row of the run's log.csv). */
typedef struct unetseg_epoch_metrics {
    int32_t epoch;             /* 1-based epoch */
    unetseg_loss_values train; /* means over the epoch's training batches */
    bool has_valid;            /* whether there was a validation folder */
    unetseg_loss_values valid; /* means over the validation batches (no dropout, no augmentation); NaN
                                  without validation */
    double lr;                 /* learning rate after the epoch's last step */
    double seconds;            /* wall time of the epoch, validation included */
} unetseg_epoch_metrics;

/**
 * Called by unetseg_train() after every training batch. Return true to go on, false to stop at the end of
 * this batch: the state is saved in the run folder (resume continues exactly there) and unetseg_train()
 * returns UNETSEG_STATUS_CANCELLED. progress is valid during the call only.
 */
typedef bool (*unetseg_batch_callback)(const unetseg_batch_progress *progress, void *user_data);

/**
 * Called by unetseg_train() after every epoch, once its checkpoint and logs are written. Return false to
 * stop there (unetseg_train() returns UNETSEG_STATUS_CANCELLED; resume continues with the next epoch).
 * metrics is valid during the call only.
 */
typedef bool (*unetseg_epoch_callback)(const unetseg_epoch_metrics *metrics, void *user_data);

/** Options of unetseg_evaluate() (defaults: batches of 8, nothing written). */
typedef struct unetseg_evaluate_params {
    int32_t batch_size;          /* slices per forward pass: 8; 1...4096 */
    const char *predictions_dir; /* NULL, or a folder for the predicted masks (0/255 TIFFs,
                                    <dir>/<patient>/<patient>_<n>_pred.tif); must lie outside data_dir */
    const char *output_dir;      /* NULL, or a folder for metrics.json, predictions.png, contours.png,
                                    volume_dice.png and overlays/<patient>.png; must lie outside data_dir */
    const char *model_path;      /* NULL, or the checkpoint the model was loaded from: when a log.json lies
                                    beside it, output_dir also gets loss_curves.png */
    int32_t postprocess;         /* what each patient's binarised predicted volume gets before it is scored
                                    and written: 0 nothing, 1 only its largest 6-connected component is kept
                                    (as Buda et al. 2019; ties: the first in slice-row-column order): 0 */
    int32_t normalization;       /* how slices are scaled as read: -1 the one the model was trained with
                                    (recorded in the checkpoint it was loaded from, or by unetseg_train;
                                    0 minmax when nothing is recorded), or 0 minmax, 1 zscore, 2 percentile
                                    (as unetseg_dataset_params.normalization), which must then match the
                                    recorded one: -1 */
} unetseg_evaluate_params;

/** A model's scores on a folder of slices with masks (DESIGN: Dice per volume, as Buda et al. 2019). */
typedef struct unetseg_evaluation_metrics {
    double mean_volume_dice;   /* mean over patients of the Dice of the whole volume (prediction > 0.5) */
    double median_volume_dice; /* median of the same */
    double mean_slice_dice;    /* mean per-slice Dice over slices where prediction or truth is non-empty
                                  (NaN when there is none) */
    double bce;                /* mean per-slice binary cross-entropy of the probabilities */
    double dice_loss;          /* mean per-slice dice loss (the post's calc_dice_loss) */
    int64_t slice_count;       /* slices evaluated */
    int32_t patient_count;     /* patients (volumes) evaluated */
    /* Mean and median over volumes of the scores of unetseg_volume_scores (NaN without volumes): */
    double mean_precision;                    /* |P∩T| / |P| */
    double median_precision;
    double mean_sensitivity;                  /* |P∩T| / |T| */
    double median_sensitivity;
    double mean_hausdorff95;                  /* in voxels */
    double median_hausdorff95;
    double mean_absolute_volume_difference;   /* ||P| - |T||, in voxels */
    double median_absolute_volume_difference;
    double mean_relative_volume_difference;   /* ||P| - |T|| / max(|T|, 1) */
    double median_relative_volume_difference;
} unetseg_evaluation_metrics;

/**
 * The scores of one patient's volume (its slices stacked in order, prediction > 0.5). Where a ratio has
 * nothing to divide by, both masks empty counts as perfect agreement and one empty mask as a miss, so
 * every value is finite.
 */
typedef struct unetseg_volume_scores {
    double dice;                       /* 2|P∩T| / (|P|+|T|); 1 when both are empty */
    double precision;                  /* |P∩T| / |P|; when |P| = 0: 1 if |T| = 0, else 0 */
    double sensitivity;                /* |P∩T| / |T| (recall); when |T| = 0: 1 if |P| = 0, else 0 */
    double hausdorff95;                /* 95th percentile of the distances from each surface voxel of either
                                          mask to the nearest of the other, pooled, in voxels (a pixel in a
                                          slice, one slice along the stack); 0 when both masks are empty,
                                          diagonal when exactly one is */
    double diagonal;                   /* sqrt(slices^2 + height^2 + width^2), in voxels */
    double relative_volume_difference; /* ||P|-|T|| / max(|T|, 1) */
    int64_t predicted_voxels;          /* |P| */
    int64_t true_voxels;               /* |T|; |P| - |T| is the signed volume difference */
} unetseg_volume_scores;

#endif /* UNETSEG_TYPES_H */
