"""Edits by instruction (`hearth.edit`) on the in-process server with the
fake engine's chat.

The fake answers with a known rewrite, so the region asked about (the
selection, or the function around an empty one), the edit proposed (only
the changed lines, for the version it was made for, and not applied), the
refusals and the messages for bad calls are exact. The real model's edits
are tests/e2e/test_edits.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from lsprotocol import converters, types
from pygls.exceptions import JsonRpcException

from tests.fast.fake_engine import Call, FakeEngine, chats, guarded, rewrites
from tests.fast.server import QUIET, Editor, hearth

COMMAND = "hearth.edit"
URI = "file:///work/ledger.py"
LEDGER = """def total(amounts):
    result = 0
    for amount in amounts:
        result += amount
    return result


def largest(amounts):
    return max(amounts)
"""
GUARDED = """def total(amounts):
    result = 0
    for amount in amounts:
        if amount < 0:
            raise ValueError("a negative amount")
        result += amount
    return result
"""
BROKEN = """def total(amounts):
    result = 0
    for amount in amounts
        result += amount
    return result
"""
INSTRUCTION = "raise ValueError on a negative amount"


def answering(*answers: str) -> Any:
    """The fake model: each edit it is asked for gets the next of `answers`."""
    return rewrites("Rewrite the code above", *answers)


def edit_calls(fake: FakeEngine) -> list[Call]:
    return chats(fake, "Rewrite the code above")


def at(line: int, character: int = 0) -> types.Position:
    return types.Position(line=line, character=character)


def span(start: types.Position, end: types.Position) -> dict[str, Any]:
    return {
        "start": {"line": start.line, "character": start.character},
        "end": {"line": end.line, "character": end.character},
    }


async def proposed(editor: Editor, selection: dict[str, Any], instruction: str) -> Any:
    return await guarded(editor.execute(COMMAND, URI, selection, instruction))


def edits_of(result: dict[str, Any], version: int = 1) -> list[types.TextEdit]:
    edit = converters.get_converter().structure(result["edit"], types.WorkspaceEdit)
    (change,) = edit.document_changes or []
    assert isinstance(change, types.TextDocumentEdit)
    assert (change.text_document.uri, change.text_document.version) == (URI, version)
    return [e for e in change.edits if isinstance(e, types.TextEdit)]


async def test_an_empty_selection_edits_the_function_around_it_and_applies_nothing() -> None:
    fake = FakeEngine(answering(GUARDED))
    async with hearth(fake, QUIET) as editor:
        editor.open(URI, LEDGER)
        result = await proposed(editor, span(at(3, 4), at(3, 4)), INSTRUCTION)
        (edit,) = edits_of(result)
        assert edit.range == types.Range(start=at(3), end=at(3)), "an insertion of two lines"
        assert (
            edit.new_text
            == '        if amount < 0:\n            raise ValueError("a negative amount")\n'
        )
        assert result["lines"] == [0, 4]
        assert result["cancelled"] is False
        (call,) = edit_calls(fake)
        assert INSTRUCTION in call.prefix
        assert call.steering.draft == LEDGER[: LEDGER.index("\n\n\n") + 1], "the function drafts"
        assert "largest" not in call.prefix
        assert types.WORKSPACE_APPLY_EDIT not in editor.asked, "proposed, not applied"


async def test_a_selection_is_edited_as_it_is_not_widened_and_shown_dedented() -> None:
    # The model sees the lines without the indentation they share, and its
    # answer gets it back.
    renamed = "result = 0\nfor value in amounts:\n    result += value\n"
    fake = FakeEngine(answering(renamed))
    async with hearth(fake, QUIET) as editor:
        editor.open(URI, LEDGER)
        # From inside line 1 to the start of line 4: lines 1-3.
        result = await proposed(editor, span(at(1, 4), at(4, 0)), "call it value")
        assert result["lines"] == [1, 3]
        (call,) = edit_calls(fake)
        assert call.steering.draft == "result = 0\nfor amount in amounts:\n    result += amount\n"
        (edit,) = edits_of(result)
        assert edit.range == types.Range(start=at(2), end=at(4))
        assert edit.new_text == "    for value in amounts:\n        result += value\n"


async def test_an_answer_that_does_not_parse_is_asked_again_then_there_is_none() -> None:
    fake = FakeEngine(answering(BROKEN))
    async with hearth(fake, QUIET) as editor:
        editor.open(URI, LEDGER)
        result = await proposed(editor, span(at(2), at(2)), INSTRUCTION)
        assert result["edit"] is None
        assert "does not parse" in result["message"]
        _, second = edit_calls(fake)
        assert "refused because it does not parse" in second.prefix
        assert any("no edit was written" in shown for shown in editor.shown)


async def test_an_answer_that_changes_nothing_is_no_edit() -> None:
    function = LEDGER[: LEDGER.index("\n\n\n") + 1]
    async with hearth(FakeEngine(answering(function)), QUIET) as editor:
        editor.open(URI, LEDGER)
        result = await proposed(editor, span(at(2), at(2)), INSTRUCTION)
        assert result["edit"] is None
        assert "changes nothing" in result["message"]


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        ((URI, {"start": {"line": 0}}, INSTRUCTION), "a bad range"),
        ((URI, span(at(0), at(0)), "  "), "empty instruction"),
        ((URI, span(at(0), at(0))), "takes a document URI, a range and an instruction"),
        (({"uri": URI, "range": span(at(0), at(0))},), "empty instruction"),
        ((URI, span(at(0), at(0)), "x" * 3000), "at most 2000 characters"),
        (("file:///work/elsewhere.py", span(at(0), at(0)), INSTRUCTION), "is not open"),
    ],
)
async def test_a_bad_call_is_answered_with_what_is_wrong(
    arguments: tuple[Any, ...], said: str
) -> None:
    async with hearth(FakeEngine(answering(GUARDED)), QUIET) as editor:
        editor.open(URI, LEDGER)
        with pytest.raises(JsonRpcException, match=said):
            await guarded(editor.execute(COMMAND, *arguments))
        result = await proposed(editor, span(at(2), at(2)), INSTRUCTION)
        assert result["edit"] is not None, "and the server goes on serving"


async def test_one_object_is_taken_as_well_as_three_arguments() -> None:
    async with hearth(FakeEngine(answering(GUARDED)), QUIET) as editor:
        editor.open(URI, LEDGER)
        given = {"uri": URI, "range": span(at(2), at(2)), "instruction": INSTRUCTION}
        result = await guarded(editor.execute(COMMAND, given))
        assert len(edits_of(result)) == 1
