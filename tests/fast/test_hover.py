"""Hovers on the in-process server with the fake engine's chat.

What tests/e2e/test_hover.py checks on the real server and model, made
exact: the fake's chat writes a known explanation, so the hover's Markdown
is known to the character, and its gate holds the explanation half written
when a hover cannot wait for it.
"""

from __future__ import annotations

from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from lsp_server.features.hover import WRITING
from tests.fast.fake_engine import GUARD_S, Call, FakeEngine, Gate, guarded, tokens
from tests.fast.server import hearth

URI = "file:///work/shipping.py"
SHIPPING = """def shipping_cost(weight_kg: float, express: bool) -> float:
    base = 4.5 + 1.2 * weight_kg  # per kilogram
    return base * 2 if express else base


label = "order"
print(label, shipping_cost(2.0, True))
"""
CALL = types.Position(line=6, character=15)  # inside `shipping_cost` where it is called
CALLED = types.Range(
    start=types.Position(line=6, character=13), end=types.Position(line=6, character=26)
)
DEFINITION = types.Position(line=0, character=6)  # inside its name where it is defined
FIRST = "It prices a parcel from its weight in kilograms."
EXPLANATION = FIRST + " Express delivery costs twice as much."
# Waits that cannot fail the test on a loaded machine; no explanation ahead
# of the hover, which would ask the model on its own.
PATIENT = {"hover": {"timeoutMs": int(GUARD_S * 1000), "readAhead": False}}


def explaining(call: Call) -> str:
    """The fake model: asked in a chat, it explains; it completes nothing."""
    return EXPLANATION if call.kind == "chat" else ""


def markdown(hover: Any) -> str:
    assert isinstance(hover, types.Hover), hover
    assert isinstance(hover.contents, types.MarkupContent)
    assert hover.contents.kind == types.MarkupKind.Markdown
    return hover.contents.value


def at(needle: str) -> types.Position:
    offset = SHIPPING.index(needle)
    line = SHIPPING.count("\n", 0, offset)
    return types.Position(line=line, character=offset - (SHIPPING.rfind("\n", 0, offset) + 1))


async def test_a_hover_on_a_call_explains_the_function_in_markdown_from_the_models_chat() -> None:
    fake = FakeEngine(explaining)
    async with hearth(fake, PATIENT) as editor:
        editor.open(URI, SHIPPING)
        hover = await guarded(editor.hover(URI, CALL))
        heading, signature, explanation = markdown(hover).split("\n\n")
        assert heading == "#### function `shipping_cost` · Hearth"
        assert signature.startswith("```python\ndef shipping_cost(weight_kg: float"), signature
        assert signature.endswith("\n```"), signature
        assert explanation == EXPLANATION
        assert hover.range == CALLED, "the hovered name"
        # What the model was asked: in a chat, the function's code and its name.
        (call,) = fake.calls
        assert call.kind == "chat"
        assert "    return base * 2 if express else base" in call.prefix
        assert "`shipping_cost`" in call.prefix
        assert call.result is not None
        assert call.result.stop_reason == "end"
        # Its name where it is defined: the same definition, explained already.
        assert markdown(await guarded(editor.hover(URI, DEFINITION))) == markdown(hover)
        assert len(fake.calls) == 1, "a kept explanation asks the model nothing"
        assert (await editor.stats())["explanations"] == 1


async def test_an_edit_inside_the_function_asks_again() -> None:
    fake = FakeEngine(explaining)
    async with hearth(fake, PATIENT) as editor:
        editor.open(URI, SHIPPING)
        await guarded(editor.hover(URI, CALL))
        editor.insert(URI, at("2 if express"), "3 + ")  # `base * 2` becomes `base * 3 + 2`
        assert markdown(await guarded(editor.hover(URI, CALL))).endswith(EXPLANATION)
        first, second = fake.calls
        assert "base * 3 + 2 if express" in second.prefix
        assert "base * 3" not in first.prefix


