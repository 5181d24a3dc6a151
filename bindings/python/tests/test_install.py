"""``pip install ./bindings/python`` works, with the library found through $UNETSEG_LIB or shipped inside."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

import unetseg

from conftest import subprocess_env

SOURCE = Path(unetseg.__file__).resolve().parents[1]  # bindings/python


@pytest.fixture(scope="module")
def environment(tmp_path_factory):
    """A virtual environment that sees this interpreter's packages (numpy, setuptools), outside the repo."""
    root = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(root / "env")
    return root, root / "env" / "bin" / "python"


def pip_install(python: Path, source: Path) -> None:
    # --no-build-isolation uses the installed setuptools, so the test needs no network.
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-build-isolation", "--no-deps",
         "--quiet", str(source)],
        capture_output=True, text=True, timeout=600, env=subprocess_env(PYTHONPATH=None))
    if "no such option: --python" in result.stderr:
        pytest.skip("pip is older than 22.3 (no --python); install into the venv by hand")
    assert result.returncode == 0, result.stdout + result.stderr


def run(python: Path, code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env=subprocess_env(PYTHONPATH=None, **env))


def test_pip_install_with_the_library_inside_the_package(environment):
    root, python = environment
    source = root / "source"
    shutil.copytree(SOURCE, source, ignore=shutil.ignore_patterns("tests", "*.so", "build", "*.egg-info",
                                                                  "__pycache__", ".pytest_cache"))
    shutil.copy(unetseg.library_path, source / "unetseg" / "libunetseg.so")  # what `make python-package` does
    pip_install(python, source)

    code = ("import unetseg, numpy as np; m = unetseg.UNet(depth=2, n_filters=1, seed=0); "
            "print(unetseg.library_path); print(m.predict(np.zeros((1, 3, 8, 8))).shape); print(unetseg.__file__)")
    result = run(python, code, cwd=root, UNETSEG_LIB="")
    assert result.returncode == 0, result.stderr
    library, shape, module = result.stdout.split("\n")[:3]
    assert Path(module).parent == Path(library).parent and "site-packages" in library
    assert shape == "(1, 1, 8, 8)"

    # $UNETSEG_LIB still takes precedence over the installed copy.
    result = run(python, "import unetseg; print(unetseg.library_path)", cwd=root, UNETSEG_LIB=unetseg.library_path)
    assert result.returncode == 0 and result.stdout.strip() == unetseg.library_path
