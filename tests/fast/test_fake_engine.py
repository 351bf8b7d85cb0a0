"""The fake engine's own ways: its script, its tokens, its gate and delay,
its errors, and its count of generations at once.

What it must do as LlamaEngine does (the stop reasons, limits, cancel and
time budget) is the engine contract, tested on both in tests/contract/.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from lsp_server.inference.api import EngineUnavailable, Sampling, Steering
from lsp_server.inference.cancel import CancelToken
from tests.fast.fake_engine import FakeEngine, Gate, guarded, tokens

COUNTING = "".join(f"{n}\n" for n in range(1, 30))


def test_it_writes_its_script_after_the_healed_cut_and_ends_with_it() -> None:
    engine = FakeEngine("tal = 0.0\n")
    cut = Steering(starts_with="to")
    generation = engine.infill("x = 1\n", "", Sampling(), CancelToken(), steering=cut)
    assert generation.text == "total = 0.0\n"
    assert generation.stop_reason == "end"
    assert generation.stats.decoded_tokens == len(tokens("total = 0.0\n")) == 8


def test_a_script_may_be_made_from_the_call_which_is_recorded() -> None:
    engine = FakeEngine(lambda call: "# after " + call.before_cursor.split()[-1])
    sampling = Sampling(max_tokens=10)
    engine.infill("a = 1\n", "\nz = 2", sampling, CancelToken(), middle="b = ")
    (call,) = engine.calls
    assert (call.kind, call.prefix, call.suffix, call.middle) == (
        "infill",
        "a = 1\n",
        "\nz = 2",
        "b = ",
    )
    assert call.sampling is sampling
    assert call.result is not None
    assert call.result.text == "# after ="


def test_its_cache_reads_only_what_a_prompt_adds_to_the_last() -> None:
    engine = FakeEngine(COUNTING)
    read = engine.infill("def f():\n", "", Sampling(max_tokens=0), CancelToken())
    assert read.stats.evaluated_tokens == read.stats.prompt_tokens == 7  # def, f, ( ... \n
    # The same prompt with a token more: only the new tokens are read.
    again = engine.infill("def f():\n    ", "", Sampling(max_tokens=0), CancelToken())
    assert (again.stats.reused_tokens, again.stats.evaluated_tokens) == (7, 1)


async def test_a_cancel_stops_it_before_the_next_token_with_no_text() -> None:
    gate = Gate()
    engine = FakeEngine(COUNTING, gate=gate)
    cancel = CancelToken()
    gate.open(3)
    running = asyncio.ensure_future(asyncio.to_thread(engine.infill, "", "", Sampling(), cancel))
    await gate.stalled()
    cancel.cancel()
    gate.open_wide()  # too late: the cancel came first
    generation = await guarded(running)
    assert (generation.text, generation.stop_reason) == ("", "cancelled")
    assert generation.stats.decoded_tokens == 3
    assert generation.stats.decoded_after_cancel == 0
    # Cancelled before it began: not even the prompt is read.
    late = engine.infill("", "", Sampling(), cancel)
    assert late.stop_reason == "cancelled"
    assert late.stats.evaluated_tokens == 0


def test_the_time_budget_ends_a_generation_that_waits() -> None:
    engine = FakeEngine(COUNTING, gate=Gate())  # closed: it never gets a token
    generation = engine.infill("", "", Sampling(time_budget=0.02), CancelToken())
    assert (generation.text, generation.stop_reason) == ("", "time")


def test_a_delay_paces_each_token() -> None:
    started = time.monotonic()
    FakeEngine("a b c", delay=0.01).infill("", "", Sampling(), CancelToken())
    assert time.monotonic() - started >= 5 * 0.01  # five tokens: a word or a space each


def test_it_raises_the_error_it_is_given_after_recording_the_call() -> None:
    engine = FakeEngine("x", error=EngineUnavailable("the engine does not answer"))
    with pytest.raises(EngineUnavailable, match="does not answer"):
        engine.infill("", "", Sampling(), CancelToken())
    assert len(engine.calls) == 1
    engine.error = None
    assert engine.infill("", "", Sampling(), CancelToken()).text == "x"


async def test_it_counts_two_generations_at_once_when_two_threads_call_it() -> None:
    # What the `overlap.most == 1` checks of the fast tier would see if the
    # server ever ran two generations at once: each check can fail.
    gate = Gate()
    engine = FakeEngine(COUNTING, gate=gate)
    cancel = CancelToken()
    calls = [asyncio.to_thread(engine.infill, "", "", Sampling(), cancel) for _ in range(2)]
    both = asyncio.ensure_future(asyncio.gather(*calls))
    await guarded(until(lambda: engine.overlap.now == 2))
    cancel.cancel()
    await guarded(both)
    assert (engine.overlap.most, engine.overlap.now, engine.overlap.calls) == (2, 0, 2)
    gate.open_wide()
    engine.infill("", "", Sampling(max_tokens=1), CancelToken())
    assert engine.overlap.most == 2, "the most ever, not the last"


async def until(condition: Callable[[], bool]) -> None:
    """Wait (polling: the engine runs on other threads) until `condition` holds."""
    while not condition():
        await asyncio.sleep(0.001)
