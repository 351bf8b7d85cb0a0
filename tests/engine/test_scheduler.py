"""The scheduler in front of the real engine: ordering, latest-wins, cancellation, shutdown."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from lsp_server.inference.api import Engine, EngineUnavailable, Generation, Sampling, Steering
from lsp_server.inference.cancel import CancelToken
from lsp_server.inference.llama.engine import EngineConfig, LlamaEngine
from lsp_server.inference.scheduler import (
    Cancelled,
    Priority,
    Scheduler,
    Work,
)
from tests.conftest import ENDLESS, decoding_probe
from tests.pace import guard

pytestmark = pytest.mark.model


@pytest.fixture
async def scheduler(model_path: Path) -> AsyncIterator[Scheduler]:
    # Its own engine: closing the scheduler closes the engine too.
    scheduler = Scheduler(LlamaEngine(model_path, EngineConfig(context_size=1024)))
    yield scheduler
    await asyncio.to_thread(scheduler.close)


def long_generation(decoding: threading.Event | None = None) -> Work:
    """Work that decodes until cancelled; `decoding` is set once it is decoding."""
    probe = decoding_probe(decoding) if decoding is not None else None

    def work(engine: Engine, cancel: CancelToken) -> Generation:
        steering = Steering(stop_when=probe)
        return engine.infill(ENDLESS, "", Sampling(max_tokens=2000), cancel, steering=steering)

    return work


def recorded(name: str, log: list[str]) -> Work:
    def work(engine: Engine, cancel: CancelToken) -> Generation:
        log.append(name)
        return engine.infill("x = ", "\n", Sampling(max_tokens=2), cancel)

    return work


async def wait_for(event: threading.Event) -> None:
    assert await asyncio.to_thread(event.wait, guard(60))


async def test_urgent_work_runs_before_background_work(scheduler: Scheduler) -> None:
    started = threading.Event()
    blocker = scheduler.submit(long_generation(started), priority=Priority.BACKGROUND)
    await wait_for(started)
    order: list[str] = []
    later = [
        scheduler.submit(recorded("background", order), priority=Priority.BACKGROUND),
        scheduler.submit(recorded("hover", order), priority=Priority.INTERACTIVE),
        scheduler.submit(recorded("inline", order), priority=Priority.INLINE),
    ]
    blocker.cancel()
    with pytest.raises(Cancelled):
        await blocker.result()
    for ticket in later:
        await ticket.result()
    assert order == ["inline", "hover", "background"]
    assert scheduler.stats.running_max == 1


async def test_urgent_work_preempts_running_work_which_then_runs_again(
    scheduler: Scheduler,
) -> None:
    started = threading.Event()
    runs: list[str] = []
    probe = decoding_probe(started)

    def explain(engine: Engine, cancel: CancelToken) -> Generation:
        runs.append("hover")
        steering = Steering(stop_when=probe)
        return engine.infill(ENDLESS, "", Sampling(max_tokens=200), cancel, steering=steering)

    hover = scheduler.submit(explain, priority=Priority.INTERACTIVE)
    await wait_for(started)
    inline = scheduler.submit(recorded("inline", runs), priority=Priority.INLINE)
    await inline.result()
    finished = await hover.result()
    assert finished.stop_reason == "length"
    assert finished.stats.decoded_tokens == 200
    # Stopped for the inline completion, then run again to its end.
    assert runs == ["hover", "inline", "hover"]
    assert scheduler.stats.preempted == 1
    assert scheduler.stats.cancelled == 0
    assert scheduler.stats.tokens_decoded_after_cancel_max <= 1


async def test_superseded_request_never_runs(scheduler: Scheduler) -> None:
    started = threading.Event()
    running = scheduler.submit(
        long_generation(started), uri="file:///a.py", supersedes=("inline", "file:///a.py")
    )
    await wait_for(started)
    ran: list[str] = []
    stale = scheduler.submit(
        recorded("stale", ran), uri="file:///a.py", supersedes=("inline", "file:///a.py")
    )
    other = scheduler.submit(
        recorded("other-doc", ran), uri="file:///b.py", supersedes=("inline", "file:///b.py")
    )
    latest = scheduler.submit(
        recorded("latest", ran), uri="file:///a.py", supersedes=("inline", "file:///a.py")
    )
    for ticket in (running, stale):
        with pytest.raises(Cancelled, match="superseded"):
            await ticket.result()
    await other.result()
    await latest.result()
    assert ran == ["other-doc", "latest"]
    assert scheduler.stats.never_started >= 1
    assert scheduler.stats.tokens_decoded_after_cancel_max <= 1


async def test_cancel_stops_a_running_generation_within_one_token(scheduler: Scheduler) -> None:
    started = threading.Event()
    ticket = scheduler.submit(long_generation(started))
    await wait_for(started)
    ticket.cancel()
    with pytest.raises(Cancelled):
        await asyncio.wait_for(ticket.result(), guard(10))
    assert scheduler.stats.tokens_decoded > 0
    assert scheduler.stats.tokens_decoded_after_cancel_max <= 1
    assert scheduler.stats.cancelled == 1


async def test_newer_document_version_cancels_older_work(scheduler: Scheduler) -> None:
    started = threading.Event()
    old = scheduler.submit(long_generation(started), uri="file:///a.py", version=3)
    kept = scheduler.submit(recorded("v5", []), uri="file:///a.py", version=5)
    await wait_for(started)
    assert scheduler.cancel_document("file:///a.py", before_version=4) == 1
    with pytest.raises(Cancelled, match="document changed"):
        await old.result()
    assert (await kept.result()).stop_reason != "cancelled"


async def test_cancelling_the_waiting_task_cancels_the_work(scheduler: Scheduler) -> None:
    started = threading.Event()
    ticket = scheduler.submit(long_generation(started))
    waiter = asyncio.create_task(ticket.result())
    await wait_for(started)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert ticket.cancelled
    # The worker is free again soon: the next request completes.
    follow_up = scheduler.submit(recorded("next", []))
    assert (await asyncio.wait_for(follow_up.result(), guard(30))).stop_reason != "cancelled"


async def test_failing_work_reports_its_error_and_the_worker_goes_on(
    scheduler: Scheduler,
) -> None:
    def broken(engine: Engine, cancel: CancelToken) -> Generation:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await scheduler.submit(broken).result()
    assert (await scheduler.submit(recorded("after", [])).result()).text is not None
    assert scheduler.stats.failed == 1


async def test_close_stops_the_worker_and_running_work(model_path: Path) -> None:
    scheduler = Scheduler(LlamaEngine(model_path, EngineConfig(context_size=1024)))
    started = threading.Event()
    running = scheduler.submit(long_generation(started))
    queued = scheduler.submit(recorded("never", []))
    await wait_for(started)
    await asyncio.to_thread(scheduler.close)
    assert not scheduler.alive
    assert scheduler.engine is None
    for ticket in (running, queued):
        with pytest.raises(Cancelled, match="shutdown"):
            await ticket.result()
    assert scheduler.stats.tokens_decoded_after_cancel_max <= 1
    with pytest.raises(EngineUnavailable):
        scheduler.submit(recorded("late", []))
