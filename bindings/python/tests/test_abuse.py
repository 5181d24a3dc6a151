"""Abuse through the Python binding: wrong types, wrong dtypes and non-contiguous arrays, closed handles,
handles of the wrong kind, huge and negative sizes, paths that are not UTF-8. Each raises an exception of
the right class (TypeError for a wrong type, InvalidArgument — a ValueError — for a wrong value,
OutOfMemory for a size that cannot be allocated) whose message names the argument, and the session goes on:
every test ends with a normal call."""

from __future__ import annotations

import numpy as np
import pytest

import unetseg
from conftest import TINY, make_batch


@pytest.fixture
def model():
    """A tiny model without dropout, so that equal inputs give equal outputs."""
    with unetseg.UNet(seed=1, dropout=0.0, **TINY) as m:
        yield m


def still_works(model: unetseg.UNet) -> None:
    """A normal call after the abuse: a forward pass gives probabilities of the right shape."""
    images, _ = make_batch(0)
    out = model(images).numpy()
    assert out.shape == (2, 1, 8, 8) and np.isfinite(out).all()


# ---- wrong types -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("data, what", [("abc", "strings"), ([object()], "objects"),
                                        (np.array([1 + 2j]), "complex numbers"), ({"a": 1}, "objects")])
def test_a_tensor_of_something_that_is_not_numbers_is_a_type_error(model, data, what):
    with pytest.raises(TypeError, match=f"data must hold real numbers, got an array of {what}"):
        unetseg.tensor(data)
    with pytest.raises(TypeError, match=f"x must hold real numbers, got an array of {what}"):
        model(data)
    still_works(model)


def test_a_ragged_list_is_an_invalid_argument(model):
    with pytest.raises(unetseg.InvalidArgument, match="data is not a rectangular array"):
        unetseg.tensor([[1.0, 2.0], [3.0]])
    still_works(model)


@pytest.mark.parametrize("kwargs, name", [(dict(depth="3"), "depth"), (dict(depth=2.5), "depth"),
                                          (dict(n_filters=None, depth=[2]), "depth"), (dict(dropout="0.5"), "dropout"),
                                          (dict(seed=1.5), "seed")])
def test_model_arguments_of_the_wrong_type_name_the_argument(model, kwargs, name):
    with pytest.raises(TypeError, match=f"^{name} must be"):
        unetseg.UNet(**kwargs)
    still_works(model)


def test_optimiser_and_loader_arguments_of_the_wrong_type(model, tmp_path):
    with pytest.raises(TypeError, match="lr must be a real number, got str"):
        unetseg.SGD(model, lr="fast")
    with pytest.raises(TypeError, match="params must be a UNet or its parameters"):
        unetseg.SGD(unetseg.zeros(2), lr=0.1)
    with pytest.raises(TypeError, match="augmentation|scale must be a real number"):
        unetseg.BrainSegDataset(tmp_path, augmentation=("big", 15, 0.5))
    with pytest.raises(unetseg.InvalidArgument, match="augmentation must be \\(scale, angle, flip\\), got 2"):
        unetseg.BrainSegDataset(tmp_path, augmentation=(0.05, 15))
    with pytest.raises(TypeError, match="shape must be an integer, got str"):
        unetseg.zeros("a")
    with pytest.raises(TypeError, match="shape must be an integer, got float"):
        unetseg.zeros(2.5, 3)
    still_works(model)


@pytest.mark.parametrize("bad_path", [3, None, 2.5, ["a"]])
def test_a_path_of_the_wrong_type_names_the_argument(model, tmp_path, bad_path):
    with pytest.raises(TypeError, match="^root must be a path"):
        unetseg.BrainSegDataset(bad_path)
    with pytest.raises(TypeError, match="^path must be a path"):
        model.save(bad_path)
    with pytest.raises(TypeError, match="^path must be a path"):
        unetseg.load(bad_path)
    with pytest.raises(TypeError, match="^train_dir must be a path"):
        unetseg.fit(bad_path, tmp_path / "run", progress=False)
    with pytest.raises(TypeError, match="^out_dir must be a path"):
        unetseg.predict(model, tmp_path, bad_path, progress=False)
    with pytest.raises(TypeError, match="^root must be a path"):
        unetseg.synthesize(bad_path, progress=False)
    still_works(model)


