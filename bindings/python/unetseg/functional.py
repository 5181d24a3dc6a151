"""Layer-level ops with autograd, as ``torch.nn.functional`` (also reachable as ``unetseg.nn.functional``).

Each is one library call running the engine's forward and recording its backward; a wrong shape or
argument raises :class:`~unetseg.errors.InvalidArgument` naming it, as PyTorch does.
"""

from __future__ import annotations

import numbers
from ctypes import byref
from typing import Any, Optional

from ._lib import lib
from ._types import TensorHandle
from .errors import InvalidArgument
from .tensor import Tensor, relu, sigmoid


def _tensor(value: Any, argument: str, op: str) -> Tensor:
    if not isinstance(value, Tensor):
        raise InvalidArgument(f"{op}: {argument} must be a Tensor, got {type(value).__name__}")
    return value


def _integer(value: Any, argument: str, op: str) -> int:
    """An int argument; torch's pairs ``(k, k)`` are accepted when both sizes are equal."""
    if isinstance(value, (tuple, list)) and len(value) == 2 and value[0] == value[1]:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidArgument(f"{op}: {argument} must be an integer (or a pair of equal ones), got {value!r}")
    if not -2**31 <= int(value) < 2**31:
        raise InvalidArgument(f"{op}: {argument} is out of range, got {value}")
    return int(value)


def _convolution(function: Any, op: str, input: Any, weight: Any, bias: Optional[Any], stride: Any,
                 padding: Any) -> Tensor:
    x, w = _tensor(input, "input", op), _tensor(weight, "weight", op)
    b = None if bias is None else _tensor(bias, "bias", op)
    out = TensorHandle()
    function(x.handle, w.handle, None if b is None else b.handle, _integer(stride, "stride", op),
             _integer(padding, "padding", op), byref(out))
    return Tensor._adopt(out)


def conv2d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: Any = 1,
           padding: Any = 0) -> Tensor:
    """``torch.nn.functional.conv2d`` without dilation or groups: input ``[N, C, H, W]``, weight
    ``[O, C, kh, kw]``, bias ``[O]`` or None."""
    return _convolution(lib.unetseg_tensor_conv2d, "conv2d", input, weight, bias, stride, padding)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: Any = 1,
                     padding: Any = 0) -> Tensor:
    """``torch.nn.functional.conv_transpose2d`` without output padding, dilation or groups: input
    ``[N, Cin, H, W]``, weight ``[Cin, Cout, kh, kw]``, bias ``[Cout]`` or None."""
    return _convolution(lib.unetseg_tensor_conv_transpose2d, "conv_transpose2d", input, weight, bias, stride,
                        padding)


def max_pool2d(input: Tensor, kernel_size: Any, stride: Optional[Any] = None) -> Tensor:
    """``torch.nn.functional.max_pool2d`` without padding or dilation (floor mode); ``stride`` defaults to
    ``kernel_size``."""
    op = "max_pool2d"
    x = _tensor(input, "input", op)
    kernel = _integer(kernel_size, "kernel_size", op)
    step = 0 if stride is None else _integer(stride, "stride", op)  # 0: the library's "kernel_size"
    if stride is not None and step < 1:
        raise InvalidArgument(f"{op}: stride must be at least 1, got {step}")
    out = TensorHandle()
    lib.unetseg_tensor_max_pool2d(x.handle, kernel, step, byref(out))
    return Tensor._adopt(out)


def dropout(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """``torch.nn.functional.dropout``: in training, zeroes each element with probability ``p`` (mask from
    the library's generator, seeded by :func:`unetseg.manual_seed`) and scales the rest by ``1/(1-p)``."""
    x = _tensor(input, "input", "dropout")
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise InvalidArgument(f"dropout: p must be a number in [0, 1], got {p!r}")
    out = TensorHandle()
    lib.unetseg_tensor_dropout(x.handle, float(p), bool(training), byref(out))
    return Tensor._adopt(out)


__all__ = ["conv2d", "conv_transpose2d", "max_pool2d", "relu", "dropout", "sigmoid"]
