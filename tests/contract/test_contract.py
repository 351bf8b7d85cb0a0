"""The engine's contract (inference/api.py), on the fake engine and the real one alike.

The fast tier runs the server on FakeEngine; what it proves holds for the
real engine only as far as the two keep one contract. Each test here runs
on both: on the fake in the fast tier, on LlamaEngine (marked `model`)
with the model tests. What is asserted holds whatever the model writes:
what each stop reason means for the text and the counts, token healing's
start, reading a prompt without writing, the cancel, the time budget.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

import pytest

from lsp_server.inference.api import ChatMessage, Engine, Generation, Sampling, Steering
from lsp_server.inference.cancel import CancelToken
from tests.conftest import ENDLESS
from tests.fast.fake_engine import GUARD_S, Call, FakeEngine

COUNT = "Count from 1 to 300, one number a line, nothing else."
ONE_WORD = "Is Python a programming language? Answer with one word."
HEALED = "class Reader:\n    def close(self):\n        self."  # `inst` to be healed after it


def counting_on(call: Call) -> str:
    """The fake's model, as the real ones answer these prompts: shown a count,
    or asked for one, it counts on; asked for a word, it says one."""
    if call.kind == "chat" and ONE_WORD in call.prefix:
        return "Yes."[len(call.steering.starts_with) :]  # after what healing gave
    numbers = re.findall(r"\d+", call.before_cursor) if call.kind == "infill" else []
    last = int(numbers[-1]) if numbers else 0
    return "".join(f"{n}\n" for n in range(last + 1, last + 1000))


@pytest.fixture(params=["fake", pytest.param("llama", marks=pytest.mark.model)])
def under_test(request: pytest.FixtureRequest) -> Engine:
    """Each engine in turn: the fake (its tokens taking a millisecond each,
    so that time passes as it writes), then the real one."""
    if request.param == "fake":
        return FakeEngine(counting_on, delay=0.001)
    engine: Engine = request.getfixturevalue("engine")
    return engine


Count = Callable[[Engine, Sampling, CancelToken, Steering], Generation]


def infill(
    engine: Engine, sampling: Sampling, cancel: CancelToken, steering: Steering
) -> Generation:
    """A count to go on with, in the middle of the code."""
    return engine.infill(ENDLESS, "", sampling, cancel, steering=steering)


def chat(engine: Engine, sampling: Sampling, cancel: CancelToken, steering: Steering) -> Generation:
    """A count asked for in a chat."""
    return engine.chat([ChatMessage("user", COUNT)], sampling, cancel, steering=steering)


EACH_WAY = pytest.mark.parametrize("count", [infill, chat], ids=["infill", "chat"])


@EACH_WAY
def test_a_limit_of_tokens_ends_with_length(under_test: Engine, count: Count) -> None:
    capped = count(under_test, Sampling(max_tokens=5), CancelToken(), Steering())
    assert capped.stop_reason == "length"
    assert capped.stats.decoded_tokens == 5
    assert capped.text.strip()


@EACH_WAY
def test_a_stop_string_ends_with_stop_and_the_text_before_it(
    under_test: Engine, count: Count
) -> None:
    stopped = count(under_test, Sampling(max_tokens=64, stop=("\n",)), CancelToken(), Steering())
    assert stopped.stop_reason == "stop"
    assert "\n" not in stopped.text, "cut where the stop string begins"
    assert stopped.stats.decoded_tokens < 64


@EACH_WAY
def test_stop_when_ends_with_stop_and_the_text_it_said_yes_to(
    under_test: Engine, count: Count
) -> None:
    asked: list[str] = []

    def two_lines(text: str) -> bool:
        asked.append(text)
        return text.count("\n") >= 2

    steering = Steering(stop_when=two_lines)
    stopped = count(under_test, Sampling(max_tokens=64), CancelToken(), steering)
    assert stopped.stop_reason == "stop"
    assert stopped.text == asked[-1], "not cut: the whole text it said yes to"
    assert stopped.text.count("\n") == 2
    assert len(asked) == stopped.stats.decoded_tokens, "asked after each token"


def test_an_answer_that_ends_by_itself_ends_with_end(under_test: Engine) -> None:
    answer = under_test.chat(
        [ChatMessage("user", ONE_WORD)], Sampling(max_tokens=48), CancelToken()
    )
    assert answer.stop_reason == "end"
    assert answer.text.strip()
    assert 0 < answer.stats.decoded_tokens < 48
    assert "<|" not in answer.text, "the end is no text"


@EACH_WAY
def test_no_tokens_asked_for_reads_the_prompt_and_writes_nothing(
    under_test: Engine, count: Count
) -> None:
    healed = Steering(starts_with="4")  # nothing is written, not even this
    read = count(under_test, Sampling(max_tokens=0), CancelToken(), healed)
    assert (read.text, read.stop_reason) == ("", "length")
    assert read.stats.decoded_tokens == 0
    assert read.stats.evaluated_tokens + read.stats.reused_tokens == read.stats.prompt_tokens
    # The next call with the same prompt finds it read: only its last token
    # is read again, for the logits the first token is chosen from.
    written = count(under_test, Sampling(max_tokens=2), CancelToken(), Steering())
    assert written.stats.prompt_tokens == read.stats.prompt_tokens
    assert written.stats.evaluated_tokens == 1
    assert written.stats.reused_tokens == read.stats.prompt_tokens - 1
    assert written.stats.decoded_tokens == 2


@pytest.mark.parametrize("max_tokens", [1, 8])
def test_healing_begins_the_text_with_what_the_prompt_left_out(
    under_test: Engine, max_tokens: int
) -> None:
    # The prompt ends mid-word (`self.inst`): the text begins with the rest of
    # the word, or, cut short by the limit, is its beginning.
    cut = Steering(starts_with="inst")
    sampling = Sampling(max_tokens=max_tokens)
    infilled = under_test.infill(HEALED, "\n", sampling, CancelToken(), steering=cut)
    asked = [ChatMessage("user", ONE_WORD)]
    said = under_test.chat(asked, sampling, CancelToken(), steering=Steering(starts_with="Ye"))
    for generation, start in ((infilled, "inst"), (said, "Ye")):
        assert generation.text, generation
        common = min(len(start), len(generation.text))
        assert generation.text[:common] == start[:common], (start, generation.text)
        if max_tokens == 8:
            assert generation.text.startswith(start), (start, generation.text)


@EACH_WAY
@pytest.mark.parametrize("max_tokens", [0, 64])
def test_a_cancel_before_the_call_reads_and_writes_nothing(
    under_test: Engine, count: Count, max_tokens: int
) -> None:
    cancel = CancelToken()
    cancel.cancel("test")
    result = count(under_test, Sampling(max_tokens=max_tokens), cancel, Steering())
    assert (result.text, result.stop_reason) == ("", "cancelled")
    assert result.stats.evaluated_tokens == 0
    assert result.stats.decoded_tokens == 0


@EACH_WAY
def test_a_cancel_while_it_writes_stops_it_within_a_token(under_test: Engine, count: Count) -> None:
    cancel = CancelToken()
    writing = threading.Event()
    after_cancel = 0

    def probe(text: str) -> bool:  # asked after each token, on the engine's thread
        nonlocal after_cancel
        after_cancel += cancel.cancelled
        if text.count("\n") >= 3:
            writing.set()
        return False

    def cancel_once_writing() -> None:
        if writing.wait(GUARD_S * 6):
            cancel.cancel("test")

    canceller = threading.Thread(target=cancel_once_writing, daemon=True)
    canceller.start()
    result = count(under_test, Sampling(max_tokens=2000), cancel, Steering(stop_when=probe))
    canceller.join()
    assert (result.text, result.stop_reason) == ("", "cancelled")
    assert result.stats.decoded_tokens > 0
    # Counted in tokens, not seconds: how long one takes is the machine's load.
    assert after_cancel <= 1, "tokens written after the cancel"
    assert result.stats.decoded_after_cancel <= 1


@EACH_WAY
def test_a_cancel_before_the_call_wins_over_a_spent_time_budget(
    under_test: Engine, count: Count
) -> None:
    # A cancelled call's text is never used (a preempted one runs again):
    # whatever else stopped it, it says it was cancelled.
    cancel = CancelToken()
    cancel.cancel("test")
    result = count(under_test, Sampling(max_tokens=64, time_budget=1e-9), cancel, Steering())
    assert (result.text, result.stop_reason) == ("", "cancelled")


@EACH_WAY
def test_a_time_budget_spent_before_the_prompt_is_read_ends_with_time(
    under_test: Engine, count: Count
) -> None:
    result = count(under_test, Sampling(max_tokens=64, time_budget=1e-9), CancelToken(), Steering())
    assert (result.text, result.stop_reason) == ("", "time")
    assert result.stats.evaluated_tokens == 0
    assert result.stats.decoded_tokens == 0


@EACH_WAY
def test_a_time_budget_ends_the_writing_with_time_and_keeps_the_text(
    under_test: Engine, count: Count
) -> None:
    count(under_test, Sampling(max_tokens=0), CancelToken(), Steering())  # read ahead
    budget = 0.1  # the prompt is read already: it runs out while the engine writes
    started = time.monotonic()
    timed = count(
        under_test, Sampling(max_tokens=2000, time_budget=budget), CancelToken(), Steering()
    )
    assert timed.stop_reason == "time"
    assert time.monotonic() - started >= budget, "not before the budget is spent"
    assert 0 < timed.stats.decoded_tokens < 2000
    assert timed.text, "what was written by then"
