"""Models defined in Python (unetseg.nn.Module, the layers, unetseg.nn.functional, unetseg.cat): the post's
U-Net written with them matches the built-in UNet bit for bit, parameters have gradients, SGD trains them,
and bad arguments raise InvalidArgument naming the argument."""

from __future__ import annotations

import gc
import sys

import numpy as np
import pytest

import unetseg
import unetseg.nn.functional as F
from unetseg import nn

from conftest import REPO, TINY, make_batch

sys.path.insert(0, str(REPO / "examples" / "python"))
import post_unet  # noqa: E402  (examples/python/post_unet.py: the post's model-definition code)


def post_model(**config):
    """The Python-defined post U-Net with the tiny shape (plus ``config``)."""
    return post_unet.UNet(**{**TINY, **config})


def copy_builtin_weights(module, builtin):
    result = module.load_state_dict(builtin.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []


def outputs_and_gradients(model, images, masks):
    prediction = model(unetseg.tensor(images))
    loss, _, _ = unetseg.combined_loss(prediction, masks)
    loss.backward()
    gradients = {name: p.grad.numpy() for name, p in model.named_parameters()}
    return prediction.numpy(), loss.item(), gradients


def test_post_unet_has_the_builtin_names_in_order(tiny_model):
    assert [n for n, _ in post_model().named_parameters()] == [n for n, _ in tiny_model.named_parameters()]
    assert [p.shape for p in post_model().parameters()] == [p.shape for p in tiny_model.parameters()]


@pytest.mark.parametrize("training", [False, True])
def test_post_unet_matches_the_builtin_bit_for_bit(training):
    # With the post's dropout 0.6: in training mode both draw their masks from the library's generator
    # (the built-in model is made without a seed), in the same order, so the same seed gives the same masks.
    images, masks = make_batch(3, n=2, size=8)
    unetseg.manual_seed(4)
    with unetseg.UNet(**TINY) as builtin:
        module = post_model()
        copy_builtin_weights(module, builtin)
        builtin.train(training)
        module.train(training)
        unetseg.manual_seed(99)
        expected = outputs_and_gradients(builtin, images, masks)
        unetseg.manual_seed(99)
        actual = outputs_and_gradients(module, images, masks)
        if training:  # the masks came from the generator: another seed gives other outputs
            unetseg.manual_seed(100)
            assert not np.array_equal(outputs_and_gradients(builtin, images, masks)[0], expected[0])
    assert np.array_equal(actual[0], expected[0])
    assert actual[1] == expected[1]
    assert actual[2].keys() == expected[2].keys()
    for name in expected[2]:
        assert np.array_equal(actual[2][name], expected[2][name]), name


def test_default_initialisation_draws_as_the_builtin_model():
    unetseg.manual_seed(11)
    module = post_model()
    unetseg.manual_seed(11)
    with unetseg.UNet(**TINY) as builtin:
        for (name, mine), (_, theirs) in zip(module.named_parameters(), builtin.named_parameters()):
            assert np.array_equal(mine.numpy(), theirs.numpy()), name
    bound = 1 / np.sqrt(3 * 3 * 3)
    first = module.down_path[0].conv_block.conv_block[0].weight.numpy()
    assert first.min() >= -bound and first.max() < bound


def test_builtin_parameters_have_gradients(tiny_model, batch):
    images, masks = batch
    name = "down_path.0.conv_block.conv_block.0.weight"
    assert dict(tiny_model.named_parameters())[name].grad is None
    loss, _, _ = unetseg.combined_loss(tiny_model(images), masks)
    loss.backward()
    grad = dict(tiny_model.named_parameters())[name].grad
    assert grad is not None and grad.shape == (4, 3, 3, 3)
    assert np.abs(grad.numpy()).sum() > 0
    tiny_model.zero_grad()
    assert dict(tiny_model.named_parameters())[name].grad is None


def test_post_unet_trains_with_sgd_and_one_cycle():
    images, masks = make_batch(5, n=2, size=8)
    unetseg.manual_seed(2)
    module = post_model(dropout=0.0)
    optimizer = unetseg.SGD(module.parameters(), lr=0.05, momentum=0.9)
    schedule = unetseg.OneCycleLR(optimizer, max_lr=0.05, epochs=1, steps_per_epoch=8)
    losses = []
    for _ in range(8):
        optimizer.zero_grad()
        loss, _, _ = unetseg.combined_loss(module(unetseg.tensor(images)), masks)
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert all(p.grad is None for p in (module.zero_grad() or module.parameters()))


def test_module_registration_modes_and_state_dict():
    module = post_model()
    assert isinstance(module.last, nn.Conv2d) and isinstance(module.last.weight, nn.Parameter)
    assert [name for name, _ in module.named_children()] == ["down_path", "up_path", "last"]
    assert module.eval() is module
    assert not any(m.training for m in module.modules())
    module.train()
    assert all(m.training for m in module.modules())
    assert module.to(device="cpu") is module
    state = module.state_dict()
    other = post_model()
    other.load_state_dict(state)
    for name, values in other.state_dict().items():
        assert np.array_equal(values, state[name])
    module.last = nn.Conv2d(4, 1, kernel_size=1)
    module.extra = nn.Parameter(np.zeros(2))
    assert list(dict(module.named_parameters()))[0] == "extra"  # a module's own parameters come first
    del module.extra
    assert "extra" not in dict(module.named_parameters())
    with pytest.raises(unetseg.InvalidArgument, match="missing"):
        other.load_state_dict({})
    with pytest.raises(unetseg.InvalidArgument, match="last.weight: expected shape"):
        other.load_state_dict({**state, "last.weight": np.zeros((1, 4, 3, 3))})


def test_functional_ops_match_numpy():
    x = unetseg.tensor(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4) - 8, requires_grad=True)
    assert F.max_pool2d(x, 2).numpy().ravel().tolist() == [-3, -1, 5, 7]
    assert F.relu(x).numpy().min() == 0
    joined = unetseg.cat([x, x], dim=-1)
    assert joined.shape == (1, 1, 4, 8)
    assert np.array_equal(F.dropout(x, 0.5, training=False).numpy(), x.numpy())
    unetseg.manual_seed(1)
    dropped = F.dropout(unetseg.tensor(np.ones(1000)), 0.25).numpy()
    assert set(np.unique(dropped)) <= {0.0, np.float32(1 / 0.75)}
    weight = unetseg.tensor(np.ones((2, 1, 3, 3)))
    assert F.conv2d(x, weight, padding=1).shape == (1, 2, 4, 4)
    up = F.conv_transpose2d(x, unetseg.tensor(np.ones((1, 3, 2, 2))), unetseg.tensor(np.zeros(3)), stride=2)
    assert up.shape == (1, 3, 8, 8)
    joined.sum().backward()
    assert np.array_equal(x.grad.numpy(), np.full((1, 1, 4, 4), 2, dtype=np.float32))