# ---- arrays: dtypes and layouts --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float16, np.int32, np.uint8, np.int64, np.bool_])
def test_any_real_dtype_is_converted_as_torch_tensor_does(model, dtype):
    images, _ = make_batch(0)
    expected = model(images).numpy()
    converted = images.astype(dtype) if dtype not in (np.int32, np.uint8, np.int64, np.bool_) else None
    if converted is not None:
        np.testing.assert_allclose(model(converted).numpy(), model(converted.astype(np.float32)).numpy())
    whole = (images * 10).astype(dtype)
    assert np.array_equal(unetseg.tensor(whole).numpy(), whole.astype(np.float32))
    assert expected.shape == (2, 1, 8, 8)


def test_non_contiguous_arrays_are_read_by_their_values_not_their_memory(model):
    images, _ = make_batch(0)
    strided = np.zeros((2, 3, 8, 16), np.float32)
    strided[..., ::2] = images
    view = strided[..., ::2]
    assert not view.flags.c_contiguous
    np.testing.assert_array_equal(model(view).numpy(), model(images).numpy())
    fortran = np.asfortranarray(images)
    np.testing.assert_array_equal(model(fortran).numpy(), model(images).numpy())
    transposed = images.transpose(0, 1, 3, 2)
    assert np.array_equal(unetseg.tensor(transposed).numpy(), transposed)
    np.testing.assert_array_equal(model.predict(view), model.predict(images))
    still_works(model)


def test_arrays_of_the_wrong_shape_name_the_argument(model):
    with pytest.raises(unetseg.InvalidArgument, match=r"input must be \[N, 3, H, W\], got \[3, 8, 8\]"):
        model(np.zeros((3, 8, 8), np.float32))
    with pytest.raises(unetseg.InvalidArgument, match=r"images must be \[N, 3, H, W\]"):
        model.predict(np.zeros((1, 2, 8, 8), np.float32))
    first = model.parameters()[0]
    with pytest.raises(unetseg.InvalidArgument, match=f"{first.name}: expected shape"):
        first.copy_(np.zeros(3, np.float32))
    still_works(model)


# ---- closed handles and handles of the wrong kind --------------------------------------------------------


def test_closed_handles_raise_invalid_argument_naming_the_object(model):
    tensor = unetseg.zeros(2, 3)
    tensor.close()
    for call in (lambda: tensor + 1, lambda: tensor.numpy(), lambda: model(tensor), lambda: tensor.sum()):
        with pytest.raises(unetseg.InvalidArgument, match="this Tensor was closed"):
            call()
    other = unetseg.UNet(seed=2, **TINY)
    parameters = other.parameters()
    other.close()
    other.close()  # closing twice is allowed
    with pytest.raises(unetseg.InvalidArgument, match="this UNet was closed"):
        other(make_batch(0)[0])
    # As in torch, a parameter holds its own storage: it stays readable after its model is gone.
    assert parameters[0].numpy().shape == tuple(parameters[0].shape)
    with pytest.raises(unetseg.InvalidArgument, match="this UNet was closed"):
        unetseg.SGD(parameters, lr=0.1)
    optimizer = unetseg.SGD(model, lr=0.1)
    optimizer.close()
    with pytest.raises(unetseg.InvalidArgument, match="this SGD was closed"):
        optimizer.step()
    still_works(model)


def test_handles_of_the_wrong_kind_name_the_argument(model, tmp_path):
    images, masks = make_batch(0)
    with pytest.raises(TypeError, match="^model must be a UNet, got Tensor"):
        unetseg.evaluate(unetseg.zeros(2), tmp_path, progress=False)
    with pytest.raises(TypeError, match="^model must be a UNet, got SGD"):
        unetseg.predict(unetseg.SGD(model, lr=0.1), tmp_path, tmp_path / "out", progress=False)
    with pytest.raises(TypeError, match="^dataset must be a BrainSegDataset or have __getitem__ and __len__, got UNet"):
        unetseg.DataLoader(model, batch_size=2)
    with pytest.raises(TypeError, match="^prediction must be a Tensor, got UNet"):
        unetseg.binary_cross_entropy(model, masks)
    with pytest.raises(TypeError, match="^prediction must be a Tensor, got ndarray"):
        unetseg.combined_loss(images, masks)
    with pytest.raises(unetseg.InvalidArgument, match="OneCycleLR drives an SGD optimiser, got UNet"):
        unetseg.OneCycleLR(model, max_lr=0.1, epochs=1, steps_per_epoch=1)
    with pytest.raises(TypeError, match="^model must be a UNetConfig, got UNet"):
        unetseg.fit(tmp_path, tmp_path / "run", model=model, progress=False)
    still_works(model)


# ---- huge and negative sizes -----------------------------------------------------------------------------


