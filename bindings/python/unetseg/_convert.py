"""Conversions between Python values and the arguments and results of the library's C functions, shared by
the modules of the package: paths, shapes, float32 arrays and values, string buffers and augmentation
settings.
"""

from __future__ import annotations

import ctypes
import os
from ctypes import c_int64
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np

from . import _arguments as arguments
from ._lib import lib
from ._types import AugmentationParams
from .errors import InvalidArgument

#: A file or folder path: a ``str`` or an ``os.PathLike`` such as :class:`pathlib.Path`.
PathLike = Union[str, "os.PathLike[str]"]

#: The size of the buffers that receive a name from the library (a patient id, the Kaggle ones 21 bytes, or
#: a parameter name of the post's model, at most ~50 bytes); the library says when one is too small.
NAME_CAPACITY = 256


def path_bytes(path: "os.PathLike[str] | str") -> bytes:
    """A file path as the bytes the library takes (file-system encoding)."""
    return os.fsencode(os.fspath(path))


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


def augmentation_params(augmentation: Optional[Sequence[float]]) -> AugmentationParams:
    """The post's ``(scale, angle, flip)`` as ``unetseg_augmentation_params``; None turns augmentation off."""
    params = lib.unetseg_dataset_default_params().augmentation
    if augmentation is None:
        params.enabled = False
    else:
        values = list(augmentation)
        if len(values) != 3:
            raise InvalidArgument(f"augmentation must be (scale, angle, flip), got {len(values)} values")
        params.enabled = True
        arguments.set_fields(params, scale=values[0], angle=values[1], flip=values[2])
    return params
