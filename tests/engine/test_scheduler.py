"""The scheduler in front of the real engine: what only the real model shows.

How soon a cancel stops a generation the model is writing, and that closing
the scheduler stops one and lets the engine go. The scheduler's own logic
(ordering, latest-wins, preemption, failures) is checked exactly, with the
fake engine, in tests/fast/test_scheduler.py. Here the real engine is
wrapped to count the generations running at once (tests/overlap.py).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lsp_server.inference.api import Engine, EngineUnavailable, Generation, Sampling, Steering
from lsp_server.inference.cancel import CancelToken
from lsp_server.inference.llama.engine import EngineConfig, LlamaEngine
from lsp_server.inference.scheduler import Cancelled, Scheduler
from tests.conftest import ENDLESS
from tests.overlap import Counted, Overlap
from tests.pace import Deadline, guard

pytestmark = pytest.mark.model


@pytest.fixture
def counted(model_path: Path) -> Counted:
    return Counted(LlamaEngine(model_path, EngineConfig(context_size=1024)))


@pytest.fixture
async def scheduler(counted: Counted) -> AsyncIterator[Scheduler]:
    # Its own engine: closing the scheduler closes the engine too.
    scheduler = Scheduler(counted)
    yield scheduler
    await asyncio.to_thread(scheduler.close)


class Writing:
    """Work that counts on until cancelled, and what its engine did meanwhile:
    `decoding` is set once a few lines are written, and `after_cancel`
    counts the tokens written once the cancel was set (the engine asks
    `stop_when` after each token)."""

    def __init__(self) -> None:
        self.decoding = threading.Event()
        self.after_cancel = 0

    def work(self, engine: Engine, cancel: CancelToken) -> Generation:
        def probe(text: str) -> bool:
            if cancel.cancelled:
                self.after_cancel += 1
            if text.count("\n") >= 3:
                self.decoding.set()
            return False

        steering = Steering(stop_when=probe)
        return engine.infill(ENDLESS, "", Sampling(max_tokens=2000), cancel, steering=steering)


async def decoding(writing: Writing) -> None:
    """Until the model is writing (a guard against a hang, the pace measured
    again before it fails)."""
    deadline = Deadline(60)
    while not await asyncio.to_thread(writing.decoding.wait, max(deadline.left(), 0.05)):
        assert not await deadline.expired(), "the model never began to write"


def short(engine: Engine, cancel: CancelToken) -> Generation:
    return engine.infill("x = ", "\n", Sampling(max_tokens=2), cancel)


async def test_cancel_stops_a_running_generation_within_one_token(
    scheduler: Scheduler, counted: Counted
) -> None:
    writing = Writing()
    ticket = scheduler.submit(writing.work)
    await decoding(writing)
    ticket.cancel()
    with pytest.raises(Cancelled):
        await ticket.result()
    # Counted in tokens, not seconds: how long a token takes is the machine's load.
    assert writing.after_cancel <= 1, "tokens written after the cancel"
    assert scheduler.stats.tokens_decoded > 0
    assert scheduler.stats.tokens_decoded_after_cancel_max <= 1
    assert scheduler.stats.cancelled == 1
    # The worker is free at once: the next work runs to its end.
    assert (await scheduler.submit(short).result()).stop_reason != "cancelled"
    assert (counted.overlap.most, counted.overlap.calls) == (1, 2)


async def test_close_stops_the_worker_and_running_work(model_path: Path) -> None:
    counted = Counted(LlamaEngine(model_path, EngineConfig(context_size=1024)))
    scheduler = Scheduler(counted)
    writing = Writing()
    running = scheduler.submit(writing.work)
    queued = scheduler.submit(short)
    await decoding(writing)
    await asyncio.to_thread(scheduler.close)
    assert not scheduler.alive
    assert scheduler.engine is None
    for ticket in (running, queued):
        with pytest.raises(Cancelled, match="shutdown"):
            await ticket.result()
    assert writing.after_cancel <= 1
    assert scheduler.stats.tokens_decoded_after_cancel_max <= 1
    assert (counted.overlap.most, counted.overlap.calls) == (1, 1), "the queued work never ran"
    with pytest.raises(EngineUnavailable):
        scheduler.submit(short)


def test_two_engines_writing_at_once_are_counted_as_two(model_path: Path) -> None:
    # What the `overlap.most == 1` checks above would see if two generations
    # ran at once: each can fail. Two engines (one llama.cpp context must
    # never be entered twice at once), one count; each waits, after its
    # first token, until the other has written one too.
    overlap = Overlap()
    engines = [
        Counted(LlamaEngine(model_path, EngineConfig(context_size=512)), overlap) for _ in range(2)
    ]
    both_writing = threading.Barrier(2)

    def meet(text: str) -> bool:
        both_writing.wait(guard(60))
        return True

    def write(engine: Counted) -> Callable[[], Generation]:
        steering = Steering(stop_when=meet)
        return lambda: engine.infill(
            ENDLESS, "", Sampling(max_tokens=8), CancelToken(), steering=steering
        )

    try:
        with ThreadPoolExecutor(2) as pool:
            results = [pool.submit(write(engine)) for engine in engines]
            reasons = [result.result().stop_reason for result in results]
    finally:
        for engine in engines:
            engine.close()
    assert reasons == ["stop", "stop"]
    assert (overlap.most, overlap.now, overlap.calls) == (2, 0, 2)
