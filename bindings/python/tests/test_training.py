"""fit, evaluate and predict; the post's loop written in Python against fit; both against the CLI."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess

import numpy as np
import pytest

import unetseg
from unetseg import UNetConfig

from conftest import RUN, SMALL, synthetic_split, cli_path



@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Training and validation folders of synthetic 32×32 slices (3 + 1 patients)."""
    return synthetic_split(tmp_path_factory.mktemp("training"))


@pytest.fixture(scope="module")
def trained(folders):
    """A two-epoch run with batch and epoch reports."""
    batches, epochs = [], []
    run = unetseg.fit(folders / "train", folders / "run", folders / "valid", on_batch=batches.append,
                      on_epoch=epochs.append, **RUN)
    return run, batches, epochs


# ---- fit -------------------------------------------------------------------------------------------------


def test_fit_trains_and_reports(trained, folders):
    run, batches, epochs = trained
    assert [e.epoch for e in run.history] == [1, 2] and run.history == epochs and run.last is epochs[-1]
    assert run.model.config == SMALL and run.model.training
    assert len(batches) == 2 * 6 and batches[0].batch_count == 6 and batches[-1].batch == 6
    assert all(0 < b.losses.loss < 2 and b.slices_per_second > 0 for b in batches)
    first = epochs[0]
    assert first.valid is not None and 0 < first.lr and first.seconds > 0
    assert first.train.loss == pytest.approx(np.mean([b.losses.loss for b in batches[:6]]))
    assert first.train.loss == pytest.approx(0.3 * first.train.dice + 0.7 * first.train.bce)
    lines = first.post_lines()
    assert lines[0].startswith("Epoch 1, training: loss:") and lines[1].startswith("Epoch 1, validation: loss:")
    for name in ("model_1.safetensors", "model_2.safetensors", "best.safetensors", "log.csv", "log.json"):
        assert (folders / "run" / name).exists()
    logged = json.loads((folders / "run" / "log.json").read_text())
    assert json.dumps(logged)  # readable JSON
    with unetseg.load(folders / "run" / "model_2.safetensors") as saved:
        sd, now = saved.state_dict(), run.model.state_dict()
        assert all(np.array_equal(sd[k], now[k]) for k in sd)


def test_fit_is_reproducible(trained, folders):
    run, batches, _ = trained
    again = []
    other = unetseg.fit(folders / "train", folders / "run_again", folders / "valid", on_batch=again.append, **RUN)
    assert [b.losses for b in again] == [b.losses for b in batches]
    assert (other.last.train, other.last.valid) == (run.last.train, run.last.valid)


def test_fit_stops_and_resumes_where_it_left_off(trained, folders):
    _, batches, _ = trained
    seen = []

    def stop_after_eight(report):
        seen.append(report)
        return len(seen) < 8

    with pytest.raises(unetseg.Cancelled, match="resume"):
        unetseg.fit(folders / "train", folders / "run_stop", folders / "valid", on_batch=stop_after_eight, **RUN)
    rest = []
    run = unetseg.fit(folders / "train", folders / "run_stop", folders / "valid", on_batch=rest.append,
                      resume=True, **RUN)
    assert [b.losses for b in seen + rest] == [b.losses for b in batches]
    assert run.last.epoch == 2


def test_fit_callback_exceptions_propagate(folders):
    def failing(report):
        raise KeyError("stop here")

    with pytest.raises(KeyError, match="stop here"):
        unetseg.fit(folders / "train", folders / "run_fail", on_batch=failing, **RUN)


def test_fit_errors(folders, tmp_path):
    with pytest.raises(unetseg.InvalidArgument, match="epochs"):
        unetseg.fit(folders / "train", tmp_path / "run", epochs=0, progress=False)
    with pytest.raises(unetseg.FileError, match="missing"):
        unetseg.fit(tmp_path / "missing", tmp_path / "run", **RUN)
    with pytest.raises(unetseg.InvalidArgument, match="resume|nothing to resume"):
        unetseg.fit(folders / "train", tmp_path / "fresh", resume=True, **RUN)