async def test_a_hover_that_cannot_wait_shows_the_sentences_written_so_far() -> None:
    gate = Gate()
    fake = FakeEngine(explaining, gate=gate)
    async with hearth(fake, {"hover": {"timeoutMs": 0, "readAhead": False}}) as editor:
        editor.open(URI, SHIPPING)
        at_once = markdown(await guarded(editor.hover(URI, CALL)))
        heading, signature, writing = at_once.split("\n\n")
        assert heading == "#### function `shipping_cost` · Hearth"
        assert signature.startswith("```python\ndef shipping_cost("), "what the code says, at once"
        assert writing == WRITING
        # The first sentence and the space after it: a sentence known to be whole.
        gate.open(len(tokens(FIRST + " ")))
        await gate.stalled()
        assert markdown(await guarded(editor.hover(URI, CALL))).endswith(
            f"\n\n{FIRST}\n\n{WRITING}"
        )
        gate.open_wide()
        await editor.until("explanations", 1)
        assert markdown(await guarded(editor.hover(URI, CALL))).endswith(f"\n\n{EXPLANATION}")
        assert len(fake.calls) == 1, "each hover waited for the one explanation being written"


async def test_a_cancelled_hover_stops_its_generation_at_the_next_token() -> None:
    gate = Gate()
    fake = FakeEngine(explaining, gate=gate)
    async with hearth(fake, PATIENT) as editor:
        editor.open(URI, SHIPPING)
        request = editor.hover(URI, CALL, msg_id="hover-1")
        gate.open(2)
        await gate.stalled()
        editor.cancel("hover-1")
        with pytest.raises(JsonRpcException) as cancelled:
            await guarded(request)
        assert cancelled.value.code == types.LSPErrorCodes.RequestCancelled
        await editor.until("cancelled", 1)
        (call,) = fake.calls
        assert call.result is not None
        assert (call.result.stop_reason, call.result.stats.decoded_tokens) == ("cancelled", 2)
        assert (await editor.stats())["explanations"] == 0


@pytest.mark.parametrize(
    "needle",
    ["per kilogram", 'order"', "    base", "label,", "print"],
    ids=["comment", "string", "indentation", "variable", "unknown-call"],
)
async def test_no_hover_off_definitions_and_calls_and_no_model_asked(needle: str) -> None:
    fake = FakeEngine(explaining)
    async with hearth(fake, PATIENT) as editor:
        editor.open(URI, SHIPPING)
        assert await guarded(editor.hover(URI, at(needle))) is None
        assert fake.calls == []


@pytest.mark.parametrize(
    "position",
    [types.Position(line=50, character=0), types.Position(line=2**31 - 1, character=2**31 - 1)],
    ids=["past-the-end", "largest"],
)
async def test_a_bad_position_is_an_error_and_the_server_goes_on(
    position: types.Position,
) -> None:
    fake = FakeEngine(explaining)
    async with hearth(fake, PATIENT) as editor:
        editor.open(URI, SHIPPING)
        with pytest.raises(JsonRpcException) as error:
            await guarded(editor.hover(URI, position))
        assert error.value.code == types.ErrorCodes.InvalidParams
        with pytest.raises(JsonRpcException, match="not open"):
            await guarded(editor.hover("file:///work/elsewhere.py", CALL))
        assert fake.calls == []
        assert markdown(await guarded(editor.hover(URI, CALL))).endswith(EXPLANATION)


async def test_a_client_that_shows_plain_text_gets_the_hover_without_markdown() -> None:
    plain = types.ClientCapabilities(
        text_document=types.TextDocumentClientCapabilities(
            hover=types.HoverClientCapabilities(content_format=[types.MarkupKind.PlainText])
        )
    )
    async with hearth(FakeEngine(explaining), PATIENT, plain) as editor:
        editor.open(URI, SHIPPING)
        hover = await guarded(editor.hover(URI, CALL))
        assert isinstance(hover, types.Hover)
        assert isinstance(hover.contents, types.MarkupContent)
        assert hover.contents.kind == types.MarkupKind.PlainText
        heading, signature, explanation = hover.contents.value.split("\n\n")
        assert heading == "function shipping_cost · Hearth"
        assert signature.startswith("def shipping_cost(weight_kg: float"), signature
        assert explanation == EXPLANATION
