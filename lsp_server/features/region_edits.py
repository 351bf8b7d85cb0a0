"""A rewritten region as the edit an editor applies: only the lines that
changed, for the document's version, and only once it is checked.

The model answers with the whole region again; most of it is a copy. The
edit holds the changed lines alone (difflib's line opcodes), so the
editor's undo, its diff view and the user's other marks in the region are
left alone, and travels with the version it was made for, so an editor
whose buffer moved on since refuses it. Before that, the new region must
differ from the old, parse no worse than it (tree-sitter's ERROR and
MISSING nodes, across the whole document), and, for Python, compile: a
fix that does not parse is never offered.
"""

from __future__ import annotations

import difflib

from lsprotocol import types

from lsp_server import documents
from lsp_server.documents import Document
from lsp_server.features.regions import Region, lines_of

UNCHANGED = "it changes nothing"


def in_line_breaks_of(region: Region, text: str) -> str:
    """`text` (the model writes `\\n`) in the region's own line breaks."""
    plain = text.replace("\r\n", "\n")
    return plain.replace("\n", "\r\n") if "\r\n" in region.text else plain


def refusal(document: Document, region: Region, new: str) -> str | None:
    """Why `new` may not replace `region` in `document`, for the user; None
    when it may."""
    if new == region.text:
        return UNCHANGED
    if not new.strip():
        return "it deletes the code"
    bounds = documents.line_bounds(document.text, region.first)
    start = bounds[0] if bounds is not None else len(document.text)
    syntax = document.syntax
    if syntax is not None:
        before = syntax.damage_with(0, "")
        after = syntax.damage_with(start, new, len(region.text))
        if after > before:
            return "it does not parse"
        if syntax.language == "python":
            edited = document.text[:start] + new + document.text[start + len(region.text) :]
            error = compile_error_line(edited)
            if error is not None and region.first <= error < region.first + len(lines_of(new)):
                return "it does not compile"
    return None


def compile_error_line(source: str) -> int | None:
    """The 0-based line of Python's first complaint compiling `source`, None
    if it compiles. Compiling runs nothing of it."""
    try:
        compile(source, "<hearth fix>", "exec", dont_inherit=True)
    except SyntaxError as error:
        return (error.lineno or 1) - 1
    except ValueError:  # a null byte
        return 0
    return None


def line_edits(document: Document, region: Region, new: str, encoding: str) -> list[types.TextEdit]:
    """The edits that turn `region` into `new`: each run of changed lines
    replaced whole, positions in `encoding`'s code units."""
    old_lines, new_lines = lines_of(region.text), lines_of(new)
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    edits = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        edits.append(
            types.TextEdit(
                range=types.Range(
                    start=types.Position(line=region.first + i1, character=0),
                    end=_end_of(document, region, old_lines, i2, encoding),
                ),
                new_text="".join(new_lines[j1:j2]),
            )
        )
    return edits


def _end_of(
    document: Document, region: Region, old_lines: list[str], index: int, encoding: str
) -> types.Position:
    """Where the region's line `index` starts; after its last line, the end
    of that line when the document ends there without a line break."""
    if index < len(old_lines) or old_lines[-1].endswith(("\n", "\r")):
        return types.Position(line=region.first + index, character=0)
    line = region.first + len(old_lines) - 1
    end = documents.resolve(document.text, types.Position(line=line, character=10**9), encoding)
    return documents.position_of(document.text, end, encoding)


def versioned(
    document: Document, edits: list[types.TextEdit], opened: bool = True
) -> types.WorkspaceEdit:
    """`edits` of the document's current version (clients refuse it once the
    text moved on); of no version for a file the editor has not `opened`
    (read from disk: the editor applies it to the file as it is)."""
    return types.WorkspaceEdit(
        document_changes=[
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(
                    uri=document.uri, version=document.version if opened else None
                ),
                edits=list(edits),
            )
        ]
    )
