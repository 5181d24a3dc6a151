"""The post's U-Net (:class:`UNet`), its parameters, the losses ``binary_cross_entropy`` and ``dice_loss``,
and (from :mod:`unetseg.modules` and :mod:`unetseg.functional`) what defines a model in Python:
:class:`Module`, :class:`Parameter`, the layers, and ``unetseg.nn.functional``.

:class:`UNet` owns a ``unetseg_model`` handle. The library serialises the calls on one handle (see
:mod:`unetseg._handle`), so a model may be shared by threads; different models run in parallel, since
the GIL is released during library calls.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from ctypes import byref, c_bool, c_int32, c_int64, create_string_buffer
from dataclasses import asdict, dataclass
from typing import Any, Iterator, List, Mapping, Optional, Tuple

import numpy as np

from . import _arguments as arguments
from . import functional
from ._convert import NAME_CAPACITY, PathLike, float32_array, float32_value, path_bytes
from ._handle import OwnedHandle
from ._lib import lib
from ._types import ModelHandle, ModelParams, TensorHandle
from .errors import InvalidArgument
from .modules import (
    Conv2d,
    ConvTranspose2d,
    Dropout,
    IncompatibleKeys,
    MaxPool2d,
    Module,
    ModuleList,
    Parameter,
    ReLU,
    Sequential,
    check_state_dict,
)
from .tensor import Tensor, as_tensor

# ``import unetseg.nn.functional as F`` works as in torch (this module is not a package).
sys.modules[__name__ + ".functional"] = functional


@dataclass(frozen=True)
class UNetConfig:
    """The shape of a U-Net, as the post's ``unet(channels_in, n_classes, depth, n_filters)``.

    ``depth`` down blocks, the first with ``2 ** n_filters`` channels; images' height and width must be
    multiples of ``2 ** (depth - 1)``. ``dropout`` is the probability in every conv block. ``batch_norm``
    True puts a batch norm after every 3x3 convolution (which then has no bias): Buda et al. 2019's U-Net.
    """

    channels_in: int
    n_classes: int
    depth: int
    n_filters: int
    dropout: float
    batch_norm: bool = False

    @classmethod
    def default(cls) -> "UNetConfig":
        """The post's model, as the library defines it (3 channels in, 1 class, depth 5, 64 filters,
        dropout 0.6, no batch norm)."""
        return cls._from_params(lib.unetseg_model_default_params())

    @classmethod
    def _from_params(cls, params: ModelParams) -> "UNetConfig":
        return cls(params.channels_in, params.n_classes, params.depth, params.n_filters,
                   float32_value(params.dropout), bool(params.batch_norm))

    def _to_params(self, seed: int = -1) -> ModelParams:
        params = arguments.set_fields(lib.unetseg_model_default_params(), **asdict(self))
        params.seed = seed
        return params


class UNet(OwnedHandle):
    """The U-Net of the post (``unet(channels_in = 3, n_classes = 1, depth = 5, n_filters = 6)``).

    Arguments left as None take the library's defaults, which are the post's (see
    :meth:`UNetConfig.default`). ``seed`` None draws the initial weights, and in training mode the dropout
    masks, from the global generator seeded by :func:`unetseg.manual_seed`, as torch does; an integer uses
    a private generator for both (the one :func:`unetseg.fit` gives its model with that seed). A new model
    is in training mode (dropout active). ``batch_norm`` True puts a batch norm after every 3x3 convolution
    (Buda et al. 2019's model); its running statistics move in training mode, are used in evaluation mode
    and are saved with the model. Call it on a ``[N, channels_in, H, W]`` tensor or array to get the
    probabilities ``[N, n_classes, H, W]`` with an autograd graph.
    """

    __slots__ = ("_parameter_info",)
    _free = lib.unetseg_model_free

    def __init__(
        self,
        channels_in: Optional[int] = None,
        n_classes: Optional[int] = None,
        depth: Optional[int] = None,
        n_filters: Optional[int] = None,
        dropout: Optional[float] = None,
        seed: Optional[int] = None,
        batch_norm: bool = False,
    ) -> None:
        params = arguments.set_fields(lib.unetseg_model_default_params(), channels_in=channels_in,
                                      n_classes=n_classes, depth=depth, n_filters=n_filters, dropout=dropout,
                                      seed=seed, batch_norm=batch_norm)
        handle = ModelHandle()
        lib.unetseg_model_create(byref(params), byref(handle))
        self._adopt_handle(handle)

    def _adopt_handle(self, handle: ModelHandle) -> None:
        OwnedHandle.__init__(self, handle)
        self._parameter_info: Optional[List[str]] = None

    @classmethod
    def load(cls, path: PathLike, config: Optional[UNetConfig] = None) -> "UNet":
        """Loads a model from a safetensors file. A file saved by unetseg carries its shape: leave
        ``config`` None. A PyTorch ``state_dict`` (``safetensors.torch.save_file``) has none: pass it.
        The loaded model is in training mode."""
        params = None if config is None else config._to_params()
        handle = ModelHandle()
        lib.unetseg_model_load(arguments.path("path", path), None if params is None else byref(params), byref(handle))
        model = cls.__new__(cls)
        model._adopt_handle(handle)
        return model

    def save(self, path: PathLike) -> None:
        """Saves the model as safetensors: the post's PyTorch ``state_dict`` plus its shape as metadata
        (written to a temporary file and renamed). A weight that is NaN or infinite raises
        :class:`~unetseg.errors.NumericError` naming the file and the tensor; an existing file is left as it was."""
        lib.unetseg_model_save(self.handle, arguments.path("path", path))

    # ---- shape and mode ------------------------------------------------------------------------------

    def _params(self) -> ModelParams:
        params = ModelParams()
        lib.unetseg_model_get_params(self.handle, byref(params))
        return params

    @property
    def config(self) -> UNetConfig:
        """The model's shape."""
        return UNetConfig._from_params(self._params())

    @property
    def seed(self) -> Optional[int]:
        """The seed of the initial weights, or None (global generator, or a loaded model)."""
        seed = self._params().seed
        return None if seed < 0 else seed

    @property
    def training(self) -> bool:
        """Whether the model is in training mode (dropout active)."""
        flag = c_bool()
        lib.unetseg_model_is_training(self.handle, byref(flag))
        return flag.value

    def train(self, mode: bool = True) -> "UNet":
        """Training mode (``mode`` True) or evaluation mode; returns the model, as torch."""
        (lib.unetseg_model_train if mode else lib.unetseg_model_eval)(self.handle)
        return self

    def eval(self) -> "UNet":
        """Evaluation mode (dropout is the identity); returns the model."""
        return self.train(False)

    # ---- running -------------------------------------------------------------------------------------

    def forward(self, x: Any) -> Tensor:
        """The probabilities ``[N, n_classes, H, W]`` for ``x`` ``[N, channels_in, H, W]`` (a Tensor or
        an array), with the autograd graph for :meth:`Tensor.backward`."""
        tensor, temporary = as_tensor(x, "x")
        try:
            out = TensorHandle()
            lib.unetseg_model_forward(self.handle, tensor.handle, byref(out))
            return Tensor._adopt(out)
        finally:
            if temporary:
                tensor.close()

    def __call__(self, x: Any) -> Tensor:
        """``model(x)``: :meth:`forward`."""
        return self.forward(x)

    def predict(self, images: Any) -> np.ndarray:
        """Probabilities ``[N, n_classes, H, W]`` for ``images`` ``[N, channels_in, H, W]`` (normalised as
        for training), in evaluation mode and without a graph; the model's mode is left as it was."""
        array = arguments.float32_array("images", images)
        config = self.config
        if array.ndim != 4 or array.shape[1] != config.channels_in:
            raise InvalidArgument(
                f"images must be [N, {config.channels_in}, H, W], got {list(array.shape)}")
        n, _, height, width = array.shape
        out = np.empty((n, config.n_classes, height, width), dtype=np.float32)
        lib.unetseg_model_predict(self.handle, array, n, height, width, out, out.size)
        return out

    def zero_grad(self) -> None:
        """Drops the gradients of all parameters."""
        lib.unetseg_model_zero_grad(self.handle)

    # ---- parameters ----------------------------------------------------------------------------------

    def parameter_count(self) -> int:
        """Total number of weights and biases."""
        count = c_int64()
        lib.unetseg_model_parameter_count(self.handle, byref(count))
        return count.value

    def _parameter_list(self) -> List[Parameter]:
        # Names never change, so they are read once; the Parameter objects (each a tensor handle sharing
        # the model's storage) are made per call, which keeps the model free of reference cycles.
        if self._parameter_info is None:
            self._parameter_info = self._names(lib.unetseg_model_named_parameter_count, lib.unetseg_model_parameter_name)
        return [Parameter._of_model(self, index, name) for index, name in enumerate(self._parameter_info)]

    def _names(self, count_function: Any, name_function: Any) -> List[str]:
        """The names of the model's parameters or buffers, read with their count and name functions."""
        count = c_int32()
        count_function(self.handle, byref(count))
        names = []
        for index in range(count.value):
            name = create_string_buffer(NAME_CAPACITY)
            name_function(self.handle, index, name, NAME_CAPACITY)
            names.append(name.value.decode())
        return names

    def parameters(self) -> List[Parameter]:
        """The parameters in torch's order (what :class:`unetseg.SGD` takes)."""
        return self._parameter_list()

    def named_parameters(self) -> Iterator[Tuple[str, Parameter]]:
        """``(name, parameter)`` pairs in torch's order, names being the post's ``state_dict`` keys; each
        parameter is a tensor sharing the model's storage, whose ``.grad`` is the last backward's gradient."""
        return ((p.name, p) for p in self._parameter_list())

    def named_buffers(self) -> Iterator[Tuple[str, Tensor]]:
        """``(name, buffer)`` pairs in torch's order: state saved with the model but not trained, the batch
        norms' ``running_mean``, ``running_var`` and ``num_batches_tracked`` (a float here) of a model made
        with ``batch_norm`` (none otherwise). Each is a tensor sharing the model's storage."""
        buffers = []
        for index, name in enumerate(self._names(lib.unetseg_model_named_buffer_count, lib.unetseg_model_buffer_name)):
            out = TensorHandle()
            lib.unetseg_model_buffer_tensor(self.handle, index, byref(out))
            buffers.append((name, Tensor._adopt(out)))
        return iter(buffers)

    def _state_tensors(self) -> "OrderedDict[str, Tensor]":
        return OrderedDict([(p.name, p) for p in self._parameter_list()] + list(self.named_buffers()))

    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Every parameter, then every buffer, as a new float32 numpy array, keyed as the post's PyTorch
        ``state_dict``."""
        return OrderedDict((name, tensor.numpy()) for name, tensor in self._state_tensors().items())

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copies arrays into the parameters and buffers of the same names. With ``strict``, missing or
        unexpected keys raise :class:`InvalidArgument`; a shape mismatch always does. Nothing changes on
        error."""
        tensors = self._state_tensors()
        arrays, result = check_state_dict({n: t.shape for n, t in tensors.items()}, state_dict, strict)
        for name, array in arrays.items():
            tensors[name].copy_(array)
        return result

    def __repr__(self) -> str:
        if self.closed:
            return "UNet(<closed>)"
        c = self.config
        return (f"UNet(channels_in={c.channels_in}, n_classes={c.n_classes}, depth={c.depth}, "
                f"n_filters={c.n_filters}, dropout={c.dropout:g}, training={self.training})")


def load(path: PathLike, config: Optional[UNetConfig] = None) -> UNet:
    """Loads a model saved by :meth:`UNet.save` (or a PyTorch ``state_dict`` with its ``config``)."""
    return UNet.load(path, config)


# ---- losses -------------------------------------------------------------------------------------------


def _loss(function: Any, prediction: Tensor, target: Any) -> Tensor:
    arguments.instance("prediction", prediction, Tensor)
    target_tensor, temporary = as_tensor(target, "target")
    try:
        out = TensorHandle()
        function(prediction.handle, target_tensor.handle, byref(out))
        return Tensor._adopt(out)
    finally:
        if temporary:
            target_tensor.close()


def binary_cross_entropy(prediction: Tensor, target: Any) -> Tensor:
    """Mean binary cross-entropy as torch's ``nnf_binary_cross_entropy`` (logs clamped at -100); ``target``
    is a Tensor or an array of the prediction's shape. Differentiable, 0-dimensional."""
    return _loss(lib.unetseg_loss_bce, prediction, target)


def dice_loss(prediction: Tensor, target: Any) -> Tensor:
    """The post's ``calc_dice_loss``: ``1 - (2 sum(p t) + 1) / (sum(p) + sum(t) + 1)`` over the whole
    flattened batch. Differentiable, 0-dimensional."""
    return _loss(lib.unetseg_loss_dice, prediction, target)


def combined_loss(prediction: Tensor, target: Any, dice_weight: float = 0.3) -> Tuple[Tensor, Tensor, Tensor]:
    """The post's training loss in one call: ``(total, bce, dice)`` with
    ``total = dice_weight * dice + (1 - dice_weight) * bce`` (``dice_weight`` 0.3 in the post)."""
    arguments.instance("prediction", prediction, Tensor)
    target_tensor, temporary = as_tensor(target, "target")
    try:
        total, bce, dice = TensorHandle(), TensorHandle(), TensorHandle()
        lib.unetseg_loss_combined(prediction.handle, target_tensor.handle, dice_weight,
                                  byref(total), byref(bce), byref(dice))
        return Tensor._adopt(total), Tensor._adopt(bce), Tensor._adopt(dice)
    finally:
        if temporary:
            target_tensor.close()
