"""Positions in each encoding, on lines with emoji, CJK and every kind of line break."""

from __future__ import annotations

import pytest
from lsprotocol.types import (
    Position,
    Range,
    TextDocumentContentChangePartial,
    TextDocumentContentChangeWholeDocument,
)
from tree_sitter import Parser

from lsp_server.context import languages
from lsp_server.documents import BadPosition, Document, position_of, resolve

TEXT = "a = '👋世'\r\nb = 2\rc\n"


@pytest.mark.parametrize(
    ("encoding", "character", "expected"),
    [
        ("utf-16", 5, "👋世'"),
        ("utf-16", 7, "世'"),  # after the emoji: two utf-16 units
        ("utf-16", 6, "👋世'"),  # inside the surrogate pair: before the emoji
        ("utf-8", 9, "世'"),  # the emoji is four utf-8 bytes
        ("utf-8", 12, "'"),  # 世 is three
        ("utf-32", 6, "世'"),
        ("utf-16", 99, ""),  # past the end of the line: its end, not the next line
    ],
)
def test_resolve_counts_code_units_of_the_encoding(
    encoding: str, character: int, expected: str
) -> None:
    cursor = resolve(TEXT, Position(line=0, character=character), encoding)
    assert TEXT[cursor.offset :].split("\r\n")[0] == expected


def test_every_line_break_counts() -> None:
    assert TEXT[resolve(TEXT, Position(line=1, character=0), "utf-16").offset] == "b"
    assert TEXT[resolve(TEXT, Position(line=2, character=0), "utf-16").offset] == "c"
    assert resolve(TEXT, Position(line=3, character=0), "utf-16").offset == len(TEXT)


def test_line_past_the_end_is_an_error() -> None:
    with pytest.raises(BadPosition, match="past the end"):
        resolve(TEXT, Position(line=4, character=0), "utf-16")
    with pytest.raises(BadPosition):
        resolve("", Position(line=1, character=0), "utf-16")
    assert resolve("", Position(line=0, character=0), "utf-16").offset == 0


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_position_of_gives_back_the_position_resolved(encoding: str) -> None:
    for line, text in enumerate(TEXT.replace("\r\n", "\n").replace("\r", "\n").split("\n")):
        for column in range(len(text) + 1):
            codec, width = {"utf-8": ("utf-8", 1), "utf-16": ("utf-16-le", 2)}.get(
                encoding, ("utf-32-le", 4)
            )
            position = Position(line=line, character=len(text[:column].encode(codec)) // width)
            cursor = resolve(TEXT, position, encoding)
            assert cursor.column == column
            assert position_of(TEXT, cursor, encoding) == position
    # A position past the end of the line comes back as the end of the line.
    cursor = resolve(TEXT, Position(line=1, character=40), encoding)
    assert position_of(TEXT, cursor, encoding) == Position(line=1, character=5)


# --- the document store: text and tree follow the edits --------------------------


def change(
    start: tuple[int, int], end: tuple[int, int], text: str
) -> TextDocumentContentChangePartial:
    return TextDocumentContentChangePartial(
        range=Range(start=Position(*start), end=Position(*end)), text=text
    )


def full_parse(document: Document) -> str:
    assert document.language is not None
    parser = Parser(languages.language(document.language))
    return str(parser.parse(document.text.encode()).root_node)


def test_edits_keep_text_and_tree_as_a_fresh_parse_would_have_them() -> None:
    document = Document("file:///a.py", "python", 1, "def f(x):\n    return x\n")
    assert document.syntax is not None
    document.syntax.tree()  # parsed once; everything after is incremental
    edits = [
        change((1, 11), (1, 12), "x * 2"),  # replace within a line
        change((2, 0), (2, 0), "\ndef g(🙂, y):\n    pass\n"),  # insert lines with an emoji
        change((4, 4), (4, 8), "return f(y)"),  # after the emoji: utf-16 columns
        change((0, 0), (1, 0), ""),  # delete a whole line
    ]
    for edit in edits:
        document.apply(edit, "utf-16")
        assert str(document.syntax.tree().root_node) == full_parse(document)
    assert document.text == "    return x * 2\n\ndef g(🙂, y):\n    return f(y)\n"


def test_several_edits_before_the_tree_is_read() -> None:
    document = Document("file:///a.js", "javascript", 1, "let a = 1;\n")
    assert document.syntax is not None
    document.syntax.tree()
    for column, char in enumerate("foo(a)"):
        document.apply(change((1, column), (1, column), char), "utf-16")
    assert document.text == "let a = 1;\nfoo(a)"
    assert str(document.syntax.tree().root_node) == full_parse(document)


def test_only_lsp_line_breaks_count() -> None:
    # pygls's splitlines would also break at the form feed and put "x" on line 1.
    document = Document("file:///a.py", "python", 1, "a = '\x0c'\nb = 2\n")
    document.apply(change((1, 0), (1, 1), "x"), "utf-16")
    assert document.text == "a = '\x0c'\nx = 2\n"


def test_ranges_past_the_end_are_clamped() -> None:
    document = Document("file:///a.txt", "plaintext", 1, "abc\n")
    assert document.syntax is None
    document.apply(change((0, 3), (9, 0), "!"), "utf-16")
    assert document.text == "abc!"
    document.apply(change((0, 2), (0, 1), ""), "utf-16")  # backwards: swapped
    assert document.text == "ac!"


def test_a_whole_document_change_replaces_text_and_tree() -> None:
    document = Document("file:///a.py", "python", 1, "x = 1\n")
    assert document.syntax is not None
    document.syntax.tree()
    document.apply(TextDocumentContentChangeWholeDocument(text="def f(:\n"), "utf-16")
    assert str(document.syntax.tree().root_node) == full_parse(document)
