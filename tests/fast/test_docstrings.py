"""Docstring code actions on the in-process server with the fake engine's chat.

What tests/e2e/test_docstrings.py checks on the real server and model, made
exact: the fake fills in the form the feature asks for with known lines, so
the docstring, and where its edit lands, are known.
"""

from __future__ import annotations

import ast
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from lsp_server.editor_client import Suggestion
from tests.fast.fake_engine import Call, FakeEngine, Gate, guarded
from tests.fast.server import QUIET, RESOLVES, Editor, hearth

URI = "file:///work/shipping.py"
SHIPPING = """import math


def shipping_cost(weight_kg: float, express: bool) -> float:
    base = 4.5 + 1.2 * math.ceil(weight_kg)
    return base * 2 if express else base


print(shipping_cost(2.0, True))
"""
IN_BODY = types.Position(line=4, character=8)
DOC_AT = types.Position(line=4, character=0)  # a new docstring goes before the body's first line
# The form filled in, after the `SUMMARY:` the feature begins the answer with.
ANSWER = (
    " Price the shipping of a parcel.\n"
    "PARAM weight_kg: the parcel's weight, in kilograms\n"
    "PARAM express: whether it travels by express\n"
    "RETURNS: the price in euros\n"
)


def documenting(answer: str = ANSWER) -> Any:
    """The fake model: asked in a chat for documentation, it fills in the form."""

    def script(call: Call) -> str:
        return answer if call.kind == "chat" and "Write the documentation" in call.prefix else ""

    return script


def the_edit(action: Any, version: int = 1) -> types.TextEdit:
    """The one edit of a docstring action, for `version` of the document."""
    assert isinstance(action, types.CodeAction), action
    assert action.edit is not None, "no edit"
    (change,) = action.edit.document_changes or []
    assert isinstance(change, types.TextDocumentEdit)
    assert change.text_document.uri == URI
    assert change.text_document.version == version, "an edit of another version is refused"
    (edit,) = change.edits
    assert isinstance(edit, types.TextEdit)
    return edit


async def offered(editor: Editor, at: types.Position) -> types.CodeAction:
    actions = await guarded(editor.code_actions(URI, at))
    assert actions, "no action"
    (action,) = actions
    assert isinstance(action, types.CodeAction)
    assert action.kind == types.CodeActionKind.RefactorRewrite
    return action


async def test_the_action_is_offered_at_once_and_resolves_to_a_docstring_in_place() -> None:
    fake = FakeEngine(documenting())
    async with hearth(fake, QUIET, RESOLVES) as editor:
        editor.open(URI, SHIPPING)
        action = await offered(editor, IN_BODY)
        assert action.title == "Generate docstring for shipping_cost (Hearth)"
        assert action.edit is None, "offered cheaply: the edit comes with resolve"
        assert fake.calls == [], "and the model is asked only then"
        edit = the_edit(await guarded(editor.resolve(action)))
        assert edit.range == types.Range(start=DOC_AT, end=DOC_AT), "a new docstring only inserts"
        assert edit.new_text == (
            '    """Price the shipping of a parcel.\n'
            "\n"
            "    Args:\n"
            "        weight_kg: The parcel's weight, in kilograms.\n"
            "        express: Whether it travels by express.\n"
            "\n"
            "    Returns:\n"
            "        The price in euros.\n"
            '    """\n'
        )
        documented = Suggestion(edit.new_text, edit.range).apply(SHIPPING)
        function = ast.parse(documented).body[1]
        assert isinstance(function, ast.FunctionDef)
        docstring = ast.get_docstring(function)
        assert docstring is not None, "the function's own docstring"
        assert docstring.startswith("Price the shipping of a parcel.\n\nArgs:\n"), docstring
        assert documented.replace(edit.new_text, "", 1) == SHIPPING, "nothing else changed"
        # What the model was asked: the code, how it is called, and the form.
        (call,) = fake.calls
        assert call.kind == "chat"
        assert "return base * 2 if express else base" in call.prefix
        assert "print(shipping_cost(2.0, True))" in call.prefix
        assert "PARAM weight_kg:" in call.prefix
        assert call.prefix.endswith("SUMMARY:"), "the answer begun for it"


