"""Docstring code actions end to end: the real server and model, in four languages."""

from __future__ import annotations

import ast
from dataclasses import dataclass

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_server.context.syntax import parse_damage
from lsp_server.editor_client import Suggestion
from tests.e2e.helpers import open_document


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
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=sample.uri),
            range=types.Range(
                start=types.Position(line=line, character=1),
                end=types.Position(line=line, character=1),
            ),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
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
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=sample.uri),
            range=types.Range(
                start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)
            ),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    assert not actions
