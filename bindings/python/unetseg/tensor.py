"""``Tensor``: a float32 tensor of libunetseg (contiguous, row-major; images NCHW) with autograd.

A :class:`Tensor` owns one ``unetseg_tensor`` handle, released by :meth:`Tensor.close`, a ``with`` block
or garbage collection. Every operation is one library call; the result is a new :class:`Tensor` that
records the autograd graph inside the library, as torch's define-by-run tensors do.
"""

from __future__ import annotations

import numbers
from ctypes import byref, c_bool, c_float, c_int32, c_int64
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np

from . import _arguments as arguments
from ._convert import float32_array, shape_array
from ._handle import OwnedHandle
from ._lib import lib
from ._types import MAX_NDIM, TensorHandle
from .errors import InvalidArgument

Scalar = Union[int, float, np.number]
ShapeLike = Union[int, Sequence[int]]


def _sizes(shape: Tuple[ShapeLike, ...]) -> Sequence[int]:
    """Sizes given torch-style, either as arguments (``view(2, 3)``) or as one sequence (``view((2, 3))``)."""
    if len(shape) == 1 and not isinstance(shape[0], numbers.Integral):
        return shape[0]  # type: ignore[return-value]
    return shape  # type: ignore[return-value]


def _shape_argument(shape: Tuple[ShapeLike, ...]) -> Tuple[Any, int]:
    """A torch-style shape as the C ``int64_t`` array and its length, each size checked to be an integer
    that fits (a size of 2**70 must not reach the library as its low 64 bits)."""
    sizes = _sizes(shape)
    if isinstance(sizes, numbers.Integral) or not hasattr(sizes, "__iter__"):
        raise TypeError(f"shape must be integers or one sequence of integers, got {type(sizes).__name__}")
    return shape_array([arguments.integer("shape", size) for size in sizes])


