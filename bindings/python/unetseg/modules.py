"""Models defined in Python, in PyTorch's shape: :class:`Module`, :class:`Parameter` and the layers the
post's U-Net is made of (:class:`Conv2d`, :class:`ConvTranspose2d`, :class:`ReLU`, :class:`Dropout`,
:class:`MaxPool2d`, :class:`Sequential`, :class:`ModuleList`). Re-exported by :mod:`unetseg.nn`.

Submodules and parameters are registered by assigning them to attributes, as in torch; their names in
:meth:`Module.named_parameters` and :meth:`Module.state_dict` are torch's dotted ones
(``down_path.0.conv_block.conv_block.0.weight``). Every layer runs the library's op with autograd, so
``loss.backward()`` fills ``.grad`` of every parameter and :class:`unetseg.SGD` trains them.
"""

from __future__ import annotations

import numbers
from collections import OrderedDict
from ctypes import byref
from typing import Any, Dict, Iterable, Iterator, List, Mapping, NamedTuple, Optional, Tuple

import numpy as np

from . import functional as F
from ._convert import float32_array, shape_array
from ._lib import lib
from ._types import TensorHandle
from .errors import InvalidArgument
from .tensor import Tensor


class Parameter(Tensor):
    """A tensor that a module owns as a weight (torch's ``nn.Parameter``): it requires grad, and assigning
    it to a :class:`Module` attribute registers it. ``Parameter(data)`` copies ``data`` (a Tensor or an
    array; torch would share a tensor's storage).

    The parameters of a built-in :class:`unetseg.UNet` are Parameters too, sharing the model's storage:
    they also carry their ``name``, ``model`` and ``index``.
    """

    __slots__ = ("name", "model", "index")

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        super().__init__(data, requires_grad=requires_grad)
        self.name: Optional[str] = None
        self.model: Any = None
        self.index: Optional[int] = None

    @classmethod
    def _adopt(cls, handle: TensorHandle) -> "Parameter":
        parameter = super()._adopt(handle)
        parameter.name, parameter.model, parameter.index = None, None, None
        return parameter  # type: ignore[return-value]

    @classmethod
    def _of_model(cls, model: Any, index: int, name: str) -> "Parameter":
        """Parameter ``index`` (called ``name``) of the built-in model ``model``, sharing its storage."""
        out = TensorHandle()
        lib.unetseg_model_parameter_tensor(model.handle, index, byref(out))
        parameter = cls._adopt(out)
        parameter.name, parameter.model, parameter.index = name, model, index
        return parameter

    def copy_(self, values: Any) -> "Parameter":
        """Overwrites the values with ``values`` (same shape; optimiser momentum is kept)."""
        array = float32_array(values)
        if array.shape != self.shape:
            label = self.name or "Parameter"
            raise InvalidArgument(f"{label}: expected shape {list(self.shape)}, got {list(array.shape)}")
        lib.unetseg_tensor_copy_from(self.handle, array, array.size)
        return self

    def __repr__(self) -> str:
        if self.name is not None:
            return f"Parameter({self.name!r}, shape={list(self.shape)})"
        return "Parameter containing:\n" + super().__repr__()


def _default_bound(fan_in: int) -> float:
    """torch's default-init bound 1/√fan_in, computed in float32 as the built-in model's layers do (so a
    layer drawn after the same seed holds the built-in model's very values)."""
    return float(np.float32(1) / np.sqrt(np.float32(fan_in)))


