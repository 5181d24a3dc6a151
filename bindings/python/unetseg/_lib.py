"""Finding and loading ``libunetseg.so``, and the ctypes declaration of every C function it exports.

Each function of ``include/unetseg.h`` is declared exactly once below, with its C prototype in a comment
above the declaration. Functions that return an ``int32_t unetseg_status`` get an ``errcheck`` that turns
a failure into the matching :class:`~unetseg.errors.UnetsegError` subclass carrying the library's message,
so callers never look at statuses. The library is loaded with :class:`ctypes.CDLL`, which releases the GIL
for the duration of every call.

The library computes with its own OpenBLAS instance, linked in with its symbols private and its kernels
chosen from CPUID: numpy's OpenBLAS (or any other in the process) is neither used nor changed by it, and
``OPENBLAS_CORETYPE`` or ``OPENBLAS_NUM_THREADS`` in the environment do not affect unetseg.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
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
    c_size_t,
    c_uint64,
    c_void_p,
)
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from .errors import LibraryNotFoundError, UnetsegError, error_for_status

#: The C API version this binding is written against (``UNETSEG_API_VERSION`` of the header).
API_VERSION = 2

#: Most dimensions a tensor may have (``UNETSEG_MAX_NDIM``).
MAX_NDIM = 8

#: The environment variable naming the library file to load, ahead of every other place.
LIBRARY_ENV = "UNETSEG_LIB"

_LIBRARY_FILE = "libunetseg.so"
_BUILD_FOLDERS = (Path(".build-lib") / "release", Path(".build") / "release")

# --------------------------------------------------------------------------------------------------------
# Types of unetseg_types.h
# --------------------------------------------------------------------------------------------------------


class TensorHandle(c_void_p):
    """``unetseg_tensor *``: an opaque tensor handle (never dereferenced)."""


class ModelHandle(c_void_p):
    """``unetseg_model *``: an opaque model handle."""


class SGDHandle(c_void_p):
    """``unetseg_sgd *``: an opaque SGD optimiser handle."""


class OneCycleHandle(c_void_p):
    """``unetseg_one_cycle *``: an opaque one-cycle schedule handle."""


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


class DatasetHandle(c_void_p):
    """``unetseg_dataset *``: an opaque dataset handle."""


class LoaderHandle(c_void_p):
    """``unetseg_loader *``: an opaque data loader handle."""


class EvaluationHandle(c_void_p):
    """``unetseg_evaluation *``: an opaque evaluation result (Dice per patient)."""


class AugmentationParams(Structure):
    """``unetseg_augmentation_params``: the post's augmentation c(scale, angle, flip)."""

    _fields_ = [("enabled", c_bool), ("scale", c_float), ("angle", c_float), ("flip", c_float)]


class DatasetParams(Structure):
    """``unetseg_dataset_params``: augmentation, lesion-weighted sampling and the seed of a dataset."""

    _fields_ = [("augmentation", AugmentationParams), ("random_sampling", c_bool), ("seed", c_uint64)]


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
                ("seed", c_uint64), ("lesion_slice_fraction", c_double)]


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
    ]


class BatchProgress(Structure):
    """``unetseg_batch_progress``: one training batch, as unetseg_train reports it."""

    _fields_ = [("epoch", c_int32), ("batch", c_int32), ("batch_count", c_int32), ("losses", LossValues),
                ("running_mean", LossValues), ("slices_per_second", c_double)]


class EpochMetrics(Structure):
    """``unetseg_epoch_metrics``: what one training epoch gave."""

    _fields_ = [("epoch", c_int32), ("train", LossValues), ("has_valid", c_bool), ("valid", LossValues),
                ("lr", c_double), ("seconds", c_double)]


class EvaluateParams(Structure):
    """``unetseg_evaluate_params``: options of unetseg_evaluate."""

    _fields_ = [("batch_size", c_int32), ("predictions_dir", c_char_p), ("output_dir", c_char_p),
                ("model_path", c_char_p)]


class EvaluationMetrics(Structure):
    """``unetseg_evaluation_metrics``: a model's scores on a folder of slices with masks."""

    _fields_ = [("mean_volume_dice", c_double), ("median_volume_dice", c_double), ("mean_slice_dice", c_double),
                ("bce", c_double), ("dice_loss", c_double), ("slice_count", c_int64), ("patient_count", c_int32)]


#: ``typedef void (*unetseg_log_callback)(int32_t level, const char *message, void *user_data);``
LogCallback = CFUNCTYPE(None, c_int32, c_char_p, c_void_p)

