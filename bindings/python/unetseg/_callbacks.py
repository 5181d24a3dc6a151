"""Python functions called back by the library during long work, and tqdm progress bars for them.

The C callbacks exist only for the duration of the call that takes them (a local variable keeps each
alive), which is all the library needs: it never calls them after that call returns. An exception raised
inside a callback, ``KeyboardInterrupt`` included, cannot unwind through the library; the relay stores it,
tells the library to stop (the callback returns false, so the call ends with ``UNETSEG_STATUS_CANCELLED``)
and :meth:`CallbackRelay.run` re-raises it once the library has returned.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any, Callable, Optional

from .errors import Cancelled


@functools.lru_cache(maxsize=None)
def tqdm_class() -> Any:
    """tqdm's bar class (the notebook one in Jupyter when ipywidgets is there), or None without tqdm.
    Imported on first use, so ``import unetseg`` stays light."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tqdm.auto warns in Jupyter without ipywidgets, then falls back
            from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


class CallbackRelay:
    """Runs Python callbacks for one library call and carries their exception past the library."""

    def __init__(self) -> None:
        self.error: Optional[BaseException] = None

    def call(self, function: Callable[..., Any], *args: Any) -> bool:
        """``function(*args)`` as a C callback's "go on" answer: False when it returned False or raised."""
        if self.error is not None:
            return False
        try:
            answer = function(*args)
        except BaseException as error:  # noqa: BLE001 - re-raised by run() after the library returns
            self.error = error
            return False
        return answer is None or bool(answer)

    def run(self, library_call: Callable[[], Any]) -> Any:
        """Makes the library call; if a callback raised, re-raises that exception instead of Cancelled."""
        try:
            return library_call()
        except Cancelled:
            if self.error is not None:
                raise self.error from None
            raise


class ProgressBar:
    """A tqdm bar that appears on the first report (when the total is known); silent without tqdm."""

    def __init__(self, description: str, enabled: bool, unit: str = "it", leave: bool = True) -> None:
        self.description = description
        self.enabled = enabled and tqdm_class() is not None
        self.unit = unit
        self.leave = leave
        self.bar: Any = None

    def update(self, done: int, total: int, **postfix: Any) -> None:
        """Moves the bar to ``done`` of ``total`` (starting a new bar when ``total`` changes)."""
        if not self.enabled:
            return
        if self.bar is None or self.bar.total != total:
            self.close()
            self.bar = tqdm_class()(total=total, desc=self.description, unit=self.unit, leave=self.leave)
        self.bar.n = done
        if postfix:
            self.bar.set_postfix(postfix, refresh=False)
        self.bar.refresh()

    def write(self, line: str) -> None:
        """Prints a line without breaking the bar."""
        if self.enabled:
            tqdm_class().write(line)
        else:
            print(line)

    def close(self) -> None:
        """Closes the current bar, if any."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
