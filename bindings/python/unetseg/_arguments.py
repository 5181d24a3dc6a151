"""Checks of the arguments the bindings hand to ctypes, so that a wrong one raises an exception naming it.

ctypes accepts much that C would misread: an int too large for an ``int32_t`` field is silently cut to its
low bits (``2**40`` becomes 0), a wrong object gives "argument 1: wrong type", numpy turns complex numbers
into their real part. These helpers refuse such values first: a value of the wrong type raises
``TypeError``, a value out of the C type's range :class:`~unetseg.errors.InvalidArgument`; both messages
name the argument.
"""

from __future__ import annotations

import ctypes
import numbers
import os
from typing import Any, Sequence, Type, TypeVar

import numpy as np

from .errors import InvalidArgument

T = TypeVar("T")

_INTEGER_TYPES = (ctypes.c_int8, ctypes.c_int16, ctypes.c_int32, ctypes.c_int64,
                  ctypes.c_uint8, ctypes.c_uint16, ctypes.c_uint32, ctypes.c_uint64)
_FLOAT_TYPES = (ctypes.c_float, ctypes.c_double)


def _describe(value: Any) -> str:
    return type(value).__name__


def integer(name: str, value: Any, ctype: Any = ctypes.c_int64) -> int:
    """``value`` as an int that fits ``ctype`` (TypeError for a non-integer, InvalidArgument out of range)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {_describe(value)} {value!r}")
    bits = 8 * ctypes.sizeof(ctype)
    signed = ctype(-1).value == -1
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    number = int(value)
    if not low <= number <= high:
        raise InvalidArgument(f"{name} is {number}, outside the range {low}...{high} of the library's argument")
    return number


def set_fields(params: ctypes.Structure, **values: Any) -> ctypes.Structure:
    """Writes every value that is not None into the field of ``params`` of the same name, checked against
    the field's C type first (an integer field takes an integer in its range, a float field a real number,
    a bool field a bool or integer). Returns ``params``."""
    types = dict((field[0], field[1]) for field in type(params)._fields_)
    for name, value in values.items():
        if value is None:
            continue
        ctype = types[name]
        if ctype is ctypes.c_bool:
            if not isinstance(value, (bool, numbers.Integral, np.bool_)):
                raise TypeError(f"{name} must be a bool, got {_describe(value)} {value!r}")
            value = bool(value)
        elif ctype in _INTEGER_TYPES:
            value = integer(name, value, ctype)
        elif ctype in _FLOAT_TYPES:
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"{name} must be a real number, got {_describe(value)} {value!r}")
            value = float(value)
        setattr(params, name, value)
    return params


def choice(name: str, value: Any, choices: Sequence[str]) -> int:
    """The position of ``value`` in ``choices``, the number the library takes for that name; InvalidArgument
    naming the argument and the choices otherwise."""
    if not isinstance(value, str) or value not in choices:
        raise InvalidArgument(f"{name} must be one of {', '.join(repr(c) for c in choices)}, got {value!r}")
    return choices.index(value)


def instance(name: str, value: Any, cls: Type[T]) -> T:
    """``value`` when it is a ``cls``, else a TypeError naming the argument and what it got."""
    if not isinstance(value, cls):
        raise TypeError(f"{name} must be a {cls.__name__}, got {_describe(value)}")
    return value


def path(name: str, value: Any) -> bytes:
    """A file path (str, bytes or os.PathLike) as the bytes the library takes (file-system encoding).
    Paths that are not valid UTF-8 are passed on: the library refuses them, naming the argument."""
    try:
        return os.fsencode(os.fspath(value))
    except TypeError:
        raise TypeError(f"{name} must be a path (str, bytes or os.PathLike), got {_describe(value)}") from None


def float32_array(name: str, data: Any) -> np.ndarray:
    """``data`` as a C-contiguous float32 array (copied when it is not one already; a non-contiguous or
    float64 array is converted as ``torch.tensor`` would). Anything that is not real numbers (strings,
    objects, complex values, ragged lists) raises a TypeError naming the argument."""
    try:
        source = data if isinstance(data, np.ndarray) else np.asarray(data)
    except ValueError as error:  # ragged nested lists
        raise InvalidArgument(f"{name} is not a rectangular array: {error}") from None
    kind = getattr(getattr(source, "dtype", None), "kind", "O")
    if kind not in "biuf":
        what = {"c": "complex numbers", "U": "strings", "S": "bytes", "O": "objects"}.get(kind, f"dtype {source.dtype}")
        raise TypeError(f"{name} must hold real numbers, got an array of {what}")
    return np.asarray(source, dtype=np.float32, order="C")
