"""The post's data: :class:`BrainSegDataset` over kaggle_3m folders, its augmentation, :class:`DataLoader`,
the patient :func:`split` and :func:`synthesize` (a synthetic LGG-like dataset).

Images are ``[3, H, W]`` float32 (pre-contrast, FLAIR, post-contrast, each image min-max scaled to
[0, 1]), masks ``[1, H, W]`` with values 0 or 1; batches are NCHW. Everything random derives from a seed:
item ``i`` of epoch ``e`` depends only on (dataset seed, e, i), so loaders with any number of worker
threads give the same batches.
"""

from __future__ import annotations

from ctypes import byref, c_int32, c_int64, create_string_buffer
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional, Sequence, Tuple, Union

from . import _arguments as arguments
from ._callbacks import CallbackRelay, ProgressBar
from ._convert import NAME_CAPACITY, PathLike, augmentation_params, float32_value, path_bytes
from ._handle import OwnedHandle
from ._lib import lib
from ._types import DatasetHandle, DatasetParams, LoaderHandle, ProgressCallback, TensorHandle
from .tensor import Tensor
from .user_data import UserDataLoader

#: The post's ``augmentation_params``: ``(scale, angle, flip)``, e.g. ``(0.05, 15, 0.5)``.
Augmentation = Tuple[float, float, float]


def _library_augmentation() -> Augmentation:
    values = lib.unetseg_dataset_default_params().augmentation
    return float32_value(values.scale), float32_value(values.angle), float32_value(values.flip)


#: The post's training augmentation, as the library defines it: ``(0.05, 15, 0.5)``.
POST_AUGMENTATION: Augmentation = _library_augmentation()

#: The intensity normalisations, in the order of their numbers in the library's ``normalization`` fields:
#: per-slice min-max (the post's), per-volume z-score, per-volume percentile clipping then z-score (Buda et al.).
NORMALIZATIONS = ("minmax", "zscore", "percentile")


def _pair(function: Any, image: Tensor, mask: Tensor, *args: Any) -> Tuple[Tensor, Tensor]:
    out_image, out_mask = TensorHandle(), TensorHandle()
    function(image.handle, mask.handle, *args, byref(out_image), byref(out_mask))
    return Tensor._adopt(out_image), Tensor._adopt(out_mask)


def _image_and_mask(image: Any, mask: Any) -> Tuple[Tensor, Tensor]:
    return (image if isinstance(image, Tensor) else Tensor(image),
            mask if isinstance(mask, Tensor) else Tensor(mask))


# ---- augmentation ----------------------------------------------------------------------------------------


def hflip(image: Any, mask: Any) -> Tuple[Tensor, Tensor]:
    """Mirrors image ``[C, H, W]`` and mask ``[M, H, W]`` left to right (torchvision's hflip)."""
    return _pair(lib.unetseg_augmentation_hflip, *_image_and_mask(image, mask))


def resize(image: Any, mask: Any, scale: float) -> Tuple[Tensor, Tensor]:
    """Resizes by ``scale`` then centre-crops or zero-pads back to H × W (image bilinear, mask nearest)."""
    return _pair(lib.unetseg_augmentation_resize, *_image_and_mask(image, mask), scale)


def rotate(image: Any, mask: Any, degrees: float) -> Tuple[Tensor, Tensor]:
    """Rotates counter-clockwise by ``degrees`` about the centre (image bilinear, mask nearest)."""
    return _pair(lib.unetseg_augmentation_rotate, *_image_and_mask(image, mask), degrees)


def random_flip(image: Any, mask: Any, flip: float) -> Tuple[Tensor, Tensor]:
    """:func:`hflip` with probability ``flip`` (the post's 0.5); one draw from the global generator."""
    return _pair(lib.unetseg_augmentation_random_flip, *_image_and_mask(image, mask), flip)


def random_resize(image: Any, mask: Any, scale: float) -> Tuple[Tensor, Tensor]:
    """:func:`resize` by a factor from U(1 - scale, 1 + scale) (the post's 0.05); global generator."""
    return _pair(lib.unetseg_augmentation_random_resize, *_image_and_mask(image, mask), scale)


