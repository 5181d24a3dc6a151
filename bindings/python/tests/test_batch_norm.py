"""UNet(batch_norm=True): Buda et al. 2019's model through the C API: its shape, modes and files."""

from __future__ import annotations

import numpy as np
import pytest

import unetseg
from unetseg import UNet, UNetConfig

from conftest import TINY, make_batch


def test_batch_norm_is_off_by_default_and_recorded_in_the_config():
    assert UNetConfig.default().batch_norm is False
    with UNet(seed=1, **TINY) as plain, UNet(seed=1, batch_norm=True, **TINY) as normalised:
        assert plain.config.batch_norm is False
        assert normalised.config == UNetConfig(channels_in=3, n_classes=1, depth=2, n_filters=2, dropout=0.6,
                                               batch_norm=True)
        names = [name for name, _ in normalised.named_parameters()]
        # Convolutions without bias, each followed by a batch norm's weight and bias.
        assert "down_path.0.conv_block.conv_block.0.bias" not in names
        assert "down_path.0.conv_block.conv_block.1.weight" in names
        assert "up_path.0.conv_block.conv_block.5.bias" in names
        assert normalised.parameter_count() == plain.parameter_count() + 2 * (4 + 8 + 4)


def test_modes_differ_and_a_saved_model_keeps_its_running_statistics(tmp_path):
    images, _ = make_batch(3, n=4)
    with UNet(seed=2, dropout=0.0, batch_norm=True, **TINY) as model:
        before = model.predict(images)          # evaluation mode: the initial running statistics
        model.train()
        model(images)                           # a training-mode pass moves them
        after = model.predict(images)
        assert not np.allclose(before, after)
        model.train()
        training = model(images).numpy()
        assert not np.allclose(training, after)  # batch statistics, not running ones
        path = tmp_path / "bn.safetensors"
        model.save(path)
        with unetseg.load(path) as loaded:
            assert loaded.config.batch_norm is True
            np.testing.assert_array_equal(loaded.predict(images), model.predict(images))


def test_state_dict_holds_the_buffers_and_load_state_dict_sets_them():
    images, _ = make_batch(4, n=4)
    with UNet(seed=3, dropout=0.0, batch_norm=True, **TINY) as source, \
            UNet(seed=4, dropout=0.0, batch_norm=True, **TINY) as target, UNet(seed=3, **TINY) as plain:
        assert list(plain.named_buffers()) == []
        source(images)                          # training mode: the running statistics move
        buffers = dict((name, b.numpy()) for name, b in source.named_buffers())
        assert len(buffers) == 6 * 3
        assert buffers["down_path.0.conv_block.conv_block.1.num_batches_tracked"] == 1
        assert not np.array_equal(buffers["up_path.0.conv_block.conv_block.5.running_var"], np.ones(4))
        state = source.state_dict()
        assert set(buffers) <= set(state) and len(state) == len(buffers) + len(list(source.parameters()))
        target.load_state_dict(state)
        np.testing.assert_array_equal(target.predict(images), source.predict(images))
        without_buffers = {k: v for k, v in state.items() if k not in buffers}
        with pytest.raises(unetseg.InvalidArgument, match="running_mean"):
            target.load_state_dict(without_buffers)