def test_bad_inputs_raise_invalid_argument_naming_the_argument():
    x = unetseg.tensor(np.zeros((1, 3, 8, 8)))
    conv = nn.Conv2d(4, 8, 3)
    with pytest.raises(unetseg.InvalidArgument, match="conv2d: weight"):
        conv(x)
    with pytest.raises(unetseg.InvalidArgument, match="in_channels"):
        nn.Conv2d(0, 8, 3)
    with pytest.raises(unetseg.InvalidArgument, match="stride"):
        nn.ConvTranspose2d(3, 8, 2, stride=0)
    with pytest.raises(unetseg.InvalidArgument, match="kernel_size"):
        F.max_pool2d(x, 0)
    with pytest.raises(unetseg.InvalidArgument, match="larger than the input"):
        F.max_pool2d(x, 9)
    with pytest.raises(unetseg.InvalidArgument, match="p must be"):
        F.dropout(x, 1.5)
    with pytest.raises(unetseg.InvalidArgument, match="p must be"):
        nn.Dropout(-0.1)
    with pytest.raises(unetseg.InvalidArgument, match="input must be a Tensor"):
        F.conv2d(np.zeros((1, 3, 8, 8)), conv.weight)
    with pytest.raises(unetseg.InvalidArgument, match="cat"):
        unetseg.cat([])
    with pytest.raises(unetseg.InvalidArgument, match="differ outside dim 1"):
        unetseg.cat([x, unetseg.tensor(np.zeros((1, 3, 4, 4)))], 1)
    with pytest.raises(unetseg.InvalidArgument, match="U-Net input|conv2d: weight"):
        post_model()(unetseg.tensor(np.zeros((1, 2, 8, 8))))
    with pytest.raises(unetseg.InvalidArgument, match="CPU"):
        post_model().to("cuda")
    with pytest.raises(unetseg.InvalidArgument, match="does not require grad"):
        unetseg.SGD([unetseg.tensor(np.zeros(2))])
    with pytest.raises(IndexError, match="out of range"):
        nn.ModuleList()[0]

    class Forgetful(nn.Module):
        def __init__(self):
            self.conv = nn.Conv2d(1, 1, 1)

    with pytest.raises(AttributeError, match="super"):
        Forgetful()
    with pytest.raises(NotImplementedError):
        nn.Module()(x)


def test_modules_release_their_handles():
    gc.collect()
    before = unetseg.live_handle_count()
    module = post_model()
    optimizer = unetseg.SGD(module.parameters())
    assert unetseg.live_handle_count() > before
    del module, optimizer
    gc.collect()
    assert unetseg.live_handle_count() == before