class Tensor(OwnedHandle):
    """A float32 tensor held by libunetseg: contiguous, row-major, images NCHW, with torch-like autograd.

    Build one from anything numpy can turn into an array (``Tensor(np_array)``, :func:`tensor`,
    :func:`zeros`); get the values back with :meth:`numpy` or ``np.asarray(t)``. ``+ - * /`` work with
    tensors of the same shape and with Python or numpy scalars on either side, ``t > 0.5`` gives a 0/1
    tensor, and :meth:`backward` on a one-element result fills :attr:`grad` of the leaves that require it.
    """

    __slots__ = ()
    _free = lib.unetseg_tensor_free

    # numpy defers binary operators to Tensor's reflected methods (np_array * t calls t.__rmul__).
    __array_ufunc__ = None

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        """Copies ``data`` (any array-like; converted to float32, C order) into a new library tensor."""
        array = arguments.float32_array("data", data)
        shape, ndim = shape_array(array.shape)
        handle = TensorHandle()
        lib.unetseg_tensor_create(array, shape, ndim, byref(handle))
        super().__init__(handle)
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _adopt(cls, handle: TensorHandle) -> "Tensor":
        """Wraps a handle the library just returned; the new object owns it."""
        tensor = cls.__new__(cls)
        OwnedHandle.__init__(tensor, handle)
        return tensor

    # ---- shape and data ------------------------------------------------------------------------------

    @property
    def ndim(self) -> int:
        """Number of dimensions (0 for a scalar)."""
        ndim = c_int32()
        lib.unetseg_tensor_ndim(self.handle, byref(ndim))
        return ndim.value

    def dim(self) -> int:
        """Number of dimensions, as torch's ``dim()``."""
        return self.ndim

    @property
    def shape(self) -> Tuple[int, ...]:
        """Sizes of the dimensions, outermost first (NCHW for images)."""
        sizes = (c_int64 * MAX_NDIM)()
        lib.unetseg_tensor_shape(self.handle, sizes, MAX_NDIM)
        return tuple(sizes[: self.ndim])

    def size(self, dim: Optional[int] = None) -> Union[Tuple[int, ...], int]:
        """The shape, or the size of dimension ``dim``, as torch's ``size()``."""
        shape = self.shape
        return shape if dim is None else shape[dim]

    def numel(self) -> int:
        """Number of elements."""
        count = c_int64()
        lib.unetseg_tensor_numel(self.handle, byref(count))
        return count.value

    @property
    def dtype(self) -> type:
        """Always ``numpy.float32``."""
        return np.float32

    def __len__(self) -> int:
        shape = self.shape
        if not shape:
            raise TypeError("len() of a 0-d tensor")
        return shape[0]

    def numpy(self) -> np.ndarray:
        """A new float32 numpy array with the tensor's values (the library writes straight into it)."""
        out = np.empty(self.shape, dtype=np.float32)
        lib.unetseg_tensor_copy_to(self.handle, out, out.size)
        return out

    def __array__(self, dtype: Any = None, copy: Optional[bool] = None) -> np.ndarray:
        if copy is False:
            raise ValueError("a Tensor's values live in libunetseg: np.asarray needs a copy")
        values = self.numpy()
        return values if dtype is None else values.astype(dtype, copy=False)

    def __getitem__(self, key: Any) -> "Tensor":
        """Indexing as torch and numpy do it: integers (negative from the end), slices, ``...``, ``None``,
        integer lists or arrays and boolean masks; ``x[i]`` drops the dimension, ``x[i:i+1]`` keeps it, and
        an index that drops every dimension gives a 0-dimensional tensor. The result is a new tensor (a
        copy, unlike torch's views) that records no graph. An index out of range raises ``IndexError``."""
        if isinstance(key, Tensor) or (isinstance(key, tuple) and any(isinstance(k, Tensor) for k in key)):
            raise TypeError("index a Tensor with integers, slices, ..., None, lists or numpy arrays; "
                            "for a tensor index use its .numpy()")
        return Tensor(self.numpy()[key])

    def tolist(self) -> Any:
        """The values as (nested) Python lists, or a float for a 0-dimensional tensor."""
        return self.numpy().tolist()

    def item(self) -> float:
        """The value of a one-element tensor (the post's ``loss$item()``)."""
        value = c_float()
        lib.unetseg_tensor_item(self.handle, byref(value))
        return value.value

    def __float__(self) -> float:
        return self.item()

    def __bool__(self) -> bool:
        return bool(self.item())

    def view(self, *shape: ShapeLike) -> "Tensor":
        """The same elements with another shape (one size may be -1); shares storage, differentiable."""
        return self._reshaped(lib.unetseg_tensor_view, shape)

    def reshape(self, *shape: ShapeLike) -> "Tensor":
        """As :meth:`view` (every tensor is contiguous)."""
        return self._reshaped(lib.unetseg_tensor_reshape, shape)

    def _reshaped(self, function: Any, shape: Tuple[ShapeLike, ...]) -> "Tensor":
        array, ndim = _shape_argument(shape)
        out = TensorHandle()
        function(self.handle, array, ndim, byref(out))
        return Tensor._adopt(out)

    # ---- ops -----------------------------------------------------------------------------------------

    def _unary(self, function: Any) -> "Tensor":
        out = TensorHandle()
        function(self.handle, byref(out))
        return Tensor._adopt(out)

    def sum(self) -> "Tensor":
        """The sum of all elements, a 0-dimensional tensor (differentiable)."""
        return self._unary(lib.unetseg_tensor_sum)

    def mean(self) -> "Tensor":
        """The mean of all elements, a 0-dimensional tensor (differentiable)."""
        return self._unary(lib.unetseg_tensor_mean)

    def sigmoid(self) -> "Tensor":
        """``1 / (1 + exp(-x))`` elementwise (differentiable)."""
        return self._unary(lib.unetseg_tensor_sigmoid)

    def relu(self) -> "Tensor":
        """``max(x, 0)`` elementwise (differentiable), as torch's ``relu()``."""
        return self._unary(lib.unetseg_tensor_relu)

    def copy_(self, values: Any) -> "Tensor":
        """Overwrites the values with ``values`` (a Tensor or an array of the same shape), outside autograd
        (as torch's ``copy_`` under ``no_grad``); returns the tensor."""
        array = float32_array(values.numpy() if isinstance(values, Tensor) else values)
        if array.shape != self.shape:
            raise InvalidArgument(f"copy_: values must have shape {list(self.shape)}, got {list(array.shape)}")
        lib.unetseg_tensor_copy_from(self.handle, array, array.size)
        return self

    def _binary(self, other: Any, op: str, reflected: bool = False) -> "Tensor":
        out = TensorHandle()
        if isinstance(other, Tensor):
            a, b = (other, self) if reflected else (self, other)
            getattr(lib, f"unetseg_tensor_{op}")(a.handle, b.handle, byref(out))
        elif isinstance(other, (numbers.Real, np.number)) and np.ndim(other) == 0:
            if reflected:
                getattr(lib, f"unetseg_tensor_r{op}_scalar")(float(other), self.handle, byref(out))
            else:
                getattr(lib, f"unetseg_tensor_{op}_scalar")(self.handle, float(other), byref(out))
        elif isinstance(other, (np.ndarray, list, tuple)):
            with Tensor(other) as converted:
                return self._binary(converted, op, reflected)
        else:
            return NotImplemented
        return Tensor._adopt(out)

    def __add__(self, other: Any) -> "Tensor":
        return self._binary(other, "add")

    def __radd__(self, other: Any) -> "Tensor":
        return self._binary(other, "add", reflected=True)

    def __sub__(self, other: Any) -> "Tensor":
        return self._binary(other, "sub")

    def __rsub__(self, other: Any) -> "Tensor":
        return self._binary(other, "sub", reflected=True)

    def __mul__(self, other: Any) -> "Tensor":
        return self._binary(other, "mul")

    def __rmul__(self, other: Any) -> "Tensor":
        return self._binary(other, "mul", reflected=True)

    def __truediv__(self, other: Any) -> "Tensor":
        return self._binary(other, "div")

    def __rtruediv__(self, other: Any) -> "Tensor":
        return self._binary(other, "div", reflected=True)

    def __neg__(self) -> "Tensor":
        return self._binary(-1.0, "mul")

    def __gt__(self, other: Any) -> "Tensor":
        """1 where an element is greater than the scalar ``other``, else 0 (not differentiable)."""
        if not isinstance(other, (numbers.Real, np.number)):
            return NotImplemented
        out = TensorHandle()
        lib.unetseg_tensor_gt_scalar(self.handle, float(other), byref(out))
        return Tensor._adopt(out)

    # ---- autograd ------------------------------------------------------------------------------------

    def backward(self) -> None:
        """Back-propagates from this one-element tensor into the :attr:`grad` of every leaf requiring it,
        then frees the graph."""
        lib.unetseg_tensor_backward(self.handle)

    @property
    def grad(self) -> Optional["Tensor"]:
        """The accumulated gradient (sharing the library's storage), or None before any backward."""
        out = TensorHandle()
        lib.unetseg_tensor_grad(self.handle, byref(out))
        return Tensor._adopt(out) if out.value else None

    @grad.setter
    def grad(self, value: None) -> None:
        if value is not None:
            raise InvalidArgument("only None can be assigned to Tensor.grad (it drops the gradient)")
        lib.unetseg_tensor_zero_grad(self.handle)

    @property
    def requires_grad(self) -> bool:
        """Whether gradients flow to this tensor; settable on leaves (tensors not made by an op)."""
        flag = c_bool()
        lib.unetseg_tensor_requires_grad(self.handle, byref(flag))
        return flag.value

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        lib.unetseg_tensor_set_requires_grad(self.handle, bool(flag))

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        """Sets :attr:`requires_grad` and returns the tensor, as torch's ``requires_grad_()``."""
        self.requires_grad = flag
        return self

    # ---- display -------------------------------------------------------------------------------------

    def __repr__(self) -> str:
        if self._handle is None:
            return "Tensor(<closed>)"
        body = np.array2string(self.numpy(), separator=", ", threshold=50, precision=4, prefix="tensor(")
        suffix = ", requires_grad=True" if self.requires_grad else ""
        return f"tensor({body}{suffix})"