#: ``typedef bool (*unetseg_progress_callback)(int64_t done, int64_t total, void *user_data);``
ProgressCallback = CFUNCTYPE(c_bool, c_int64, c_int64, c_void_p)
#: ``typedef bool (*unetseg_batch_callback)(const unetseg_batch_progress *progress, void *user_data);``
BatchCallback = CFUNCTYPE(c_bool, POINTER(BatchProgress), c_void_p)
#: ``typedef bool (*unetseg_epoch_callback)(const unetseg_epoch_metrics *metrics, void *user_data);``
EpochCallback = CFUNCTYPE(c_bool, POINTER(EpochMetrics), c_void_p)

#: A C-contiguous float32 numpy array passed as ``const float *``.
FloatIn = np.ctypeslib.ndpointer(dtype=np.float32, flags="C_CONTIGUOUS")
#: A C-contiguous, writeable float32 numpy array passed as ``float *`` for the library to fill.
FloatOut = np.ctypeslib.ndpointer(dtype=np.float32, flags="C_CONTIGUOUS,WRITEABLE")

#: Marks a function returning an ``int32_t unetseg_status`` in the declarations below.
_Status = object()
_TensorOut = POINTER(TensorHandle)
_ModelOut = POINTER(ModelHandle)
_Int64Array = POINTER(c_int64)

# --------------------------------------------------------------------------------------------------------
# Finding the library
# --------------------------------------------------------------------------------------------------------


def candidate_paths() -> List[Tuple[str, str]]:
    """The places searched for the library, in order, as ``(description, path)`` pairs.

    ``$UNETSEG_LIB`` when set (and then nothing else), otherwise the copy inside this package, then
    ``.build-lib/release`` and ``.build/release`` of every folder above this package and above the
    current directory (a source checkout), then the system's library path (``make install``).
    """
    explicit = os.environ.get(LIBRARY_ENV)
    if explicit:
        return [(f"${LIBRARY_ENV}", explicit)]
    package_dir = Path(__file__).resolve().parent
    found: List[Tuple[str, str]] = [("package copy", str(package_dir / _LIBRARY_FILE))]
    seen = set()
    for start in (package_dir, Path.cwd().resolve()):
        for folder in (start, *start.parents):
            for build in _BUILD_FOLDERS:
                path = folder / build / _LIBRARY_FILE
                if path not in seen:
                    seen.add(path)
                    if path.exists():
                        found.append(("build folder", str(path)))
    system = ctypes.util.find_library("unetseg")
    found.append(("system library path", system or _LIBRARY_FILE))
    return found


def _open_library() -> Tuple[ctypes.CDLL, str]:
    """Loads the first library of :func:`candidate_paths` that exists and loads, or raises."""
    candidates = candidate_paths()
    tried: List[str] = []
    for description, path in candidates:
        if description == "system library path" and not any(d == "build folder" for d, _ in candidates):
            builds = " or ".join(str(b / _LIBRARY_FILE) for b in _BUILD_FOLDERS)
            tried.append(f"  {builds} (build folder): none above {Path(__file__).resolve().parent} or {Path.cwd()}")
        if os.sep in path and not os.path.exists(path):
            tried.append(f"  {path} ({description}): no such file")
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as error:
            tried.append(f"  {path} ({description}): {error}")
    raise LibraryNotFoundError(
        "could not load libunetseg.so; tried:\n"
        + "\n".join(tried)
        + f"\nBuild it with `make lib` in the unetseg repository, or set {LIBRARY_ENV} to its path."
    )


# --------------------------------------------------------------------------------------------------------
# Declarations
# --------------------------------------------------------------------------------------------------------


def _raise_on_failure(status: int, function: Any, arguments: Tuple[Any, ...]) -> int:
    """``errcheck`` of every status-returning function: raises the status's exception with the message
    of ``unetseg_last_error()`` (read on the calling thread, where the library keeps it)."""
    if status != 0:
        library = function._unetseg_library
        message = library.unetseg_last_error().decode("utf-8", "replace")
        name = library.unetseg_status_string(status).decode("utf-8", "replace")
        raise error_for_status(status, message or name, name)
    return status


def _declare(library: ctypes.CDLL, name: str, restype: Any, argtypes: Sequence[Any]) -> None:
    """Sets a function's argument and result types; a function returning a status gets the errcheck."""
    function = getattr(library, name)
    function.argtypes = list(argtypes)
    if restype is _Status:
        function.restype = c_int32
        function.errcheck = _raise_on_failure
        function._unetseg_library = library
    else:
        function.restype = restype


