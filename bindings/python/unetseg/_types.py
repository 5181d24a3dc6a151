"""ctypes mirrors of ``include/unetseg_types.h``: its constants, callback types, opaque handles and
parameter structs, in the order and sections of that header.

A field added to a C struct is added at the end of the matching :class:`~ctypes.Structure` here, in the
same position and with the same C type. The status codes of the header are :mod:`unetseg.errors`'
exception classes.
"""

from __future__ import annotations

from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_bool,
    c_char,
    c_char_p,
    c_double,
    c_float,
    c_int32,
    c_int64,
    c_uint64,
    c_void_p,
)

#: The C API version this binding is written against (``UNETSEG_API_VERSION`` of the header).
API_VERSION = 5

#: Most dimensions a tensor may have (``UNETSEG_MAX_NDIM``).
MAX_NDIM = 8

# --------------------------------------------------------------------------------------------------------
# Logging
# --------------------------------------------------------------------------------------------------------

#: ``typedef void (*unetseg_log_callback)(int32_t level, const char *message, void *user_data);``
LogCallback = CFUNCTYPE(None, c_int32, c_char_p, c_void_p)

# --------------------------------------------------------------------------------------------------------
# Progress callbacks
# --------------------------------------------------------------------------------------------------------

#: ``typedef bool (*unetseg_progress_callback)(int64_t done, int64_t total, void *user_data);``
ProgressCallback = CFUNCTYPE(c_bool, c_int64, c_int64, c_void_p)

# --------------------------------------------------------------------------------------------------------
# Opaque handles
# --------------------------------------------------------------------------------------------------------


class TensorHandle(c_void_p):
    """``unetseg_tensor *``: an opaque tensor handle (never dereferenced)."""


class ModelHandle(c_void_p):
    """``unetseg_model *``: an opaque model handle."""


class SGDHandle(c_void_p):
    """``unetseg_sgd *``: an opaque SGD optimiser handle."""


class OneCycleHandle(c_void_p):
    """``unetseg_one_cycle *``: an opaque one-cycle schedule handle."""


class DatasetHandle(c_void_p):
    """``unetseg_dataset *``: an opaque dataset handle."""


class LoaderHandle(c_void_p):
    """``unetseg_loader *``: an opaque data loader handle."""


class EvaluationHandle(c_void_p):
    """``unetseg_evaluation *``: an opaque evaluation result (Dice per patient)."""


# --------------------------------------------------------------------------------------------------------
# Parameter structs (get defaults from the matching _default_params() function)
# --------------------------------------------------------------------------------------------------------


class SystemReport(Structure):
    """``unetseg_system_report``: what :func:`unetseg.system_info` reads."""

    _fields_ = [
        ("version", c_char * 32),
        ("blas_core", c_char * 96),
        ("blas_coretype_set", c_char * 32),
        ("simd", c_char * 16),
        ("num_threads", c_int32),
        ("num_cpus", c_int32),
        ("api_version", c_int32),
        ("blas_loaded_before", c_bool),
        ("blas_warning", c_char * 512),
    ]


class ModelParams(Structure):
    """``unetseg_model_params``: the shape of a U-Net and the seed of its initial weights."""

    _fields_ = [
        ("channels_in", c_int32),
        ("n_classes", c_int32),
        ("depth", c_int32),
        ("n_filters", c_int32),
        ("dropout", c_float),
        ("seed", c_int64),
        ("batch_norm", c_bool),
    ]


class SGDParams(Structure):
    """``unetseg_sgd_params``: SGD's settings (torch's rules)."""

    _fields_ = [
        ("lr", c_float),
        ("momentum", c_float),
        ("dampening", c_float),
        ("weight_decay", c_float),
        ("nesterov", c_bool),
    ]


class OneCycleParams(Structure):
    """``unetseg_one_cycle_params``: the one-cycle schedule's settings (torch's OneCycleLR)."""

    _fields_ = [
        ("max_lr", c_double),
        ("epochs", c_int32),
        ("steps_per_epoch", c_int32),
        ("pct_start", c_double),
        ("div_factor", c_double),
        ("final_div_factor", c_double),
        ("base_momentum", c_double),
        ("max_momentum", c_double),
        ("cycle_momentum", c_bool),
    ]


# --------------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------------


class AugmentationParams(Structure):
    """``unetseg_augmentation_params``: the post's augmentation c(scale, angle, flip)."""

    _fields_ = [("enabled", c_bool), ("scale", c_float), ("angle", c_float), ("flip", c_float)]


class DatasetParams(Structure):
    """``unetseg_dataset_params``: augmentation, lesion-weighted sampling and the seed of a dataset."""

    _fields_ = [("augmentation", AugmentationParams), ("random_sampling", c_bool), ("seed", c_uint64),
                ("normalization", c_int32)]