@pytest.mark.parametrize("size, error, message", [
    (-1, unetseg.InvalidArgument, r"shape \[-1\]: sizes must be > 0"),
    (0, unetseg.InvalidArgument, "sizes must be > 0"),
    (2**62, unetseg.OutOfMemory, "cannot allocate"),
    (2**70, unetseg.InvalidArgument, "shape is 1180591620717411303424, outside the range"),
])
def test_huge_and_negative_tensor_sizes(model, size, error, message):
    with pytest.raises(error, match=message):
        unetseg.zeros(size)
    still_works(model)


def test_sizes_whose_product_overflows(model):
    with pytest.raises(unetseg.InvalidArgument, match=r"shape \[2, 4611686018427387904\] has too many elements"):
        unetseg.zeros(2, 2**62)
    with pytest.raises(unetseg.InvalidArgument, match=r"shape \[2, -1\]: sizes must be > 0"):
        unetseg.zeros(2, -1)
    still_works(model)


@pytest.mark.parametrize("kwargs, message", [
    (dict(depth=-1), "depth must be in"),
    (dict(depth=2**40), "depth is 1099511627776, outside the range"),
    (dict(n_filters=-3), "n_filters"),
    (dict(channels_in=2**31), "channels_in is 2147483648, outside the range"),
    (dict(dropout=-0.5), "dropout"),
    (dict(seed=2**64), "seed is 18446744073709551616, outside the range"),
])
def test_huge_and_negative_model_sizes(model, kwargs, message):
    with pytest.raises(unetseg.InvalidArgument, match=message):
        unetseg.UNet(**kwargs)
    still_works(model)


def test_huge_and_negative_counts_elsewhere(model, tmp_path):
    optimizer = unetseg.SGD(model, lr=0.1)
    with pytest.raises(unetseg.InvalidArgument, match="steps_per_epoch is 1099511627776, outside the range"):
        unetseg.OneCycleLR(optimizer, max_lr=0.1, epochs=1, steps_per_epoch=2**40)
    with pytest.raises(unetseg.InvalidArgument, match="-5"):
        unetseg.OneCycleLR(optimizer, max_lr=0.1, epochs=1, steps_per_epoch=-5)
    with pytest.raises(unetseg.InvalidArgument, match="epochs is 4294967296, outside the range"):
        unetseg.fit(tmp_path, tmp_path / "run", epochs=2**32, progress=False)
    with pytest.raises(unetseg.InvalidArgument, match="patients is -1099511627776, outside the range"):
        unetseg.synthesize(tmp_path / "synthetic", patients=-2**40, progress=False)
    unetseg.synthesize(tmp_path / "data", patients=1, min_slices=8, max_slices=8, size=32, progress=False)
    dataset = unetseg.BrainSegDataset(tmp_path / "data")
    with pytest.raises(unetseg.InvalidArgument, match="batch_size is 4294967300, outside the range"):
        unetseg.DataLoader(dataset, batch_size=2**32 + 4)
    with pytest.raises(unetseg.InvalidArgument, match="batch_size"):
        unetseg.DataLoader(dataset, batch_size=-4)
    with pytest.raises(unetseg.InvalidArgument, match="index"):
        dataset.get_item(-1)
    with pytest.raises(unetseg.InvalidArgument, match="index"):
        dataset.get_item(2**40)
    loader = unetseg.DataLoader(dataset, batch_size=4)
    assert len(list(loader)) == 2
    still_works(model)


# ---- paths that are not UTF-8 ----------------------------------------------------------------------------


@pytest.mark.parametrize("make_path", [lambda base: bytes(base) + b"/caf\xe9",
                                       lambda base: str(base) + "/caf\udce9"])
def test_paths_that_are_not_utf8_are_refused_naming_the_argument(model, tmp_path, make_path):
    bad = make_path(tmp_path)
    with pytest.raises(unetseg.InvalidArgument, match="^root is not valid UTF-8"):
        unetseg.BrainSegDataset(bad)
    with pytest.raises(unetseg.InvalidArgument, match="^path is not valid UTF-8"):
        model.save(bad)
    with pytest.raises(unetseg.InvalidArgument, match="^path is not valid UTF-8"):
        unetseg.load(bad)
    with pytest.raises(unetseg.InvalidArgument, match="not valid UTF-8"):
        unetseg.fit(bad, tmp_path / "run", progress=False)
    with pytest.raises(unetseg.InvalidArgument, match="not valid UTF-8"):
        unetseg.predict(model, tmp_path, bad, progress=False)
    assert list(tmp_path.iterdir()) == []  # nothing was created under a mangled name
    model.save(tmp_path / "fine.safetensors")
    still_works(unetseg.load(tmp_path / "fine.safetensors"))