def random_rotate(image: Any, mask: Any, angle: float) -> Tuple[Tensor, Tensor]:
    """:func:`rotate` by an angle from U(-angle, angle) degrees (the post's 15); global generator."""
    return _pair(lib.unetseg_augmentation_random_rotate, *_image_and_mask(image, mask), angle)


# ---- dataset ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SliceInfo:
    """Where a slice comes from: its patient folder, its 1-based slice number and its lesion pixels."""

    patient: str
    number: int
    lesion_pixels: int


class BrainSegDataset(OwnedHandle):
    """The post's ``brainseg_dataset``: the slices under ``root`` (kaggle_3m layout, searched recursively)
    as ``(image, mask)`` pairs of tensors ``[3, H, W]`` and ``[1, H, W]``.

    ``augmentation`` is ``(scale, angle, flip)`` (the post's training set uses ``(0.05, 15, 0.5)``) or None;
    with ``random_sampling`` item ``i`` is a slice drawn by lesion weight (the post's ``calc_slice_weights``)
    instead of slice ``i``. ``seed`` None takes the library's default (777). ``normalization`` is
    ``"minmax"`` (each image scaled to [0, 1], the post's), ``"zscore"`` (each channel z-scored over the
    patient's volume) or ``"percentile"`` (the volume clipped to its 10th and 99th percentiles over all
    channels, then z-scored per channel; Buda et al. 2019). Indexing reads epoch :attr:`epoch` (0 unless set);
    :meth:`get_item` takes any epoch.
    """

    __slots__ = ("epoch",)
    _free = lib.unetseg_dataset_free

    def __init__(
        self,
        root: PathLike,
        augmentation: Optional[Sequence[float]] = None,
        random_sampling: bool = False,
        seed: Optional[int] = None,
        normalization: str = "minmax",
    ) -> None:
        params: DatasetParams = lib.unetseg_dataset_default_params()
        params.augmentation = augmentation_params(augmentation)
        params.random_sampling = bool(random_sampling)
        params.normalization = arguments.choice("normalization", normalization, NORMALIZATIONS)
        arguments.set_fields(params, seed=seed)
        handle = DatasetHandle()
        lib.unetseg_dataset_open(arguments.path("root", root), byref(params), byref(handle))
        super().__init__(handle)
        self.epoch = 0

    def __len__(self) -> int:
        length = c_int64()
        lib.unetseg_dataset_length(self.handle, byref(length))
        return length.value

    @property
    def image_size(self) -> Tuple[int, int]:
        """``(height, width)`` of every slice."""
        height, width = c_int64(), c_int64()
        lib.unetseg_dataset_image_size(self.handle, byref(height), byref(width))
        return height.value, width.value

    def get_item(self, index: int, epoch: int = 0) -> Tuple[Tensor, Tensor]:
        """Item ``index`` (0-based) of ``epoch``: ``(image [3, H, W], mask [1, H, W])``."""
        image, mask = TensorHandle(), TensorHandle()
        lib.unetseg_dataset_get_item(self.handle, index, epoch, byref(image), byref(mask))
        return Tensor._adopt(image), Tensor._adopt(mask)

    def __getitem__(self, index: int) -> Tuple[Tensor, Tensor]:
        if not isinstance(index, int):
            raise TypeError(f"dataset indices are integers, not {type(index).__name__}")
        if index < 0:
            index += len(self)
        return self.get_item(index, self.epoch)

    def sampled_slice(self, index: int, epoch: int = 0) -> int:
        """The slice item ``index`` of ``epoch`` shows (itself unless the dataset samples by weight)."""
        slice_index = c_int64()
        lib.unetseg_dataset_sampled_slice(self.handle, index, epoch, byref(slice_index))
        return slice_index.value

    def slice_info(self, slice_index: int) -> SliceInfo:
        """Patient, slice number and lesion pixels of slice ``slice_index`` (in patient and slice order)."""
        patient, number, lesion = create_string_buffer(NAME_CAPACITY), c_int32(), c_int64()
        lib.unetseg_dataset_slice_info(self.handle, slice_index, patient, NAME_CAPACITY, byref(number),
                                       byref(lesion))
        return SliceInfo(patient.value.decode(), number.value, lesion.value)

    # The post calls these on its dataset (valid_ds$resize(img, mask, 0.2) ...): random draws, as there.

    def resize(self, image: Any, mask: Any, scale: float) -> Tuple[Tensor, Tensor]:
        """The post's ``resize``: :func:`random_resize`."""
        return random_resize(image, mask, scale)

    def rotate(self, image: Any, mask: Any, angle: float) -> Tuple[Tensor, Tensor]:
        """The post's ``rotate``: :func:`random_rotate` by U(-angle, angle) degrees."""
        return random_rotate(image, mask, angle)

    def flip(self, image: Any, mask: Any, flip: float) -> Tuple[Tensor, Tensor]:
        """The post's ``flip``: :func:`random_flip` with probability ``flip``."""
        return random_flip(image, mask, flip)

    def __repr__(self) -> str:
        if self.closed:
            return "BrainSegDataset(<closed>)"
        height, width = self.image_size
        return f"BrainSegDataset({len(self)} slices of {height}x{width})"


