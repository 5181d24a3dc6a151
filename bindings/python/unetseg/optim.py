"""Optimisation as in the post: :class:`SGD` (``optim_sgd``) and :class:`OneCycleLR` (``lr_one_cycle``).

Arguments left as None take the library's defaults, which are the post's (SGD: lr 0.1, momentum 0.9;
one-cycle: max_lr 0.1, 20 epochs, pct_start 0.3, momentum cycled 0.95 → 0.85 → 0.95, div_factor 25,
final_div_factor 1e4).
"""

from __future__ import annotations

from ctypes import byref, c_double
from typing import Iterable, List, Optional, Union

from . import _arguments as arguments
from ._handle import OwnedHandle
from ._lib import lib
from ._types import OneCycleHandle, SGDHandle, TensorHandle
from .errors import InvalidArgument
from .nn import Parameter, UNet
from .tensor import Tensor


def _model_of(params: Union[UNet, Iterable[Tensor]]) -> Union[UNet, List[Tensor]]:
    """What an SGD optimises: the :class:`UNet` whose parameters ``params`` are (the model itself, or all
    of its parameters), or else the list of tensors given (the parameters of a user-defined module)."""
    if isinstance(params, UNet):
        return params
    if not hasattr(params, "__iter__"):
        raise TypeError(f"params must be a UNet or its parameters(), got {type(params).__name__}")
    given = list(params)
    if not given or not all(isinstance(p, Tensor) for p in given):
        raise InvalidArgument("SGD takes a UNet or a non-empty list of parameters (tensors requiring grad), got "
                              f"{[type(p).__name__ for p in given]}")
    models = {id(p.model): p.model for p in given if isinstance(p, Parameter) and p.model is not None}
    if not models:
        return given
    model = next(iter(models.values()))
    if len(models) != 1 or any(not isinstance(p, Parameter) or p.model is not model for p in given):
        raise InvalidArgument("SGD takes a UNet, its parameters(), or tensors of models defined in Python; got "
                              f"parameters of {len(models)} models and {len(given)} objects")
    if sorted(p.index for p in given) != list(range(len(model.parameters()))):
        raise InvalidArgument("SGD optimises all of a model's parameters; pass model.parameters() whole")
    return model


class SGD(OwnedHandle):
    """Stochastic gradient descent with torch's rules over all parameters of one :class:`UNet`, or over
    the parameters of a model defined in Python.

    ``params`` is ``model.parameters()`` (as in the post's ``optim_sgd(model$parameters, ...)``), a
    :class:`UNet` itself, or any list of tensors requiring grad (``module.parameters()`` of a
    :class:`unetseg.nn.Module`).
    """

    __slots__ = ("model", "tensors")
    _free = lib.unetseg_sgd_free

    def __init__(
        self,
        params: Union[UNet, Iterable[Tensor]],
        lr: Optional[float] = None,
        momentum: Optional[float] = None,
        dampening: Optional[float] = None,
        weight_decay: Optional[float] = None,
        nesterov: Optional[bool] = None,
    ) -> None:
        target = _model_of(params)
        self.model: Optional[UNet] = target if isinstance(target, UNet) else None
        self.tensors: List[Tensor] = [] if isinstance(target, UNet) else target
        settings = arguments.set_fields(lib.unetseg_sgd_default_params(), lr=lr, momentum=momentum,
                                        dampening=dampening, weight_decay=weight_decay, nesterov=nesterov)
        handle = SGDHandle()
        if isinstance(target, UNet):
            lib.unetseg_sgd_create(target.handle, byref(settings), byref(handle))
        else:
            handles = (TensorHandle * len(target))(*(t.handle for t in target))
            lib.unetseg_sgd_create_for_tensors(handles, len(target), byref(settings), byref(handle))
        super().__init__(handle)

    def step(self) -> None:
        """Updates every parameter that has a gradient (``optimizer$step()``)."""
        lib.unetseg_sgd_step(self.handle)

    def zero_grad(self) -> None:
        """Drops the gradients of the parameters (``optimizer$zero_grad()``)."""
        lib.unetseg_sgd_zero_grad(self.handle)


class OneCycleLR(OwnedHandle):
    """torch's one-cycle schedule (cosine annealing) driving an :class:`SGD`'s learning rate and momentum.

    Creating it sets the optimiser to the values of step 0; call :meth:`step` after every batch, exactly
    ``epochs * steps_per_epoch`` times. ``steps_per_epoch`` has no usable default: pass the loader's length.
    """

    __slots__ = ("optimizer",)
    _free = lib.unetseg_one_cycle_free

    def __init__(
        self,
        optimizer: SGD,
        max_lr: Optional[float] = None,
        epochs: Optional[int] = None,
        steps_per_epoch: Optional[int] = None,
        pct_start: Optional[float] = None,
        div_factor: Optional[float] = None,
        final_div_factor: Optional[float] = None,
        base_momentum: Optional[float] = None,
        max_momentum: Optional[float] = None,
        cycle_momentum: Optional[bool] = None,
    ) -> None:
        if not isinstance(optimizer, SGD):
            raise InvalidArgument(f"OneCycleLR drives an SGD optimiser, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        settings = arguments.set_fields(
            lib.unetseg_one_cycle_default_params(), max_lr=max_lr, epochs=epochs, steps_per_epoch=steps_per_epoch,
            pct_start=pct_start, div_factor=div_factor, final_div_factor=final_div_factor,
            base_momentum=base_momentum, max_momentum=max_momentum, cycle_momentum=cycle_momentum)
        handle = OneCycleHandle()
        lib.unetseg_one_cycle_create(optimizer.handle, byref(settings), byref(handle))
        super().__init__(handle)

    def step(self) -> None:
        """Advances one step and sets the optimiser's rate and momentum (raises past the last step)."""
        lib.unetseg_one_cycle_step(self.handle)

    @property
    def lr(self) -> float:
        """The learning rate at the current step."""
        value = c_double()
        lib.unetseg_one_cycle_get_lr(self.handle, byref(value))
        return value.value

    @property
    def momentum(self) -> float:
        """The momentum at the current step."""
        value = c_double()
        lib.unetseg_one_cycle_get_momentum(self.handle, byref(value))
        return value.value

    def get_last_lr(self) -> List[float]:
        """``[lr]``, as torch's ``get_last_lr()`` for the one parameter group."""
        return [self.lr]
