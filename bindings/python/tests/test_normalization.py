"""normalization: per-volume z-score and percentile scaling in datasets, recorded by fit and used by
evaluate and predict; the same run as the CLI's --normalize."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

import unetseg

from conftest import RUN, cli_path, synthetic_split


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    return synthetic_split(tmp_path_factory.mktemp("normalization"))


def test_dataset_zscores_each_patients_volume(folders):
    minmax = unetseg.BrainSegDataset(folders / "valid")
    zscore = unetseg.BrainSegDataset(folders / "valid", normalization="zscore")
    images = np.stack([zscore[i][0].numpy() for i in range(len(zscore))])  # one patient: its whole volume
    assert np.allclose(images.mean(axis=(0, 2, 3)), 0, atol=1e-4)
    assert np.allclose(images.std(axis=(0, 2, 3)), 1, atol=1e-3)
    assert minmax[0][0].numpy().min() >= 0 and not np.allclose(minmax[0][0].numpy(), zscore[0][0].numpy())
    percentile = unetseg.BrainSegDataset(folders / "valid", normalization="percentile")
    assert not np.allclose(percentile[0][0].numpy(), zscore[0][0].numpy())
    with pytest.raises(unetseg.InvalidArgument, match="normalization must be one of 'minmax', 'zscore', 'percentile'"):
        unetseg.BrainSegDataset(folders / "valid", normalization="robust")


def test_fit_records_the_normalization_for_evaluate_and_predict(folders, tmp_path):
    run = unetseg.fit(folders / "train", tmp_path / "run", folders / "valid", normalization="percentile", **RUN)
    default = unetseg.evaluate(run.model, folders / "valid", progress=False)
    explicit = unetseg.evaluate(run.model, folders / "valid", normalization="percentile", progress=False)
    assert (default.bce, default.dice_loss) == (explicit.bce, explicit.dice_loss)
    with pytest.raises(unetseg.InvalidArgument, match="trained with normalization percentile, not minmax"):
        unetseg.evaluate(run.model, folders / "valid", normalization="minmax", progress=False)
    loaded = unetseg.load(tmp_path / "run" / "model_2.safetensors")
    again = unetseg.evaluate(loaded, folders / "valid", progress=False)
    assert (again.bce, again.dice_loss) == (default.bce, default.dice_loss)
    with pytest.raises(unetseg.InvalidArgument, match="not zscore"):
        unetseg.evaluate(loaded, folders / "valid", normalization="zscore", progress=False)
    assert unetseg.predict(loaded, folders / "valid", tmp_path / "pred", progress=False) == default.slice_count
    cli = cli_path()
    if cli is not None and cli.exists():
        subprocess.run([str(cli), "train", "--train", str(folders / "train"), "--valid", str(folders / "valid"),
                        "--out", str(tmp_path / "cli"), "--epochs", "2", "--batch-size", "4", "--depth", "2",
                        "--filters", "2", "--seed", "11", "--normalize", "percentile"],
                       check=True, capture_output=True, timeout=600)
        losses = [[e["train"], e["valid"]] for e in json.loads((tmp_path / "cli" / "log.json").read_text())]
        assert losses == [[e["train"], e["valid"]] for e in json.loads((tmp_path / "run" / "log.json").read_text())]