async def test_a_client_that_cannot_resolve_gets_the_edit_with_the_action() -> None:
    fake = FakeEngine(documenting())
    async with hearth(fake, QUIET) as editor:
        editor.open(URI, SHIPPING)
        action = await offered(editor, IN_BODY)
        edit = the_edit(action)
        assert edit.range == types.Range(start=DOC_AT, end=DOC_AT)
        assert edit.new_text.startswith('    """Price the shipping of a parcel.\n')
        assert len(fake.calls) == 1


async def test_a_documented_function_gets_an_update_that_replaces_its_docstring() -> None:
    old = '    """Shipping."""\n'
    documented = SHIPPING.replace("    base =", old + "    base =")
    async with hearth(FakeEngine(documenting()), QUIET, RESOLVES) as editor:
        editor.open(URI, documented)
        action = await offered(editor, types.Position(line=5, character=8))
        assert action.title == "Update docstring for shipping_cost (Hearth)"
        edit = the_edit(await guarded(editor.resolve(action)))
        # The old one's line, without its line break.
        assert edit.range == types.Range(
            start=types.Position(line=4, character=0),
            end=types.Position(line=4, character=len(old) - 1),
        )
        redone = Suggestion(edit.new_text, edit.range).apply(documented)
        assert "Shipping." not in redone
        assert redone.count('"""') == 2, "replaced, not doubled"
        assert redone.replace(edit.new_text + "\n", "", 1) == SHIPPING


async def test_the_edit_lands_where_the_function_is_once_the_model_has_written() -> None:
    gate = Gate()
    fake = FakeEngine(documenting(), gate=gate)
    async with hearth(fake, QUIET, RESOLVES) as editor:
        editor.open(URI, SHIPPING)
        action = await offered(editor, IN_BODY)
        resolving = editor.resolve(action)
        gate.open(3)
        await gate.stalled()  # the model is writing
        editor.insert(URI, types.Position(line=0, character=0), "import os\n")
        gate.open_wide()
        edit = the_edit(await guarded(resolving), version=2)
        below = types.Position(line=DOC_AT.line + 1, character=0)
        assert edit.range == types.Range(start=below, end=below)


@pytest.mark.parametrize(
    "at",
    [types.Position(line=0, character=3), types.Position(line=8, character=3)],
    ids=["import", "module-level-call"],
)
async def test_no_action_outside_definitions_and_no_model_asked(at: types.Position) -> None:
    fake = FakeEngine(documenting())
    async with hearth(fake, QUIET, RESOLVES) as editor:
        editor.open(URI, SHIPPING)
        assert not await guarded(editor.code_actions(URI, at))
        assert fake.calls == []


async def test_an_answer_without_a_summary_resolves_to_no_edit() -> None:
    fake = FakeEngine(documenting(" \nI cannot document this.\n"))
    async with hearth(fake, QUIET, RESOLVES) as editor:
        editor.open(URI, SHIPPING)
        resolved = await guarded(editor.resolve(await offered(editor, IN_BODY)))
        assert isinstance(resolved, types.CodeAction)
        assert resolved.edit is None  # and the editor is told why (window/showMessage)
        assert len(fake.calls) == 1


async def test_a_bad_position_or_a_foreign_action_is_an_error_and_the_server_goes_on() -> None:
    fake = FakeEngine(documenting())
    async with hearth(fake, QUIET, RESOLVES) as editor:
        editor.open(URI, SHIPPING)
        with pytest.raises(JsonRpcException) as error:
            await guarded(editor.code_actions(URI, types.Position(line=50, character=0)))
        assert error.value.code == types.ErrorCodes.InvalidParams
        foreign = types.CodeAction(title="Organize imports", data={"id": 7})
        with pytest.raises(JsonRpcException, match="not a Hearth docstring action") as error:
            await guarded(editor.resolve(foreign))
        assert error.value.code == types.ErrorCodes.InvalidParams
        assert fake.calls == []
        the_edit(await guarded(editor.resolve(await offered(editor, IN_BODY))))
