"""The scheduler with the fake engine: ordering, latest-wins, cancellation, shutdown.

Made exact by the fake engine, which waits at a gate before each token:
a test knows which work is running and how many tokens it has written when
it submits, cancels or closes, and can count the tokens written after. The
engine counts the generations running at once (tests/overlap.py): the
scheduler's own count could only ever say one. What needs the real model
(how soon a cancel stops it, closing it) is in tests/engine/test_scheduler.py.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from lsp_server.inference.api import Engine, EngineUnavailable, Generation, Sampling
from lsp_server.inference.cancel import CancelToken
from lsp_server.inference.scheduler import Cancelled, Priority, Scheduler, Work
from tests.fast.fake_engine import GUARD_S, FakeEngine, Gate, guarded

COUNTING = "".join(f"{n}\n" for n in range(1, 100))  # two tokens a line
A, B = "file:///a.py", "file:///b.py"


@pytest.fixture
def gate() -> Gate:
    return Gate()


@pytest.fixture
def fake(gate: Gate) -> FakeEngine:
    return FakeEngine(COUNTING, gate=gate)


@pytest.fixture
def scheduler(fake: FakeEngine) -> Iterator[Scheduler]:
    scheduler = Scheduler(fake)
    yield scheduler
    scheduler.close()  # the worker never waits on the event loop: no deadlock here


def writing(name: str, max_tokens: int = 150) -> Work:
    """Work that asks the engine for up to `max_tokens`, with `name` as its prompt."""

    def work(engine: Engine, cancel: CancelToken) -> Generation:
        return engine.infill(name, "", Sampling(max_tokens=max_tokens), cancel)

    return work


def ran(fake: FakeEngine) -> list[str]:
    """The names of the work the engine ran, in order."""
    return [call.prefix for call in fake.calls]


async def test_urgent_work_runs_before_background_work(
    scheduler: Scheduler, fake: FakeEngine, gate: Gate
) -> None:
    blocker = scheduler.submit(writing("blocker"), priority=Priority.INLINE)
    await gate.stalled()  # running, at its first token
    later = [
        scheduler.submit(writing("background", 2), priority=Priority.BACKGROUND),
        scheduler.submit(writing("hover", 2), priority=Priority.INTERACTIVE),
        scheduler.submit(writing("inline", 2), priority=Priority.INLINE),
    ]
    blocker.cancel()
    gate.open_wide()
    with pytest.raises(Cancelled):
        await guarded(blocker.result())
    for ticket in later:
        await guarded(ticket.result())
    assert ran(fake) == ["blocker", "inline", "hover", "background"]
    assert fake.overlap.most == 1, "two generations at once"


async def test_a_newer_submission_supersedes_queued_and_running_work(
    scheduler: Scheduler, fake: FakeEngine, gate: Gate
) -> None:
    running = scheduler.submit(writing("running"), uri=A, supersedes=("inline", A))
    gate.open(3)
    await gate.stalled()  # three tokens written, waiting for the fourth
    stale = scheduler.submit(writing("stale", 2), uri=A, supersedes=("inline", A))
    other = scheduler.submit(writing("other-doc", 2), uri=B, supersedes=("inline", B))
    latest = scheduler.submit(writing("latest", 2), uri=A, supersedes=("inline", A))
    gate.open_wide()
    for ticket in (running, stale):
        with pytest.raises(Cancelled, match="superseded"):
            await guarded(ticket.result())
    await guarded(other.result())
    await guarded(latest.result())
    assert ran(fake) == ["running", "other-doc", "latest"], "the stale one never ran"
    first = fake.calls[0].result
    assert first is not None
    assert first.stats.decoded_tokens == 3, "stopped at its next token"
    assert scheduler.stats.never_started == 1
    assert scheduler.stats.tokens_decoded_after_cancel_max <= 1


async def test_cancel_stops_a_running_generation_at_its_next_token(
    scheduler: Scheduler, fake: FakeEngine, gate: Gate
) -> None:
    ticket = scheduler.submit(writing("long"))
    gate.open(5)
    await gate.stalled()
    ticket.cancel()
    with pytest.raises(Cancelled):
        await guarded(ticket.result())
    assert scheduler.stats.tokens_decoded == 5
    assert scheduler.stats.tokens_decoded_cancelled == 5
    assert scheduler.stats.tokens_decoded_after_cancel_max <= 1
    assert scheduler.stats.cancelled == 1


async def test_a_newer_document_version_cancels_older_work_only(
    scheduler: Scheduler, gate: Gate
) -> None:
    old = scheduler.submit(writing("v3"), uri=A, version=3)
    kept = scheduler.submit(writing("v5", 2), uri=A, version=5)
    elsewhere = scheduler.submit(writing("b v1", 2), uri=B, version=1)
    await gate.stalled()  # v3 is running
    assert scheduler.cancel_document(A, before_version=4) == 1
    gate.open_wide()
    with pytest.raises(Cancelled, match="document changed"):
        await guarded(old.result())
    assert (await guarded(kept.result())).stop_reason == "length"
    assert (await guarded(elsewhere.result())).stop_reason == "length"


async def test_work_supersedes_only_work_of_its_own_key(scheduler: Scheduler, gate: Gate) -> None:
    # Two docstrings of one document: neither supersedes the other, nor the
    # document's inline suggestion; a second docstring of the first name does.
    first = scheduler.submit(writing("docstring f", 2), uri=A, supersedes=("docstring", A, "f"))
    other = scheduler.submit(writing("docstring g", 2), uri=A, supersedes=("docstring", A, "g"))
    inline = scheduler.submit(writing("inline", 2), uri=A, supersedes=("inline", A))
    again = scheduler.submit(writing("docstring f", 2), uri=A, supersedes=("docstring", A, "f"))
    gate.open_wide()
    with pytest.raises(Cancelled, match="superseded"):
        await guarded(first.result())
    for kept in (other, inline, again):
        assert (await guarded(kept.result())).stop_reason == "length"
    assert scheduler.stats.superseded == 1


async def test_closing_a_document_cancels_all_its_work_whatever_its_version(
    scheduler: Scheduler, gate: Gate
) -> None:
    running = scheduler.submit(writing("inline"), uri=A, version=7)
    unversioned = scheduler.submit(writing("docstring", 2), uri=A)
    elsewhere = scheduler.submit(writing("b", 2), uri=B, version=1)
    await gate.stalled()
    assert scheduler.close_document(A) == 2
    gate.open_wide()
    for closed in (running, unversioned):
        with pytest.raises(Cancelled, match="document closed"):
            await guarded(closed.result())
    assert (await guarded(elsewhere.result())).stop_reason == "length"


async def test_carried_work_lives_through_an_edit_of_its_document(
    scheduler: Scheduler, gate: Gate
) -> None:
    followed = scheduler.submit(writing("typing along", 5), uri=A, version=1, purpose="inline")
    gate.open(2)
    await gate.stalled()
    followed.carry(2)  # the edit to version 2 was typing at its cursor
    assert scheduler.cancel_document(A, before_version=2) == 0
    gate.open_wide()
    finished = await guarded(followed.result())
    assert (finished.text, finished.stop_reason) == ("1\n2\n3", "length")


async def test_urgent_work_preempts_running_work_which_then_runs_again(
    scheduler: Scheduler, fake: FakeEngine, gate: Gate
) -> None:
    hover = scheduler.submit(writing("hover", 8), priority=Priority.INTERACTIVE)
    gate.open(3)
    await gate.stalled()
    inline = scheduler.submit(writing("inline", 2), priority=Priority.INLINE)
    gate.open_wide()
    await guarded(inline.result())
    finished = await guarded(hover.result())
    assert (finished.stop_reason, finished.stats.decoded_tokens) == ("length", 8)
    # Stopped for the inline completion at its next token, then run again to its end.
    assert ran(fake) == ["hover", "inline", "hover"]
    stopped = fake.calls[0].result
    assert stopped is not None
    assert (stopped.stop_reason, stopped.stats.decoded_tokens) == ("cancelled", 3)
    assert scheduler.stats.preempted == 1
    assert scheduler.stats.cancelled == 0
    assert fake.overlap.most == 1, "two generations at once"
    assert scheduler.stats.tokens_decoded_after_cancel_max <= 1


async def test_cancelling_the_waiting_task_cancels_the_work(
    scheduler: Scheduler, fake: FakeEngine, gate: Gate
) -> None:
    ticket = scheduler.submit(writing("long"))
    waiter = asyncio.ensure_future(ticket.result())
    await gate.stalled()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert ticket.cancelled
    gate.open_wide()
    # The worker is free again: the next work runs to its end.
    assert (await guarded(scheduler.submit(writing("next", 2)).result())).stop_reason == "length"
    assert ran(fake) == ["long", "next"]


async def test_failing_work_reports_its_error_and_the_worker_goes_on(
    scheduler: Scheduler, fake: FakeEngine, gate: Gate
) -> None:
    gate.open_wide()

    def broken(engine: Engine, cancel: CancelToken) -> Generation:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await guarded(scheduler.submit(broken).result())
    fake.error = EngineUnavailable("the engine at http://127.0.0.1:8080 does not answer")
    with pytest.raises(EngineUnavailable, match="does not answer"):
        await guarded(scheduler.submit(writing("down")).result())
    fake.error = None
    after = await guarded(scheduler.submit(writing("after", 2)).result())
    assert after.text == "1\n"
    assert scheduler.stats.failed == 2
    assert scheduler.stats.finished == 1


async def test_without_an_engine_work_fails_as_unavailable() -> None:
    scheduler = Scheduler()
    try:
        with pytest.raises(EngineUnavailable, match="no model is loaded"):
            await guarded(scheduler.submit(writing("nothing")).result())
    finally:
        scheduler.close()


async def test_set_engine_cancels_active_work_closes_the_old_engine_and_runs_on_the_new(
    scheduler: Scheduler, fake: FakeEngine, gate: Gate
) -> None:
    running = scheduler.submit(writing("on the old one"))
    queued = scheduler.submit(writing("queued"))
    await gate.stalled()
    new = FakeEngine("x = 1\n")
    # It waits for the running work to stop; the worker needs nothing of the loop.
    await guarded(asyncio.to_thread(scheduler.set_engine, new))
    for ticket in (running, queued):
        with pytest.raises(Cancelled, match="model changed"):
            await guarded(ticket.result())
    assert fake.closed
    assert scheduler.engine is new
    assert (await guarded(scheduler.submit(writing("on the new one")).result())).text == "x = 1\n"
    assert ran(fake) == ["on the old one"]
    assert ran(new) == ["on the new one"]


async def test_close_stops_running_work_within_a_token_and_queued_work_never_runs(
    scheduler: Scheduler, fake: FakeEngine, gate: Gate
) -> None:
    running = scheduler.submit(writing("running"))
    queued = scheduler.submit(writing("never"))
    gate.open(2)
    await gate.stalled()
    scheduler.close()
    assert not scheduler.alive
    assert scheduler.engine is None
    assert fake.closed
    for ticket in (running, queued):
        with pytest.raises(Cancelled, match="shutdown"):
            await guarded(ticket.result())
    assert ran(fake) == ["running"]
    assert scheduler.stats.tokens_decoded == 2
    assert scheduler.stats.tokens_decoded_after_cancel_max <= 1
    with pytest.raises(EngineUnavailable):
        scheduler.submit(writing("late"))


async def test_a_cancel_calls_back_once_on_the_cancelling_thread_and_late_ones_at_once() -> None:
    # What lets a remote engine's blocked read, or the fake engine's gate, wake up.
    token = CancelToken()
    called: list[str] = []
    token.on_cancel(lambda: called.append(threading.current_thread().name))
    withdraw = token.on_cancel(lambda: called.append("withdrawn"))
    withdraw()
    canceller = threading.Thread(target=token.cancel, args=("superseded",), name="canceller")
    canceller.start()
    canceller.join(GUARD_S)
    token.cancel("shutdown")  # the first reason stands, and nobody is called again
    assert (token.reason, called) == ("superseded", ["canceller"])
    token.on_cancel(lambda: called.append("late"))
    assert called == ["canceller", "late"]


def stubborn(running: threading.Event, release: threading.Event) -> Work:
    """Work that notices its cancel only when `release` is set (a long prompt
    batch, say): it stays running, cancelled, until then."""

    def work(engine: Engine, cancel: CancelToken) -> Generation:
        running.set()
        release.wait(GUARD_S)
        return Generation("", "cancelled" if cancel.cancelled else "end")

    return work


async def test_work_superseded_while_it_stops_is_counted_once(scheduler: Scheduler) -> None:
    running, release = threading.Event(), threading.Event()
    first = scheduler.submit(stubborn(running, release), uri=A, supersedes=("inline", A))
    assert await asyncio.to_thread(running.wait, GUARD_S)
    second = scheduler.submit(writing("second", 2), uri=A, supersedes=("inline", A))
    third = scheduler.submit(writing("third", 2), uri=A, supersedes=("inline", A))
    release.set()
    for ticket in (first, second):
        with pytest.raises(Cancelled, match="superseded"):
            await guarded(ticket.result())
    assert scheduler.stats.superseded == 2, "the first by the second, the second by the third"
    third.cancel()


async def test_work_withdrawn_after_a_preemption_says_why_it_was_withdrawn(
    scheduler: Scheduler, gate: Gate
) -> None:
    running, release = threading.Event(), threading.Event()
    hover = scheduler.submit(stubborn(running, release), priority=Priority.INTERACTIVE)
    assert await asyncio.to_thread(running.wait, GUARD_S)
    inline = scheduler.submit(writing("inline", 2))  # preempts the hover
    hover.cancel("request cancelled")  # ... whose editor then gives up on it
    release.set()
    gate.open_wide()
    with pytest.raises(Cancelled, match="request cancelled"):
        await guarded(hover.result())
    await guarded(inline.result())
    assert scheduler.stats.preempted == 0, "withdrawn, it does not run again"
