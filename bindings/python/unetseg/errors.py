"""The exceptions of unetseg: one class per ``unetseg_status`` of the C API, all under :class:`UnetsegError`.

Every failed library call raises the class of its status with the library's own message (which names the
argument, shape or file at fault). Each class also derives from the closest built-in exception, so
``except ValueError`` catches an :class:`InvalidArgument` and ``except OSError`` a :class:`FileError`.
"""

from __future__ import annotations

from typing import Dict, Type


class UnetsegError(Exception):
    """A failure reported by libunetseg; ``status`` is the C status code, ``message`` its message."""

    #: The ``unetseg_status`` this class stands for (-1 for errors raised by the binding itself).
    code: int = -1

    def __init__(self, message: str, status: int | None = None, status_name: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = self.code if status is None else status
        self.status_name = status_name

    def __str__(self) -> str:
        return self.message


class InvalidArgument(UnetsegError, ValueError):
    """``UNETSEG_STATUS_INVALID_ARGUMENT``: a value out of range, a shape that does not fit, a closed handle."""

    code = 1


class FileError(UnetsegError, OSError):
    """``UNETSEG_STATUS_IO``: a file or folder could not be read or written."""

    code = 2


class FileFormatError(UnetsegError):
    """``UNETSEG_STATUS_FORMAT``: a file was read but its content is not what it should be."""

    code = 3


class OutOfMemory(UnetsegError, MemoryError):
    """``UNETSEG_STATUS_OUT_OF_MEMORY``: a buffer could not be allocated or would be absurdly large."""

    code = 4


class NumericError(UnetsegError, ArithmeticError):
    """``UNETSEG_STATUS_NUMERIC``: a NaN or infinity where a finite number is needed."""

    code = 5


class Cancelled(UnetsegError):
    """``UNETSEG_STATUS_CANCELLED``: a callback asked to stop (or raised an exception)."""

    code = 6


class InternalError(UnetsegError, RuntimeError):
    """``UNETSEG_STATUS_INTERNAL``: a bug in the library; the message says where."""

    code = 7


class LibraryNotFoundError(UnetsegError, ImportError):
    """libunetseg.so could not be found or loaded; the message lists every path tried."""

    code = -1


_CLASS_OF_STATUS: Dict[int, Type[UnetsegError]] = {
    cls.code: cls
    for cls in (InvalidArgument, FileError, FileFormatError, OutOfMemory, NumericError, Cancelled, InternalError)
}


def error_for_status(status: int, message: str, status_name: str = "") -> UnetsegError:
    """The exception for a failed call's ``status`` (a status unknown to this binding gives the base class)."""
    cls = _CLASS_OF_STATUS.get(status, UnetsegError)
    return cls(message, status, status_name)


class DatasetItemError(UnetsegError, RuntimeError):
    """A dataset defined in Python failed to give an item: its ``__getitem__`` (or ``__len__``) raised. The
    message names the dataset and the index; ``__cause__`` is the exception it raised."""

    code = -1
