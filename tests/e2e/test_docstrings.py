"""Docstring code actions end to end: the real server and model, in four languages."""

from __future__ import annotations

import ast
import asyncio
from dataclasses import dataclass

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient, client_capabilities

from lsp_server.context.syntax import parse_damage
from lsp_server.editor_client import Suggestion
from tests.e2e.conftest import patient_settings
from tests.e2e.helpers import code_action_params, counter_at_least, open_document, wait_until
from tests.pace import within

pytestmark = pytest.mark.model


@dataclass(frozen=True)
class Sample:
    language: str  # the grammar
    language_id: str
    uri: str
    text: str
    line: int  # a line inside the function
    parameters: tuple[str, ...]
    doc_line: str  # how the docstring's first line starts
    doc_at: int  # the line it goes on


SAMPLES = [
    Sample(
        "python",
        "python",
        "file:///work/ship.py",
        "import math\n\n\n@memo\n"
        "def shipping_cost(weight_kg: float, express: bool = False) -> float:\n"
        "    base = 4.5 + 1.2 * math.ceil(weight_kg)\n"
        "    return base * 2 if express else base\n",
        5,
        ("weight_kg", "express"),
        '    """',
        5,
    ),
    Sample(
        "typescript",
        "typescript",
        "file:///work/discount.ts",
        "export function applyDiscount(price: number, percent: number): number {\n"
        "  return price * (1 - percent / 100);\n}\n",
        1,
        ("price", "percent"),
        "/**",
        0,
    ),
    Sample(
        "rust",
        "rust",
        "file:///work/convert.rs",
        "#[inline]\npub fn to_fahrenheit(celsius: f64, offset: f64) -> f64 {\n"
        "    celsius * 9.0 / 5.0 + 32.0 + offset\n}\n",
        2,
        ("celsius", "offset"),
        "///",
        0,
    ),
    Sample(
        "go",
        "go",
        "file:///work/words.go",
        'package words\n\nimport "strings"\n\nfunc Count(text string, sep string) int {\n'
        "\treturn len(strings.Split(text, sep))\n}\n",
        5,
        ("text", "sep"),
        "// Count ",
        4,
    ),
]


async def docstring_action(
    client: LanguageClient, sample: Sample, text: str, line: int
) -> types.CodeAction:
    actions = await client.text_document_code_action_async(code_action_params(sample.uri, line, 1))
    assert actions, f"no action in\n{text}"
    (action,) = actions
    assert isinstance(action, types.CodeAction)
    assert action.kind == types.CodeActionKind.RefactorRewrite
    if action.edit is None:  # offered cheaply; the edit comes with resolve
        action = await client.code_action_resolve_async(action)
    return action


def the_edit(action: types.CodeAction) -> types.TextEdit:
    assert action.edit is not None, "no edit"
    assert action.edit.document_changes is not None
    (change,) = action.edit.document_changes
    assert isinstance(change, types.TextDocumentEdit)
    (edit,) = change.edits
    assert isinstance(edit, types.TextEdit)
    return edit


def reopen(client: LanguageClient, sample: Sample, text: str) -> None:
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=sample.uri))
    )
    open_document(client, sample.uri, text, sample.language_id)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.language)
async def test_docstring_lands_in_place_documents_every_parameter_and_updates(
    client: LanguageClient, sample: Sample
) -> None:
    open_document(client, sample.uri, sample.text, sample.language_id)
    action = await docstring_action(client, sample, sample.text, sample.line)
    assert action.title.startswith("Generate docstring")
    edit = the_edit(action)
    at = types.Position(line=sample.doc_at, character=0)
    assert edit.range == types.Range(start=at, end=at), "a new docstring only inserts"
    doc = edit.new_text
    assert doc.startswith(sample.doc_line), doc
    for parameter in sample.parameters:
        assert parameter in doc, f"{parameter} undocumented:\n{doc}"
    documented = Suggestion(doc, edit.range).apply(sample.text)
    assert parse_damage(sample.language, documented) == 0, documented
    if sample.language == "python":
        ast.parse(documented)

    # Asked again on the documented code: it offers an update, which replaces the old one.
    reopen(client, sample, documented)
    moved = 0 if sample.language == "python" else doc.count("\n")  # a comment above it
    update = await docstring_action(client, sample, documented, sample.line + moved)
    assert update.title.startswith("Update docstring")
    redo = the_edit(update)
    redone = Suggestion(redo.new_text, redo.range).apply(documented)
    assert parse_damage(sample.language, redone) == 0, redone
    # The old docstring is gone, not doubled, and nothing else changed.
    assert redone.replace(redo.new_text + "\n", "", 1) == sample.text, redone