def _uniform_parameter(shape: Tuple[int, ...], bound: float) -> Parameter:
    """A Parameter drawn from U(-bound, bound) by the library's generator (torch's default init)."""
    sizes, ndim = shape_array(shape)
    out = TensorHandle()
    lib.unetseg_tensor_uniform(sizes, ndim, -bound, bound, byref(out))
    parameter = Parameter._adopt(out)
    parameter.requires_grad = True
    return parameter


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` did not match, as torch reports it."""

    missing_keys: List[str]
    unexpected_keys: List[str]


def check_state_dict(own: Mapping[str, Tuple[int, ...]], state_dict: Mapping[str, Any],
                     strict: bool) -> Tuple[Dict[str, np.ndarray], IncompatibleKeys]:
    """The arrays of ``state_dict`` for the names of ``own`` (name → shape), checked, and the keys that did
    not match. With ``strict``, missing or unexpected keys raise; a wrong shape always does."""
    missing = [name for name in own if name not in state_dict]
    unexpected = [name for name in state_dict if name not in own]
    if strict and (missing or unexpected):
        raise InvalidArgument(f"state_dict does not fit the model: missing {missing}, unexpected {unexpected}")
    arrays: Dict[str, np.ndarray] = {}
    for name, value in state_dict.items():
        if name in own:
            array = float32_array(value)
            if array.shape != tuple(own[name]):
                raise InvalidArgument(f"{name}: expected shape {list(own[name])}, got {list(array.shape)}")
            arrays[name] = array
    return arrays, IncompatibleKeys(missing, unexpected)


class Module:
    """Base class of models defined in Python (torch's ``nn.Module``): define ``__init__`` (calling
    ``super().__init__()`` first) and ``forward``; call the module to run ``forward``."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def _registries(self) -> Tuple["OrderedDict[str, Parameter]", "OrderedDict[str, Module]"]:
        try:
            return self.__dict__["_parameters"], self.__dict__["_modules"]
        except KeyError:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning "
                                 "parameters or submodules") from None

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, (Parameter, Module)):
            parameters, modules = self._registries()
            parameters.pop(name, None)
            modules.pop(name, None)
            (parameters if isinstance(value, Parameter) else modules)[name] = value  # type: ignore[index]
            self.__dict__.pop(name, None)
        else:
            if "_parameters" in self.__dict__:
                self._parameters.pop(name, None)
                self._modules.pop(name, None)
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        registries = self.__dict__
        for registry in ("_parameters", "_modules"):
            if registry in registries and name in registries[registry]:
                return registries[registry][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for registry in ("_parameters", "_modules"):
            if name in self.__dict__.get(registry, {}):
                del self.__dict__[registry][name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, parameter: Optional[Parameter]) -> None:
        """Registers ``parameter`` under ``name`` (None removes it), as assigning it does."""
        if parameter is not None and not isinstance(parameter, Parameter):
            raise InvalidArgument(f"register_parameter: {name} must be a Parameter, got {type(parameter).__name__}")
        if parameter is None:
            self._registries()[0].pop(name, None)
        else:
            setattr(self, name, parameter)

    def add_module(self, name: str, module: "Module") -> None:
        """Registers ``module`` under ``name``, as assigning it does."""
        if not isinstance(module, Module):
            raise InvalidArgument(f"add_module: {name} must be a Module, got {type(module).__name__}")
        setattr(self, name, module)

    # ---- running -------------------------------------------------------------------------------------

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses define it."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """``module(x)``: :meth:`forward`."""
        return self.forward(*args, **kwargs)

    # ---- structure -----------------------------------------------------------------------------------

    def named_children(self) -> Iterator[Tuple[str, "Module"]]:
        """``(name, submodule)`` of the direct submodules, in registration order."""
        return iter(self._registries()[1].items())

    def children(self) -> Iterator["Module"]:
        """The direct submodules."""
        return (module for _, module in self.named_children())

    def named_modules(self, prefix: str = "") -> Iterator[Tuple[str, "Module"]]:
        """``(dotted name, module)`` of this module ("") and every submodule below it, each once."""
        seen: set = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop(0)
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            stack[0:0] = [(f"{name}.{n}" if name else n, c) for n, c in module.named_children()]

    def modules(self) -> Iterator["Module"]:
        """This module and every submodule."""
        return (module for _, module in self.named_modules())

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[Tuple[str, Parameter]]:
        """``(dotted name, parameter)`` in torch's order (a module's own, then its submodules' in
        registration order), each parameter once."""
        seen: set = set()
        modules = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for module_name, module in modules:
            for name, parameter in module._registries()[0].items():
                if id(parameter) not in seen:
                    seen.add(id(parameter))
                    yield (f"{module_name}.{name}" if module_name else name), parameter

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """The parameters, in :meth:`named_parameters` order (what :class:`unetseg.SGD` takes)."""
        return (parameter for _, parameter in self.named_parameters(recurse=recurse))

    # ---- modes and gradients -------------------------------------------------------------------------

    def train(self, mode: bool = True) -> "Module":
        """Training mode (``mode`` True: dropout active) or evaluation mode, for every submodule; returns
        the module."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> "Module":
        """Evaluation mode (dropout is the identity); returns the module."""
        return self.train(False)

    def to(self, *args: Any, **kwargs: Any) -> "Module":
        """Accepts what torch's ``to`` does for the one device and dtype there are (``"cpu"``, float32);
        returns the module unchanged."""
        for value in list(args) + list(kwargs.values()):
            if value not in ("cpu", np.float32, "float32") and str(value) != "cpu":
                raise InvalidArgument(f"to: unetseg runs on the CPU in float32 only, got {value!r}")
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drops the gradients of all parameters (torch's ``zero_grad()``)."""
        for parameter in self.parameters():
            parameter.grad = None

    # ---- state ---------------------------------------------------------------------------------------

    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Every parameter as a new float32 numpy array, keyed by its dotted name."""
        return OrderedDict((name, parameter.numpy()) for name, parameter in self.named_parameters())

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copies arrays (or tensors) into the parameters of the same names; nothing changes on error."""
        parameters = dict(self.named_parameters())
        arrays, result = check_state_dict({n: p.shape for n, p in parameters.items()}, state_dict, strict)
        for name, array in arrays.items():
            parameters[name].copy_(array)
        return result

    def extra_repr(self) -> str:
        """The layer's settings, shown by ``repr``."""
        return ""

    def __repr__(self) -> str:
        children = [f"  ({name}): " + repr(child).replace("\n", "\n  ") for name, child in self.named_children()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        return head + ("\n" + "\n".join(children) + "\n)" if children else ")")


def _size(value: Any, argument: str, layer: str, minimum: int) -> int:
    """A positive layer size (torch's pairs of equal sizes accepted), the error naming ``argument``."""
    if isinstance(value, (tuple, list)) and len(value) == 2 and value[0] == value[1]:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InvalidArgument(f"{layer}: {argument} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class Conv2d(Module):
    """torch's ``nn.Conv2d`` (no dilation or groups), initialised as torch does: weight and bias from
    U(±1/√(in_channels·k·k)) drawn by the library's generator."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 bias: bool = True) -> None:
        super().__init__()
        self.in_channels = _size(in_channels, "in_channels", "Conv2d", 1)
        self.out_channels = _size(out_channels, "out_channels", "Conv2d", 1)
        self.kernel_size = _size(kernel_size, "kernel_size", "Conv2d", 1)
        self.stride = _size(stride, "stride", "Conv2d", 1)
        self.padding = _size(padding, "padding", "Conv2d", 0)
        bound = _default_bound(self.in_channels * self.kernel_size * self.kernel_size)
        self.weight = _uniform_parameter((self.out_channels, self.in_channels, self.kernel_size, self.kernel_size),
                                         bound)
        self.bias = _uniform_parameter((self.out_channels,), bound) if bias else None

    def forward(self, input: Tensor) -> Tensor:
        """Convolves ``input`` ``[N, in_channels, H, W]``."""
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}")


class ConvTranspose2d(Module):
    """torch's ``nn.ConvTranspose2d`` (no output padding, dilation or groups), weight ``[in, out, k, k]``,
    initialised as torch does: U(±1/√(out_channels·k·k)) (torch takes the fan-in from the weight's second
    dimension)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 bias: bool = True) -> None:
        super().__init__()
        self.in_channels = _size(in_channels, "in_channels", "ConvTranspose2d", 1)
        self.out_channels = _size(out_channels, "out_channels", "ConvTranspose2d", 1)
        self.kernel_size = _size(kernel_size, "kernel_size", "ConvTranspose2d", 1)
        self.stride = _size(stride, "stride", "ConvTranspose2d", 1)
        self.padding = _size(padding, "padding", "ConvTranspose2d", 0)
        bound = _default_bound(self.out_channels * self.kernel_size * self.kernel_size)
        self.weight = _uniform_parameter((self.in_channels, self.out_channels, self.kernel_size, self.kernel_size),
                                         bound)
        self.bias = _uniform_parameter((self.out_channels,), bound) if bias else None

    def forward(self, input: Tensor) -> Tensor:
        """Upsamples ``input`` ``[N, in_channels, H, W]``."""
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"


class ReLU(Module):
    """torch's ``nn.ReLU``."""

    def forward(self, input: Tensor) -> Tensor:
        """``max(input, 0)``."""
        return F.relu(input)


class Dropout(Module):
    """torch's ``nn.Dropout``: active in training mode only, masks from the library's generator."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:
            raise InvalidArgument(f"Dropout: p must be in [0, 1], got {p!r}")
        self.p = float(p)

    def forward(self, input: Tensor) -> Tensor:
        """Drops elements of ``input`` in training mode; the identity in evaluation mode."""
        return F.dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class MaxPool2d(Module):
    """torch's ``nn.MaxPool2d`` without padding or dilation; ``stride`` defaults to ``kernel_size``."""

    def __init__(self, kernel_size: Any, stride: Optional[Any] = None) -> None:
        super().__init__()
        self.kernel_size = _size(kernel_size, "kernel_size", "MaxPool2d", 1)
        self.stride = self.kernel_size if stride is None else _size(stride, "stride", "MaxPool2d", 1)

    def forward(self, input: Tensor) -> Tensor:
        """The maximum of every window."""
        return F.max_pool2d(input, self.kernel_size, self.stride)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class ModuleList(Module):
    """torch's ``nn.ModuleList``: submodules named ``"0"``, ``"1"``, …, indexable and iterable."""

    def __init__(self, modules: Optional[Iterable[Module]] = None) -> None:
        super().__init__()
        for module in modules or ():
            self.append(module)

    def append(self, module: Module) -> "ModuleList":
        """Adds ``module`` at the end."""
        self.add_module(str(len(self)), module)
        return self

    def __len__(self) -> int:
        return len(self._registries()[1])

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._registries()[1].values()))

    def __getitem__(self, index: int) -> Module:
        modules = list(self._registries()[1].values())
        if isinstance(index, bool) or not isinstance(index, numbers.Integral) or not -len(modules) <= index < len(modules):
            raise IndexError(f"ModuleList index {index!r} out of range for {len(modules)} modules")
        return modules[index]


class Sequential(ModuleList):
    """torch's ``nn.Sequential``: runs its modules in order on one input."""

    def __init__(self, *modules: Module) -> None:
        super().__init__(modules)

    def forward(self, input: Any) -> Any:
        """Each module on the previous one's output."""
        for module in self:
            input = module(input)
        return input


__all__ = ["Parameter", "Module", "Conv2d", "ConvTranspose2d", "ReLU", "Dropout", "MaxPool2d", "ModuleList",
           "Sequential", "IncompatibleKeys", "check_state_dict"]
