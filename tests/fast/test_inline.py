"""Inline completions on the in-process server with the fake engine.

The feature's own logic, keystroke by keystroke, as tests/e2e checks it on
the real server and model: where a suggestion goes, the debounce, bursts
of keys, stale requests, typing into a shown suggestion, typing along a
running generation, and an engine that is down. The fake engine waits at
a gate before each token where it matters, so that what the model has
written when a key arrives is certain, not a matter of speed.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from lsp_server.inference.api import EngineUnavailable
from lsp_server.layout import PromptLayout
from tests.fast.fake_engine import Call, FakeEngine, Gate, Script, guarded
from tests.fast.server import hearth

URI = "file:///work/shop.py"
SHOP = '''def total_price(prices: list[float], tax_rate: float) -> float:
    """Return the sum of prices with tax added."""
    subtotal = sum(prices)
    return


print(total_price([1.0, 2.5], 0.2))
'''
AFTER_RETURN = types.Position(line=3, character=10)  # after "    return"
RETURN_LINE = "    return subtotal * (1 + tax_rate)"

LEDGER = (
    "def ledger(entries: list[float]) -> float:\n"
    '    """Sum the entries."""\n'
    "    \n"  # its empty body
    "\n\nledger([])\n"
)
LEDGER_BODY = types.Position(line=2, character=4)  # in ledger's empty body

NO_DEBOUNCE = {"completion": {"debounceMs": 0}}

SUM = (
    "def total_price(prices: list[float], tax_rate: float) -> float:\n"
    '    """Return the sum of prices with tax added."""\n'
    "    subtotal = sum(pri\n"
    "\n\nprint(total_price([1.0, 2.5], 0.2))\n"
)
IN_SUM = types.Position(line=2, character=22)  # after "    subtotal = sum(pri"
SUM_BODY = ("    subtotal = sum(prices)", RETURN_LINE)


def completing(*lines: str) -> Script:
    """A model that knows the code: at a cursor on one of `lines` (the first
    that the cursor's line begins), it writes the rest of it."""

    def script(call: Call) -> str:
        begun = call.before_cursor.rsplit("\n", 1)[-1]
        rest = next((line[len(begun) :] for line in lines if line.startswith(begun)), None)
        return "" if rest is None else rest + "\n"

    return script


def line_and_next(*lines: str) -> Script:
    """As `completing`, and then the line after it in `lines`, as a model
    writes on at the end of a line."""

    def script(call: Call) -> str:
        begun = call.before_cursor.rsplit("\n", 1)[-1]
        at = next((i for i, line in enumerate(lines) if line.startswith(begun)), None)
        if at is None:
            return ""
        return "".join(f"{line}\n" for line in lines[at : at + 2])[len(begun) :]

    return script


def texts(result: Any) -> list[str]:
    """The texts of an inline completion answer's items."""
    assert isinstance(result, types.InlineCompletionList), result
    return [
        text if isinstance(text := item.insert_text, str) else text.value for item in result.items
    ]


def at(line: int, character: int) -> types.Position:
    return types.Position(line=line, character=character)


async def test_a_suggestion_is_inserted_at_the_cursor() -> None:
    fake = FakeEngine(completing(RETURN_LINE))
    async with hearth(fake, NO_DEBOUNCE) as editor:
        editor.open(URI, SHOP)
        (item,) = (await guarded(editor.inline(URI, AFTER_RETURN))).items
        assert item.insert_text == " subtotal * (1 + tax_rate)"
        assert item.range == types.Range(start=AFTER_RETURN, end=AFTER_RETURN)
        # What was asked: the code around the cursor, the word at the cursor to write again.
        (call,) = fake.calls
        assert call.steering.starts_with == "return"
        assert call.before_cursor.endswith("    subtotal = sum(prices)\n    return")
        assert "print(total_price([1.0, 2.5], 0.2))" in call.suffix
        assert call.sampling.time_budget == 30.0, "invoked: the patient time budget"


@pytest.mark.parametrize(
    ("settings", "budget"),
    [(NO_DEBOUNCE, 1000), ({"completion": {"debounceMs": 0, "promptTokens": 200}}, 200)],
)
async def test_a_prompt_has_its_models_budget_unless_the_settings_give_one(
    settings: dict[str, Any], budget: int
) -> None:
    fake = FakeEngine(completing(RETURN_LINE))
    fake.layout = PromptLayout(prompt_tokens=1000)
    async with hearth(fake, settings) as editor:
        editor.open(URI, SHOP)
        suggested = texts(await guarded(editor.inline(URI, AFTER_RETURN)))
        assert suggested == [" subtotal * (1 + tax_rate)"]
        (call,) = fake.calls
        assert call.budget == budget


async def test_a_key_within_the_debounce_starts_no_generation_and_the_last_waits_it_out() -> None:
    fake = FakeEngine(completing(RETURN_LINE))
    async with hearth(fake, {"completion": {"debounceMs": 100}}) as editor:
        editor.open(URI, SHOP)
        first = editor.inline(URI, AFTER_RETURN, invoked=False)
        await asyncio.sleep(0)  # it begins its debounce
        editor.insert(URI, AFTER_RETURN, " ")
        asked = time.monotonic()
        second = editor.inline(URI, at(3, 11), invoked=False)
        assert texts(await guarded(first)) == []
        assert texts(await guarded(second)) == ["subtotal * (1 + tax_rate)"]
        assert time.monotonic() - asked >= 0.099
        assert len(fake.calls) == 1, "the first request never reached the model"
        assert fake.calls[0].before_cursor.endswith("return ")


@pytest.mark.parametrize(
    ("debounce_ms", "taken_over"), [(30, 0), (0, 8)], ids=["debounced", "followed"]
)
async def test_a_burst_of_keys_gets_one_suggestion_for_the_last_from_one_generation(
    debounce_ms: int, taken_over: int
) -> None:
    text = "def average(values: list[float]) -> float:\n    return sum(values) / "
    column = len("    return sum(values) / ")
    typed = "len(value"
    gate = Gate()  # nothing is written until the burst is over
    fake = FakeEngine(completing("    return sum(values) / len(values)"), gate=gate)
    async with hearth(fake, {"completion": {"debounceMs": debounce_ms}}) as editor:
        editor.open(URI, text)
        requests = []
        for i, char in enumerate(typed):
            editor.insert(URI, at(1, column + i), char)
            requests.append(editor.inline(URI, at(1, column + i + 1), invoked=False))
            await asyncio.sleep(0)  # it starts before the next key, as in a server
        gate.open_wide()
        *earlier, last = [texts(await guarded(request)) for request in requests]
        assert earlier == [[]] * (len(typed) - 1)
        assert last == ["s)"]
        counters = await editor.stats()
        # Debounced, only the last request asked; without a debounce, the
        # first one's generation was followed by all the others.
        assert counters["started"] == 1 < len(typed)
        assert counters["takenOver"] == taken_over
        assert fake.overlap.most == 1, "two generations at once"
        assert counters["tokens_decoded_after_cancel_max"] <= 1


async def test_a_request_whose_document_moves_on_while_the_model_writes_gets_nothing() -> None:
    gate = Gate()
    fake = FakeEngine(completing(RETURN_LINE), gate=gate)
    async with hearth(fake, NO_DEBOUNCE) as editor:
        editor.open(URI, SHOP)
        request = editor.inline(URI, AFTER_RETURN)
        gate.open(1)
        await gate.stalled()  # "return" written, waiting for its next token
        editor.insert(URI, at(0, 0), "import math\n")  # an edit away from the cursor
        assert texts(await guarded(request)) == []
        (call,) = fake.calls
        assert call.result is not None
        assert call.result.stop_reason == "cancelled"
        counters = await editor.stats()
        assert counters["cancelled"] == 1
        assert counters["tokens_decoded_after_cancel_max"] <= 1


async def test_a_cancelled_request_stops_its_generation_at_the_next_token() -> None:
    gate = Gate()
    fake = FakeEngine(completing(RETURN_LINE), gate=gate)
    async with hearth(fake, NO_DEBOUNCE) as editor:
        editor.open(URI, SHOP)
        request = editor.inline(URI, AFTER_RETURN, msg_id="long-one")
        gate.open(1)
        await gate.stalled()
        editor.cancel("long-one")
        outcome = await answer_of(request)
        assert isinstance(outcome, JsonRpcException)
        assert outcome.code == types.LSPErrorCodes.RequestCancelled
        await editor.until("cancelled", 1)
        (call,) = fake.calls
        assert call.result is not None
        assert (call.result.stop_reason, call.result.stats.decoded_tokens) == ("cancelled", 1)


async def test_typing_into_the_suggestion_gets_the_rest_without_the_model() -> None:
    fake = FakeEngine(completing(RETURN_LINE))
    async with hearth(fake, NO_DEBOUNCE) as editor:
        editor.open(URI, SHOP)
        (text,) = texts(await guarded(editor.inline(URI, AFTER_RETURN)))
        typed = text[:2]
        editor.insert(URI, AFTER_RETURN, typed)
        after = at(3, 10 + len(typed))
        (rest,) = (await guarded(editor.inline(URI, after))).items
        assert rest.insert_text == text[2:]
        assert rest.range == types.Range(start=after, end=after)
        counters = await editor.stats()
        assert counters["typedThrough"] == 1
        assert counters["started"] == 1, "the rest of a shown suggestion needs no model"
        # Typed to its end: the line is whole, the next line is asked of the
        # generation typing followed, which ended with the line (the script's end).
        editor.insert(URI, after, text[2:])
        assert texts(await guarded(editor.inline(URI, at(3, 10 + len(text))))) == []
        counters = await editor.stats()
        assert (counters["typedThrough"], counters["takenOver"]) == (1, 1)
        assert len(fake.calls) == 1


async def test_a_line_is_answered_once_written_and_typed_through_finds_the_next() -> None:
    gate = Gate()
    fake = FakeEngine(line_and_next(*SUM_BODY), gate=gate)
    async with hearth(fake, NO_DEBOUNCE) as editor:
        editor.open(URI, SUM)
        answer = editor.inline(URI, IN_SUM)
        await gate.stalled()  # the request awaits the generation's first token
        gate.open(4)  # "pri" (the token the prompt left out), "ces", ")", "\n"
        await gate.stalled()
        assert texts(await guarded(answer)) == ["ces)"], "answered with the line"
        assert fake.calls[0].result is None, "while the model waits to write on"
        gate.open_wide()
        editor.insert(URI, IN_SUM, "ces)")
        assert texts(await guarded(editor.inline(URI, at(2, 26)))) == ["\n" + RETURN_LINE]
        (call,) = fake.calls
        assert call.result is not None
        # It stopped where the next line ends.
        assert (call.result.text, call.result.stop_reason) == (
            "prices)\n" + RETURN_LINE + "\n",
            "stop",
        )
        counters = await editor.stats()
        assert (counters["started"], counters["takenOver"], counters["typedThrough"]) == (1, 1, 0)
        # A suggestion of several lines typed to its end: nothing more, without the model.
        editor.insert(URI, at(2, 26), "\n" + RETURN_LINE)
        assert texts(await guarded(editor.inline(URI, at(3, len(RETURN_LINE))))) == []
        assert (await editor.stats())["typedThrough"] == 1
        assert len(fake.calls) == 1


async def test_at_the_end_of_a_line_typed_through_the_next_line_is_awaited_as_it_is_written() -> (
    None
):
    gate = Gate()
    fake = FakeEngine(line_and_next(*SUM_BODY), gate=gate)
    async with hearth(fake, NO_DEBOUNCE) as editor:
        editor.open(URI, SUM)
        answer = editor.inline(URI, IN_SUM)
        await gate.stalled()
        gate.open(6)  # the line, and "    return" of the next
        await gate.stalled()
        assert texts(await guarded(answer)) == ["ces)"]
        editor.insert(URI, IN_SUM, "ces)")
        next_line = editor.inline(URI, at(2, 26))
        await editor.until("takenOver", 1)
        gate.open_wide()
        assert texts(await guarded(next_line)) == ["\n" + RETURN_LINE]
        assert len(fake.calls) == 1


async def test_typing_along_a_running_generation_takes_it_over() -> None:
    gate = Gate()
    fake = FakeEngine(completing("    total = 0.0"), gate=gate)
    async with hearth(fake, NO_DEBOUNCE) as editor:
        editor.open(URI, LEDGER)
        running = editor.inline(URI, LEDGER_BODY, msg_id="first")
        gate.open(2)
        await gate.stalled()  # it has written "    total" and waits for its next token
        editor.insert(URI, LEDGER_BODY, "to")  # typed as the model is writing it
        editor.cancel("first")
        rest = editor.inline(URI, at(2, 6))
        await editor.until("takenOver", 1)  # the request waits for it, from here on
        gate.open_wide()
        assert texts(await guarded(rest)) == ["tal = 0.0"], "the rest of the line, from it"
        outcome = await answer_of(running)
        assert isinstance(outcome, JsonRpcException) or texts(outcome) == []
        (call,) = fake.calls
        assert call.result is not None
        # Answered at the line's end; it wrote on for the next line, and the script ended.
        assert (call.result.text, call.result.stop_reason) == ("    total = 0.0\n", "end")
        counters = await editor.stats()
        assert counters["takenOver"] == 1
        assert counters["started"] == 1, "one generation for both requests"
        assert counters["typedThrough"] == 0


async def test_a_key_that_disagrees_with_the_model_ends_its_generation_and_a_fresh_one_starts() -> (
    None
):
    gate = Gate()
    fake = FakeEngine(completing("    total = 0.0", "    count = 0"), gate=gate)
    async with hearth(fake, NO_DEBOUNCE) as editor:
        editor.open(URI, LEDGER)
        running = editor.inline(URI, LEDGER_BODY)
        gate.open(2)
        await gate.stalled()  # "    total" written
        editor.insert(URI, LEDGER_BODY, "co")  # not what it is writing
        fresh = editor.inline(URI, at(2, 6))
        gate.open_wide()
        assert texts(await guarded(fresh)) == ["unt = 0"]
        assert texts(await guarded(running)) == []
        first, second = fake.calls
        assert first.result is not None
        # Ended by its stop test at the first token after the key.
        assert (first.result.text, first.result.stop_reason) == ("    total ", "stop")
        assert first.result.stats.decoded_tokens == 3
        assert second.before_cursor.endswith("\n    co")
        assert (await editor.stats())["started"] == 2


async def test_an_engine_that_is_unavailable_gives_no_suggestion_and_the_server_goes_on() -> None:
    down = EngineUnavailable("the engine at http://127.0.0.1:8080 does not answer")
    fake = FakeEngine(completing(RETURN_LINE), error=down)
    async with hearth(fake, NO_DEBOUNCE) as editor:
        editor.open(URI, SHOP)
        assert texts(await guarded(editor.inline(URI, AFTER_RETURN))) == []
        assert (await editor.stats())["failed"] == 1
        fake.error = None  # it answers again
        assert texts(await guarded(editor.inline(URI, AFTER_RETURN))) == [
            " subtotal * (1 + tax_rate)"
        ]


async def answer_of(request: Any) -> Any:
    """What a request came to: its result, or the error it was answered with
    (a cancelled request may be answered either way)."""
    try:
        return await guarded(request)
    except JsonRpcException as error:
        return error
