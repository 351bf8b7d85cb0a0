"""The waits of the model tests under a load that changes (tests/pace.py),
with the measure of the pace played by the test."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests import pace as pacing
from tests.pace import REFERENCE, Deadline, Pace

QUIET = Pace(reads=REFERENCE.reads * 2, writes=REFERENCE.writes * 2)  # guards as written
LOADED = Pace(reads=REFERENCE.reads / 4, writes=REFERENCE.writes / 4)  # guards x4


@pytest.fixture
def measures(monkeypatch: pytest.MonkeyPatch) -> list[Pace]:
    """The paces the next measures find, in order; the session's is QUIET."""
    found: list[Pace] = []
    for name in ("_measured", "_measure"):
        monkeypatch.setattr(pacing, name, None)
    monkeypatch.setattr(pacing, "_again", [])
    pacing.set_measured(QUIET, lambda: found.pop(0))
    return found  # monkeypatch puts the session's pace back


def test_a_guard_about_to_fail_on_a_machine_loaded_since_the_start_waits_longer(
    measures: list[Pace],
) -> None:
    measures.append(LOADED)
    deadline = Deadline(0.05)
    time.sleep(0.06)
    assert not deadline.passed(), "measured again: four times as long now"
    assert deadline.limit == pytest.approx(0.2)
    assert pacing.guard(1.0) == pytest.approx(4.0), "the guards from now on too"
    time.sleep(0.15)
    assert deadline.passed(), "and no longer"
    assert pacing.measured_again() == (LOADED,)


async def test_a_guard_measures_again_once_and_only_when_it_is_about_to_fail(
    measures: list[Pace],
) -> None:
    measures.append(QUIET)  # the machine as it was: the guard fails as written
    deadline = Deadline(0.02)
    assert not await deadline.expired()
    assert pacing.measured_again() == ()
    await asyncio.sleep(0.03)
    assert await deadline.expired()
    assert deadline.passed()
    assert pacing.measured_again() == (QUIET,), "measured once, not at every look"


def test_a_loaded_start_stretches_guards_but_never_a_pause(measures: list[Pace]) -> None:
    # A guard is an upper bound: long is harmless. A pause before a cancel
    # must end before the generation does, however quiet the machine became.
    quiet = (pacing.guard(1.0), pacing.pause(read=120, written=10))
    pacing.set_measured(LOADED)
    assert pacing.guard(1.0) == pytest.approx(4 * quiet[0])
    assert pacing.pause(read=120, written=10) == quiet[1] == pytest.approx(120 / 145 + 10 / 25)


async def test_within_gives_the_answer_or_times_out_and_cancels_the_wait(
    measures: list[Pace],
) -> None:
    assert await pacing.within(asyncio.sleep(0, result="answer"), 1.0) == "answer"
    measures.append(QUIET)
    never = asyncio.get_running_loop().create_future()
    with pytest.raises(TimeoutError, match="waiting for the answer"):
        await pacing.within(never, 0.02, "the answer")
    assert never.cancelled()
