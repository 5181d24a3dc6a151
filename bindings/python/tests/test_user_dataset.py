"""Datasets defined in Python (``__getitem__`` and ``__len__``) batched by ``unetseg.DataLoader``."""

from __future__ import annotations

import numpy as np
import pytest

import unetseg
from unetseg.user_data import UserDataLoader


class Indexed:
    """n items ``(image [3, 2, 2], label [1])`` whose values encode the index."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __getitem__(self, index: int):
        return np.arange(12, dtype=np.float32).reshape(3, 2, 2) / 100 + index, unetseg.tensor([float(index)])

    def __len__(self) -> int:
        return self.n


def labels(loader) -> list:
    return [value for _, label in loader for value in label.numpy().ravel().tolist()]


def test_a_python_dataset_gets_a_loader_that_stacks_its_items():
    loader = unetseg.DataLoader(Indexed(10), batch_size=4)
    assert isinstance(loader, UserDataLoader)
    assert len(loader) == 3
    batches = list(loader)
    images, label = batches[0]
    assert images.shape == (4, 3, 2, 2)
    np.testing.assert_allclose(images.numpy()[2], Indexed(10)[2][0], rtol=1e-6)
    assert label.numpy().ravel().tolist() == [0, 1, 2, 3]
    assert batches[2][1].numpy().ravel().tolist() == [8, 9]
    assert len(unetseg.DataLoader(Indexed(10), batch_size=4, drop_last=True)) == 2
    assert len(list(unetseg.DataLoader(Indexed(10), batch_size=4, drop_last=True))) == 2
    assert loader.epoch == 2


def test_dict_and_single_items():
    class Named:
        def __getitem__(self, index):
            return {"img": np.full((2, 2), index), "mask": [index, -index]}

        def __len__(self):
            return 3

    class Single:
        def __getitem__(self, index):
            return unetseg.tensor([index, 2 * index])

        def __len__(self):
            return 3

    batch = next(iter(unetseg.DataLoader(Named(), batch_size=3)))
    assert set(batch) == {"img", "mask"}
    assert batch["img"].shape == (3, 2, 2)
    assert batch["mask"].numpy().tolist() == [[0, 0], [1, -1], [2, -2]]
    single = next(iter(unetseg.DataLoader(Single(), batch_size=3)))
    assert single.numpy().tolist() == [[0, 0], [1, 2], [2, 4]]


def test_shuffle_is_seeded_and_differs_by_epoch():
    a = unetseg.DataLoader(Indexed(10), batch_size=3, shuffle=True, seed=5)
    b = unetseg.DataLoader(Indexed(10), batch_size=3, shuffle=True, seed=5)
    first = labels(a)
    assert sorted(first) == list(range(10))
    assert first != list(range(10))
    assert labels(b) == first
    assert labels(a) != first
    assert labels(unetseg.DataLoader(Indexed(10), batch_size=3, shuffle=True, seed=6)) != first
    a.reset(1)
    assert labels(a) == first
    assert labels(unetseg.DataLoader(Indexed(10), batch_size=3, shuffle=True)) == \
        labels(unetseg.DataLoader(Indexed(10), batch_size=3, shuffle=True))


class Broken:
    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __getitem__(self, index: int):
        if self.kind == "index" and index == 2:
            raise IndexError("no file for item 2")
        if self.kind == "string":
            return ("not a tensor",)
        if self.kind == "shapes":
            return (np.zeros(index + 1),)
        if self.kind == "parts":
            return (1.0,) if index == 1 else (1.0, 2.0)
        return (float(index),)

    def __len__(self) -> int:
        if self.kind == "length":
            raise RuntimeError("unknown length")
        return 4


def test_bad_datasets_raise_exceptions_naming_the_dataset_and_index():
    def first(kind):
        return next(iter(unetseg.DataLoader(Broken(kind), batch_size=4)))

    with pytest.raises(unetseg.DatasetItemError, match=r"Broken\[2\] raised IndexError\('no file for item 2'\)") as info:
        first("index")
    assert isinstance(info.value.__cause__, IndexError)
    with pytest.raises(unetseg.InvalidArgument, match=r"Broken\[0\] must return tensors or numeric arrays"):
        first("string")
    with pytest.raises(unetseg.InvalidArgument, match=r"Broken\[1\]: part 0 has shape \[2\], but Broken\[0\] gave \[1\]"):
        first("shapes")
    with pytest.raises(unetseg.InvalidArgument, match=r"Broken\[1\] has 1 parts"):
        first("parts")
    with pytest.raises(unetseg.DatasetItemError, match=r"len\(Broken\) failed"):
        len(unetseg.DataLoader(Broken("length"), batch_size=2))
    with pytest.raises(unetseg.InvalidArgument, match="workers must be 0 for Broken"):
        unetseg.DataLoader(Broken("ok"), workers=2)
    with pytest.raises(unetseg.InvalidArgument, match="batch_size must be at least 1"):
        unetseg.DataLoader(Broken("ok"), batch_size=0)
    with pytest.raises(TypeError, match="__getitem__ and __len__, got int"):
        unetseg.DataLoader(3)


def test_a_user_dataset_trains_the_model():
    class Squares:
        def __getitem__(self, index):
            mask = np.zeros((1, 16, 16), dtype=np.float32)
            mask[0, 2:4 + index % 8, 3:12] = 1
            return np.repeat(mask, 3, axis=0) * 0.8 + 0.1, mask

        def __len__(self):
            return 8

    model = unetseg.UNet(depth=2, n_filters=2, seed=1)
    images, masks = next(iter(unetseg.DataLoader(Squares(), batch_size=4)))
    output = model(images)
    assert output.shape == (4, 1, 16, 16)
    loss = unetseg.binary_cross_entropy(output, masks)
    loss.backward()
    assert np.isfinite(loss.item())
