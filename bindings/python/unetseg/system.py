"""Library-wide settings and facts: versions, the OpenBLAS core in use, threads, the seed, log messages."""

from __future__ import annotations

import enum
import logging
from ctypes import byref, create_string_buffer
from dataclasses import dataclass
from typing import Callable, Optional

from . import _lib
from ._lib import lib
from ._types import SystemReport

# unetseg_system_info_string's documented upper bound on the text's size.
_INFO_CAPACITY = 256


class LogLevel(enum.IntEnum):
    """Severity of a library log message (``unetseg_log_level``)."""

    DEBUG = 0
    INFO = 1
    WARNING = 2
    ERROR = 3


@dataclass(frozen=True)
class SystemInfo:
    """What :func:`system_info` reports."""

    #: The library's version, as :func:`version`.
    version: str
    #: The kernels of the library's own OpenBLAS ("SkylakeX", "Haswell", ...).
    blas_core: str
    #: The core type the library started its own OpenBLAS with.
    blas_coretype_set: str
    #: Widest SIMD the CPU and OS allow: "avx512", "avx2", "avx", "sse" or "unknown".
    simd: str
    #: Compute threads in use (:func:`set_num_threads`).
    num_threads: int
    #: CPUs online.
    num_cpus: int
    #: The C API version, as :func:`api_version`.
    api_version: int
    #: Whether the process has an OpenBLAS of its own besides unetseg's (which unetseg neither uses nor changes).
    blas_loaded_before: bool
    #: "" or why ``UNETSEG_BLAS_CORETYPE`` was ignored (unknown, or kernels this CPU cannot run).
    blas_warning: str
    #: The library file this package loaded.
    library_path: str


def version() -> str:
    """The library's version, for example "0.1.0"."""
    return lib.unetseg_version().decode()


def api_version() -> int:
    """The C API version the loaded library implements."""
    return int(lib.unetseg_api_version())


def system_info() -> SystemInfo:
    """The library version, the OpenBLAS core in use (loading OpenBLAS if needed), threads, CPUs, SIMD."""
    report = SystemReport()
    lib.unetseg_system_info(byref(report))
    return SystemInfo(
        version=report.version.decode(),
        blas_core=report.blas_core.decode(),
        blas_coretype_set=report.blas_coretype_set.decode(),
        simd=report.simd.decode(),
        num_threads=report.num_threads,
        num_cpus=report.num_cpus,
        api_version=report.api_version,
        blas_loaded_before=report.blas_loaded_before,
        blas_warning=report.blas_warning.decode(),
        library_path=_lib.library_path,
    )


def system_info_string() -> str:
    """:func:`system_info` as the library's one-line summary."""
    text = create_string_buffer(_INFO_CAPACITY)
    lib.unetseg_system_info_string(text, _INFO_CAPACITY)
    return text.value.decode()


def manual_seed(seed: int) -> None:
    """Seeds the library's global random generator (``torch_manual_seed``): models created without a
    ``seed`` draw their initial weights from it."""
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed must be in 0..2**64-1, got {seed}")
    lib.unetseg_manual_seed(seed)


def set_num_threads(num_threads: int) -> None:
    """Sets the number of threads the library computes with; 0 restores one per CPU online."""
    lib.unetseg_set_num_threads(num_threads)


def get_num_threads() -> int:
    """The number of threads the library computes with."""
    return int(lib.unetseg_get_num_threads())


def live_handle_count() -> int:
    """Library objects (tensors, models, optimisers, ...) made and not yet freed, across the process."""
    return int(lib.unetseg_live_handle_count())


def set_log_callback(callback: Optional[Callable[[LogLevel, str], None]]) -> None:
    """Sends the library's log messages to ``callback(level, message)``; None stops them. The callback
    may run on any thread that calls into the library and must not call into unetseg itself."""
    if callback is None:
        _lib.install_log_callback(None)
    else:
        _lib.install_log_callback(lambda level, message: callback(LogLevel(level), message))


def log_to_python_logging(logger: Optional[logging.Logger] = None) -> None:
    """Forwards the library's log messages to ``logger`` (default: ``logging.getLogger("unetseg")``)."""
    target = logger or logging.getLogger("unetseg")
    levels = {LogLevel.DEBUG: logging.DEBUG, LogLevel.INFO: logging.INFO,
              LogLevel.WARNING: logging.WARNING, LogLevel.ERROR: logging.ERROR}
    set_log_callback(lambda level, message: target.log(levels[level], "%s", message))