def tensor(data: Any, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a float32 copy of ``data`` (as ``torch.tensor``)."""
    return Tensor(data, requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A new tensor holding a float32 copy of ``array`` (the library keeps its own copy of the values)."""
    return Tensor(array)


def zeros(*shape: ShapeLike, requires_grad: bool = False) -> Tensor:
    """A new tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    array, ndim = _shape_argument(shape)
    out = TensorHandle()
    lib.unetseg_tensor_zeros(array, ndim, byref(out))
    result = Tensor._adopt(out)
    if requires_grad:
        result.requires_grad = True
    return result


def uniform(*shape: ShapeLike, low: float = 0.0, high: float = 1.0, requires_grad: bool = False) -> Tensor:
    """A new tensor of values drawn uniformly from ``[low, high)`` by the library's generator (seeded by
    :func:`unetseg.manual_seed`), as ``torch.empty(shape).uniform_(low, high)``."""
    array, ndim = shape_array(_sizes(shape))
    out = TensorHandle()
    lib.unetseg_tensor_uniform(array, ndim, float(low), float(high), byref(out))
    result = Tensor._adopt(out)
    if requires_grad:
        result.requires_grad = True
    return result


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Joins ``tensors`` along ``dim`` (negative counts from the end), as ``torch.cat``; differentiable."""
    given = list(tensors)
    if not given or not all(isinstance(t, Tensor) for t in given):
        raise InvalidArgument("cat: tensors must be a non-empty sequence of Tensors, got "
                              f"{[type(t).__name__ for t in given]}")
    if not isinstance(dim, numbers.Integral):
        raise InvalidArgument(f"cat: dim must be an integer, got {type(dim).__name__}")
    rank = given[0].ndim
    if -rank <= dim < 0:
        dim += rank
    handles = (TensorHandle * len(given))(*(t.handle for t in given))
    out = TensorHandle()
    lib.unetseg_tensor_cat(handles, len(given), int(dim), byref(out))
    return Tensor._adopt(out)


def relu(x: Tensor) -> Tensor:
    """``max(x, 0)`` elementwise (as ``torch.relu``)."""
    return x.relu()


def as_tensor(data: Any, name: str = "data") -> Tuple[Tensor, bool]:
    """``data`` as a tensor and whether it was converted (a temporary the caller should close); errors
    about a value that is no array of numbers name the argument ``name``."""
    if isinstance(data, Tensor):
        return data, False
    return Tensor(arguments.float32_array(name, data)), True


def sigmoid(x: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))`` elementwise (as ``torch.sigmoid``)."""
    return x.sigmoid()


__all__ = ["Tensor", "tensor", "from_numpy", "zeros", "uniform", "cat", "relu", "sigmoid", "as_tensor"]
