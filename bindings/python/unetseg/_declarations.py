"""The ctypes declaration of every C function of ``include/unetseg.h``, in the order and sections of that
header, and :func:`declare`, which applies them to the loaded library.

Each function is declared exactly once, with its C prototype in a comment above the declaration; each
:class:`Section` is one banner of the header, with its title. Functions that return an
``int32_t unetseg_status`` (marked ``_Status``) get an ``errcheck`` that turns a failure into the matching
:class:`~unetseg.errors.UnetsegError` subclass carrying the library's message, so callers never look at
statuses. (The R binding's functions, `bindings/R/unetseg_r.h`, are not declared here.)
"""

from __future__ import annotations

import ctypes
from ctypes import POINTER, c_bool, c_char_p, c_double, c_float, c_int32, c_int64, c_size_t, c_uint64, c_void_p
from typing import Any, List, NamedTuple, Sequence, Tuple, Union

import numpy as np

from ._types import (
    BatchCallback,
    DatasetHandle,
    DatasetParams,
    EpochCallback,
    EpochMetrics,
    EvaluateParams,
    EvaluationHandle,
    EvaluationMetrics,
    LoaderHandle,
    LoaderParams,
    LogCallback,
    ModelHandle,
    ModelParams,
    OneCycleHandle,
    OneCycleParams,
    ProgressCallback,
    SGDHandle,
    SGDParams,
    SplitParams,
    SyntheticParams,
    SystemReport,
    TensorHandle,
    TrainParams,
    VolumeScores,
)
from .errors import error_for_status

#: A C-contiguous float32 numpy array passed as ``const float *``.
FloatIn = np.ctypeslib.ndpointer(dtype=np.float32, flags="C_CONTIGUOUS")
#: A C-contiguous, writeable float32 numpy array passed as ``float *`` for the library to fill.
FloatOut = np.ctypeslib.ndpointer(dtype=np.float32, flags="C_CONTIGUOUS,WRITEABLE")

#: Marks a function returning an ``int32_t unetseg_status`` in the declarations below.
_Status = object()
_TensorOut = POINTER(TensorHandle)
_ModelOut = POINTER(ModelHandle)
_Int64Array = POINTER(c_int64)


class Section(NamedTuple):
    """A section of ``include/unetseg.h``: the title of its banner."""

    title: str


class Function(NamedTuple):
    """One C function: its name, its result type (``_Status`` for a status) and its argument types."""

    name: str
    result: Any
    arguments: Sequence[Any]


