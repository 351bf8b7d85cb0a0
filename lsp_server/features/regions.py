"""The region a fix or an edit rewrites: whole lines of the document.

A rewrite is given a region and answers with all of it again, so the
region is the smallest piece of code that makes sense alone: the innermost
function or method around the lines asked about; for top-level code, the
top-level statements they touch. A region longer than MAX_LINES (a long
function, or a parse so broken that one error node holds the file) is
narrowed to WINDOW lines on each side of the lines asked about: the model
rewrites what it can see whole, and the draft keeps the copy cheap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lsp_server import documents
from lsp_server.documents import Document

MAX_LINES = 80
WINDOW = 12
NEAR = 3  # lines next to those asked about that a window always holds
_FUNCTIONS = ("function", "method")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def lines_of(text: str) -> list[str]:
    """`text`'s lines, each with its line break (the last may have none), as
    LSP counts them: a line ends at `\\r\\n`, `\\r` or `\\n`."""
    return _LINE.findall(text)


@dataclass(frozen=True)
class Region:
    """Lines `first` to `last` (0-based, inclusive) of a document."""

    first: int
    last: int
    text: str  # the lines, each with its line break (the file's last may have none)
    name: str | None = None  # the function or method it is, if it is one

    @property
    def line_count(self) -> int:
        return self.last - self.first + 1


def region_for(document: Document, first: int, last: int) -> Region:
    """The region to rewrite for lines `first`..`last` (0-based, inclusive) of `document`."""
    lines = lines_of(document.text)
    if not lines:
        return Region(0, 0, "")
    last = min(max(first, last), len(lines) - 1)
    first = min(first, last)
    span, name = _definition_lines(document, first, last)
    if span is None or span[1] - span[0] + 1 > MAX_LINES:
        span, name = _window(lines, first, last), None
    start, end = span
    return Region(start, end, "".join(lines[start : end + 1]), name)


def _definition_lines(
    document: Document, first: int, last: int
) -> tuple[tuple[int, int] | None, str | None]:
    """The lines of the innermost function or method holding lines
    `first`..`last`, else of the top-level statements they touch."""
    syntax = document.syntax
    if syntax is None:
        return None, None
    outline = syntax.outline()
    source = outline.source

    def line_of(byte: int) -> int:
        return source.count(b"\n", 0, byte)

    def byte_of(line: int) -> int:
        bounds = documents.line_bounds(document.text, line)
        return syntax.byte_offset(bounds[0] if bounds else len(document.text))

    # A definition starts at the start of a line: it holds the lines when it
    # starts at or before the first one's start and ends after the last one's.
    first_byte, last_byte = byte_of(first), byte_of(last)
    holding = [
        d
        for d in outline.definitions
        if d.kind in _FUNCTIONS and d.start <= first_byte and d.end > last_byte
    ]
    if holding:
        innermost = min(holding, key=lambda d: d.end - d.start)
        start, end = line_of(innermost.start), line_of(innermost.end - 1)
        if syntax.tree().root_node.has_error:  # a broken definition's end is not its own
            lines = lines_of(document.text)
            end = max(_indented_end(lines, start, len(lines) - 1), last)
        return (start, end), innermost.name
    children = [
        child
        for child in syntax.tree().root_node.children
        if child.start_point.row <= last and child.end_point.row >= first
    ]
    if not children:
        return None, None
    start = min(child.start_point.row for child in children)
    if syntax.tree().root_node.has_error:  # the nodes may not be the statements
        return _unbroken(document.text, first, last), None
    return (start, max(child.end_point.row for child in children)), None


def _unbroken(text: str, first: int, last: int) -> tuple[int, int]:
    """The lines of the statement that holds `first`..`last` where the parse
    is broken: a missing colon or bracket
    leaves error nodes that run on to the file's end, or stop short of the
    lines indented under them; but the next line that starts at the margin
    starts the next statement (in every language Hearth reads, as people
    write them)."""
    lines = lines_of(text)
    end = len(lines) - 1
    top = first
    while top > 0 and not _at_margin(lines[top]):
        top -= 1
    bottom = last
    while bottom < end and not _at_margin(lines[bottom + 1]):
        bottom += 1
    while bottom > last and not lines[bottom].strip():
        bottom -= 1  # the blank lines before the next statement are not this one's
    return top, bottom


def _indented_end(lines: list[str], first: int, last: int) -> int:
    """The last line, up to `last`, of the definition starting at `first`:
    before the next line, not blank, that is indented no deeper than `first`
    and does not start with a closing bracket. Where the parse is broken,
    tree-sitter's definition may swallow the code after it (a bracket left
    open: the call of the function below it) or stop short of its end (the
    `except` of its `try`)."""
    indent = _indent(lines[first])
    for line in range(first + 1, last + 1):
        text = lines[line]
        if text.strip() and _indent(text) <= indent and text.strip()[0] not in ")]}":
            end = line - 1
            while end > first and not lines[end].strip():
                end -= 1
            return end
    return last


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _at_margin(line: str) -> bool:
    return bool(line.strip()) and not line[0].isspace() and line.strip()[0] not in ")]}"


def _window(lines: list[str], first: int, last: int) -> tuple[int, int]:
    """WINDOW lines each side of `first`..`last`, ending at blank lines where
    there are some in reach past the NEAR lines next to them (a paragraph of
    code is more likely whole)."""
    start = max(0, first - WINDOW)
    end = min(len(lines) - 1, last + WINDOW)
    for line in range(first - NEAR - 1, start - 1, -1):
        if not lines[line].strip():
            start = line + 1
            break
    for line in range(last + NEAR + 1, end + 1):
        if not lines[line].strip():
            end = line - 1
            break
    return start, end


def selected(document: Document, first: int, last: int) -> Region:
    """Lines `first`..`last` (0-based, inclusive) of `document` as they are:
    a region the user chose, not widened to a definition."""
    lines = lines_of(document.text)
    if not lines:
        return Region(0, 0, "")
    last = min(max(first, last), len(lines) - 1)
    first = min(max(first, 0), last)
    return Region(first, last, "".join(lines[first : last + 1]))