# ---- loader ----------------------------------------------------------------------------------------------


class DataLoader(OwnedHandle):
    """Batches of a :class:`BrainSegDataset`, as torch's ``dataloader(ds, batch_size)``; given any other
    dataset (an object with ``__getitem__`` and ``__len__``), a :class:`~unetseg.user_data.UserDataLoader`.

    ``for images, masks in loader`` reads one epoch of ``(images [B, 3, H, W], masks [B, 1, H, W])``
    tensors; the next ``for`` reads the next epoch (leaving a loop early also moves on to the next epoch).
    Arguments left as None take the library's defaults (batches of 4 in order, the last one smaller,
    made on the calling thread). ``workers`` > 0 prepares batches on background threads; the batches are
    the same for any count.
    """

    __slots__ = ("dataset",)
    _free = lib.unetseg_loader_free

    def __new__(cls, dataset: Any, *args: Any, **kwargs: Any) -> Any:
        """A dataset defined in Python (``__getitem__`` and ``__len__``) gets a
        :class:`~unetseg.user_data.UserDataLoader`, which batches it the same way in Python."""
        if cls is DataLoader and not isinstance(dataset, BrainSegDataset):
            return UserDataLoader(dataset, *args, **kwargs)
        return super().__new__(cls)

    def __init__(
        self,
        dataset: BrainSegDataset,
        batch_size: Optional[int] = None,
        shuffle: Optional[bool] = None,
        drop_last: Optional[bool] = None,
        workers: Optional[int] = None,
        seed: Optional[int] = None,
    ) -> None:
        arguments.instance("dataset", dataset, BrainSegDataset)
        params = arguments.set_fields(lib.unetseg_loader_default_params(), batch_size=batch_size, shuffle=shuffle,
                                      drop_last=drop_last, workers=workers, seed=seed)
        handle = LoaderHandle()
        lib.unetseg_loader_create(dataset.handle, byref(params), byref(handle))
        super().__init__(handle)
        self.dataset = dataset

    def __len__(self) -> int:
        length = c_int64()
        lib.unetseg_loader_length(self.handle, byref(length))
        return length.value

    @property
    def epoch(self) -> int:
        """The epoch the next batch comes from (1 for a new loader)."""
        epoch = c_int64()
        lib.unetseg_loader_epoch(self.handle, byref(epoch))
        return epoch.value

    def reset(self, epoch: int) -> None:
        """Starts ``epoch`` from its first batch (the same batches every time it is read)."""
        lib.unetseg_loader_reset(self.handle, epoch)

    def next_batch(self) -> Optional[Tuple[Tensor, Tensor]]:
        """The next batch of the current epoch, or None at its end (the call after that starts the next)."""
        images, masks = TensorHandle(), TensorHandle()
        lib.unetseg_loader_next(self.handle, byref(images), byref(masks))
        if not images.value:
            return None
        return Tensor._adopt(images), Tensor._adopt(masks)

    def __iter__(self) -> Iterator[Tuple[Tensor, Tensor]]:
        epoch = self.epoch
        finished = False
        try:
            while True:
                batch = self.next_batch()
                if batch is None:
                    finished = True
                    return
                yield batch
        finally:
            if not finished and not self.closed:
                self.reset(epoch + 1)  # a loop left early: the next one reads the next epoch, as torch

    def __repr__(self) -> str:
        return "DataLoader(<closed>)" if self.closed else f"DataLoader({len(self)} batches, epoch {self.epoch})"


