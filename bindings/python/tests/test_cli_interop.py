"""Checkpoints cross between Python and the ``unetseg`` CLI in both directions."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

import unetseg

from conftest import cli_path

CLI = cli_path()
pytestmark = pytest.mark.skipif(
    CLI is None or not CLI.exists(),
    reason="the unetseg CLI is not built (run `make lib-cli` or `make build`, or set UNETSEG_CLI)",
)


def cli(*args: str) -> str:
    """Runs the CLI; fails the test with its output when it does not succeed."""
    result = subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"unetseg {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory) -> Path:
    """A synthetic dataset (2 patients × 8 slices of 64×64) and a one-epoch CLI training run on it."""
    root = tmp_path_factory.mktemp("cli")
    cli("synth", "--out", str(root / "data"), "--patients", "2", "--min-slices", "8", "--max-slices", "8",
        "--size", "64", "--seed", "1")
    cli("train", "--train", str(root / "data"), "--valid", "", "--out", str(root / "run"), "--epochs", "1",
        "--batch-size", "4", "--depth", "3", "--filters", "2", "--seed", "1", "--threads", "2")
    return root


def evaluate(root: Path, model: Path, name: str) -> dict:
    out = root / name
    cli("evaluate", "--model", str(model), "--data", str(root / "data"), "--out", str(out), "--no-masks")
    return json.loads((out / "metrics.json").read_text())


def test_cli_checkpoint_loads_in_python(cli_run):
    with unetseg.load(cli_run / "run" / "model_1.safetensors") as model:
        assert (model.config.depth, model.config.n_filters, model.config.channels_in) == (3, 2, 3)
        probabilities = model.predict(np.random.default_rng(0).random((2, 3, 64, 64), dtype=np.float32))
        assert probabilities.shape == (2, 1, 64, 64) and np.isfinite(probabilities).all()


def test_python_checkpoint_loads_in_the_cli_and_scores_the_same(cli_run):
    reference = evaluate(cli_run, cli_run / "run" / "model_1.safetensors", "eval_cli")
    # CLI weights → Python (through numpy) → a fresh Python model → saved by Python → scored by the CLI.
    with unetseg.load(cli_run / "run" / "model_1.safetensors") as trained:
        weights = {name: np.array(value) for name, value in trained.state_dict().items()}
    with unetseg.UNet(depth=3, n_filters=2, seed=5) as fresh:
        fresh.load_state_dict(weights)
        fresh.save(cli_run / "from_python.safetensors")
    metrics = evaluate(cli_run, cli_run / "from_python.safetensors", "eval_python")
    assert metrics["slices"] == 16 and metrics["patients"] == 2
    assert metrics == reference


def test_untrained_python_model_scores_differently_in_the_cli(cli_run):
    with unetseg.UNet(depth=3, n_filters=2, seed=5) as fresh:
        fresh.save(cli_run / "untrained.safetensors")
    reference = evaluate(cli_run, cli_run / "run" / "model_1.safetensors", "eval_reference")
    metrics = evaluate(cli_run, cli_run / "untrained.safetensors", "eval_untrained")
    assert metrics["bce"] != reference["bce"]