def _declare_all(library: ctypes.CDLL) -> None:
    """Declares every function of ``unetseg.h`` (phase 1: library, tensors, model, losses, optimisers)."""
    d = _declare

    # --- Library: versions, system report, threads, seed, errors, logging ---

    # int32_t unetseg_api_version(void);
    d(library, "unetseg_api_version", c_int32, [])
    # int32_t unetseg_get_num_threads(void);
    d(library, "unetseg_get_num_threads", c_int32, [])
    # char const *unetseg_last_error(void);
    d(library, "unetseg_last_error", c_char_p, [])
    # int64_t unetseg_live_handle_count(void);
    d(library, "unetseg_live_handle_count", c_int64, [])
    # void unetseg_manual_seed(uint64_t seed);
    d(library, "unetseg_manual_seed", None, [c_uint64])
    # void unetseg_set_log_callback(unetseg_log_callback callback, void *user_data);
    d(library, "unetseg_set_log_callback", None, [LogCallback, c_void_p])
    # int32_t unetseg_set_num_threads(int32_t num_threads);
    d(library, "unetseg_set_num_threads", _Status, [c_int32])
    # char const *unetseg_status_string(int32_t status);
    d(library, "unetseg_status_string", c_char_p, [c_int32])
    # int32_t unetseg_system_info(unetseg_system_report *out_report);
    d(library, "unetseg_system_info", _Status, [POINTER(SystemReport)])
    # int32_t unetseg_system_info_string(char *out_text, size_t capacity);
    d(library, "unetseg_system_info_string", _Status, [c_char_p, c_size_t])
    # char const *unetseg_version(void);
    d(library, "unetseg_version", c_char_p, [])

    # --- Tensors: creation, shape and data ---

    # int32_t unetseg_tensor_create(float const *data, int64_t const *shape, int32_t ndim,
    #                               unetseg_tensor **out_tensor);
    d(library, "unetseg_tensor_create", _Status, [FloatIn, _Int64Array, c_int32, _TensorOut])
    # int32_t unetseg_tensor_zeros(int64_t const *shape, int32_t ndim, unetseg_tensor **out_tensor);
    d(library, "unetseg_tensor_zeros", _Status, [_Int64Array, c_int32, _TensorOut])
    # void unetseg_tensor_free(unetseg_tensor *tensor);
    d(library, "unetseg_tensor_free", None, [TensorHandle])
    # int32_t unetseg_tensor_ndim(unetseg_tensor const *tensor, int32_t *out_ndim);
    d(library, "unetseg_tensor_ndim", _Status, [TensorHandle, POINTER(c_int32)])
    # int32_t unetseg_tensor_shape(unetseg_tensor const *tensor, int64_t *out_shape, int32_t capacity);
    d(library, "unetseg_tensor_shape", _Status, [TensorHandle, _Int64Array, c_int32])
    # int32_t unetseg_tensor_numel(unetseg_tensor const *tensor, int64_t *out_numel);
    d(library, "unetseg_tensor_numel", _Status, [TensorHandle, POINTER(c_int64)])
    # int32_t unetseg_tensor_copy_to(unetseg_tensor const *tensor, float *out_data, int64_t capacity);
    d(library, "unetseg_tensor_copy_to", _Status, [TensorHandle, FloatOut, c_int64])
    # int32_t unetseg_tensor_item(unetseg_tensor const *tensor, float *out_value);
    d(library, "unetseg_tensor_item", _Status, [TensorHandle, POINTER(c_float)])
    # int32_t unetseg_tensor_view(unetseg_tensor const *tensor, int64_t const *shape, int32_t ndim,
    #                             unetseg_tensor **out_tensor);
    d(library, "unetseg_tensor_view", _Status, [TensorHandle, _Int64Array, c_int32, _TensorOut])
    # int32_t unetseg_tensor_reshape(unetseg_tensor const *tensor, int64_t const *shape, int32_t ndim,
    #                                unetseg_tensor **out_tensor);
    d(library, "unetseg_tensor_reshape", _Status, [TensorHandle, _Int64Array, c_int32, _TensorOut])

    # --- Tensors: ops (each returns a new handle in out_tensor) ---

    # int32_t unetseg_tensor_add(unetseg_tensor const *a, unetseg_tensor const *b, unetseg_tensor **out_tensor);
    d(library, "unetseg_tensor_add", _Status, [TensorHandle, TensorHandle, _TensorOut])
    # int32_t unetseg_tensor_add_scalar(unetseg_tensor const *tensor, float scalar, unetseg_tensor **out_tensor);
    d(library, "unetseg_tensor_add_scalar", _Status, [TensorHandle, c_float, _TensorOut])
    # int32_t unetseg_tensor_radd_scalar(float scalar, unetseg_tensor const *tensor, unetseg_tensor **out_tensor);
    d(library, "unetseg_tensor_radd_scalar", _Status, [c_float, TensorHandle, _TensorOut])
    # int32_t unetseg_tensor_sub(unetseg_tensor const *a, unetseg_tensor const *b, unetseg_tensor **out_tensor);
    d(library, "unetseg_tensor_sub", _Status, [TensorHandle, TensorHandle, _TensorOut])
    # int32_t unetseg_tensor_sub_scalar(unetseg_tensor const *tensor, float scalar, unetseg_tensor **out_tensor);
    d(library, "unetseg_tensor_sub_scalar", _Status, [TensorHandle, c_float, _TensorOut])
    # int32_t unetseg_tensor_rsub_scalar(float scalar, unetseg_tensor const *tensor, unetseg_tensor **out_tensor);
    d(library, "unetseg_tensor_rsub_scalar", _Status, [c_float, TensorHandle, _TensorOut])
    # int32_t unetseg_tensor_mul(unetseg_tensor const *a, unetseg_tensor const *b, unetseg_tensor **out_tensor);
    d(library, "unetseg_tensor_mul", _Status, [TensorHandle, TensorHandle, _TensorOut])
    # int32_t unetseg_tensor_mul_scalar(unetseg_tensor const *tensor, float scalar, unetseg_tensor **out_tensor);
    d(library, "unetseg_tensor_mul_scalar", _Status, [TensorHandle, c_float, _TensorOut])
    # int32_t unetseg_tensor_rmul_scalar(float scalar, unetseg_tensor const *tensor, unetseg_tensor **out_tensor);
    d(library, "unetseg_tensor_rmul_scalar", _Status, [c_float, TensorHandle, _TensorOut])
    # int32_t unetseg_tensor_div(unetseg_tensor const *a, unetseg_tensor const *b, unetseg_tensor **out_tensor);
    d(library, "unetseg_tensor_div", _Status, [TensorHandle, TensorHandle, _TensorOut])
    # int32_t unetseg_tensor_div_scalar(unetseg_tensor const *tensor, float scalar, unetseg_tensor **out_tensor);
    d(library, "unetseg_tensor_div_scalar", _Status, [TensorHandle, c_float, _TensorOut])
    # int32_t unetseg_tensor_rdiv_scalar(float scalar, unetseg_tensor const *tensor, unetseg_tensor **out_tensor);
    d(library, "unetseg_tensor_rdiv_scalar", _Status, [c_float, TensorHandle, _TensorOut])
    # int32_t unetseg_tensor_gt_scalar(unetseg_tensor const *tensor, float scalar, unetseg_tensor **out_tensor);
    d(library, "unetseg_tensor_gt_scalar", _Status, [TensorHandle, c_float, _TensorOut])
    # int32_t unetseg_tensor_sigmoid(unetseg_tensor const *tensor, unetseg_tensor **out_tensor);
    d(library, "unetseg_tensor_sigmoid", _Status, [TensorHandle, _TensorOut])
    # int32_t unetseg_tensor_sum(unetseg_tensor const *tensor, unetseg_tensor **out_tensor);
    d(library, "unetseg_tensor_sum", _Status, [TensorHandle, _TensorOut])
    # int32_t unetseg_tensor_mean(unetseg_tensor const *tensor, unetseg_tensor **out_tensor);
    d(library, "unetseg_tensor_mean", _Status, [TensorHandle, _TensorOut])

    # --- Tensors: autograd ---

    # int32_t unetseg_tensor_backward(unetseg_tensor *tensor);
    d(library, "unetseg_tensor_backward", _Status, [TensorHandle])
    # int32_t unetseg_tensor_grad(unetseg_tensor const *tensor, unetseg_tensor **out_grad);
    d(library, "unetseg_tensor_grad", _Status, [TensorHandle, _TensorOut])
    # int32_t unetseg_tensor_requires_grad(unetseg_tensor const *tensor, bool *out_requires_grad);
    d(library, "unetseg_tensor_requires_grad", _Status, [TensorHandle, POINTER(c_bool)])
    # int32_t unetseg_tensor_set_requires_grad(unetseg_tensor *tensor, bool requires_grad);
    d(library, "unetseg_tensor_set_requires_grad", _Status, [TensorHandle, c_bool])
    # int32_t unetseg_tensor_zero_grad(unetseg_tensor *tensor);
    d(library, "unetseg_tensor_zero_grad", _Status, [TensorHandle])

    # --- Model ---

    # unetseg_model_params unetseg_model_default_params(void);
    d(library, "unetseg_model_default_params", ModelParams, [])
    # int32_t unetseg_model_create(unetseg_model_params const *params, unetseg_model **out_model);
    d(library, "unetseg_model_create", _Status, [POINTER(ModelParams), _ModelOut])
    # void unetseg_model_free(unetseg_model *model);
    d(library, "unetseg_model_free", None, [ModelHandle])
    # int32_t unetseg_model_get_params(unetseg_model const *model, unetseg_model_params *out_params);
    d(library, "unetseg_model_get_params", _Status, [ModelHandle, POINTER(ModelParams)])
    # int32_t unetseg_model_forward(unetseg_model *model, unetseg_tensor const *input,
    #                               unetseg_tensor **out_tensor);
    d(library, "unetseg_model_forward", _Status, [ModelHandle, TensorHandle, _TensorOut])
    # int32_t unetseg_model_train(unetseg_model *model);
    d(library, "unetseg_model_train", _Status, [ModelHandle])
    # int32_t unetseg_model_eval(unetseg_model *model);
    d(library, "unetseg_model_eval", _Status, [ModelHandle])
    # int32_t unetseg_model_is_training(unetseg_model const *model, bool *out_training);
    d(library, "unetseg_model_is_training", _Status, [ModelHandle, POINTER(c_bool)])
    # int32_t unetseg_model_zero_grad(unetseg_model *model);
    d(library, "unetseg_model_zero_grad", _Status, [ModelHandle])
    # int32_t unetseg_model_parameter_count(unetseg_model const *model, int64_t *out_count);
    d(library, "unetseg_model_parameter_count", _Status, [ModelHandle, POINTER(c_int64)])
    # int32_t unetseg_model_named_parameter_count(unetseg_model const *model, int32_t *out_count);
    d(library, "unetseg_model_named_parameter_count", _Status, [ModelHandle, POINTER(c_int32)])
    # int32_t unetseg_model_parameter_name(unetseg_model const *model, int32_t index, char *out_name,
    #                                      size_t capacity);
    d(library, "unetseg_model_parameter_name", _Status, [ModelHandle, c_int32, c_char_p, c_size_t])
    # int32_t unetseg_model_parameter_index(unetseg_model const *model, char const *name, int32_t *out_index);
    d(library, "unetseg_model_parameter_index", _Status, [ModelHandle, c_char_p, POINTER(c_int32)])
    # int32_t unetseg_model_parameter_shape(unetseg_model const *model, int32_t index, int64_t *out_shape,
    #                                       int32_t capacity, int32_t *out_ndim);
    d(library, "unetseg_model_parameter_shape", _Status,
      [ModelHandle, c_int32, _Int64Array, c_int32, POINTER(c_int32)])
    # int32_t unetseg_model_parameter_get(unetseg_model const *model, int32_t index, float *out_data,
    #                                     int64_t capacity);
    d(library, "unetseg_model_parameter_get", _Status, [ModelHandle, c_int32, FloatOut, c_int64])
    # int32_t unetseg_model_parameter_set(unetseg_model *model, int32_t index, float const *data, int64_t count);
    d(library, "unetseg_model_parameter_set", _Status, [ModelHandle, c_int32, FloatIn, c_int64])
    # int32_t unetseg_model_save(unetseg_model const *model, char const *path);
    d(library, "unetseg_model_save", _Status, [ModelHandle, c_char_p])
    # int32_t unetseg_model_load(char const *path, unetseg_model_params const *params, unetseg_model **out_model);
    d(library, "unetseg_model_load", _Status, [c_char_p, POINTER(ModelParams), _ModelOut])
    # int32_t unetseg_model_predict(unetseg_model *model, float const *images, int64_t n, int64_t height,
    #                               int64_t width, float *out_probabilities, int64_t capacity);
    d(library, "unetseg_model_predict", _Status,
      [ModelHandle, FloatIn, c_int64, c_int64, c_int64, FloatOut, c_int64])

    # --- Losses ---

    # int32_t unetseg_loss_bce(unetseg_tensor const *prediction, unetseg_tensor const *target,
    #                          unetseg_tensor **out_loss);
    d(library, "unetseg_loss_bce", _Status, [TensorHandle, TensorHandle, _TensorOut])
    # int32_t unetseg_loss_dice(unetseg_tensor const *prediction, unetseg_tensor const *target,
    #                           unetseg_tensor **out_loss);
    d(library, "unetseg_loss_dice", _Status, [TensorHandle, TensorHandle, _TensorOut])
    # int32_t unetseg_loss_combined(unetseg_tensor const *prediction, unetseg_tensor const *target,
    #                               float dice_weight, unetseg_tensor **out_total, unetseg_tensor **out_bce,
    #                               unetseg_tensor **out_dice);
    d(library, "unetseg_loss_combined", _Status,
      [TensorHandle, TensorHandle, c_float, _TensorOut, _TensorOut, _TensorOut])

    # --- SGD optimiser ---

    # unetseg_sgd_params unetseg_sgd_default_params(void);
    d(library, "unetseg_sgd_default_params", SGDParams, [])
    # int32_t unetseg_sgd_create(unetseg_model *model, unetseg_sgd_params const *params,
    #                            unetseg_sgd **out_optimizer);
    d(library, "unetseg_sgd_create", _Status, [ModelHandle, POINTER(SGDParams), POINTER(SGDHandle)])
    # void unetseg_sgd_free(unetseg_sgd *optimizer);
    d(library, "unetseg_sgd_free", None, [SGDHandle])
    # int32_t unetseg_sgd_step(unetseg_sgd *optimizer);
    d(library, "unetseg_sgd_step", _Status, [SGDHandle])
    # int32_t unetseg_sgd_zero_grad(unetseg_sgd *optimizer);
    d(library, "unetseg_sgd_zero_grad", _Status, [SGDHandle])

    # --- One-cycle schedule ---

    # unetseg_one_cycle_params unetseg_one_cycle_default_params(void);
    d(library, "unetseg_one_cycle_default_params", OneCycleParams, [])
    # int32_t unetseg_one_cycle_create(unetseg_sgd *optimizer, unetseg_one_cycle_params const *params,
    #                                  unetseg_one_cycle **out_scheduler);
    d(library, "unetseg_one_cycle_create", _Status,
      [SGDHandle, POINTER(OneCycleParams), POINTER(OneCycleHandle)])
    # void unetseg_one_cycle_free(unetseg_one_cycle *scheduler);
    d(library, "unetseg_one_cycle_free", None, [OneCycleHandle])
    # int32_t unetseg_one_cycle_step(unetseg_one_cycle *scheduler);
    d(library, "unetseg_one_cycle_step", _Status, [OneCycleHandle])
    # int32_t unetseg_one_cycle_get_lr(unetseg_one_cycle const *scheduler, double *out_lr);
    d(library, "unetseg_one_cycle_get_lr", _Status, [OneCycleHandle, POINTER(c_double)])
    # int32_t unetseg_one_cycle_get_momentum(unetseg_one_cycle const *scheduler, double *out_momentum);
    d(library, "unetseg_one_cycle_get_momentum", _Status, [OneCycleHandle, POINTER(c_double)])