def test_fit_reports_a_diverging_loss(folders, tmp_path):
    with pytest.raises(unetseg.NumericError, match="loss became"):
        unetseg.fit(folders / "train", tmp_path / "run", lr=1e30, epochs=3, batch_size=4, model=SMALL, seed=1,
                    progress=False)


def test_fit_with_a_progress_bar(folders, tmp_path, capsys):
    run = unetseg.fit(folders / "train", tmp_path / "run", epochs=1, batch_size=8, model=SMALL, seed=2,
                      progress=True)
    printed = capsys.readouterr()
    assert f"Epoch 1, training: loss:{run.last.train.loss:.6f}" in printed.out
    assert "Epoch 1, validation" not in printed.out  # no validation folder


# ---- the post's loop, line for line, against fit ---------------------------------------------------------


def test_the_posts_loop_in_python_gives_fits_losses(folders, tmp_path):
    # fit draws the initial weights from its seed; a run with a vanishing learning rate (1e-30 moves no
    # float32 weight) hands them to us. Dropout 0, no augmentation and slices in order leave nothing else
    # random, so the hand-written loop must see the same batches and give the same losses.
    config = UNetConfig(channels_in=3, n_classes=1, depth=2, n_filters=2, dropout=0.0)
    settings = dict(epochs=2, batch_size=4, model=config, seed=21, augmentation=None, random_sampling=False,
                    progress=False)
    frozen = unetseg.fit(folders / "train", tmp_path / "frozen", lr=1e-30, **settings)
    initial = frozen.model.state_dict()
    reports = []
    unetseg.fit(folders / "train", tmp_path / "real", lr=0.1, on_batch=reports.append, **settings)

    model = unetseg.UNet(depth=2, n_filters=2, dropout=0.0)
    model.load_state_dict(initial)
    train_ds = unetseg.BrainSegDataset(folders / "train", augmentation=None, random_sampling=False)
    train_dl = unetseg.DataLoader(train_ds, 4)
    optimizer = unetseg.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = unetseg.OneCycleLR(optimizer, max_lr=0.1, steps_per_epoch=len(train_dl), epochs=2)
    dice_weight = 0.3
    losses = []
    for epoch in range(1, 3):
        model.train()
        for b in train_dl:
            optimizer.zero_grad()
            output = model(b[0])
            target = b[1]
            bce_loss = unetseg.binary_cross_entropy(output, target)
            dice_loss = unetseg.dice_loss(output, target)
            loss = dice_weight * dice_loss + (1 - dice_weight) * bce_loss
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append((bce_loss.item(), dice_loss.item(), loss.item()))

    # The same float32 operations in the same order: equal to the last bit.
    assert len(losses) == len(reports) == 12
    assert losses == [(r.losses.bce, r.losses.dice, r.losses.loss) for r in reports]


# ---- evaluate and predict --------------------------------------------------------------------------------