# ---- folders ---------------------------------------------------------------------------------------------


def split(
    root: PathLike,
    train_dir: PathLike,
    valid_dir: PathLike,
    n_valid: Optional[int] = None,
    seed: Optional[int] = None,
    overwrite: bool = False,
) -> Tuple[int, int]:
    """The post's split: ``n_valid`` patient folders of ``root`` (30), chosen with ``seed`` (777), linked
    into ``valid_dir``, the rest into ``train_dir``; ``split.json`` records it beside them. ``root`` is
    not changed. Non-empty folders or an existing ``split.json`` raise :class:`FileError` unless
    ``overwrite``, which empties the folders (links removed, never followed) and rewrites the record.
    Returns ``(n_train, n_valid)``."""
    params = lib.unetseg_split_default_params()
    params.overwrite = bool(overwrite)
    arguments.set_fields(params, n_valid=n_valid, seed=seed)
    n_train_out, n_valid_out = c_int32(), c_int32()
    lib.unetseg_split_patients(arguments.path("root", root), arguments.path("train_dir", train_dir),
                               arguments.path("valid_dir", valid_dir), byref(params),
                               byref(n_train_out), byref(n_valid_out))
    return n_train_out.value, n_valid_out.value


#: The generator styles of :func:`synthesize`, in the order of their numbers in ``unetseg_synthetic_params``.
_SYNTHETIC_STYLES = ("simple", "realistic")


def synthesize(
    root: PathLike,
    patients: Optional[int] = None,
    min_slices: Optional[int] = None,
    max_slices: Optional[int] = None,
    size: Optional[int] = None,
    seed: Optional[int] = None,
    lesion_slice_fraction: Optional[float] = None,
    progress: Union[bool, Callable[[int, int], Optional[bool]]] = True,
    style: str = "simple",
) -> int:
    """Writes a synthetic LGG-like MRI dataset (kaggle_3m layout) under ``root`` and returns its slice count.

    Arguments left as None take the library's defaults (110 patients of 20 to 40 slices of 256 × 256,
    seed 1, 38 % of slices with lesions). ``style`` is ``"simple"`` (the first phantom) or ``"realistic"``
    (MRI-like contrasts per channel, bias fields, Rician-like noise, 0 to 3 lumpy lesions). ``progress`` True shows a tqdm bar when tqdm is installed; a
    function ``(patients_done, patients)`` is called instead and may return False to stop (raising
    :class:`~unetseg.errors.Cancelled`); an exception it raises stops the work and propagates.
    """
    params = arguments.set_fields(lib.unetseg_synthetic_default_params(), patients=patients, min_slices=min_slices,
                                  max_slices=max_slices, size=size, seed=seed,
                                  lesion_slice_fraction=lesion_slice_fraction,
                                  style=arguments.choice("style", style, _SYNTHETIC_STYLES))
    relay = CallbackRelay()
    bar = ProgressBar("synthesize", enabled=progress is True, unit="patient")
    report: Callable[[int, int], Optional[bool]] = progress if callable(progress) else bar.update
    callback = ProgressCallback(lambda done, total, _user: relay.call(report, done, total))
    slices = c_int64()
    try:
        relay.run(lambda: lib.unetseg_synthetic_write(arguments.path("root", root), byref(params), callback, None,
                                                      byref(slices)))
    finally:
        bar.close()
    return slices.value