def _declare_data_and_training(library: ctypes.CDLL) -> None:
    """Declares the data, augmentation, loader, split, synthetic-data, training, evaluation and folder
    prediction functions of ``unetseg.h``."""
    d = _declare
    _TensorPair = [_TensorOut, _TensorOut]

    # --- Datasets ---

    # unetseg_dataset_params unetseg_dataset_default_params(void);
    d(library, "unetseg_dataset_default_params", DatasetParams, [])
    # int32_t unetseg_dataset_open(char const *root, unetseg_dataset_params const *params,
    #                              unetseg_dataset **out_dataset);
    d(library, "unetseg_dataset_open", _Status, [c_char_p, POINTER(DatasetParams), POINTER(DatasetHandle)])
    # void unetseg_dataset_free(unetseg_dataset *dataset);
    d(library, "unetseg_dataset_free", None, [DatasetHandle])
    # int32_t unetseg_dataset_length(unetseg_dataset const *dataset, int64_t *out_length);
    d(library, "unetseg_dataset_length", _Status, [DatasetHandle, POINTER(c_int64)])
    # int32_t unetseg_dataset_image_size(unetseg_dataset const *dataset, int64_t *out_height, int64_t *out_width);
    d(library, "unetseg_dataset_image_size", _Status, [DatasetHandle, POINTER(c_int64), POINTER(c_int64)])
    # int32_t unetseg_dataset_get_item(unetseg_dataset const *dataset, int64_t index, int64_t epoch,
    #                                  unetseg_tensor **out_image, unetseg_tensor **out_mask);
    d(library, "unetseg_dataset_get_item", _Status, [DatasetHandle, c_int64, c_int64, *_TensorPair])
    # int32_t unetseg_dataset_sampled_slice(unetseg_dataset const *dataset, int64_t index, int64_t epoch,
    #                                       int64_t *out_slice);
    d(library, "unetseg_dataset_sampled_slice", _Status, [DatasetHandle, c_int64, c_int64, POINTER(c_int64)])
    # int32_t unetseg_dataset_slice_info(unetseg_dataset const *dataset, int64_t slice, char *out_patient,
    #                                    size_t capacity, int32_t *out_number, int64_t *out_lesion_pixels);
    d(library, "unetseg_dataset_slice_info", _Status,
      [DatasetHandle, c_int64, c_char_p, c_size_t, POINTER(c_int32), POINTER(c_int64)])

    # --- Augmentation (each returns new image and mask handles) ---

    # int32_t unetseg_augmentation_hflip(unetseg_tensor const *image, unetseg_tensor const *mask,
    #                                    unetseg_tensor **out_image, unetseg_tensor **out_mask);
    d(library, "unetseg_augmentation_hflip", _Status, [TensorHandle, TensorHandle, *_TensorPair])
    # int32_t unetseg_augmentation_resize(unetseg_tensor const *image, unetseg_tensor const *mask, float scale,
    #                                     unetseg_tensor **out_image, unetseg_tensor **out_mask);
    d(library, "unetseg_augmentation_resize", _Status, [TensorHandle, TensorHandle, c_float, *_TensorPair])
    # int32_t unetseg_augmentation_rotate(unetseg_tensor const *image, unetseg_tensor const *mask, float degrees,
    #                                     unetseg_tensor **out_image, unetseg_tensor **out_mask);
    d(library, "unetseg_augmentation_rotate", _Status, [TensorHandle, TensorHandle, c_float, *_TensorPair])
    # int32_t unetseg_augmentation_random_flip(unetseg_tensor const *image, unetseg_tensor const *mask,
    #                                          float flip, unetseg_tensor **out_image, unetseg_tensor **out_mask);
    d(library, "unetseg_augmentation_random_flip", _Status, [TensorHandle, TensorHandle, c_float, *_TensorPair])
    # int32_t unetseg_augmentation_random_resize(unetseg_tensor const *image, unetseg_tensor const *mask,
    #                                            float scale, unetseg_tensor **out_image,
    #                                            unetseg_tensor **out_mask);
    d(library, "unetseg_augmentation_random_resize", _Status, [TensorHandle, TensorHandle, c_float, *_TensorPair])
    # int32_t unetseg_augmentation_random_rotate(unetseg_tensor const *image, unetseg_tensor const *mask,
    #                                            float angle, unetseg_tensor **out_image,
    #                                            unetseg_tensor **out_mask);
    d(library, "unetseg_augmentation_random_rotate", _Status, [TensorHandle, TensorHandle, c_float, *_TensorPair])

    # --- Data loaders ---

    # unetseg_loader_params unetseg_loader_default_params(void);
    d(library, "unetseg_loader_default_params", LoaderParams, [])
    # int32_t unetseg_loader_create(unetseg_dataset *dataset, unetseg_loader_params const *params,
    #                               unetseg_loader **out_loader);
    d(library, "unetseg_loader_create", _Status, [DatasetHandle, POINTER(LoaderParams), POINTER(LoaderHandle)])
    # void unetseg_loader_free(unetseg_loader *loader);
    d(library, "unetseg_loader_free", None, [LoaderHandle])
    # int32_t unetseg_loader_length(unetseg_loader const *loader, int64_t *out_length);
    d(library, "unetseg_loader_length", _Status, [LoaderHandle, POINTER(c_int64)])
    # int32_t unetseg_loader_epoch(unetseg_loader const *loader, int64_t *out_epoch);
    d(library, "unetseg_loader_epoch", _Status, [LoaderHandle, POINTER(c_int64)])
    # int32_t unetseg_loader_next(unetseg_loader *loader, unetseg_tensor **out_images, unetseg_tensor **out_masks);
    d(library, "unetseg_loader_next", _Status, [LoaderHandle, *_TensorPair])
    # int32_t unetseg_loader_reset(unetseg_loader *loader, int64_t epoch);
    d(library, "unetseg_loader_reset", _Status, [LoaderHandle, c_int64])

    # --- Patient split ---

    # unetseg_split_params unetseg_split_default_params(void);
    d(library, "unetseg_split_default_params", SplitParams, [])
    # int32_t unetseg_split_patients(char const *root, char const *train_dir, char const *valid_dir,
    #                                unetseg_split_params const *params, int32_t *out_n_train,
    #                                int32_t *out_n_valid);
    d(library, "unetseg_split_patients", _Status,
      [c_char_p, c_char_p, c_char_p, POINTER(SplitParams), POINTER(c_int32), POINTER(c_int32)])

    # --- Synthetic data ---

    # unetseg_synthetic_params unetseg_synthetic_default_params(void);
    d(library, "unetseg_synthetic_default_params", SyntheticParams, [])
    # int32_t unetseg_synthetic_write(char const *root, unetseg_synthetic_params const *params,
    #                                 unetseg_progress_callback progress, void *user_data, int64_t *out_slices);
    d(library, "unetseg_synthetic_write", _Status,
      [c_char_p, POINTER(SyntheticParams), ProgressCallback, c_void_p, POINTER(c_int64)])

    # --- Training ---

    # unetseg_train_params unetseg_train_default_params(void);
    d(library, "unetseg_train_default_params", TrainParams, [])
    # int32_t unetseg_train(unetseg_train_params const *params, unetseg_batch_callback on_batch,
    #                       unetseg_epoch_callback on_epoch, void *user_data, unetseg_epoch_metrics *out_last_epoch,
    #                       unetseg_model **out_model);
    d(library, "unetseg_train", _Status,
      [POINTER(TrainParams), BatchCallback, EpochCallback, c_void_p, POINTER(EpochMetrics), _ModelOut])

    # --- Evaluation ---

    # unetseg_evaluate_params unetseg_evaluate_default_params(void);
    d(library, "unetseg_evaluate_default_params", EvaluateParams, [])
    # int32_t unetseg_evaluate(unetseg_model *model, char const *data_dir, unetseg_evaluate_params const *params,
    #                          unetseg_progress_callback progress, void *user_data,
    #                          unetseg_evaluation_metrics *out_metrics, unetseg_evaluation **out_result);
    d(library, "unetseg_evaluate", _Status,
      [ModelHandle, c_char_p, POINTER(EvaluateParams), ProgressCallback, c_void_p, POINTER(EvaluationMetrics),
       POINTER(EvaluationHandle)])
    # void unetseg_evaluation_free(unetseg_evaluation *evaluation);
    d(library, "unetseg_evaluation_free", None, [EvaluationHandle])
    # int32_t unetseg_evaluation_volume_count(unetseg_evaluation const *evaluation, int32_t *out_count);
    d(library, "unetseg_evaluation_volume_count", _Status, [EvaluationHandle, POINTER(c_int32)])
    # int32_t unetseg_evaluation_patient(unetseg_evaluation const *evaluation, int32_t index, char *out_patient,
    #                                    size_t capacity);
    d(library, "unetseg_evaluation_patient", _Status, [EvaluationHandle, c_int32, c_char_p, c_size_t])
    # int32_t unetseg_evaluation_volume_dice(unetseg_evaluation const *evaluation, int32_t index,
    #                                        double *out_dice);
    d(library, "unetseg_evaluation_volume_dice", _Status, [EvaluationHandle, c_int32, POINTER(c_double)])

    # --- Segmenting a folder ---

    # int32_t unetseg_predict_folder(unetseg_model *model, char const *input, char const *out_dir,
    #                                unetseg_progress_callback progress, void *user_data, int64_t *out_written);
    d(library, "unetseg_predict_folder", _Status,
      [ModelHandle, c_char_p, c_char_p, ProgressCallback, c_void_p, POINTER(c_int64)])