def test_evaluate(trained, folders, tmp_path):
    run, _, _ = trained
    reports = []
    scores = unetseg.evaluate(run.model, folders / "valid", batch_size=3, predictions_dir=tmp_path / "masks",
                              output_dir=tmp_path / "out", model_path=folders / "run" / "model_2.safetensors",
                              progress=lambda done, total: reports.append((done, total)))
    assert scores.slice_count == 8 and scores.patient_count == 1 and len(scores.volume_dice) == 1
    assert 0 <= scores.mean_volume_dice <= 1 and scores.median_volume_dice == scores.mean_volume_dice
    assert list(scores.volume_dice.values())[0] == pytest.approx(scores.mean_volume_dice)
    assert scores.bce > 0 and 0 <= scores.dice_loss <= 1
    assert reports[-1] == (8, 8)
    assert len(list((tmp_path / "masks").glob("*/*_pred.tif"))) == 8
    patient = next(iter(scores.volume_dice))
    for name in ("metrics.json", "predictions.png", "contours.png", "loss_curves.png", "volume_dice.png",
                 f"overlays/{patient}.png"):
        assert (tmp_path / "out" / name).exists(), name
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["mean_volume_dice"] == pytest.approx(scores.mean_volume_dice)
    # The per-volume scores and their summaries through the C API are metrics.json's.
    volume = scores.volumes[patient]
    for name in ("dice", "precision", "sensitivity", "hausdorff95", "diagonal", "relative_volume_difference",
                 "predicted_voxels", "true_voxels"):
        assert volume[name] == pytest.approx(metrics["volumes"][patient][name]), name
    assert 0 <= volume["precision"] <= 1 and 0 <= volume["sensitivity"] <= 1
    assert 0 <= volume["hausdorff95"] <= volume["diagonal"]
    assert set(scores.summary) == {f"{kind}_{name}" for kind in ("mean", "median") for name in (
        "precision", "sensitivity", "hausdorff95", "absolute_volume_difference", "relative_volume_difference")}
    for name, value in scores.summary.items():
        assert value == pytest.approx(metrics[name]), name
    assert run.model.training


def test_evaluate_cancel_and_errors(trained, folders, tmp_path):
    run, _, _ = trained
    with pytest.raises(unetseg.Cancelled):
        unetseg.evaluate(run.model, folders / "valid", batch_size=2, progress=lambda done, total: False)
    with pytest.raises(unetseg.FileError, match="missing"):
        unetseg.evaluate(run.model, tmp_path / "missing", progress=False)
    with unetseg.UNet(channels_in=1, depth=2, n_filters=1) as one_channel:
        with pytest.raises(unetseg.InvalidArgument, match="must have channels_in 3 and n_classes 1"):
            unetseg.evaluate(one_channel, folders / "valid", progress=False)
    assert unetseg.evaluate(run.model, folders / "valid", progress=True).slice_count == 8
    with pytest.raises(unetseg.InvalidArgument, match="postprocess must be one of 'none', 'largest-component'"):
        unetseg.evaluate(run.model, folders / "valid", postprocess="biggest", progress=False)


def test_evaluate_largest_component(trained, folders, tmp_path):
    """postprocess="largest-component" keeps one 6-connected component per volume: never more predicted
    voxels than the raw masks, the same losses, a mask written per slice."""
    run, _, _ = trained
    raw = unetseg.evaluate(run.model, folders / "valid", progress=False)
    kept = unetseg.evaluate(run.model, folders / "valid", predictions_dir=tmp_path / "kept",
                            postprocess="largest-component", progress=False)
    assert kept.bce == raw.bce and kept.dice_loss == raw.dice_loss
    for patient, scores in kept.volumes.items():
        assert scores["predicted_voxels"] <= raw.volumes[patient]["predicted_voxels"]
    assert len(list((tmp_path / "kept").glob("*/*_pred.tif"))) == kept.slice_count


def test_predict_a_folder(trained, folders, tmp_path):
    run, _, _ = trained
    reports = []
    written = unetseg.predict(run.model, folders / "valid", tmp_path / "masks",
                              progress=lambda done, total: reports.append(done))
    assert written == 8 and reports[-1] == 8
    assert len(list((tmp_path / "masks").glob("*/*_pred.tif"))) == 8
    assert not list((tmp_path / "masks").glob("*/*_mask.tif"))
    single = next(p for p in (folders / "valid").glob("*/*.tif") if not p.name.endswith("_mask.tif"))
    assert unetseg.predict(run.model, single, tmp_path / "one", progress=False) == 1
    with pytest.raises(unetseg.Cancelled):
        unetseg.predict(run.model, folders / "valid", tmp_path / "stop", progress=lambda done, total: False)
    with pytest.raises(unetseg.FileError, match="missing"):
        unetseg.predict(run.model, tmp_path / "missing", tmp_path / "x", progress=False)


# ---- user files are never replaced -----------------------------------------------------------------------


