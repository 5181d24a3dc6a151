"""Shared fixtures: small models and batches that train in milliseconds, paths of the repository."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import pytest

import unetseg

#: The repository root (bindings/python/tests → three levels up).
REPO = Path(__file__).resolve().parents[3]

#: A U-Net small enough for fast tests: depth 2 (images multiples of 2), 4 then 8 channels.
TINY = dict(depth=2, n_filters=2)


#: A two-level U-Net with two first-level filters, for the short training runs the tests compare.
SMALL = unetseg.UNetConfig(channels_in=3, n_classes=1, depth=2, n_filters=2, dropout=0.6)
#: The arguments of those runs to ``fit``.
RUN = dict(epochs=2, batch_size=4, model=SMALL, seed=11, progress=False)


def synthetic_split(root: Path) -> Path:
    """Training and validation folders (root/train, root/valid) of synthetic 32×32 slices, 3 + 1 patients."""
    unetseg.synthesize(root / "all", patients=4, min_slices=8, max_slices=8, size=32, seed=4, progress=False)
    unetseg.split(root / "all", root / "train", root / "valid", n_valid=1, seed=777)
    return root


def make_batch(seed: int, n: int = 2, size: int = 8, channels: int = 3):
    """Random images in [0, 1] ``[n, channels, size, size]`` and 0/1 masks ``[n, 1, size, size]``."""
    rng = np.random.default_rng(seed)
    images = rng.random((n, channels, size, size), dtype=np.float32)
    masks = (rng.random((n, 1, size, size)) > 0.7).astype(np.float32)
    return images, masks


def cli_path() -> Optional[Path]:
    """The unetseg CLI: ``$UNETSEG_CLI``, or a release build of this checkout (``make lib-cli`` or
    ``make build``), or one on the PATH, or None."""
    explicit = os.environ.get("UNETSEG_CLI")
    if explicit:
        return Path(explicit)
    for folder in (".build-lib", ".build"):
        for name in ("unetseg-cli", "unetseg"):
            path = REPO / folder / "release" / name
            if path.exists():
                return path
    found = shutil.which("unetseg")
    return Path(found) if found else None


@pytest.fixture
def tiny_model() -> unetseg.UNet:
    """A tiny U-Net with fixed weights (seed 1), closed after the test."""
    with unetseg.UNet(seed=1, **TINY) as model:
        yield model


@pytest.fixture
def batch():
    """A batch of two 8×8 images and masks."""
    return make_batch(0)


@pytest.fixture
def log_messages():
    """Collects the library's log messages as ``(level, message)`` during the test."""
    messages = []
    unetseg.set_log_callback(lambda level, message: messages.append((level, message)))
    yield messages
    unetseg.set_log_callback(None)


def rss_bytes() -> int:
    """This process's resident set size, from /proc/self/statm."""
    with open("/proc/self/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def subprocess_env(**overrides: Optional[str]) -> Dict[str, str]:
    """This process's environment with ``overrides`` (None removes a variable)."""
    env = dict(os.environ)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env