async def test_no_action_outside_definitions(client: LanguageClient) -> None:
    sample = SAMPLES[0]
    open_document(client, sample.uri, sample.text)
    actions = await client.text_document_code_action_async(code_action_params(sample.uri, 0, 0))
    assert not actions


MODULE = '''def area(width, height):
    return width * height


def perimeter(width, height):
    """Documented already."""
    return 2 * (width + height)


class Room:
    def __init__(self, name, width, height):
        self.name = name
        self.size = area(width, height)
'''


def record_edits(client: LanguageClient) -> list[types.WorkspaceEdit]:
    edits: list[types.WorkspaceEdit] = []

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        edits.append(params.edit)
        return types.ApplyWorkspaceEditResult(applied=True)

    return edits


def apply_all(edit: types.WorkspaceEdit, text: str) -> str:
    assert edit.document_changes is not None
    (change,) = edit.document_changes
    assert isinstance(change, types.TextDocumentEdit)
    ordered = sorted(
        (e for e in change.edits if isinstance(e, types.TextEdit)),
        key=lambda e: (e.range.start.line, e.range.start.character),
        reverse=True,
    )
    for one in ordered:
        text = Suggestion(one.new_text, one.range).apply(text)
    return text


async def test_generate_docstrings_documents_every_undocumented_definition(
    client: LanguageClient,
) -> None:
    edits = record_edits(client)
    uri = "file:///work/rooms.py"
    open_document(client, uri, MODULE)
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="hearth.generateDocstrings", arguments=[uri])
    )
    # area, Room, Room.__init__; perimeter has one.
    assert result == {"documented": 3, "failed": [], "cancelled": False}
    (edit,) = edits
    documented = apply_all(edit, MODULE)
    tree = ast.parse(documented)
    functions = {
        node.name: ast.get_docstring(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.ClassDef)
    }
    assert functions["perimeter"] == "Documented already."
    assert all(functions.values()), functions
    assert "width" in (functions["area"] or "")
    reports = [value for values in client.progress_reports.values() for value in values]
    assert any(isinstance(v, types.WorkDoneProgressBegin) and v.cancellable for v in reports)
    assert any(isinstance(v, types.WorkDoneProgressEnd) for v in reports)


async def test_generate_docstrings_stops_when_its_progress_is_cancelled(
    client: LanguageClient,
) -> None:
    edits = record_edits(client)
    uri = "file:///work/rooms.py"
    open_document(client, uri, MODULE)
    command = asyncio.ensure_future(
        client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="hearth.generateDocstrings", arguments=[uri])
        )
    )
    await wait_until(lambda: counter_at_least(client, "started", 1))
    (token,) = [
        token
        for token, values in client.progress_reports.items()
        if any(getattr(v, "title", "") == "Hearth: writing docstrings" for v in values)
    ]
    client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    result = await within(command, 60)
    assert result is not None
    assert result["cancelled"] is True
    assert result["documented"] < 3
    assert len(edits) == (1 if result["documented"] else 0)
    await wait_until(lambda: counter_at_least(client, "cancelled", 1))


async def test_generate_docstrings_needs_a_document(client: LanguageClient) -> None:
    with pytest.raises(JsonRpcException, match="document URI"):
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="hearth.generateDocstrings", arguments=[42])
        )


async def test_clients_without_resolve_get_the_edit_with_the_action(raw: LanguageClient) -> None:
    capabilities = client_capabilities("visual_studio_code")
    assert capabilities.text_document is not None
    assert capabilities.text_document.code_action is not None
    capabilities.text_document.code_action.resolve_support = None
    # The model writes while the client waits for the actions: the tests'
    # limits, which wait for it however slow the machine.
    await raw.initialize_session(
        types.InitializeParams(capabilities=capabilities, initialization_options=patient_settings())
    )
    sample = SAMPLES[0]
    open_document(raw, sample.uri, sample.text)
    actions = await raw.text_document_code_action_async(
        code_action_params(sample.uri, sample.line, 1)
    )
    assert actions
    (action,) = actions
    assert isinstance(action, types.CodeAction)
    assert the_edit(action).new_text.startswith(sample.doc_line)


async def test_resolving_a_foreign_action_is_an_error_and_the_server_goes_on(
    client: LanguageClient,
) -> None:
    foreign = types.CodeAction(title="Fix it", kind="quickfix", data={"id": 7})
    with pytest.raises(JsonRpcException, match="not a Hearth docstring action"):
        await client.code_action_resolve_async(foreign)
    sample = SAMPLES[0]
    open_document(client, sample.uri, sample.text)
    action = await docstring_action(client, sample, sample.text, sample.line)
    assert the_edit(action).new_text.startswith(sample.doc_line)