def digest(folder) -> str:
    """SHA-256 over the paths and bytes of every file below ``folder`` (links followed)."""
    total = hashlib.sha256()
    for parent, dirs, files in sorted(os.walk(folder, followlinks=True)):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(parent, name)
            total.update(os.path.relpath(path, folder).encode())
            with open(path, "rb") as file:
                total.update(hashlib.sha256(file.read()).digest())
    return total.hexdigest()


def test_predictions_never_replace_inputs(trained, folders):
    run, _, _ = trained
    data, valid = folders / "all", folders / "valid"
    patient = next(valid.iterdir()).name
    before = digest(data)
    for source, out in [(data, data), (data, data / patient), (valid, data), (data, valid)]:
        with pytest.raises(unetseg.InvalidArgument, match="outputs are never written") as refusal:
            unetseg.predict(run.model, source, out, progress=False)
        assert str(out) in str(refusal.value) and str(source) in str(refusal.value)
    for folder in (data, data / patient):
        with pytest.raises(unetseg.InvalidArgument, match=str(folder)):
            unetseg.evaluate(run.model, valid, predictions_dir=folder, progress=False)
    assert digest(data) == before


def test_fit_refuses_an_earlier_run_unless_overwrite(folders, tmp_path):
    out = tmp_path / "run"
    unetseg.fit(folders / "train", out, **dict(RUN, epochs=1))
    before = digest(out)
    for every_epoch in (True, False):
        with pytest.raises(unetseg.FileError, match=f"{out}.*overwrite"):
            unetseg.fit(folders / "train", out, checkpoint_every_epoch=every_epoch, **dict(RUN, epochs=1))
        assert digest(out) == before
    unetseg.fit(folders / "train", out, overwrite=True, **dict(RUN, epochs=1, seed=12))
    assert digest(out) != before


def test_split_refuses_an_earlier_split_unless_overwrite(folders, tmp_path):
    train, valid = tmp_path / "split" / "train", tmp_path / "split" / "valid"
    unetseg.split(folders / "all", train, valid, n_valid=1, seed=1)
    before, data_before = digest(tmp_path / "split"), digest(folders / "all")
    with pytest.raises(unetseg.FileError, match="split.json"):
        unetseg.split(folders / "all", train, valid, n_valid=2, seed=1)
    assert digest(tmp_path / "split") == before
    assert unetseg.split(folders / "all", train, valid, n_valid=2, seed=1, overwrite=True) == (2, 2)
    assert json.loads((tmp_path / "split" / "split.json").read_text())["n_valid"] == 2
    assert digest(folders / "all") == data_before


# ---- against the CLI -------------------------------------------------------------------------------------

CLI = cli_path()
needs_cli = pytest.mark.skipif(
    CLI is None or not CLI.exists(),
    reason="the unetseg CLI is not built (run `make lib-cli` or `make build`, or set UNETSEG_CLI)")


@needs_cli
def test_fit_matches_the_cli_run_with_the_same_seed(trained, folders, tmp_path):
    run, _, _ = trained
    subprocess.run([str(CLI), "train", "--train", str(folders / "train"), "--valid", str(folders / "valid"),
                    "--out", str(tmp_path / "cli"), "--epochs", "2", "--batch-size", "4", "--depth", "2",
                    "--filters", "2", "--seed", "11"], check=True, capture_output=True, timeout=600)
    cli_log = json.loads((tmp_path / "cli" / "log.json").read_text())
    python_log = json.loads((folders / "run" / "log.json").read_text())
    assert _without_times(cli_log) == _without_times(python_log)


