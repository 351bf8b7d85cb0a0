"""Quick fixes end to end: the real server and model fix a diagnostic that
another server reported. Whatever the model writes, what reaches the
editor is an edit of the function's changed lines alone, for the version it
was made for, after which the file parses and compiles, or no edit and a
message saying why."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_server.context.syntax import parse_damage
from lsp_server.editor_client import Suggestion
from tests.e2e.helpers import open_document
from tests.samples import SHIPPING_NO_COLON, SHIPPING_UNDEFINED

pytestmark = pytest.mark.model

URI = "file:///work/shipping.py"
FUNCTION_LINES = range(3, 6)  # def shipping_cost ... its return


@dataclass(frozen=True)
class Bug:
    name: str
    text: str
    line: int
    message: str
    source: str


BUGS = [
    Bug(
        "undefined name",
        SHIPPING_UNDEFINED,
        5,
        '"bse" is not defined',
        "Pyright",
    ),
    Bug(
        "missing colon",
        SHIPPING_NO_COLON,
        3,
        "expected ':'",
        "Pylance",
    ),
]


def diagnostic(bug: Bug) -> types.Diagnostic:
    width = len(bug.text.split("\n")[bug.line])
    return types.Diagnostic(
        range=types.Range(
            start=types.Position(line=bug.line, character=0),
            end=types.Position(line=bug.line, character=width),
        ),
        message=bug.message,
        severity=types.DiagnosticSeverity.Error,
        source=bug.source,
    )


@pytest.mark.parametrize("bug", BUGS, ids=lambda b: b.name)
async def test_a_fix_is_the_functions_changed_lines_and_the_file_then_compiles(
    client: LanguageClient, bug: Bug
) -> None:
    open_document(client, URI, bug.text)
    at = types.Position(line=bug.line, character=4)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=URI),
            range=types.Range(start=at, end=at),
            context=types.CodeActionContext(diagnostics=[diagnostic(bug)]),
        )
    )
    fixes = [a for a in actions or [] if isinstance(a, types.CodeAction) and a.kind == "quickfix"]
    assert [a.title for a in fixes] == [f'Hearth: fix "{bug.message}"']
    (action,) = fixes
    assert action.edit is None, "offered at once; the model writes the fix on resolve"
    resolved = await client.code_action_resolve_async(action)
    if resolved.edit is None:
        said = [m.message for m in client.messages]
        assert any("Hearth: found no fix" in m for m in said), said
        return
    (change,) = resolved.edit.document_changes or []
    assert isinstance(change, types.TextDocumentEdit)
    assert change.text_document.version == 1, "made for the version it saw"
    fixed = bug.text
    for edit in sorted(change.edits, key=lambda e: e.range.start.line, reverse=True):
        assert isinstance(edit, types.TextEdit)
        assert edit.range.start.line in FUNCTION_LINES, edit
        assert edit.range.end.line <= FUNCTION_LINES.stop, edit
        fixed = Suggestion(edit.new_text, edit.range).apply(fixed)
    assert fixed != bug.text
    assert parse_damage("python", fixed) == 0, fixed
    compile(fixed, "fixed.py", "exec", dont_inherit=True)
    assert fixed.endswith("\n\n\nprint(shipping_cost(2.0, True))\n"), "nothing after it moved"


async def test_a_hover_over_an_error_says_what_is_wrong(client: LanguageClient) -> None:
    bug = BUGS[0]
    open_document(client, URI, bug.text)
    at = types.Position(line=bug.line, character=37)  # on `bse`
    await client.text_document_code_action_async(  # the editor hands the error over
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=URI),
            range=types.Range(start=at, end=at),
            context=types.CodeActionContext(diagnostics=[diagnostic(bug)]),
        )
    )
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=URI), position=at)
    )
    assert hover is not None
    assert isinstance(hover.contents, types.MarkupContent)
    heading, *said = hover.contents.value.split("\n\n")
    assert heading == f"#### error `{bug.message}` · Hearth"
    assert said, "an explanation, or the line saying it is being written"
    assert "```" not in hover.contents.value, "prose, not code"
