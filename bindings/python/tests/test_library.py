"""Finding the library, library-wide settings, logging, and statuses becoming exceptions."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import unetseg
from unetseg import _lib
from unetseg.errors import error_for_status

from conftest import subprocess_env

PACKAGE = Path(unetseg.__file__).resolve().parent


def run_python(code: str, cwd: Path, pythonpath: Path = PACKAGE.parent, **env: str) -> subprocess.CompletedProcess:
    """Runs ``code`` in a fresh interpreter importing unetseg from ``pythonpath``; captures the output."""
    return subprocess.run([sys.executable, "-c", code], cwd=cwd,
                          env=subprocess_env(PYTHONPATH=str(pythonpath), **env),
                          capture_output=True, text=True, timeout=120)


def copy_package(destination: Path) -> Path:
    """Copies the package's Python files (no library) to ``destination/unetseg``."""
    target = destination / "unetseg"
    shutil.copytree(PACKAGE, target, ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    return target


# ---- finding the library ---------------------------------------------------------------------------------


def test_library_path_is_the_one_loaded():
    assert Path(unetseg.library_path).name == "libunetseg.so"
    assert Path(unetseg.library_path).exists()
    assert unetseg.system_info().library_path == unetseg.library_path


def test_unetseg_lib_naming_a_missing_file_fails_listing_it(tmp_path):
    missing = tmp_path / "nowhere" / "libunetseg.so"
    result = run_python("import unetseg", cwd=tmp_path, UNETSEG_LIB=str(missing))
    assert result.returncode != 0
    assert "LibraryNotFoundError" in result.stderr
    assert f"{missing} ($UNETSEG_LIB): no such file" in result.stderr
    assert "make lib" in result.stderr


def test_search_order_package_copy_then_build_folder(tmp_path):
    # A checkout-like tree: <root>/bindings/python/unetseg and <root>/.build-lib/release/libunetseg.so.
    root = tmp_path / "checkout"
    package = copy_package(root / "bindings" / "python")
    code = "import unetseg; print(unetseg.library_path)"
    cwd = root / "bindings" / "python"
    env = dict(UNETSEG_LIB="", pythonpath=cwd)

    # Nothing anywhere: the error lists the package copy and the system path it tried.
    result = run_python(code, cwd=cwd, **env)
    if result.returncode == 0:  # a libunetseg.so installed system-wide was found last: acceptable
        assert "libunetseg.so" in result.stdout
    else:
        assert f"{package / 'libunetseg.so'} (package copy): no such file" in result.stderr
        assert "(build folder): none above" in result.stderr
        assert "(system library path)" in result.stderr

    build_copy = root / ".build-lib" / "release" / "libunetseg.so"
    build_copy.parent.mkdir(parents=True)
    shutil.copy(unetseg.library_path, build_copy)
    result = run_python(code, cwd=cwd, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(build_copy)

    # The package copy wins over the build folder.
    shutil.copy(unetseg.library_path, package / "libunetseg.so")
    result = run_python(code, cwd=cwd, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(package / "libunetseg.so")

    # $UNETSEG_LIB wins over both.
    explicit = tmp_path / "elsewhere" / "libunetseg.so"
    explicit.parent.mkdir()
    shutil.copy(unetseg.library_path, explicit)
    result = run_python(code, cwd=cwd, pythonpath=cwd, UNETSEG_LIB=str(explicit))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(explicit)


PREDICT_CODE = (
    "import numpy as np\n"
    "a = np.sin(np.arange(4096.0)).reshape(64, 64); before = a @ a\n"
    "import unetseg\n"
    "images = (np.arange(3 * 32 * 32, dtype=np.float32).reshape(1, 3, 32, 32) * 37 % 101) / 101\n"
    "p = unetseg.UNet(depth=2, n_filters=2, seed=7).predict(images)\n"
    "info = unetseg.system_info()\n"
    "print(info.blas_core, info.blas_coretype_set, repr(info.blas_warning), p.tobytes().hex())\n"
    "print('numpy unchanged', np.array_equal(before, a @ a))\n"
)


def test_numpy_and_openblas_settings_change_nothing_in_unetseg(tmp_path):
    # numpy's wheels bundle their own OpenBLAS: use it first, in a process whose environment asks OpenBLAS for
    # the old Prescott kernels on 4 threads. unetseg runs its own instance: same kernels and the same numbers,
    # bit for bit, as in a process without those settings, and numpy's products are unchanged.
    prescott = run_python(PREDICT_CODE, cwd=tmp_path, UNETSEG_LIB=unetseg.library_path,
                          OPENBLAS_CORETYPE="Prescott", OPENBLAS_NUM_THREADS="4", OMP_NUM_THREADS="4")
    assert prescott.returncode == 0, prescott.stderr
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENBLAS_", "OMP_"))}
    clean = subprocess.run([sys.executable, "-c", PREDICT_CODE], cwd=tmp_path, capture_output=True, text=True,
                           timeout=120, env={**clean_env, "PYTHONPATH": str(PACKAGE.parent),
                                             "UNETSEG_LIB": unetseg.library_path})
    assert clean.returncode == 0, clean.stderr
    assert prescott.stdout == clean.stdout
    core, chosen, warning, probabilities = prescott.stdout.splitlines()[0].split()
    assert (core, warning) == (chosen, "''")
    assert core == unetseg.system_info().blas_core
    assert len(probabilities) == 2 * 4 * 32 * 32
    assert prescott.stdout.splitlines()[1] == "numpy unchanged True"
    if unetseg.system_info().simd in ("avx", "avx2", "avx512"):
        assert core != "Prescott"


def test_an_unusable_blas_core_request_is_ignored_with_a_warning(tmp_path):
    code = "import unetseg; info = unetseg.system_info(); print(info.blas_core); print(info.blas_warning)"
    result = run_python(code, cwd=tmp_path, UNETSEG_LIB=unetseg.library_path, UNETSEG_BLAS_CORETYPE="Pentium4000")
    assert result.returncode == 0, result.stderr
    core, warning = result.stdout.splitlines()
    assert core == unetseg.system_info().blas_core
    assert warning.startswith("UNETSEG_BLAS_CORETYPE=Pentium4000 ignored: not a core type unetseg knows")
    result = run_python(code, cwd=tmp_path, UNETSEG_LIB=unetseg.library_path, UNETSEG_BLAS_CORETYPE="prescott")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["Prescott", ""]


def test_system_info_in_this_process():
    info = unetseg.system_info()
    assert info.version == unetseg.version()
    assert info.api_version == unetseg.api_version() == _lib.API_VERSION
    assert info.blas_core == info.blas_coretype_set
    assert info.simd in ("avx512", "avx2", "avx", "sse", "unknown")
    assert info.num_cpus >= 1 and info.num_threads == unetseg.get_num_threads()
    text = unetseg.system_info_string()
    assert text.startswith(f"unetseg {unetseg.version()}, own OpenBLAS core {info.blas_core}")


def test_version_strings():
    assert unetseg.version().count(".") == 2
    assert unetseg.__version__ == unetseg.version()


# ---- threads, seed, handles ------------------------------------------------------------------------------


def test_set_num_threads_and_error():
    before = unetseg.get_num_threads()
    try:
        unetseg.set_num_threads(1)
        assert unetseg.get_num_threads() == 1
        unetseg.set_num_threads(0)
        assert unetseg.get_num_threads() == unetseg.system_info().num_cpus
        with pytest.raises(unetseg.InvalidArgument, match=r"num_threads must be in 0\.\.\.1024, got -1"):
            unetseg.set_num_threads(-1)
        with pytest.raises(unetseg.InvalidArgument, match="got 2000"):
            unetseg.set_num_threads(2000)
    finally:
        unetseg.set_num_threads(before)


def test_manual_seed_makes_initial_weights_reproducible():
    unetseg.manual_seed(777)
    with unetseg.UNet(depth=2, n_filters=1) as a:
        first = a.state_dict()
    unetseg.manual_seed(777)
    with unetseg.UNet(depth=2, n_filters=1) as b:
        second = b.state_dict()
    unetseg.manual_seed(778)
    with unetseg.UNet(depth=2, n_filters=1) as c:
        third = c.state_dict()
    assert all(np.array_equal(first[k], second[k]) for k in first)
    assert not np.array_equal(first["last.weight"], third["last.weight"])
    with pytest.raises(ValueError, match="seed must be in"):
        unetseg.manual_seed(-1)


def test_live_handle_count_follows_objects():
    before = unetseg.live_handle_count()
    t = unetseg.zeros(3)
    u = t + 1
    assert unetseg.live_handle_count() == before + 2
    t.close()
    u.close()
    assert unetseg.live_handle_count() == before


# ---- logging ---------------------------------------------------------------------------------------------


def test_log_callback_receives_warnings_and_can_be_removed(log_messages):
    t = unetseg.zeros(2)
    handle = t.handle
    _lib.lib.unetseg_tensor_free(handle)
    t._handle = None
    _lib.lib.unetseg_tensor_free(handle)  # a second free is ignored with a warning
    assert any(level == unetseg.LogLevel.WARNING and "unetseg_tensor_free" in message
               for level, message in log_messages)
    with pytest.raises(unetseg.InvalidArgument):
        unetseg.zeros(0)
    assert any(level == unetseg.LogLevel.DEBUG and "unetseg_tensor_zeros failed" in message
               for level, message in log_messages)
    unetseg.set_log_callback(None)
    count = len(log_messages)
    _lib.lib.unetseg_tensor_free(handle)
    assert len(log_messages) == count


def test_log_to_python_logging(caplog):
    with caplog.at_level(logging.DEBUG, logger="unetseg"):
        unetseg.log_to_python_logging()
        try:
            with pytest.raises(unetseg.InvalidArgument):
                unetseg.set_num_threads(-5)
        finally:
            unetseg.set_log_callback(None)
    assert any("unetseg_set_num_threads failed: num_threads must be in" in r.getMessage() for r in caplog.records)


def test_exception_in_log_callback_is_reported_not_raised(monkeypatch):
    def failing(level, message):
        raise RuntimeError("callback failure")

    reported = []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: reported.append(info.exc_value))
    unetseg.set_log_callback(failing)
    try:
        with pytest.raises(unetseg.InvalidArgument, match="num_threads"):
            unetseg.set_num_threads(-3)
        assert unetseg.get_num_threads() >= 1
    finally:
        unetseg.set_log_callback(None)
    assert any(isinstance(e, RuntimeError) and str(e) == "callback failure" for e in reported)


# ---- statuses and exceptions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, cls, builtin",
    [
        (1, unetseg.InvalidArgument, ValueError),
        (2, unetseg.FileError, OSError),
        (3, unetseg.FileFormatError, unetseg.UnetsegError),
        (4, unetseg.OutOfMemory, MemoryError),
        (5, unetseg.NumericError, ArithmeticError),
        (6, unetseg.Cancelled, unetseg.UnetsegError),
        (7, unetseg.InternalError, RuntimeError),
    ],
)
def test_every_status_has_its_class(status, cls, builtin):
    name = _lib.lib.unetseg_status_string(status).decode()
    error = error_for_status(status, "the message", name)
    assert type(error) is cls and isinstance(error, builtin) and isinstance(error, unetseg.UnetsegError)
    assert (error.status, error.message, str(error), error.status_name) == (status, "the message", "the message", name)
    assert cls.code == status


def test_unknown_status_gives_the_base_class():
    error = error_for_status(99, "odd")
    assert type(error) is unetseg.UnetsegError and error.status == 99


def test_library_errors_carry_class_status_and_message(tmp_path):
    with pytest.raises(unetseg.InvalidArgument) as info:
        unetseg.zeros(2, 0)
    assert info.value.status == 1 and info.value.status_name == "invalid argument"
    assert "sizes must be > 0" in str(info.value)

    with pytest.raises(unetseg.OutOfMemory) as info:
        unetseg.zeros(1 << 17, 1 << 16)
    assert info.value.status == 4

    missing = tmp_path / "missing.safetensors"
    with pytest.raises(unetseg.FileError) as info:
        unetseg.load(missing)
    assert info.value.status == 2 and str(missing) in str(info.value)
