"""The one lifetime rule of every wrapper: an object owns one library handle and frees it exactly once.

Threads: ctypes releases the GIL during library calls, and the library serialises the calls on one
handle (a call waits while another thread's call on the same handle, or on a handle sharing its state,
such as a model and the optimiser over it, is running). So every wrapper may be shared by threads without
a lock of its own; :meth:`OwnedHandle.close` is atomic, and a call racing with ``close`` in another thread
raises :class:`~unetseg.errors.InvalidArgument` (the handle is not live any more) instead of touching
freed memory.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, ClassVar, Optional

from .errors import InvalidArgument

# Makes taking the handle out of a wrapper atomic, so that two threads closing one object free it once.
# Reentrant: garbage collection may run a __del__ (which closes) while this thread holds it.
_closing = threading.RLock()


class OwnedHandle:
    """Owns one opaque handle of libunetseg, freed by :meth:`close`, a ``with`` block or garbage collection.

    Subclasses set :attr:`_free` to the matching ``unetseg_<object>_free`` function. Objects the library
    uses keep what they depend on alive inside the library, so wrappers may be closed in any order.
    """

    __slots__ = ("_handle", "__weakref__")

    #: The C function releasing the handle (``unetseg_tensor_free``, ``unetseg_model_free``, ...).
    _free: ClassVar[Callable[[Any], None]]

    def __init__(self, handle: Any) -> None:
        self._handle: Optional[Any] = handle

    @property
    def handle(self) -> Any:
        """The library handle (raises :class:`~unetseg.errors.InvalidArgument` once closed)."""
        if self._handle is None:
            raise InvalidArgument(f"this {type(self).__name__} was closed")
        return self._handle

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` released the handle."""
        return self._handle is None

    def close(self) -> None:
        """Releases the library object now; safe to call more than once, from any thread."""
        with _closing:
            handle, self._handle = self._handle, None
        if handle is not None:
            type(self)._free(handle)

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - at interpreter shutdown the library may already be unloaded
            pass
