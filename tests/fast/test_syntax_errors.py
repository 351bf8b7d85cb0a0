"""Syntax errors published as diagnostics (features/syntax_errors.py), on
the in-process server: after a pause in the typing, withdrawn at once, in
every language, off where the editor reports them itself."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from lsprotocol import types

from lsp_server.documents import Document
from lsp_server.features import syntax_errors
from tests.fast.fake_engine import FakeEngine
from tests.fast.server import QUIET, Editor, hearth

URI = "file:///work/cart.py"
BROKEN = "def total(items):\n    return sum(item.price for item in items\n"
FIXED_AT = types.Position(line=1, character=43)  # the missing `)` goes here
PAUSE_S = 0.05  # the pause, shortened for the tests


@pytest.fixture(autouse=True)
def short_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(syntax_errors, "PAUSE_S", PAUSE_S)


async def paused() -> None:
    await asyncio.sleep(PAUSE_S * 4)


def published(editor: Editor) -> list[dict[str, Any]]:
    return editor.diagnostics.get(URI, [])


async def test_an_error_is_published_once_the_typing_pauses() -> None:
    async with hearth(FakeEngine(), QUIET) as editor:
        editor.open(URI, BROKEN)
        assert published(editor) == [], "not at once"
        await paused()
        (error,) = published(editor)
        assert error["source"] == "hearth"
        assert error["severity"] == types.DiagnosticSeverity.Error
        assert error["range"]["start"]["line"] in (0, 1), error


async def test_typing_publishes_nothing_until_it_pauses_and_a_fix_withdraws_at_once() -> None:
    async with hearth(FakeEngine(), QUIET) as editor:
        editor.open(URI, "def total(items):\n    return 0\n")
        await paused()
        assert published(editor) == []
        for typed in " + sum(":  # each key leaves the line broken on the way
            editor.insert(URI, types.Position(line=1, character=12), typed)
        assert published(editor) == [], "not while typing"
        editor.open(URI, BROKEN)
        await paused()
        assert published(editor)
        editor.insert(URI, FIXED_AT, ")")
        assert published(editor) == [], "withdrawn at the keystroke that fixed it"


async def test_closing_withdraws_the_errors() -> None:
    async with hearth(FakeEngine(), QUIET) as editor:
        editor.open(URI, BROKEN)
        await paused()
        assert published(editor)
        editor.notify(
            types.TEXT_DOCUMENT_DID_CLOSE,
            types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri=URI)),
        )
        assert published(editor) == []


@pytest.mark.parametrize(
    ("setting", "editor_name", "shown"),
    [
        ("auto", "Neovim", True),
        ("auto", "Emacs", True),
        ("auto", "Visual Studio Code", False),
        ("auto", "code-server", False),
        ("on", "Visual Studio Code", True),
        ("off", "Neovim", False),
    ],
)
async def test_the_setting_and_the_editor_decide(
    setting: str, editor_name: str, shown: bool
) -> None:
    settings = {**QUIET, "diagnostics": {"syntax": setting}}
    async with hearth(FakeEngine(), settings, name=editor_name) as editor:
        editor.open(URI, BROKEN)
        await paused()
        assert bool(published(editor)) is shown


SNIPPETS = {
    "python": "def f(:\n    pass\n",
    "javascript": "function f( {\n  return 1;\n}\n",
    "typescript": "function f(a: number {\n  return a;\n}\n",
    "rust": "fn f() -> i32 {\n    let x = ;\n    x\n}\n",
    "go": "package main\n\nfunc f() int {\n\treturn (1\n}\n",
    "java": "class A {\n  int f() { return 1 }\n}\n",
    "c": "int f(void) {\n  return (1;\n}\n",
    "cpp": "int f() {\n  return 1\n}\n",
}


@pytest.mark.parametrize("language", SNIPPETS)
def test_every_language_reports_its_errors_and_clean_code_none(language: str) -> None:
    broken = Document(f"file:///work/x.{language}", language, 1, SNIPPETS[language])
    errors = syntax_errors.syntax_errors(broken, "utf-16")
    assert errors, SNIPPETS[language]
    assert all(e.source == "hearth" for e in errors)
    clean = Document("file:///work/ok.py", "python", 1, "def f():\n    return 1\n")
    assert syntax_errors.syntax_errors(clean, "utf-16") == []


def test_a_missing_token_is_named_and_placed_in_the_editors_units() -> None:
    text = 'const s = "é😀"; if (s) { f(s) \n'
    document = Document("file:///work/x.js", "javascript", 1, text)
    (error,) = syntax_errors.syntax_errors(document, "utf-16")
    assert error.message == 'missing "}"'
    # After `f(s)`: 16 characters past the emoji, which is 2 UTF-16 units, 4 bytes.
    assert error.range.start == types.Position(line=0, character=30)
    (in_bytes,) = syntax_errors.syntax_errors(document, "utf-8")
    assert in_bytes.range.start == types.Position(line=0, character=33)


def test_python_errors_say_what_pythons_compiler_says() -> None:
    text = "def total(items) -> int\n    return len(items)\n"
    document = Document("file:///work/x.py", "python", 1, text)
    (error,) = syntax_errors.syntax_errors(document, "utf-16")
    assert error.message == "expected ':'"
    assert error.range.start.line == 0
    (plain,) = syntax_errors.syntax_errors(document, "utf-16", words=False)
    assert plain.range == error.range, "the same place, in tree-sitter's words"


def test_a_python_error_is_put_on_the_line_pythons_compiler_names() -> None:
    # A stretch tree-sitter could not parse, from the top of the file, is
    # marked where Python says the error is: a fix is written around it.
    text = "import os\n\n\ndef f(a):\n    if a\n        return 1\n    return 2\n"
    document = Document("file:///work/f.py", "python", 1, text)
    whole = syntax_errors._diagnostic(
        types.Position(line=0, character=0), types.Position(line=6, character=0), "syntax error"
    )
    (said,) = syntax_errors._in_pythons_words(document, [whole], "utf-16")
    assert said.message == "expected ':'"
    assert said.range == types.Range(
        start=types.Position(line=4, character=0), end=types.Position(line=4, character=8)
    )


def test_tree_sitters_errors_above_pythons_line_go() -> None:
    # A colon missing in a method: tree-sitter's recovery marks the module's
    # docstring, far above; Python read those lines and names the method's.
    methods = "".join(f"    def m{n}(self):\n        return {n}\n\n" for n in range(30))
    text = f'"""A module."""\n\n\nclass C:\n{methods}    def last(self)\n        return 0\n'
    document = Document("file:///work/c.py", "python", 1, text)
    python_line = text.splitlines().index("    def last(self)")
    found = syntax_errors.syntax_errors(document, "utf-16")
    assert found[0].message == "expected ':'"
    assert found[0].range.start.line == python_line
    assert all(error.range.start.line >= python_line for error in found)
    raw = syntax_errors.syntax_errors(document, "utf-16", words=False)
    assert any(error.range.end.line < python_line for error in raw), "the case this is about"
