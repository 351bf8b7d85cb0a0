"""How fast the test model runs on this machine, so that waits scale with it.

The model reads and writes at very different speeds on different machines
(3x between two of this project's) and between the two built-in models. A
wait tuned on one machine fails on a slower one, so every guard against a
hang in the model tests is written for a reference pace and stretched by
`guard()` on a slower one. The session measures the pace, as `hearth
doctor` does (`conftest.pace`), before the first model test runs; the fast
tier never measures it, and its guards stay as written.

The load of the machine changes during a session (other processes come and
go), and so does the pace. So a guard is only ever an upper bound on a wait
for something that should come (a longer one is harmless), and:
- a guard about to fail measures the pace again (`Deadline`): a machine that
  has become slower since the start gets the longer wait it needs now;
- a pause that must end before a generation does (a cancel sent while an
  "endless" generation runs) is never stretched (`pause`): stretched for a
  loaded start, it would let the generation finish once the machine is quiet.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
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
_measure: Callable[[], Pace] | None = None
_measuring = threading.Lock()
_again: list[Pace] = []  # the paces measured again, in order


def set_measured(pace: Pace, measure: Callable[[], Pace] | None = None) -> None:
    """The session's pace, and how to measure it again (`measure_again`)."""
    global _measured, _measure
    _measured = pace
    _measure = measure


def measured_pace() -> Pace | None:
    """The session's pace, None until it is measured (never, in the fast tier)."""
    return _measured


def measure_again() -> Pace | None:
    """Measure the pace now, and keep it if it is slower than the session's:
    the guards from then on wait as long as the slowest pace measured asks.
    None where the pace is never measured (the fast tier)."""
    global _measured
    if _measure is None or _measured is None:
        return None
    with _measuring:  # one at a time: two would measure each other's load
        now = _measure()
        _again.append(now)
        if now.slowness() > _measured.slowness():
            _measured = now
    return now


def measured_again() -> tuple[Pace, ...]:
    """The paces measured again in this session, in order."""
    return tuple(_again)


def guard(seconds: float) -> float:
    """A guard against a hang written for REFERENCE, stretched to this machine's
    pace (as written until the pace is measured)."""
    return seconds * (_measured or REFERENCE).slowness()


def pause(read: int = 0, written: int = 0) -> float:
    """A pause that must end before a generation does: reading `read` and
    writing `written` tokens at the REFERENCE pace, never stretched. On a
    slower or busier machine it ends earlier in the generation (a cancel
    then comes while the prompt is read, which stops it as well); on a
    quicker one, a few more tokens are written, never the whole."""
    return REFERENCE.seconds(read, written)


class Deadline:
    """A guard against a hang of `seconds` at the REFERENCE pace, from now,
    stretched to the session's pace. Before it fails, the pace is measured
    again: it fails only once the wait the pace measured now asks for has
    passed too."""

    def __init__(self, seconds: float) -> None:
        self.written = seconds
        self.started = time.monotonic()
        self.limit = guard(seconds)
        self._measured_again = False

    def left(self) -> float:
        """Seconds until the guard, as far as it is known now (0 once it is past)."""
        return max(0.0, self.started + self.limit - time.monotonic())

    def passed(self) -> bool:
        """True once the guard is past, the pace measured again."""
        if self.left() > 0:
            return False
        if not self._measured_again:
            self._measured_again = True
            measure_again()
            self.limit = max(self.limit, guard(self.written))
        return self.left() <= 0

    async def expired(self) -> bool:
        """`passed`, for a coroutine: the model measures the pace on another thread."""
        if self.left() > 0:
            return False
        return await asyncio.to_thread(self.passed)


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = 120.0) -> T:
    """Poll `probe` until it gives something (an editor test's wait for what
    the editor shows); `timeout` is written for the reference pace."""
    deadline = Deadline(timeout)
    while True:
        value = probe()
        if value:
            return value
        if deadline.passed():
            raise AssertionError(f"timed out after {deadline.limit:.0f} s waiting for {what}")
        time.sleep(0.05)


async def within(awaitable: Awaitable[T], seconds: float, what: str = "an answer") -> T:
    """`awaitable`, with a Deadline of `seconds` against a hang (cancelled past it)."""
    deadline = Deadline(seconds)
    task = asyncio.ensure_future(awaitable)
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=max(deadline.left(), 0.05))
            if not task.done() and await deadline.expired():
                raise TimeoutError(f"timed out after {deadline.limit:.0f} s waiting for {what}")
        return task.result()
    finally:
        task.cancel()  # past the guard, or the caller was cancelled; nothing once done
