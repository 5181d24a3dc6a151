"""Faults inside a Python session: NaN and infinity in weights and batches, a diverging run, and exceptions
raised by callbacks during training. Each reaches the caller as an exception, the files on disk stay whole
and usable, and the session goes on working."""

from __future__ import annotations

import numpy as np
import pytest

import unetseg
from conftest import RUN, SMALL, TINY, make_batch, synthetic_split



@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Training and validation folders of synthetic 32×32 slices (3 + 1 patients)."""
    return synthetic_split(tmp_path_factory.mktemp("faults"))


def _all_weights_finite(path) -> bool:
    with unetseg.load(path) as model:
        return all(np.isfinite(p.numpy()).all() for p in model.parameters())


@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
def test_a_model_with_non_finite_weights_never_replaces_a_checkpoint(tmp_path, bad_value):
    path = tmp_path / "good.safetensors"
    with unetseg.UNet(seed=1, **TINY) as model:
        model.save(path)
        good = path.read_bytes()
        first = model.parameters()[0]
        healthy = first.numpy()
        poisoned = healthy.copy()
        poisoned.flat[3] = bad_value
        first.copy_(poisoned)
        with pytest.raises(unetseg.NumericError, match=rf"{path}.*{first.name}.*NaN or infinite"):
            model.save(path)
        assert path.read_bytes() == good
        assert [p.name for p in tmp_path.iterdir()] == ["good.safetensors"]  # no temporary file left
        first.copy_(healthy)  # the session goes on: the repaired model saves
        model.save(path)
    assert path.read_bytes() == good


def test_nan_in_a_batch_is_refused_by_the_loss_and_the_weights_stay_finite(tmp_path):
    images, masks = make_batch(3)
    images[1, 0, 2, 2] = np.nan
    with unetseg.UNet(seed=1, **TINY) as model, unetseg.SGD(model, lr=0.1) as optimizer:
        output = model(images)
        assert np.isnan(output.numpy()[1]).any()
        # As torch's binary_cross_entropy: probabilities outside [0, 1] (NaN included) are an error.
        with pytest.raises(unetseg.InvalidArgument, match="between 0 and 1"):
            unetseg.binary_cross_entropy(output, masks)
        optimizer.step()  # no gradient was made: nothing changes
        assert all(np.isfinite(p.numpy()).all() for p in model.parameters())
        clean, _ = make_batch(3)
        loss = unetseg.binary_cross_entropy(model(clean), masks)
        loss.backward()
        optimizer.step()
        model.save(tmp_path / "after.safetensors")
    assert _all_weights_finite(tmp_path / "after.safetensors")


def test_a_diverging_run_stops_naming_the_batch_and_keeps_finite_checkpoints(folders, tmp_path):
    run = tmp_path / "run"
    with pytest.raises(unetseg.NumericError, match=r"loss became .* in epoch \d+, batch \d+"):
        unetseg.fit(folders / "train", run, lr=1e30, epochs=3, batch_size=4, model=SMALL, seed=1, progress=False)
    for checkpoint in run.glob("*.safetensors"):
        if checkpoint.name != "training_state.safetensors":
            assert _all_weights_finite(checkpoint), checkpoint


@pytest.mark.parametrize("where", ["on_batch", "on_epoch"])
def test_an_exception_in_a_training_callback_reaches_the_caller_and_the_run_resumes(folders, tmp_path, where):
    reference = []
    unetseg.fit(folders / "train", tmp_path / "reference", folders / "valid", on_batch=reference.append, **RUN)
    seen, failing_calls = [], []

    class Failure(Exception):
        pass

    def failing(report):
        failing_calls.append(report)
        if where == "on_batch":
            seen.append(report)
        if len(failing_calls) == (6 if where == "on_batch" else 1):
            raise Failure(f"raised in {where}")

    run = tmp_path / "run"
    callbacks = dict(on_batch=failing) if where == "on_batch" else dict(on_batch=seen.append, on_epoch=failing)
    with pytest.raises(Failure, match=f"raised in {where}"):
        unetseg.fit(folders / "train", run, folders / "valid", **callbacks, **RUN)
    # The files left are whole: every checkpoint loads, and resume continues to the uninterrupted losses.
    for checkpoint in run.glob("*.safetensors"):
        if checkpoint.name != "training_state.safetensors":
            assert _all_weights_finite(checkpoint), checkpoint
    batches = [b for b in seen if isinstance(b, unetseg.BatchReport)]
    rest = []
    unetseg.fit(folders / "train", run, folders / "valid", on_batch=rest.append, resume=True, **RUN)
    assert [b.losses for b in batches + rest] == [b.losses for b in reference]


def test_an_exception_in_a_prediction_callback_leaves_only_whole_masks(folders, tmp_path):
    with unetseg.UNet(seed=1, **TINY) as model:
        complete = unetseg.predict(model, folders / "valid", tmp_path / "complete", progress=False)

        def failing(done, total):
            if done == 3:
                raise RuntimeError("stop predicting")

        with pytest.raises(RuntimeError, match="stop predicting"):
            unetseg.predict(model, folders / "valid", tmp_path / "partial", progress=failing)
        written = sorted(p.relative_to(tmp_path / "partial") for p in (tmp_path / "partial").rglob("*") if p.is_file())
        assert 0 < len(written) < complete
        for name in written:
            assert (tmp_path / "partial" / name).read_bytes() == (tmp_path / "complete" / name).read_bytes()
        assert unetseg.predict(model, folders / "valid", tmp_path / "again", progress=False) == complete