@needs_cli
def test_fit_with_adam_matches_the_cli(trained, folders, tmp_path):
    """optimizer="adam" (lr None: 1e-3) is the CLI's --optimizer adam, loss for loss, and differs from SGD."""
    run = unetseg.fit(folders / "train", tmp_path / "py", folders / "valid", optimizer="adam", **RUN)
    subprocess.run([str(CLI), "train", "--train", str(folders / "train"), "--valid", str(folders / "valid"),
                    "--out", str(tmp_path / "cli"), "--epochs", "2", "--batch-size", "4", "--depth", "2",
                    "--filters", "2", "--seed", "11", "--optimizer", "adam"], check=True, capture_output=True,
                   timeout=600)
    cli_log = json.loads((tmp_path / "cli" / "log.json").read_text())
    python_log = json.loads((tmp_path / "py" / "log.json").read_text())
    assert _without_times(cli_log) == _without_times(python_log)
    sgd_log = json.loads((folders / "run" / "log.json").read_text())
    assert _without_times(sgd_log) != _without_times(python_log)
    # The same one-cycle schedule peaking at 1e-3 instead of SGD's 0.1.
    assert run.history[-1].lr == pytest.approx(trained[0].history[-1].lr / 100, rel=1e-6)
    with pytest.raises(unetseg.InvalidArgument, match="optimizer must be one of 'sgd', 'adam'"):
        unetseg.fit(folders / "train", tmp_path / "bad", optimizer="adamw", **RUN)


@needs_cli
def test_evaluate_matches_the_cli(trained, folders, tmp_path):
    run, _, _ = trained
    model_path = folders / "run" / "model_2.safetensors"
    subprocess.run([str(CLI), "evaluate", "--model", str(model_path), "--data", str(folders / "valid"),
                    "--out", str(tmp_path / "cli"), "--no-masks"], check=True, capture_output=True, timeout=600)
    cli_metrics = json.loads((tmp_path / "cli" / "metrics.json").read_text())
    with unetseg.load(model_path) as model:
        scores = unetseg.evaluate(model, folders / "valid", progress=False)
    assert scores.mean_volume_dice == pytest.approx(cli_metrics["mean_volume_dice"], abs=1e-12)
    assert scores.bce == pytest.approx(cli_metrics["bce"], rel=1e-9)
    assert scores.volume_dice == pytest.approx(cli_metrics["volume_dice"])


def _without_times(log):
    """A log.json with the wall times removed (everything else must agree)."""
    if isinstance(log, dict):
        return {k: _without_times(v) for k, v in log.items() if "second" not in k and "time" not in k}
    if isinstance(log, list):
        return [_without_times(v) for v in log]
    return log


def test_the_posts_full_loop_with_the_same_seed_gives_fits_losses(folders, tmp_path):
    # With dropout, augmentation and lesion-weighted sampling: fit keys every part by its seed alone
    # (model, dataset and loader each take the seed), so the hand-written loop seeded the same way matches.
    seed = 21
    config = UNetConfig(channels_in=3, n_classes=1, depth=2, n_filters=2, dropout=0.6)
    reports = []
    unetseg.fit(folders / "train", tmp_path / "real", lr=0.1, on_batch=reports.append, epochs=2, batch_size=4,
                model=config, seed=seed, progress=False)

    model = unetseg.UNet(depth=2, n_filters=2, dropout=0.6, seed=seed)
    train_ds = unetseg.BrainSegDataset(folders / "train", augmentation=(0.05, 15, 0.5), random_sampling=True,
                                       seed=seed)
    train_dl = unetseg.DataLoader(train_ds, 4, seed=seed)
    optimizer = unetseg.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = unetseg.OneCycleLR(optimizer, max_lr=0.1, steps_per_epoch=len(train_dl), epochs=2)
    losses = []
    for epoch in range(1, 3):
        model.train()
        for b in train_dl:
            optimizer.zero_grad()
            output = model(b[0])
            bce_loss = unetseg.binary_cross_entropy(output, b[1])
            dice_loss = unetseg.dice_loss(output, b[1])
            loss = 0.3 * dice_loss + 0.7 * bce_loss
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append((bce_loss.item(), dice_loss.item(), loss.item()))
    assert len(losses) == len(reports) == 12
    assert losses == [(r.losses.bce, r.losses.dice, r.losses.loss) for r in reports]