#: Every function of ``include/unetseg.h``, each section of the header opening with its
#: :class:`Section`, in the header's order (tests/test_declarations.py compares the two).
DECLARATIONS: List[Union[Section, Function]] = [
    Section("Library: versions, system report, threads, seed, errors, logging"),
    # char const *unetseg_version(void);
    Function("unetseg_version", c_char_p, []),
    # int32_t unetseg_api_version(void);
    Function("unetseg_api_version", c_int32, []),
    # int32_t unetseg_system_info(unetseg_system_report *out_report);
    Function("unetseg_system_info", _Status, [POINTER(SystemReport)]),
    # int32_t unetseg_system_info_string(char *out_text, size_t capacity);
    Function("unetseg_system_info_string", _Status, [c_char_p, c_size_t]),
    # int32_t unetseg_set_num_threads(int32_t num_threads);
    Function("unetseg_set_num_threads", _Status, [c_int32]),
    # int32_t unetseg_get_num_threads(void);
    Function("unetseg_get_num_threads", c_int32, []),
    # void unetseg_manual_seed(uint64_t seed);
    Function("unetseg_manual_seed", None, [c_uint64]),
    # char const *unetseg_last_error(void);
    Function("unetseg_last_error", c_char_p, []),
    # char const *unetseg_status_string(int32_t status);
    Function("unetseg_status_string", c_char_p, [c_int32]),
    # void unetseg_set_log_callback(unetseg_log_callback callback, void *user_data);
    Function("unetseg_set_log_callback", None, [LogCallback, c_void_p]),
    # int64_t unetseg_live_handle_count(void);
    Function("unetseg_live_handle_count", c_int64, []),

    Section("Tensors: creation, shape and data, ops, autograd"),
    # int32_t unetseg_tensor_create(float const *data, int64_t const *shape, int32_t ndim,
    #                               unetseg_tensor **out_tensor);
    Function("unetseg_tensor_create", _Status, [FloatIn, _Int64Array, c_int32, _TensorOut]),
    # int32_t unetseg_tensor_zeros(int64_t const *shape, int32_t ndim, unetseg_tensor **out_tensor);
    Function("unetseg_tensor_zeros", _Status, [_Int64Array, c_int32, _TensorOut]),
    # int32_t unetseg_tensor_uniform(int64_t const *shape, int32_t ndim, float low, float high,
    #                                unetseg_tensor **out_tensor);
    Function("unetseg_tensor_uniform", _Status, [_Int64Array, c_int32, c_float, c_float, _TensorOut]),
    # void unetseg_tensor_free(unetseg_tensor *tensor);
    Function("unetseg_tensor_free", None, [TensorHandle]),
    # int32_t unetseg_tensor_ndim(unetseg_tensor const *tensor, int32_t *out_ndim);
    Function("unetseg_tensor_ndim", _Status, [TensorHandle, POINTER(c_int32)]),
    # int32_t unetseg_tensor_shape(unetseg_tensor const *tensor, int64_t *out_shape, int32_t capacity);
    Function("unetseg_tensor_shape", _Status, [TensorHandle, _Int64Array, c_int32]),
    # int32_t unetseg_tensor_numel(unetseg_tensor const *tensor, int64_t *out_numel);
    Function("unetseg_tensor_numel", _Status, [TensorHandle, POINTER(c_int64)]),
    # int32_t unetseg_tensor_copy_to(unetseg_tensor const *tensor, float *out_data, int64_t capacity);
    Function("unetseg_tensor_copy_to", _Status, [TensorHandle, FloatOut, c_int64]),
    # int32_t unetseg_tensor_copy_from(unetseg_tensor *tensor, float const *data, int64_t count);
    Function("unetseg_tensor_copy_from", _Status, [TensorHandle, FloatIn, c_int64]),
    # int32_t unetseg_tensor_item(unetseg_tensor const *tensor, float *out_value);
    Function("unetseg_tensor_item", _Status, [TensorHandle, POINTER(c_float)]),
    # int32_t unetseg_tensor_view(unetseg_tensor const *tensor, int64_t const *shape, int32_t ndim,
    #                             unetseg_tensor **out_tensor);
    Function("unetseg_tensor_view", _Status, [TensorHandle, _Int64Array, c_int32, _TensorOut]),
    # int32_t unetseg_tensor_reshape(unetseg_tensor const *tensor, int64_t const *shape, int32_t ndim,
    #                                unetseg_tensor **out_tensor);
    Function("unetseg_tensor_reshape", _Status, [TensorHandle, _Int64Array, c_int32, _TensorOut]),
    # int32_t unetseg_tensor_add(unetseg_tensor const *a, unetseg_tensor const *b, unetseg_tensor **out_tensor);
    Function("unetseg_tensor_add", _Status, [TensorHandle, TensorHandle, _TensorOut]),
    # int32_t unetseg_tensor_sub(unetseg_tensor const *a, unetseg_tensor const *b, unetseg_tensor **out_tensor);
    Function("unetseg_tensor_sub", _Status, [TensorHandle, TensorHandle, _TensorOut]),
    # int32_t unetseg_tensor_mul(unetseg_tensor const *a, unetseg_tensor const *b, unetseg_tensor **out_tensor);
    Function("unetseg_tensor_mul", _Status, [TensorHandle, TensorHandle, _TensorOut]),
    # int32_t unetseg_tensor_div(unetseg_tensor const *a, unetseg_tensor const *b, unetseg_tensor **out_tensor);
    Function("unetseg_tensor_div", _Status, [TensorHandle, TensorHandle, _TensorOut]),
    # int32_t unetseg_tensor_add_scalar(unetseg_tensor const *tensor, float scalar, unetseg_tensor **out_tensor);
    Function("unetseg_tensor_add_scalar", _Status, [TensorHandle, c_float, _TensorOut]),
    # int32_t unetseg_tensor_sub_scalar(unetseg_tensor const *tensor, float scalar, unetseg_tensor **out_tensor);
    Function("unetseg_tensor_sub_scalar", _Status, [TensorHandle, c_float, _TensorOut]),
    # int32_t unetseg_tensor_mul_scalar(unetseg_tensor const *tensor, float scalar, unetseg_tensor **out_tensor);
    Function("unetseg_tensor_mul_scalar", _Status, [TensorHandle, c_float, _TensorOut]),
    # int32_t unetseg_tensor_div_scalar(unetseg_tensor const *tensor, float scalar, unetseg_tensor **out_tensor);
    Function("unetseg_tensor_div_scalar", _Status, [TensorHandle, c_float, _TensorOut]),
    # int32_t unetseg_tensor_radd_scalar(float scalar, unetseg_tensor const *tensor, unetseg_tensor **out_tensor);
    Function("unetseg_tensor_radd_scalar", _Status, [c_float, TensorHandle, _TensorOut]),
    # int32_t unetseg_tensor_rsub_scalar(float scalar, unetseg_tensor const *tensor, unetseg_tensor **out_tensor);
    Function("unetseg_tensor_rsub_scalar", _Status, [c_float, TensorHandle, _TensorOut]),
    # int32_t unetseg_tensor_rmul_scalar(float scalar, unetseg_tensor const *tensor, unetseg_tensor **out_tensor);
    Function("unetseg_tensor_rmul_scalar", _Status, [c_float, TensorHandle, _TensorOut]),
    # int32_t unetseg_tensor_rdiv_scalar(float scalar, unetseg_tensor const *tensor, unetseg_tensor **out_tensor);
    Function("unetseg_tensor_rdiv_scalar", _Status, [c_float, TensorHandle, _TensorOut]),
    # int32_t unetseg_tensor_gt_scalar(unetseg_tensor const *tensor, float scalar, unetseg_tensor **out_tensor);
    Function("unetseg_tensor_gt_scalar", _Status, [TensorHandle, c_float, _TensorOut]),
    # int32_t unetseg_tensor_sum(unetseg_tensor const *tensor, unetseg_tensor **out_tensor);
    Function("unetseg_tensor_sum", _Status, [TensorHandle, _TensorOut]),
    # int32_t unetseg_tensor_mean(unetseg_tensor const *tensor, unetseg_tensor **out_tensor);
    Function("unetseg_tensor_mean", _Status, [TensorHandle, _TensorOut]),
    # int32_t unetseg_tensor_sigmoid(unetseg_tensor const *tensor, unetseg_tensor **out_tensor);
    Function("unetseg_tensor_sigmoid", _Status, [TensorHandle, _TensorOut]),
    # int32_t unetseg_tensor_conv2d(unetseg_tensor const *input, unetseg_tensor const *weight,
    #                               unetseg_tensor const *bias, int32_t stride, int32_t padding,
    #                               unetseg_tensor **out_tensor);
    Function("unetseg_tensor_conv2d", _Status, [TensorHandle, TensorHandle, TensorHandle, c_int32, c_int32, _TensorOut]),
    # int32_t unetseg_tensor_conv_transpose2d(unetseg_tensor const *input, unetseg_tensor const *weight,
    #                                         unetseg_tensor const *bias, int32_t stride, int32_t padding,
    #                                         unetseg_tensor **out_tensor);
    Function("unetseg_tensor_conv_transpose2d", _Status,
             [TensorHandle, TensorHandle, TensorHandle, c_int32, c_int32, _TensorOut]),
    # int32_t unetseg_tensor_max_pool2d(unetseg_tensor const *input, int32_t kernel_size, int32_t stride,
    #                                   unetseg_tensor **out_tensor);
    Function("unetseg_tensor_max_pool2d", _Status, [TensorHandle, c_int32, c_int32, _TensorOut]),
    # int32_t unetseg_tensor_relu(unetseg_tensor const *input, unetseg_tensor **out_tensor);
    Function("unetseg_tensor_relu", _Status, [TensorHandle, _TensorOut]),
    # int32_t unetseg_tensor_dropout(unetseg_tensor const *input, float p, bool training,
    #                                unetseg_tensor **out_tensor);
    Function("unetseg_tensor_dropout", _Status, [TensorHandle, c_float, c_bool, _TensorOut]),
    # int32_t unetseg_tensor_cat(unetseg_tensor const *const *tensors, int32_t count, int32_t dim,
    #                            unetseg_tensor **out_tensor);
    Function("unetseg_tensor_cat", _Status, [POINTER(TensorHandle), c_int32, c_int32, _TensorOut]),
    # int32_t unetseg_tensor_backward(unetseg_tensor *tensor);
    Function("unetseg_tensor_backward", _Status, [TensorHandle]),
    # int32_t unetseg_tensor_grad(unetseg_tensor const *tensor, unetseg_tensor **out_grad);
    Function("unetseg_tensor_grad", _Status, [TensorHandle, _TensorOut]),
    # int32_t unetseg_tensor_set_requires_grad(unetseg_tensor *tensor, bool requires_grad);
    Function("unetseg_tensor_set_requires_grad", _Status, [TensorHandle, c_bool]),
    # int32_t unetseg_tensor_requires_grad(unetseg_tensor const *tensor, bool *out_requires_grad);
    Function("unetseg_tensor_requires_grad", _Status, [TensorHandle, POINTER(c_bool)]),
    # int32_t unetseg_tensor_zero_grad(unetseg_tensor *tensor);
    Function("unetseg_tensor_zero_grad", _Status, [TensorHandle]),

    Section("Model: creation, forward, modes, named parameters, files, prediction"),
    # unetseg_model_params unetseg_model_default_params(void);
    Function("unetseg_model_default_params", ModelParams, []),
    # int32_t unetseg_model_create(unetseg_model_params const *params, unetseg_model **out_model);
    Function("unetseg_model_create", _Status, [POINTER(ModelParams), _ModelOut]),
    # void unetseg_model_free(unetseg_model *model);
    Function("unetseg_model_free", None, [ModelHandle]),
    # int32_t unetseg_model_get_params(unetseg_model const *model, unetseg_model_params *out_params);
    Function("unetseg_model_get_params", _Status, [ModelHandle, POINTER(ModelParams)]),
    # int32_t unetseg_model_forward(unetseg_model *model, unetseg_tensor const *input,
    #                               unetseg_tensor **out_tensor);
    Function("unetseg_model_forward", _Status, [ModelHandle, TensorHandle, _TensorOut]),
    # int32_t unetseg_model_train(unetseg_model *model);
    Function("unetseg_model_train", _Status, [ModelHandle]),
    # int32_t unetseg_model_eval(unetseg_model *model);
    Function("unetseg_model_eval", _Status, [ModelHandle]),
    # int32_t unetseg_model_is_training(unetseg_model const *model, bool *out_training);
    Function("unetseg_model_is_training", _Status, [ModelHandle, POINTER(c_bool)]),
    # int32_t unetseg_model_zero_grad(unetseg_model *model);
    Function("unetseg_model_zero_grad", _Status, [ModelHandle]),
    # int32_t unetseg_model_parameter_count(unetseg_model const *model, int64_t *out_count);
    Function("unetseg_model_parameter_count", _Status, [ModelHandle, POINTER(c_int64)]),
    # int32_t unetseg_model_named_parameter_count(unetseg_model const *model, int32_t *out_count);
    Function("unetseg_model_named_parameter_count", _Status, [ModelHandle, POINTER(c_int32)]),
    # int32_t unetseg_model_parameter_name(unetseg_model const *model, int32_t index, char *out_name,
    #                                      size_t capacity);
    Function("unetseg_model_parameter_name", _Status, [ModelHandle, c_int32, c_char_p, c_size_t]),
    # int32_t unetseg_model_parameter_index(unetseg_model const *model, char const *name, int32_t *out_index);
    Function("unetseg_model_parameter_index", _Status, [ModelHandle, c_char_p, POINTER(c_int32)]),
    # int32_t unetseg_model_parameter_shape(unetseg_model const *model, int32_t index, int64_t *out_shape,
    #                                       int32_t capacity, int32_t *out_ndim);
    Function("unetseg_model_parameter_shape", _Status,
             [ModelHandle, c_int32, _Int64Array, c_int32, POINTER(c_int32)]),
    # int32_t unetseg_model_parameter_get(unetseg_model const *model, int32_t index, float *out_data,
    #                                     int64_t capacity);
    Function("unetseg_model_parameter_get", _Status, [ModelHandle, c_int32, FloatOut, c_int64]),
    # int32_t unetseg_model_parameter_set(unetseg_model *model, int32_t index, float const *data, int64_t count);
    Function("unetseg_model_parameter_set", _Status, [ModelHandle, c_int32, FloatIn, c_int64]),
    # int32_t unetseg_model_parameter_tensor(unetseg_model *model, int32_t index, unetseg_tensor **out_tensor);
    Function("unetseg_model_parameter_tensor", _Status, [ModelHandle, c_int32, _TensorOut]),
    # int32_t unetseg_model_named_buffer_count(unetseg_model const *model, int32_t *out_count);
    Function("unetseg_model_named_buffer_count", _Status, [ModelHandle, POINTER(c_int32)]),
    # int32_t unetseg_model_buffer_name(unetseg_model const *model, int32_t index, char *out_name,
    #                                   size_t capacity);
    Function("unetseg_model_buffer_name", _Status, [ModelHandle, c_int32, c_char_p, c_size_t]),
    # int32_t unetseg_model_buffer_tensor(unetseg_model *model, int32_t index, unetseg_tensor **out_tensor);
    Function("unetseg_model_buffer_tensor", _Status, [ModelHandle, c_int32, _TensorOut]),
    # int32_t unetseg_model_save(unetseg_model const *model, char const *path);
    Function("unetseg_model_save", _Status, [ModelHandle, c_char_p]),
    # int32_t unetseg_model_load(char const *path, unetseg_model_params const *params, unetseg_model **out_model);
    Function("unetseg_model_load", _Status, [c_char_p, POINTER(ModelParams), _ModelOut]),
    # int32_t unetseg_model_predict(unetseg_model *model, float const *images, int64_t n, int64_t height,
    #                               int64_t width, float *out_probabilities, int64_t capacity);
    Function("unetseg_model_predict", _Status,
             [ModelHandle, FloatIn, c_int64, c_int64, c_int64, FloatOut, c_int64]),

    Section("Losses"),
    # int32_t unetseg_loss_bce(unetseg_tensor const *prediction, unetseg_tensor const *target,
    #                          unetseg_tensor **out_loss);
    Function("unetseg_loss_bce", _Status, [TensorHandle, TensorHandle, _TensorOut]),
    # int32_t unetseg_loss_dice(unetseg_tensor const *prediction, unetseg_tensor const *target,
    #                           unetseg_tensor **out_loss);
    Function("unetseg_loss_dice", _Status, [TensorHandle, TensorHandle, _TensorOut]),
    # int32_t unetseg_loss_combined(unetseg_tensor const *prediction, unetseg_tensor const *target,
    #                               float dice_weight, unetseg_tensor **out_total, unetseg_tensor **out_bce,
    #                               unetseg_tensor **out_dice);
    Function("unetseg_loss_combined", _Status,
             [TensorHandle, TensorHandle, c_float, _TensorOut, _TensorOut, _TensorOut]),

    Section("Optimisers: SGD and the one-cycle learning-rate schedule"),
    # unetseg_sgd_params unetseg_sgd_default_params(void);
    Function("unetseg_sgd_default_params", SGDParams, []),
    # int32_t unetseg_sgd_create(unetseg_model *model, unetseg_sgd_params const *params,
    #                            unetseg_sgd **out_optimizer);
    Function("unetseg_sgd_create", _Status, [ModelHandle, POINTER(SGDParams), POINTER(SGDHandle)]),
    # int32_t unetseg_sgd_create_for_tensors(unetseg_tensor const *const *tensors, int32_t count,
    #                                        unetseg_sgd_params const *params, unetseg_sgd **out_optimizer);
    Function("unetseg_sgd_create_for_tensors", _Status,
             [POINTER(TensorHandle), c_int32, POINTER(SGDParams), POINTER(SGDHandle)]),
    # int32_t unetseg_sgd_zero_grad(unetseg_sgd *optimizer);
    Function("unetseg_sgd_zero_grad", _Status, [SGDHandle]),
    # int32_t unetseg_sgd_step(unetseg_sgd *optimizer);
    Function("unetseg_sgd_step", _Status, [SGDHandle]),
    # void unetseg_sgd_free(unetseg_sgd *optimizer);
    Function("unetseg_sgd_free", None, [SGDHandle]),
    # unetseg_one_cycle_params unetseg_one_cycle_default_params(void);
    Function("unetseg_one_cycle_default_params", OneCycleParams, []),
    # int32_t unetseg_one_cycle_create(unetseg_sgd *optimizer, unetseg_one_cycle_params const *params,
    #                                  unetseg_one_cycle **out_scheduler);
    Function("unetseg_one_cycle_create", _Status, [SGDHandle, POINTER(OneCycleParams), POINTER(OneCycleHandle)]),
    # int32_t unetseg_one_cycle_step(unetseg_one_cycle *scheduler);
    Function("unetseg_one_cycle_step", _Status, [OneCycleHandle]),
    # int32_t unetseg_one_cycle_get_lr(unetseg_one_cycle const *scheduler, double *out_lr);
    Function("unetseg_one_cycle_get_lr", _Status, [OneCycleHandle, POINTER(c_double)]),
    # int32_t unetseg_one_cycle_get_momentum(unetseg_one_cycle const *scheduler, double *out_momentum);
    Function("unetseg_one_cycle_get_momentum", _Status, [OneCycleHandle, POINTER(c_double)]),
    # void unetseg_one_cycle_free(unetseg_one_cycle *scheduler);
    Function("unetseg_one_cycle_free", None, [OneCycleHandle]),

    Section("Datasets: kaggle_3m folders as (image, mask) items"),
    # unetseg_dataset_params unetseg_dataset_default_params(void);
    Function("unetseg_dataset_default_params", DatasetParams, []),
    # int32_t unetseg_dataset_open(char const *root, unetseg_dataset_params const *params,
    #                              unetseg_dataset **out_dataset);
    Function("unetseg_dataset_open", _Status, [c_char_p, POINTER(DatasetParams), POINTER(DatasetHandle)]),
    # void unetseg_dataset_free(unetseg_dataset *dataset);
    Function("unetseg_dataset_free", None, [DatasetHandle]),
    # int32_t unetseg_dataset_length(unetseg_dataset const *dataset, int64_t *out_length);
    Function("unetseg_dataset_length", _Status, [DatasetHandle, POINTER(c_int64)]),
    # int32_t unetseg_dataset_image_size(unetseg_dataset const *dataset, int64_t *out_height, int64_t *out_width);
    Function("unetseg_dataset_image_size", _Status, [DatasetHandle, POINTER(c_int64), POINTER(c_int64)]),
    # int32_t unetseg_dataset_get_item(unetseg_dataset const *dataset, int64_t index, int64_t epoch,
    #                                  unetseg_tensor **out_image, unetseg_tensor **out_mask);
    Function("unetseg_dataset_get_item", _Status, [DatasetHandle, c_int64, c_int64, _TensorOut, _TensorOut]),
    # int32_t unetseg_dataset_sampled_slice(unetseg_dataset const *dataset, int64_t index, int64_t epoch,
    #                                       int64_t *out_slice);
    Function("unetseg_dataset_sampled_slice", _Status, [DatasetHandle, c_int64, c_int64, POINTER(c_int64)]),
    # int32_t unetseg_dataset_slice_info(unetseg_dataset const *dataset, int64_t slice, char *out_patient,
    #                                    size_t capacity, int32_t *out_number, int64_t *out_lesion_pixels);
    Function("unetseg_dataset_slice_info", _Status,
             [DatasetHandle, c_int64, c_char_p, c_size_t, POINTER(c_int32), POINTER(c_int64)]),

    Section("Augmentation: the post's resize, rotation and flip, fixed or random"),
    # int32_t unetseg_augmentation_resize(unetseg_tensor const *image, unetseg_tensor const *mask, float scale,
    #                                     unetseg_tensor **out_image, unetseg_tensor **out_mask);
    Function("unetseg_augmentation_resize", _Status, [TensorHandle, TensorHandle, c_float, _TensorOut, _TensorOut]),
    # int32_t unetseg_augmentation_rotate(unetseg_tensor const *image, unetseg_tensor const *mask, float degrees,
    #                                     unetseg_tensor **out_image, unetseg_tensor **out_mask);
    Function("unetseg_augmentation_rotate", _Status, [TensorHandle, TensorHandle, c_float, _TensorOut, _TensorOut]),
    # int32_t unetseg_augmentation_hflip(unetseg_tensor const *image, unetseg_tensor const *mask,
    #                                    unetseg_tensor **out_image, unetseg_tensor **out_mask);
    Function("unetseg_augmentation_hflip", _Status, [TensorHandle, TensorHandle, _TensorOut, _TensorOut]),
    # int32_t unetseg_augmentation_random_resize(unetseg_tensor const *image, unetseg_tensor const *mask,
    #                                            float scale, unetseg_tensor **out_image,
    #                                            unetseg_tensor **out_mask);
    Function("unetseg_augmentation_random_resize", _Status,
             [TensorHandle, TensorHandle, c_float, _TensorOut, _TensorOut]),
    # int32_t unetseg_augmentation_random_rotate(unetseg_tensor const *image, unetseg_tensor const *mask,
    #                                            float angle, unetseg_tensor **out_image,
    #                                            unetseg_tensor **out_mask);
    Function("unetseg_augmentation_random_rotate", _Status,
             [TensorHandle, TensorHandle, c_float, _TensorOut, _TensorOut]),
    # int32_t unetseg_augmentation_random_flip(unetseg_tensor const *image, unetseg_tensor const *mask,
    #                                          float flip, unetseg_tensor **out_image, unetseg_tensor **out_mask);
    Function("unetseg_augmentation_random_flip", _Status,
             [TensorHandle, TensorHandle, c_float, _TensorOut, _TensorOut]),

    Section("Data loaders: batches, epoch after epoch"),
    # unetseg_loader_params unetseg_loader_default_params(void);
    Function("unetseg_loader_default_params", LoaderParams, []),
    # int32_t unetseg_loader_create(unetseg_dataset *dataset, unetseg_loader_params const *params,
    #                               unetseg_loader **out_loader);
    Function("unetseg_loader_create", _Status, [DatasetHandle, POINTER(LoaderParams), POINTER(LoaderHandle)]),
    # void unetseg_loader_free(unetseg_loader *loader);
    Function("unetseg_loader_free", None, [LoaderHandle]),
    # int32_t unetseg_loader_length(unetseg_loader const *loader, int64_t *out_length);
    Function("unetseg_loader_length", _Status, [LoaderHandle, POINTER(c_int64)]),
    # int32_t unetseg_loader_next(unetseg_loader *loader, unetseg_tensor **out_images, unetseg_tensor **out_masks);
    Function("unetseg_loader_next", _Status, [LoaderHandle, _TensorOut, _TensorOut]),
    # int32_t unetseg_loader_reset(unetseg_loader *loader, int64_t epoch);
    Function("unetseg_loader_reset", _Status, [LoaderHandle, c_int64]),
    # int32_t unetseg_loader_epoch(unetseg_loader const *loader, int64_t *out_epoch);
    Function("unetseg_loader_epoch", _Status, [LoaderHandle, POINTER(c_int64)]),

    Section("Patient split into training and validation folders"),
    # unetseg_split_params unetseg_split_default_params(void);
    Function("unetseg_split_default_params", SplitParams, []),
    # int32_t unetseg_split_patients(char const *root, char const *train_dir, char const *valid_dir,
    #                                unetseg_split_params const *params, int32_t *out_n_train,
    #                                int32_t *out_n_valid);
    Function("unetseg_split_patients", _Status,
             [c_char_p, c_char_p, c_char_p, POINTER(SplitParams), POINTER(c_int32), POINTER(c_int32)]),

    Section("Synthetic LGG-like dataset"),
    # unetseg_synthetic_params unetseg_synthetic_default_params(void);
    Function("unetseg_synthetic_default_params", SyntheticParams, []),
    # int32_t unetseg_synthetic_write(char const *root, unetseg_synthetic_params const *params,
    #                                 unetseg_progress_callback progress, void *user_data, int64_t *out_slices);
    Function("unetseg_synthetic_write", _Status,
             [c_char_p, POINTER(SyntheticParams), ProgressCallback, c_void_p, POINTER(c_int64)]),

    Section("High level: a whole training run"),
    # unetseg_train_params unetseg_train_default_params(void);
    Function("unetseg_train_default_params", TrainParams, []),
    # int32_t unetseg_train(unetseg_train_params const *params, unetseg_batch_callback on_batch,
    #                       unetseg_epoch_callback on_epoch, void *user_data, unetseg_epoch_metrics *out_last_epoch,
    #                       unetseg_model **out_model);
    Function("unetseg_train", _Status,
             [POINTER(TrainParams), BatchCallback, EpochCallback, c_void_p, POINTER(EpochMetrics), _ModelOut]),

    Section("High level: evaluation (Dice per volume and slice, metrics.json, pictures)"),
    # unetseg_evaluate_params unetseg_evaluate_default_params(void);
    Function("unetseg_evaluate_default_params", EvaluateParams, []),
    # int32_t unetseg_evaluate(unetseg_model *model, char const *data_dir, unetseg_evaluate_params const *params,
    #                          unetseg_progress_callback progress, void *user_data,
    #                          unetseg_evaluation_metrics *out_metrics, unetseg_evaluation **out_result);
    Function("unetseg_evaluate", _Status,
             [ModelHandle, c_char_p, POINTER(EvaluateParams), ProgressCallback, c_void_p,
              POINTER(EvaluationMetrics), POINTER(EvaluationHandle)]),
    # void unetseg_evaluation_free(unetseg_evaluation *evaluation);
    Function("unetseg_evaluation_free", None, [EvaluationHandle]),
    # int32_t unetseg_evaluation_volume_count(unetseg_evaluation const *evaluation, int32_t *out_count);
    Function("unetseg_evaluation_volume_count", _Status, [EvaluationHandle, POINTER(c_int32)]),
    # int32_t unetseg_evaluation_volume_dice(unetseg_evaluation const *evaluation, int32_t index,
    #                                        double *out_dice);
    Function("unetseg_evaluation_volume_dice", _Status, [EvaluationHandle, c_int32, POINTER(c_double)]),
    # int32_t unetseg_evaluation_patient(unetseg_evaluation const *evaluation, int32_t index, char *out_patient,
    #                                    size_t capacity);
    Function("unetseg_evaluation_patient", _Status, [EvaluationHandle, c_int32, c_char_p, c_size_t]),
    # int32_t unetseg_evaluation_volume_scores(unetseg_evaluation const *evaluation, int32_t index,
    #                                          unetseg_volume_scores *out_scores);
    Function("unetseg_evaluation_volume_scores", _Status, [EvaluationHandle, c_int32, POINTER(VolumeScores)]),

    Section("High level: segmenting a folder"),
    # int32_t unetseg_predict_folder(unetseg_model *model, char const *input, char const *out_dir,
    #                                unetseg_progress_callback progress, void *user_data, int64_t *out_written);
    Function("unetseg_predict_folder", _Status,
             [ModelHandle, c_char_p, c_char_p, ProgressCallback, c_void_p, POINTER(c_int64)]),
]


def _raise_on_failure(status: int, function: Any, arguments: Tuple[Any, ...]) -> int:
    """``errcheck`` of every status-returning function: raises the status's exception with the message
    of ``unetseg_last_error()`` (read on the calling thread, where the library keeps it)."""
    if status != 0:
        library = function._unetseg_library
        message = library.unetseg_last_error().decode("utf-8", "replace")
        name = library.unetseg_status_string(status).decode("utf-8", "replace")
        raise error_for_status(status, message or name, name)
    return status


def declare(library: ctypes.CDLL) -> None:
    """Sets the argument and result types of every function of :data:`DECLARATIONS` on ``library``; a
    function returning a status gets the errcheck."""
    for declaration in DECLARATIONS:
        if isinstance(declaration, Section):
            continue
        function = getattr(library, declaration.name)
        function.argtypes = list(declaration.arguments)
        if declaration.result is _Status:
            function.restype = c_int32
            function.errcheck = _raise_on_failure
            function._unetseg_library = library
        else:
            function.restype = declaration.result