def _load() -> Tuple[ctypes.CDLL, str]:
    """Opens the library, declares its functions and checks that its C API is the one bound here."""
    library, path = _open_library()
    _declare_all(library)
    _declare_data_and_training(library)
    found = library.unetseg_api_version()
    if found != API_VERSION:
        raise UnetsegError(
            f"{path} implements C API version {found}, but this unetseg package is written for version "
            f"{API_VERSION}; rebuild the library and the package from the same checkout",
            status=-1,
        )
    return library, path


lib, library_path = _load()

# --------------------------------------------------------------------------------------------------------
# Small helpers for the wrappers
# --------------------------------------------------------------------------------------------------------


def shape_array(shape: Sequence[int]) -> Tuple[Optional[ctypes.Array], int]:
    """A C ``int64_t`` array of ``shape`` and its length, or ``(None, 0)`` for a 0-dimensional shape."""
    sizes = [int(size) for size in shape]
    if not sizes:
        return None, 0
    return (c_int64 * len(sizes))(*sizes), len(sizes)


def float32_array(data: Any) -> np.ndarray:
    """``data`` as a C-contiguous float32 array, copied only when it is not one already. (Unlike
    ``np.ascontiguousarray``, this keeps a 0-dimensional input 0-dimensional.)"""
    return np.asarray(data, dtype=np.float32, order="C")


def float32_value(value: float) -> float:
    """A C ``float`` as the Python float of its shortest decimal form (0.6, not 0.6000000238418579)."""
    return float(str(np.float32(value)))


def path_bytes(path: "os.PathLike[str] | str") -> bytes:
    """A file path as the bytes the library takes (file-system encoding)."""
    return os.fsencode(os.fspath(path))


# The log callbacks ever installed, kept alive for the life of the process: the library may still be
# calling a replaced callback on another thread when unetseg_set_log_callback returns.
_installed_log_callbacks: List[Any] = []
_log_lock = threading.Lock()


def install_log_callback(function: Optional[Callable[[int, str], None]]) -> None:
    """Routes the library's log messages to ``function(level, message)``, or stops logging with None."""
    with _log_lock:
        if function is None:
            lib.unetseg_set_log_callback(LogCallback(), None)  # a NULL function pointer
            return

        def trampoline(level: int, message: bytes, _user_data: Optional[int]) -> None:
            # ctypes reports an exception raised here as unraisable; it never unwinds into the library.
            function(int(level), message.decode("utf-8", "replace"))

        callback = LogCallback(trampoline)
        _installed_log_callbacks.append(callback)
        lib.unetseg_set_log_callback(callback, None)
