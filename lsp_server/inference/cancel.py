"""A cancel flag that the model worker checks between tokens."""

from __future__ import annotations

import threading
import time


class CancelToken:
    """Set from any thread; read by the engine before each decode step.

    It remembers when it was set, so the engine can count the tokens it
    decoded after the cancel (the measure of how real cancellation is).
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._set_at: float | None = None
        self.reason = ""

    def cancel(self, reason: str = "cancelled") -> None:
        if not self._event.is_set():
            self._set_at = time.monotonic()
            self.reason = reason
            self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def set_before(self, moment: float) -> bool:
        """True when the cancel happened before `moment` (a time.monotonic() value)."""
        return self._set_at is not None and self._set_at < moment
