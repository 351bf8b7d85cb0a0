"""Quick fixes on the in-process server with the fake engine's chat.

The fake answers a fix with a known rewrite of the function, so the action
offered, the edit it resolves to (only the changed line, for the version it
was made for) and the refusals (an answer that does not parse, a document
that moved on) are exact. The real model's fixes are tests/e2e/test_fixes.py.
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from tests.fast.fake_engine import Call, FakeEngine, chats, guarded, rewrites
from tests.fast.server import QUIET, RESOLVES, Editor, hearth

URI = "file:///work/shipping.py"
SHIPPING = """import math


def shipping_cost(weight_kg: float, express: bool) -> float:
    base = 4.5 + 1.2 * math.ceil(weight_kg)
    return base * 2 if express else bse


print(shipping_cost(2.0, True))
"""
FIXED = """def shipping_cost(weight_kg: float, express: bool) -> float:
    base = 4.5 + 1.2 * math.ceil(weight_kg)
    return base * 2 if express else base
"""
BROKEN = """def shipping_cost(weight_kg: float, express: bool) -> float:
    base = 4.5 + 1.2 * math.ceil(weight_kg
    return base * 2 if express else base
"""
BAD_LINE = 5
UNDEFINED = types.Diagnostic(
    range=types.Range(
        start=types.Position(line=BAD_LINE, character=36),
        end=types.Position(line=BAD_LINE, character=39),
    ),
    message='"bse" is not defined',
    severity=types.DiagnosticSeverity.Error,
    source="Pyright",
    code="reportUndefinedVariable",
)
AT_BUG = types.Position(line=BAD_LINE, character=37)


def answering(*answers: str) -> Any:
    """The fake model: each fix it is asked for gets the next of `answers`."""
    return rewrites("This problem is reported", *answers)


def fix_calls(fake: FakeEngine) -> list[Call]:
    return chats(fake, "This problem is reported")


async def offered_fix(editor: Editor, diagnostics: list[types.Diagnostic]) -> types.CodeAction:
    actions = await guarded(editor.code_actions(URI, AT_BUG, diagnostics))
    fixes = [a for a in actions or [] if a.title.startswith("Hearth: fix")]
    assert len(fixes) == 1, actions
    fix = fixes[0]
    assert isinstance(fix, types.CodeAction)
    return fix


def only_edit(action: Any, version: int = 1) -> types.TextEdit:
    assert isinstance(action, types.CodeAction), action
    assert action.edit is not None, "no edit"
    (change,) = action.edit.document_changes or []
    assert isinstance(change, types.TextDocumentEdit)
    assert (change.text_document.uri, change.text_document.version) == (URI, version)
    (edit,) = change.edits
    assert isinstance(edit, types.TextEdit)
    return edit


async def test_a_fix_is_offered_at_once_for_another_servers_error() -> None:
    fake = FakeEngine(answering(FIXED))
    async with hearth(fake, QUIET, RESOLVES) as editor:
        editor.open(URI, SHIPPING)
        action = await offered_fix(editor, [UNDEFINED])
        assert action.title == 'Hearth: fix ""bse" is not defined"'
        assert action.is_preferred is False
        assert list(action.diagnostics or ()) == [UNDEFINED]
        assert action.edit is None, "offered cheaply: the edit comes with resolve"
        assert fix_calls(fake) == [], "and the model is asked only then"


async def test_no_fix_for_hints_or_for_diagnostics_elsewhere() -> None:
    elsewhere = types.Diagnostic(
        range=types.Range(start=types.Position(line=0, character=0), end=types.Position(0, 6)),
        message="unused import",
        severity=types.DiagnosticSeverity.Error,
    )
    hint = types.Diagnostic(
        range=UNDEFINED.range, message="consider a constant", severity=types.DiagnosticSeverity.Hint
    )
    async with hearth(FakeEngine(answering(FIXED)), QUIET, RESOLVES) as editor:
        editor.open(URI, SHIPPING)
        actions = await guarded(editor.code_actions(URI, AT_BUG, [elsewhere, hint]))
        assert not [a for a in actions or [] if a.kind == types.CodeActionKind.QuickFix]


async def test_the_fix_resolves_to_the_changed_line_alone_for_its_version() -> None:
    fake = FakeEngine(answering(FIXED))
    async with hearth(fake, QUIET, RESOLVES) as editor:
        editor.open(URI, SHIPPING)
        action = await offered_fix(editor, [UNDEFINED])
        edit = only_edit(await guarded(editor.resolve(action)))
        assert edit.range == types.Range(
            start=types.Position(line=BAD_LINE, character=0),
            end=types.Position(line=BAD_LINE + 1, character=0),
        )
        assert edit.new_text == "    return base * 2 if express else base\n"
        (call,) = fix_calls(fake)
        assert '"bse" is not defined (Pyright reportUndefinedVariable)' in call.prefix
        assert "`return base * 2 if express else bse`" in call.prefix, "the line is named"
        assert "print(shipping_cost" not in call.prefix, "only the function is rewritten"
        assert call.steering.draft.startswith("def shipping_cost("), "the old function drafts"


async def test_an_answer_that_does_not_parse_is_asked_again_then_refused() -> None:
    fake = FakeEngine(answering(BROKEN))
    async with hearth(fake, QUIET, RESOLVES) as editor:
        editor.open(URI, SHIPPING)
        action = await offered_fix(editor, [UNDEFINED])
        resolved = await guarded(editor.resolve(action))
        assert resolved.edit is None, "an edit that does not parse is never offered"
        _, second = fix_calls(fake)
        assert "refused because it does not parse" in second.prefix
        assert any("found no fix" in shown and "does not parse" in shown for shown in editor.shown)


async def test_a_second_answer_that_parses_is_the_fix() -> None:
    fake = FakeEngine(answering(BROKEN, FIXED))
    async with hearth(fake, QUIET, RESOLVES) as editor:
        editor.open(URI, SHIPPING)
        action = await offered_fix(editor, [UNDEFINED])
        edit = only_edit(await guarded(editor.resolve(action)))
        assert edit.new_text == "    return base * 2 if express else base\n"
        assert len(fix_calls(fake)) == 2


async def test_an_answer_that_changes_nothing_is_asked_again_to_name_the_mistake_first() -> None:
    unchanged = SHIPPING[SHIPPING.index("def ") : SHIPPING.index("\n\n\nprint")] + "\n"
    reasoned = f"the misspelt `bse`.\n```python\n{FIXED}```"
    script = answering(unchanged)

    def answer(call: Call) -> str:
        return reasoned if "yet the code above has the problem" in call.prefix else script(call)

    fake = FakeEngine(answer)
    async with hearth(fake, QUIET, RESOLVES) as editor:
        editor.open(URI, SHIPPING)
        action = await offered_fix(editor, [UNDEFINED])
        edit = only_edit(await guarded(editor.resolve(action)))
        assert edit.new_text == "    return base * 2 if express else base\n", (
            "the sentence is not code"
        )
        first, second = fix_calls(fake)
        assert "one sentence that says what must change" not in first.prefix
        assert "one sentence that says what must change" in second.prefix
        assert second.steering.draft == first.steering.draft, "the code still drafts"


async def test_a_fix_offered_before_an_edit_is_not_made_after_it() -> None:
    fake = FakeEngine(answering(FIXED))
    async with hearth(fake, QUIET, RESOLVES) as editor:
        editor.open(URI, SHIPPING)
        action = await offered_fix(editor, [UNDEFINED])
        editor.insert(URI, types.Position(line=0, character=0), "# shipping\n")
        resolved = await guarded(editor.resolve(action))
        assert resolved.edit is None
        assert fix_calls(fake) == []
        assert any("changed since" in shown for shown in editor.shown)


async def test_an_editor_that_cannot_resolve_gets_the_edit_only_when_it_asked() -> None:
    fake = FakeEngine(answering(FIXED))
    async with hearth(fake, QUIET) as editor:  # no resolve support
        editor.open(URI, SHIPPING)
        automatic = types.CodeActionTriggerKind.Automatic
        actions = await guarded(editor.code_actions(URI, AT_BUG, [UNDEFINED], automatic))
        assert [a.title for a in actions or []] == ['Hearth: explain ""bse" is not defined"']
        assert fix_calls(fake) == [], "no model work as the cursor moves"
        invoked = types.CodeActionTriggerKind.Invoked
        actions = await guarded(editor.code_actions(URI, AT_BUG, [UNDEFINED], invoked))
        (fix,) = [a for a in actions if a.title.startswith("Hearth: fix")]
        assert only_edit(fix).new_text == "    return base * 2 if express else base\n"


async def test_fixes_can_be_turned_off() -> None:
    settings = {**QUIET, "fixes": {"enabled": False}}
    async with hearth(FakeEngine(answering(FIXED)), settings, RESOLVES) as editor:
        editor.open(URI, SHIPPING)
        actions = await guarded(editor.code_actions(URI, AT_BUG, [UNDEFINED]))
        assert not [a for a in actions or [] if a.kind == types.CodeActionKind.QuickFix]


async def syntax_fix(editor: Editor, line: int, message: str) -> types.TextEdit:
    """The fix's edit of Hearth's syntax error `message` on `line`."""
    diagnostic = types.Diagnostic(
        range=types.Range(start=types.Position(line, 0), end=types.Position(line, 80)),
        message=message,
        severity=types.DiagnosticSeverity.Error,
        source="hearth",
    )
    actions = await guarded(editor.code_actions(URI, types.Position(line, 4), [diagnostic]))
    (action,) = [a for a in actions or [] if a.title.startswith("Hearth: fix")]
    return only_edit(await guarded(editor.resolve(action)))


async def test_a_token_python_names_the_place_of_is_put_in_without_the_model() -> None:
    fake = FakeEngine(answering(FIXED))
    no_colon = SHIPPING.replace("express: bool) -> float:", "express: bool) -> float  # in EUR")
    async with hearth(fake, QUIET, RESOLVES) as editor:
        editor.open(URI, no_colon)
        edit = await syntax_fix(editor, 3, "expected ':'")
        assert edit.new_text.endswith("-> float:  # in EUR\n")
        assert fix_calls(fake) == [], "exact and instant: no model"


async def test_a_bracket_python_cannot_place_is_left_to_the_model() -> None:
    fake = FakeEngine(answering(FIXED.replace("else base", "else bse")))
    unclosed = SHIPPING.replace("math.ceil(weight_kg)", "math.ceil(weight_kg")
    async with hearth(fake, QUIET, RESOLVES) as editor:
        editor.open(URI, unclosed)
        edit = await syntax_fix(editor, 4, "'(' was never closed")
        assert edit.new_text == "    base = 4.5 + 1.2 * math.ceil(weight_kg)\n"
        assert len(fix_calls(fake)) == 1
