"""Edits by instruction end to end: the real server and model rewrite a
function as the user asks. Whatever the model writes, what comes back is a
proposal, not applied: an edit of the function's changed lines alone, for
the version it was made for, after which the file parses and compiles; or
no edit and a message saying why."""

from __future__ import annotations

import pytest
from lsprotocol import converters, types
from pytest_lsp import LanguageClient

from lsp_server.context.syntax import parse_damage
from lsp_server.editor_client import Suggestion
from tests.e2e.helpers import open_document
from tests.samples import SHIPPING

pytestmark = pytest.mark.model

URI = "file:///work/shipping.py"
FUNCTION_LINES = range(3, 6)  # def shipping_cost ... its return
INSTRUCTIONS = [
    "raise ValueError if weight_kg is negative",
    "rename the variable base to cost",
]


@pytest.mark.parametrize("instruction", INSTRUCTIONS)
async def test_an_edit_is_proposed_as_the_functions_changed_lines(
    client: LanguageClient, instruction: str
) -> None:
    open_document(client, URI, SHIPPING)
    cursor = {"line": 4, "character": 4}
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="hearth.edit",
            arguments=[URI, {"start": cursor, "end": cursor}, instruction],
        )
    )
    assert isinstance(result, dict), result
    if result["edit"] is None:
        said = [m.message for m in client.messages]
        assert any("Hearth: no edit was written" in m for m in said), said
        return
    assert result["lines"] == [FUNCTION_LINES.start, FUNCTION_LINES.stop - 1]
    edit = converters.get_converter().structure(result["edit"], types.WorkspaceEdit)
    (change,) = edit.document_changes or []
    assert isinstance(change, types.TextDocumentEdit)
    assert change.text_document.version == 1, "made for the version it saw"
    edited = SHIPPING
    for one in sorted(change.edits, key=lambda e: e.range.start.line, reverse=True):
        assert isinstance(one, types.TextEdit)
        assert one.range.start.line in FUNCTION_LINES, one
        assert one.range.end.line <= FUNCTION_LINES.stop, one
        edited = Suggestion(one.new_text, one.range).apply(edited)
    assert edited != SHIPPING
    assert parse_damage("python", edited) == 0, edited
    compile(edited, "edited.py", "exec", dont_inherit=True)
    assert edited.endswith("\n\n\nprint(shipping_cost(2.0, True))\n"), "nothing after it moved"
