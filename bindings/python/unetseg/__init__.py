"""unetseg: the U-Net of the R torch post "Brain image segmentation with torch", in Python.

A thin ctypes layer over ``libunetseg.so`` (every call goes to the library; nothing is computed in
Python) with an API that reads like PyTorch::

    import numpy as np
    import unetseg

    unetseg.manual_seed(777)
    model = unetseg.UNet(depth=5)                       # the post's model
    optimizer = unetseg.SGD(model.parameters(), lr=0.1, momentum=0.9)
    train_ds = unetseg.BrainSegDataset("data/mri_train", augmentation=(0.05, 15, 0.5), random_sampling=True)
    train_dl = unetseg.DataLoader(train_ds, batch_size=4)
    scheduler = unetseg.OneCycleLR(optimizer, max_lr=0.1, epochs=20, steps_per_epoch=len(train_dl))
    for images, masks in train_dl:
        optimizer.zero_grad()
        output = model(images)
        bce = unetseg.binary_cross_entropy(output, masks)
        dice = unetseg.dice_loss(output, masks)
        loss = 0.3 * dice + 0.7 * bce
        loss.backward()
        optimizer.step()
        scheduler.step()

or the whole run in one call: ``unetseg.fit("data/mri_train", "run", "data/mri_valid")``.

The library is found through ``$UNETSEG_LIB``, then a copy inside this package, then the build folders of
a source checkout (``.build-lib/release``, ``.build/release``), then the system library path. Tensors are
float32, contiguous, row-major; images NCHW.
"""

from __future__ import annotations

from . import errors
from ._lib import library_path
from .data import (
    POST_AUGMENTATION,
    BrainSegDataset,
    DataLoader,
    SliceInfo,
    hflip,
    random_flip,
    random_resize,
    random_rotate,
    resize,
    rotate,
    split,
    synthesize,
)
from .errors import (
    Cancelled,
    DatasetItemError,
    FileError,
    FileFormatError,
    InternalError,
    InvalidArgument,
    LibraryNotFoundError,
    NumericError,
    OutOfMemory,
    UnetsegError,
)
from .nn import (
    IncompatibleKeys,
    Parameter,
    UNet,
    UNetConfig,
    binary_cross_entropy,
    combined_loss,
    dice_loss,
    load,
)
from .optim import SGD, OneCycleLR
from .system import (
    LogLevel,
    SystemInfo,
    api_version,
    get_num_threads,
    live_handle_count,
    log_to_python_logging,
    manual_seed,
    set_log_callback,
    set_num_threads,
    system_info,
    system_info_string,
    version,
)
from .tensor import Tensor, cat, from_numpy, sigmoid, tensor, uniform, zeros
from .user_data import Dataset, UserDataLoader
from .training import BatchReport, EpochReport, Evaluation, Losses, TrainingRun, evaluate, fit, predict

__version__ = "0.1.0"

__all__ = [
    "BatchReport",
    "BrainSegDataset",
    "Cancelled",
    "DataLoader",
    "Dataset",
    "DatasetItemError",
    "EpochReport",
    "Evaluation",
    "FileError",
    "FileFormatError",
    "IncompatibleKeys",
    "InternalError",
    "InvalidArgument",
    "LibraryNotFoundError",
    "LogLevel",
    "Losses",
    "NumericError",
    "OneCycleLR",
    "OutOfMemory",
    "POST_AUGMENTATION",
    "Parameter",
    "SGD",
    "SliceInfo",
    "SystemInfo",
    "Tensor",
    "TrainingRun",
    "UNet",
    "UNetConfig",
    "UnetsegError",
    "UserDataLoader",
    "api_version",
    "cat",
    "binary_cross_entropy",
    "combined_loss",
    "dice_loss",
    "errors",
    "evaluate",
    "fit",
    "from_numpy",
    "get_num_threads",
    "hflip",
    "library_path",
    "live_handle_count",
    "load",
    "log_to_python_logging",
    "manual_seed",
    "predict",
    "random_flip",
    "random_resize",
    "random_rotate",
    "resize",
    "rotate",
    "set_log_callback",
    "set_num_threads",
    "sigmoid",
    "split",
    "synthesize",
    "system_info",
    "system_info_string",
    "tensor",
    "uniform",
    "version",
    "zeros",
]
