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
#define UNETSEG_API_VERSION 1

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
#endif

/** A float32 tensor: contiguous, row-major, NCHW for images; may carry a gradient and autograd graph. */
typedef struct unetseg_tensor unetseg_tensor;
/** The U-Net of the post, with its parameters and training/evaluation mode. */
typedef struct unetseg_model unetseg_model;
/** Stochastic gradient descent over a model's parameters (torch.optim.SGD). */
typedef struct unetseg_sgd unetseg_sgd;
/** The one-cycle learning-rate and momentum schedule (torch's OneCycleLR) driving an SGD optimiser. */
typedef struct unetseg_one_cycle unetseg_one_cycle;

/* ---------------------------------------------------------------------------------------------------
 * Parameter structs (get defaults from the matching _default_params() function)
 * ------------------------------------------------------------------------------------------------- */

/** What unetseg_system_info() reports. Strings are NUL-terminated and truncated to fit. */
typedef struct unetseg_system_report {
    char version[32];           /* library version, as unetseg_version() */
    char blas_core[96];         /* OpenBLAS core in use ("SkylakeX", "Haswell", ...) or "unavailable: <why>" */
    char blas_coretype_set[32]; /* OPENBLAS_CORETYPE the library set before loading OpenBLAS, "" if none */
    char simd[16];              /* widest SIMD the CPU reports: "avx512", "avx2", "avx", "sse" or "unknown" */
    int32_t num_threads;        /* compute threads in use (unetseg_set_num_threads) */
    int32_t num_cpus;           /* CPUs online */
    int32_t api_version;        /* as unetseg_api_version() */
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

#endif /* UNETSEG_TYPES_H */
