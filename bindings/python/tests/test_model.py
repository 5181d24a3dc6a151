"""UNet: creation, forward and predict, modes, parameters and state_dict, files; the losses."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

import unetseg
from unetseg import UNet, UNetConfig

from conftest import TINY, make_batch


def write_plain_safetensors(path, arrays):
    """A safetensors file as ``safetensors.torch.save_file`` writes a state_dict: no unetseg metadata."""
    header, offset, blobs = {}, 0, []
    for name, array in arrays.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


# ---- creation --------------------------------------------------------------------------------------------


def test_default_config_is_the_posts():
    assert UNetConfig.default() == UNetConfig(channels_in=3, n_classes=1, depth=5, n_filters=6, dropout=0.6)


def test_post_model_has_the_posts_state_dict_keys():
    with UNet() as model:
        assert model.config == UNetConfig.default() and model.seed is None and model.training
        names = [name for name, _ in model.named_parameters()]
        assert len(names) == 5 * 4 + 4 * 6 + 2
        assert names[:2] == ["down_path.0.conv_block.conv_block.0.weight", "down_path.0.conv_block.conv_block.0.bias"]
        assert "up_path.3.up.weight" in names and names[-2:] == ["last.weight", "last.bias"]
        shapes = dict((p.name, p.shape) for p in model.parameters())
        assert shapes["down_path.0.conv_block.conv_block.0.weight"] == (64, 3, 3, 3)
        assert shapes["up_path.0.up.weight"] == (1024, 512, 2, 2)  # ConvTranspose2d: [in, out, kh, kw]
        assert shapes["last.weight"] == (1, 64, 1, 1)
        assert model.parameter_count() == sum(p.numel() for p in model.parameters())


def test_seeded_models_are_reproducible(tiny_model):
    with UNet(seed=1, **TINY) as same, UNet(seed=2, **TINY) as other:
        assert same.seed == 1
        a, b, c = tiny_model.state_dict(), same.state_dict(), other.state_dict()
        assert all(np.array_equal(a[k], b[k]) for k in a)
        assert not np.array_equal(a["last.weight"], c["last.weight"])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(depth=0), "depth"),
        (dict(n_filters=11), "n_filters"),
        (dict(channels_in=0), "channels_in"),
        (dict(dropout=1.0), "dropout"),
        (dict(seed=-5), "seed must be -1"),
    ],
)
def test_invalid_configs_name_the_field(kwargs, message):
    with pytest.raises(unetseg.InvalidArgument, match=message):
        UNet(**kwargs)


# ---- forward, predict, modes -----------------------------------------------------------------------------


def test_forward_gives_probabilities_with_a_graph(tiny_model, batch):
    images, masks = batch
    out = tiny_model(images)
    assert out.shape == (2, 1, 8, 8) and out.requires_grad
    values = out.numpy()
    assert ((values > 0) & (values < 1)).all()
    same = tiny_model.forward(unetseg.tensor(images))
    assert same.shape == out.shape


def test_train_and_eval_modes(tiny_model, batch):
    images, _ = batch
    assert tiny_model.train() is tiny_model and tiny_model.training
    first, second = tiny_model(images).numpy(), tiny_model(images).numpy()
    assert not np.array_equal(first, second)  # dropout 0.6 is active
    assert tiny_model.eval() is tiny_model and not tiny_model.training
    np.testing.assert_array_equal(tiny_model(images).numpy(), tiny_model(images).numpy())
    tiny_model.train(False)
    assert not tiny_model.training


def test_predict_matches_eval_forward_and_keeps_the_mode(tiny_model):
    images, _ = make_batch(1, n=6, size=16)  # more images than predict's internal batch
    assert tiny_model.training
    probabilities = tiny_model.predict(images)
    assert probabilities.shape == (6, 1, 16, 16) and probabilities.dtype == np.float32
    assert tiny_model.training
    tiny_model.eval()
    np.testing.assert_allclose(probabilities, tiny_model(images).numpy(), rtol=1e-5, atol=1e-6)


def test_predict_and_forward_errors(tiny_model):
    with pytest.raises(unetseg.InvalidArgument, match=r"images must be \[N, 3, H, W\], got \[2, 1, 8, 8\]"):
        tiny_model.predict(np.zeros((2, 1, 8, 8)))
    with pytest.raises(unetseg.InvalidArgument, match=r"got \[3, 8, 8\]"):
        tiny_model.predict(np.zeros((3, 8, 8)))
    with pytest.raises(unetseg.InvalidArgument, match="multiple"):
        tiny_model.predict(np.zeros((1, 3, 7, 7)))
    with pytest.raises(unetseg.InvalidArgument):
        tiny_model(np.zeros((1, 2, 8, 8)))


def test_closed_model_raises(batch):
    model = UNet(**TINY)
    model.close()
    with pytest.raises(unetseg.InvalidArgument, match="this UNet was closed"):
        model.predict(batch[0])
    assert repr(model) == "UNet(<closed>)"


# ---- parameters and state_dict ---------------------------------------------------------------------------


def test_state_dict_round_trips_through_numpy(tiny_model, tmp_path, batch):
    state = tiny_model.state_dict()
    assert all(isinstance(v, np.ndarray) and v.dtype == np.float32 for v in state.values())
    np.savez(tmp_path / "weights.npz", **state)
    loaded = dict(np.load(tmp_path / "weights.npz"))
    with UNet(seed=99, **TINY) as other:
        result = other.load_state_dict(loaded)
        assert result == unetseg.IncompatibleKeys([], [])
        again = other.state_dict()
        assert list(again) == list(state) and all(np.array_equal(again[k], state[k]) for k in state)
        np.testing.assert_array_equal(other.predict(batch[0]), tiny_model.predict(batch[0]))


def test_load_state_dict_errors_change_nothing(tiny_model):
    state = tiny_model.state_dict()
    before = tiny_model.state_dict()
    partial = dict(state)
    partial.pop("last.bias")
    partial["down_path.0.conv_block.conv_block.0.bias"] = np.full(4, 9.0)
    with pytest.raises(unetseg.InvalidArgument, match=r"missing \['last.bias'\]"):
        tiny_model.load_state_dict(partial)
    with pytest.raises(unetseg.InvalidArgument, match=r"unexpected \['extra'\]"):
        tiny_model.load_state_dict({**state, "extra": np.zeros(1)})
    bad_shape = {**state, "last.weight": np.zeros((4, 1, 1, 1))}
    with pytest.raises(unetseg.InvalidArgument, match=r"last.weight: expected shape \[1, 4, 1, 1\], got \[4, 1, 1, 1\]"):
        tiny_model.load_state_dict(bad_shape)
    after = tiny_model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    result = tiny_model.load_state_dict(partial, strict=False)
    assert result.missing_keys == ["last.bias"] and result.unexpected_keys == []
    assert (tiny_model.state_dict()["down_path.0.conv_block.conv_block.0.bias"] == 9).all()


def test_parameter_read_and_write(tiny_model):
    weight = dict(tiny_model.named_parameters())["last.weight"]
    assert repr(weight) == "Parameter('last.weight', shape=[1, 4, 1, 1])" and weight.ndim == 4
    weight.copy_(np.arange(4).reshape(1, 4, 1, 1))
    np.testing.assert_array_equal(np.asarray(weight).ravel(), [0, 1, 2, 3])
    with pytest.raises(unetseg.InvalidArgument, match=r"last.weight: expected shape \[1, 4, 1, 1\], got \[4\]"):
        weight.copy_(np.zeros(4))
    with pytest.raises(ValueError, match="needs a copy"):
        weight.__array__(copy=False)


# ---- files -----------------------------------------------------------------------------------------------


def test_save_and_load_round_trip(tiny_model, tmp_path, batch):
    path = tmp_path / "model.safetensors"
    tiny_model.save(path)
    with unetseg.load(path) as loaded:
        assert loaded.config == tiny_model.config and loaded.training
        np.testing.assert_array_equal(loaded.predict(batch[0]), tiny_model.predict(batch[0]))
    with UNet.load(str(path)) as loaded:
        assert loaded.config == tiny_model.config


def test_load_a_pytorch_state_dict_needs_the_config(tiny_model, tmp_path, batch):
    path = tmp_path / "torch.safetensors"
    write_plain_safetensors(path, tiny_model.state_dict())
    with pytest.raises(unetseg.InvalidArgument, match="torch.safetensors"):
        unetseg.load(path)
    with unetseg.load(path, tiny_model.config) as loaded:
        np.testing.assert_array_equal(loaded.predict(batch[0]), tiny_model.predict(batch[0]))
    wrong = UNetConfig(channels_in=3, n_classes=1, depth=3, n_filters=2, dropout=0.6)
    with pytest.raises(unetseg.FileFormatError, match="torch.safetensors"):
        unetseg.load(path, wrong)


def test_file_errors_name_the_file(tiny_model, tmp_path):
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\xff" * 64)
    with pytest.raises(unetseg.FileFormatError, match="garbage.safetensors") as info:
        unetseg.load(garbage)
    assert info.value.status == 3
    truncated = tmp_path / "truncated.safetensors"
    tiny_model.save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:-10])
    with pytest.raises(unetseg.FileFormatError, match="truncated.safetensors"):
        unetseg.load(truncated)
    with pytest.raises(unetseg.FileError, match="no-such-folder"):
        tiny_model.save(tmp_path / "no-such-folder" / "model.safetensors")
    with pytest.raises(unetseg.FileError, match="missing.safetensors"):
        unetseg.load(tmp_path / "missing.safetensors")
    with pytest.raises(unetseg.InvalidArgument, match="path is empty"):
        tiny_model.save("")


# ---- losses ----------------------------------------------------------------------------------------------


def numpy_bce(p, t):
    return float(np.mean(-(t * np.maximum(np.log(p), -100) + (1 - t) * np.maximum(np.log(1 - p), -100))))


def numpy_dice(p, t):
    return float(1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1))


def test_losses_match_their_definitions(tiny_model, batch):
    images, masks = batch
    output = tiny_model.eval()(images)
    p = output.numpy().astype(np.float64)
    bce = unetseg.binary_cross_entropy(output, masks)
    dice = unetseg.dice_loss(output, unetseg.tensor(masks))
    assert bce.shape == () and dice.shape == ()
    assert bce.item() == pytest.approx(numpy_bce(p, masks), rel=1e-5)
    assert dice.item() == pytest.approx(numpy_dice(p, masks), rel=1e-5)
    total, bce2, dice2 = unetseg.combined_loss(output, masks, dice_weight=0.3)
    assert (bce2.item(), dice2.item()) == (bce.item(), dice.item())
    assert total.item() == pytest.approx(0.3 * dice.item() + 0.7 * bce.item(), rel=1e-6)
    assert unetseg.binary_cross_entropy(unetseg.tensor([0.0, 1.0]), [1.0, 0.0]).item() == pytest.approx(100)


def test_loss_errors():
    p = unetseg.tensor([[0.2, 0.8]])
    with pytest.raises(unetseg.InvalidArgument, match="differ"):
        unetseg.binary_cross_entropy(p, [1.0, 0.0, 1.0])
    with pytest.raises(unetseg.InvalidArgument, match="should be between 0 and 1, found 1.5"):
        unetseg.binary_cross_entropy(unetseg.tensor([1.5]), [1.0])
    with pytest.raises(unetseg.InvalidArgument):
        unetseg.dice_loss(p, [1.0])
    with pytest.raises(unetseg.InvalidArgument, match=r"dice weight must be in \[0, 1\], got 2.0"):
        unetseg.combined_loss(p, [[1.0, 0.0]], dice_weight=2)
