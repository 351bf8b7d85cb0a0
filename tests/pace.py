"""How fast the test model runs on this machine, so that waits scale with it.

The model reads and writes at very different speeds on different machines
(3x between two of this project's) and between the two built-in models. A
wait tuned on one machine fails on a slower one, so every guard against a
hang in the model tests is written for a reference pace and stretched by
`guard()` on a slower one. The session measures the pace once, as
`hearth doctor` does (`conftest.pace`), before the first model test runs;
the fast tier never measures it, and its guards stay as written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Pace:
    reads: float  # prompt tokens read a second
    writes: float  # tokens written a second

    def seconds(self, read: int = 0, written: int = 0) -> float:
        """How long reading `read` prompt tokens and writing `written` take here."""
        return read / self.reads + written / self.writes

    def slowness(self) -> float:
        """How many times slower than REFERENCE this machine and model are (at least 1)."""
        return max(1.0, REFERENCE.reads / self.reads, REFERENCE.writes / self.writes)


# What the tests' guards were written for: the small model on the slower of
# the two machines the README quotes (it reads 145-310 tokens/s, writes 25-64).
REFERENCE = Pace(reads=145.0, writes=25.0)

_measured: Pace | None = None


def set_measured(pace: Pace) -> None:
    global _measured
    _measured = pace


def measured_pace() -> Pace | None:
    """The session's pace, None until it is measured (never, in the fast tier)."""
    return _measured


def guard(seconds: float) -> float:
    """A guard against a hang written for REFERENCE, stretched to this machine's
    pace (as written until the pace is measured)."""
    return seconds * (_measured or REFERENCE).slowness()


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = 120.0) -> T:
    """Poll `probe` until it gives something (an editor test's wait for what
    the editor shows); `timeout` is written for the reference pace."""
    timeout = guard(timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