class LoaderParams(Structure):
    """``unetseg_loader_params``: how a loader groups items into batches."""

    _fields_ = [("batch_size", c_int32), ("shuffle", c_bool), ("drop_last", c_bool), ("workers", c_int32),
                ("seed", c_uint64)]


class SplitParams(Structure):
    """``unetseg_split_params``: the post's patient split."""

    _fields_ = [("n_valid", c_int32), ("seed", c_uint64), ("overwrite", c_bool)]


class SyntheticParams(Structure):
    """``unetseg_synthetic_params``: a synthetic LGG-like dataset."""

    _fields_ = [("patients", c_int32), ("min_slices", c_int32), ("max_slices", c_int32), ("size", c_int32),
                ("seed", c_uint64), ("lesion_slice_fraction", c_double), ("style", c_int32)]


# --------------------------------------------------------------------------------------------------------
# Training, evaluation
# --------------------------------------------------------------------------------------------------------


class LossValues(Structure):
    """``unetseg_loss_values``: mean BCE, dice loss and total loss."""

    _fields_ = [("bce", c_double), ("dice", c_double), ("loss", c_double)]


class TrainParams(Structure):
    """``unetseg_train_params``: a whole training run."""

    _fields_ = [
        ("train_dir", c_char_p),
        ("valid_dir", c_char_p),
        ("out_dir", c_char_p),
        ("epochs", c_int32),
        ("batch_size", c_int32),
        ("lr", c_double),
        ("momentum", c_float),
        ("model", ModelParams),
        ("dice_weight", c_float),
        ("augmentation", AugmentationParams),
        ("random_sampling", c_bool),
        ("seed", c_uint64),
        ("threads", c_int32),
        ("loader_workers", c_int32),
        ("resume", c_bool),
        ("checkpoint_every_epoch", c_bool),
        ("overwrite", c_bool),
        ("distributed", c_bool),
        ("optimizer", c_int32),
        ("normalization", c_int32),
    ]


class BatchProgress(Structure):
    """``unetseg_batch_progress``: one training batch, as unetseg_train reports it."""

    _fields_ = [("epoch", c_int32), ("batch", c_int32), ("batch_count", c_int32), ("losses", LossValues),
                ("running_mean", LossValues), ("slices_per_second", c_double)]


class EpochMetrics(Structure):
    """``unetseg_epoch_metrics``: what one training epoch gave."""

    _fields_ = [("epoch", c_int32), ("train", LossValues), ("has_valid", c_bool), ("valid", LossValues),
                ("lr", c_double), ("seconds", c_double)]


#: ``typedef bool (*unetseg_batch_callback)(const unetseg_batch_progress *progress, void *user_data);``
BatchCallback = CFUNCTYPE(c_bool, POINTER(BatchProgress), c_void_p)
#: ``typedef bool (*unetseg_epoch_callback)(const unetseg_epoch_metrics *metrics, void *user_data);``
EpochCallback = CFUNCTYPE(c_bool, POINTER(EpochMetrics), c_void_p)


class EvaluateParams(Structure):
    """``unetseg_evaluate_params``: options of unetseg_evaluate."""

    _fields_ = [("batch_size", c_int32), ("predictions_dir", c_char_p), ("output_dir", c_char_p),
                ("model_path", c_char_p), ("postprocess", c_int32), ("normalization", c_int32)]


class EvaluationMetrics(Structure):
    """``unetseg_evaluation_metrics``: a model's scores on a folder of slices with masks."""

    _fields_ = [("mean_volume_dice", c_double), ("median_volume_dice", c_double), ("mean_slice_dice", c_double),
                ("bce", c_double), ("dice_loss", c_double), ("slice_count", c_int64), ("patient_count", c_int32),
                ("mean_precision", c_double), ("median_precision", c_double),
                ("mean_sensitivity", c_double), ("median_sensitivity", c_double),
                ("mean_hausdorff95", c_double), ("median_hausdorff95", c_double),
                ("mean_absolute_volume_difference", c_double), ("median_absolute_volume_difference", c_double),
                ("mean_relative_volume_difference", c_double), ("median_relative_volume_difference", c_double)]


class VolumeScores(Structure):
    """``unetseg_volume_scores``: the scores of one patient's volume (Hausdorff-95 in voxels)."""

    _fields_ = [("dice", c_double), ("precision", c_double), ("sensitivity", c_double), ("hausdorff95", c_double),
                ("diagonal", c_double), ("relative_volume_difference", c_double), ("predicted_voxels", c_int64),
                ("true_voxels", c_int64)]


