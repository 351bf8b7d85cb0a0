"""A cancel flag that the model worker checks between tokens."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class CancelToken:
    """Set from any thread; read by the engine before each decode step.

    It remembers when it was set, so the engine can count the tokens it
    decoded after the cancel (the measure of how real cancellation is).
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._set_at: float | None = None
        self._callbacks: list[Callable[[], None]] = []
        self.reason = ""

    def cancel(self, reason: str = "cancelled") -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._set_at = time.monotonic()
            self.reason = reason
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def on_cancel(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` (on the cancelling thread) when the token is set, at
        once if it is already set: for work that blocks outside the engine's
        token loop, such as a read from a remote engine's stream. Returns a
        function that withdraws the callback."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return lambda: self._withdraw(callback)
        callback()
        return lambda: None

    def _withdraw(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def set_before(self, moment: float) -> bool:
        """True when the cancel happened before `moment` (a time.monotonic() value)."""
        return self._set_at is not None and self._set_at < moment
