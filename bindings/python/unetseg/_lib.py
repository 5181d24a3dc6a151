"""Finding and loading ``libunetseg.so``: :data:`lib`, with every function of ``include/unetseg.h`` declared
(see :mod:`unetseg._declarations`) and its C API version checked. The library is loaded with
:class:`ctypes.CDLL`, which releases the GIL for the duration of every call.

The library computes with its own OpenBLAS instance, linked in with its symbols private and its kernels
chosen from CPUID: numpy's OpenBLAS (or any other in the process) is neither used nor changed by it, and
``OPENBLAS_CORETYPE`` or ``OPENBLAS_NUM_THREADS`` in the environment do not affect unetseg.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple

from ._declarations import declare
from ._types import API_VERSION, LogCallback
from .errors import LibraryNotFoundError, UnetsegError

#: The environment variable naming the library file to load, ahead of every other place.
LIBRARY_ENV = "UNETSEG_LIB"

_LIBRARY_FILE = "libunetseg.so"
_BUILD_FOLDERS = (Path(".build-lib") / "release", Path(".build") / "release")

# --------------------------------------------------------------------------------------------------------
# Finding the library
# --------------------------------------------------------------------------------------------------------


def candidate_paths() -> List[Tuple[str, str]]:
    """The places searched for the library, in order, as ``(description, path)`` pairs.

    ``$UNETSEG_LIB`` when set (and then nothing else), otherwise the copy inside this package, then
    ``.build-lib/release`` and ``.build/release`` of every folder above this package and above the
    current directory (a source checkout), then the system's library path (``make install``).
    """
    explicit = os.environ.get(LIBRARY_ENV)
    if explicit:
        return [(f"${LIBRARY_ENV}", explicit)]
    package_dir = Path(__file__).resolve().parent
    found: List[Tuple[str, str]] = [("package copy", str(package_dir / _LIBRARY_FILE))]
    seen = set()
    for start in (package_dir, Path.cwd().resolve()):
        for folder in (start, *start.parents):
            for build in _BUILD_FOLDERS:
                path = folder / build / _LIBRARY_FILE
                if path not in seen:
                    seen.add(path)
                    if path.exists():
                        found.append(("build folder", str(path)))
    system = ctypes.util.find_library("unetseg")
    found.append(("system library path", system or _LIBRARY_FILE))
    return found


def _open_library() -> Tuple[ctypes.CDLL, str]:
    """Loads the first library of :func:`candidate_paths` that exists and loads, or raises."""
    candidates = candidate_paths()
    tried: List[str] = []
    for description, path in candidates:
        if description == "system library path" and not any(d == "build folder" for d, _ in candidates):
            builds = " or ".join(str(b / _LIBRARY_FILE) for b in _BUILD_FOLDERS)
            tried.append(f"  {builds} (build folder): none above {Path(__file__).resolve().parent} or {Path.cwd()}")
        if os.sep in path and not os.path.exists(path):
            tried.append(f"  {path} ({description}): no such file")
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as error:
            tried.append(f"  {path} ({description}): {error}")
    raise LibraryNotFoundError(
        "could not load libunetseg.so; tried:\n"
        + "\n".join(tried)
        + f"\nBuild it with `make lib` in the unetseg repository, or set {LIBRARY_ENV} to its path."
    )


def _load() -> Tuple[ctypes.CDLL, str]:
    """Opens the library, declares its functions and checks that its C API is the one bound here."""
    library, path = _open_library()
    declare(library)
    found = library.unetseg_api_version()
    if found != API_VERSION:
        raise UnetsegError(
            f"{path} implements C API version {found}, but this unetseg package is written for version "
            f"{API_VERSION}; rebuild the library and the package from the same checkout",
            status=-1,
        )
    return library, path


lib, library_path = _load()

# --------------------------------------------------------------------------------------------------------
# Logging
# --------------------------------------------------------------------------------------------------------

# The log callbacks ever installed, kept alive for the life of the process: the library may still be
# calling a replaced callback on another thread when unetseg_set_log_callback returns.
_installed_log_callbacks: List[Any] = []
_log_lock = threading.Lock()


def install_log_callback(function: Optional[Callable[[int, str], None]]) -> None:
    """Routes the library's log messages to ``function(level, message)``, or stops logging with None."""
    with _log_lock:
        if function is None:
            lib.unetseg_set_log_callback(LogCallback(), None)  # a NULL function pointer
            return

        def trampoline(level: int, message: bytes, _user_data: Optional[int]) -> None:
            # ctypes reports an exception raised here as unraisable; it never unwinds into the library.
            function(int(level), message.decode("utf-8", "replace"))

        callback = LogCallback(trampoline)
        _installed_log_callbacks.append(callback)
        lib.unetseg_set_log_callback(callback, None)
