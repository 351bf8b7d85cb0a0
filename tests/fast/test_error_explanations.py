"""Explanations of errors on the in-process server with the fake engine's chat.

An error another server reported reaches Hearth in a code action request;
Hearth's own syntax errors it publishes itself. Either way, a hover over
it says what is wrong (the fake's known sentences), the action `Hearth:
explain "..."` shows the same as a message, and where the cursor rests the
explanation is written ahead. An edit drops what was seen: its ranges moved.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from lsprotocol import converters, types

from lsp_server.features import syntax_errors
from tests.fast.fake_engine import GUARD_S, Call, FakeEngine, guarded
from tests.fast.server import Editor, hearth

URI = "file:///work/shipping.py"
SHIPPING = """import math


def shipping_cost(weight_kg: float, express: bool) -> float:
    base = 4.5 + 1.2 * math.ceil(weight_kg)
    return base * 2 if express else bse
"""
UNDEFINED = types.Diagnostic(
    range=types.Range(start=types.Position(5, 36), end=types.Position(5, 39)),
    message='"bse" is not defined',
    severity=types.DiagnosticSeverity.Error,
    source="Pyright",
)
ON_IT = types.Position(line=5, character=37)
WHY = "The name bse is used but never assigned. It is probably a misspelling of base."
SETTINGS = {
    "hover": {"timeoutMs": int(GUARD_S * 1000), "readAhead": False},
    "completion": {"enabled": False},
    "diagnostics": {"syntax": "on"},
}


def explaining(call: Call) -> str:
    return WHY if call.kind == "chat" and "has this problem" in call.prefix else ""


def asked(fake: FakeEngine) -> list[Call]:
    return [c for c in fake.calls if c.kind == "chat" and "has this problem" in c.prefix]


def markdown(hover: Any) -> str:
    assert isinstance(hover, types.Hover), hover
    assert isinstance(hover.contents, types.MarkupContent)
    return hover.contents.value


async def shown_in_actions(editor: Editor) -> list[types.CodeAction]:
    actions = await guarded(editor.code_actions(URI, ON_IT, [UNDEFINED]))
    return [a for a in actions or [] if isinstance(a, types.CodeAction)]


async def test_a_hover_over_another_servers_error_explains_it() -> None:
    fake = FakeEngine(explaining)
    async with hearth(fake, SETTINGS) as editor:
        editor.open(URI, SHIPPING)
        assert await guarded(editor.hover(URI, ON_IT)) is None, "not seen yet: no hover"
        await shown_in_actions(editor)  # the editor hands it over as the cursor moves
        hover = await guarded(editor.hover(URI, ON_IT))
        assert markdown(hover) == f'#### error `"bse" is not defined` · Hearth\n\n{WHY}'
        assert hover.range == UNDEFINED.range
        (call,) = asked(fake)
        assert '"bse" is not defined (Pyright)' in call.prefix
        assert "`return base * 2 if express else bse`" in call.prefix, "the line is named"
        assert "def shipping_cost(" in call.prefix
        assert "import math" not in call.prefix
        await guarded(editor.hover(URI, ON_IT))
        assert len(asked(fake)) == 1, "kept: the second hover asks nothing"


async def test_an_edit_drops_the_errors_seen_their_ranges_moved() -> None:
    async with hearth(FakeEngine(explaining), SETTINGS) as editor:
        editor.open(URI, SHIPPING)
        await shown_in_actions(editor)
        editor.insert(URI, types.Position(line=0, character=0), "# shipping\n")
        assert await guarded(editor.hover(URI, ON_IT)) is None


async def test_the_explain_action_shows_the_explanation_as_a_message() -> None:
    fake = FakeEngine(explaining)
    async with hearth(fake, SETTINGS) as editor:
        editor.open(URI, SHIPPING)
        (explain,) = [a for a in await shown_in_actions(editor) if "explain" in a.title]
        assert explain.title == 'Hearth: explain ""bse" is not defined"'
        assert explain.command is not None
        assert asked(fake) == [], "offered at once: written when chosen"
        command = explain.command
        result = await guarded(editor.execute(command.command, *(command.arguments or [])))
        assert result == {"explanation": WHY}
        assert any(WHY in shown for shown in editor.shown)


async def test_hearths_own_syntax_error_is_explained_on_hover(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(syntax_errors, "PAUSE_S", 0.05)
    broken = SHIPPING.replace("else bse", "else base").replace("-> float:", "-> float")
    fake = FakeEngine(explaining)
    async with hearth(fake, SETTINGS) as editor:
        editor.open(URI, broken)
        await asyncio.sleep(0.3)
        (error,) = editor.diagnostics[URI]
        at = converters.get_converter().structure(error["range"], types.Range).start
        hover = await guarded(editor.hover(URI, at))
        assert markdown(hover).endswith(WHY)
        assert "(hearth)" in asked(fake)[0].prefix


async def test_where_the_cursor_rests_on_an_error_its_explanation_is_written_ahead() -> None:
    fake = FakeEngine(explaining)
    settings = {**SETTINGS, "hover": {"timeoutMs": 1, "readAhead": True}}
    async with hearth(fake, settings) as editor:
        editor.open(URI, SHIPPING)
        await shown_in_actions(editor)
        await guarded(_until(lambda: bool(asked(fake))))
        await guarded(_until(lambda: all(c.result is not None for c in asked(fake))))
        hover = await guarded(editor.hover(URI, ON_IT))
        assert markdown(hover).endswith(WHY), "ready at the first hover, however short its wait"


async def _until(done: Any) -> None:
    while not done():
        await asyncio.sleep(0.01)
