"""Datasets defined in Python, batched like the built-in loader.

Any object with ``__getitem__(i)`` (``i`` from 0) and ``__len__()`` is a :class:`Dataset`: PyTorch's map-style
dataset protocol. :class:`unetseg.DataLoader` given such an object returns a :class:`UserDataLoader`, which
stacks each part of the items of a batch along a new first dimension. It runs in Python: items are read
on the calling thread as the batch is asked for (no worker threads), where the built-in loader over a
:class:`~unetseg.BrainSegDataset` reads in the library.
"""

from __future__ import annotations

from typing import Any, Iterator, List, Optional, Protocol, Sequence, Tuple, Union, runtime_checkable

import numpy as np

from ._lib import lib
from .errors import DatasetItemError, InvalidArgument
from .tensor import Tensor

#: A batch: one tensor per part of the items, in a tuple, a dict (items that are dicts) or alone.
Batch = Union[Tuple[Tensor, ...], dict, Tensor]


@runtime_checkable
class Dataset(Protocol):
    """What :class:`unetseg.DataLoader` accepts besides a :class:`~unetseg.BrainSegDataset`: item ``i``
    (0-based) as a tuple, list or dict of tensors or array-likes, or one of them, and the item count."""

    def __getitem__(self, index: int) -> Any: ...

    def __len__(self) -> int: ...


def _dataset_name(dataset: Any) -> str:
    return type(dataset).__name__


def _parts(item: Any, dataset: Any, index: int) -> Tuple[Optional[List[str]], List[np.ndarray]]:
    """The item's parts as float32 arrays, and their keys for a dict item."""
    keys = list(item.keys()) if isinstance(item, dict) else None
    values = list(item.values()) if isinstance(item, dict) else list(item) if isinstance(item, (tuple, list)) else [item]
    arrays = []
    for value in values:
        if isinstance(value, Tensor):
            arrays.append(value.numpy())
            continue
        try:
            array = np.asarray(value, dtype=np.float32)
        except (TypeError, ValueError) as error:
            raise InvalidArgument(f"{_dataset_name(dataset)}[{index}] must return tensors or numeric arrays "
                                  f"(a tuple, list or dict of them, or one), got {type(value).__name__}") from error
        arrays.append(array)
    if not arrays:
        raise InvalidArgument(f"{_dataset_name(dataset)}[{index}] returned an empty {type(item).__name__}")
    return keys, arrays


def collate(items: Sequence[Any], indices: Sequence[int], dataset: Any) -> Batch:
    """Stacks each part of ``items`` (item ``indices[k]`` of ``dataset``) along a new first dimension."""
    parts = [_parts(item, dataset, index) for item, index in zip(items, indices)]
    keys, first = parts[0]
    for (item_keys, arrays), index in zip(parts, indices):
        if item_keys != keys or len(arrays) != len(first):
            raise InvalidArgument(f"{_dataset_name(dataset)}[{index}] has {len(arrays)} parts {item_keys or ''}, "
                                  f"but {_dataset_name(dataset)}[{indices[0]}] had {len(first)} {keys or ''}")
        for part, (array, reference) in enumerate(zip(arrays, first)):
            if array.shape != reference.shape:
                raise InvalidArgument(f"{_dataset_name(dataset)}[{index}]: part {part} has shape {list(array.shape)}, "
                                      f"but {_dataset_name(dataset)}[{indices[0]}] gave {list(reference.shape)}")
    stacked = [Tensor(np.stack([arrays[part] for _, arrays in parts])) for part in range(len(first))]
    item = items[0]
    if isinstance(item, dict):
        return dict(zip(keys or [], stacked))
    return tuple(stacked) if isinstance(item, (tuple, list)) else stacked[0]


class UserDataLoader:
    """Batches of a :class:`Dataset` defined in Python, as :class:`unetseg.DataLoader` gives them.

    ``for batch in loader`` reads one epoch; the next ``for`` reads the next one. ``shuffle`` draws epoch
    ``e``'s order from ``(seed, e)`` (``seed`` None takes the library's default loader seed, as the
    built-in loader does), so the same seed gives the same batches. ``workers`` must be 0 or None.
    An exception inside the dataset's ``__getitem__`` becomes a :class:`~unetseg.errors.DatasetItemError`
    naming the dataset and index; items of the wrong type or of different shapes an
    :class:`~unetseg.errors.InvalidArgument`.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: Optional[int] = None,
        shuffle: Optional[bool] = None,
        drop_last: Optional[bool] = None,
        workers: Optional[int] = None,
        seed: Optional[int] = None,
    ) -> None:
        defaults = lib.unetseg_loader_default_params()
        if not isinstance(dataset, Dataset):
            raise TypeError(f"dataset must be a BrainSegDataset or have __getitem__ and __len__, "
                            f"got {type(dataset).__name__}")
        if workers:
            raise InvalidArgument(f"workers must be 0 for {_dataset_name(dataset)}: its __getitem__ runs in Python")
        self.batch_size = int(defaults.batch_size if batch_size is None else batch_size)
        if self.batch_size < 1:
            raise InvalidArgument(f"batch_size must be at least 1, got {self.batch_size}")
        self.dataset = dataset
        self.shuffle = bool(defaults.shuffle if shuffle is None else shuffle)
        self.drop_last = bool(defaults.drop_last if drop_last is None else drop_last)
        self.seed = int(defaults.seed if seed is None else seed)
        if self.seed < 0:
            raise InvalidArgument(f"seed must be >= 0, got {self.seed}")
        self._epoch = 1

    def _items(self) -> int:
        try:
            count = len(self.dataset)
        except Exception as error:
            raise DatasetItemError(f"len({_dataset_name(self.dataset)}) failed: {error!r}") from error
        return count

    def __len__(self) -> int:
        count = self._items()
        return count // self.batch_size if self.drop_last else -(-count // self.batch_size)

    @property
    def epoch(self) -> int:
        """The epoch the next ``for`` reads (1 for a new loader)."""
        return self._epoch

    def reset(self, epoch: int) -> None:
        """Makes the next ``for`` read ``epoch`` (the same batches every time it is read)."""
        if epoch < 1:
            raise InvalidArgument(f"epoch must be >= 1, got {epoch}")
        self._epoch = epoch

    def order(self, epoch: int) -> np.ndarray:
        """The item indices of ``epoch``, in the order its batches take them."""
        count = self._items()
        if not self.shuffle:
            return np.arange(count)
        return np.random.default_rng([self.seed, epoch]).permutation(count)

    def _item(self, index: int) -> Any:
        try:
            return self.dataset[index]
        except Exception as error:
            raise DatasetItemError(f"{_dataset_name(self.dataset)}[{index}] raised {error!r}") from error

    def __iter__(self) -> Iterator[Batch]:
        epoch = self._epoch
        self._epoch = epoch + 1
        order = [int(i) for i in self.order(epoch)]
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            indices = order[start:start + self.batch_size]
            yield collate([self._item(index) for index in indices], indices, self.dataset)

    def __repr__(self) -> str:
        return f"UserDataLoader({_dataset_name(self.dataset)}, {len(self)} batches, epoch {self._epoch})"
