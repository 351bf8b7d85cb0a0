"""Syntax errors as diagnostics, from tree-sitter, in every language Hearth parses.

Each ERROR node (outside another) and each MISSING node of a document's
tree is a diagnostic with source `hearth`: these are what Neovim's and
Emacs's code action requests carry to Hearth (they pass only the
requesting server's diagnostics), so that a fix is offered there too.

Code being typed is broken most of the time, so an error is published
only once the typing pauses (PAUSE_S), never while a line is being
written; an error that is gone is withdrawn at the next keystroke.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from lsprotocol import types
from tree_sitter import Node

from lsp_server import documents
from lsp_server.documents import Document
from lsp_server.session import FeatureState
from lsp_server.text import first_line_shortened

SOURCE = "hearth"
PAUSE_S = 0.8  # typing stopped this long: the errors are the code's, not the typing's
MOST = 20  # errors published per document: past the first few, a parse is just lost
_SNIPPET_CHARS = 30


@dataclass(frozen=True)
class Outlet:
    """What the feature needs of the server."""

    wanted: Callable[[], bool]  # diagnostics.syntax, for this client
    encoding: Callable[[], str]
    publish: Callable[[str, int | None, list[types.Diagnostic]], None]


def syntax_errors(document: Document, encoding: str, words: bool = True) -> list[types.Diagnostic]:
    """The document's syntax errors, at most MOST, in the order of the text;
    `words`: Python's own message for the first (it compiles the document)."""
    syntax = document.syntax
    if syntax is None:
        return []
    root = syntax.tree().root_node
    if not root.has_error:
        return []
    found: list[types.Diagnostic] = []

    def visit(node: Node) -> None:
        if len(found) >= MOST:
            return
        if node.is_error:
            found.append(_error(document.text, node, encoding))
        elif node.is_missing:
            found.append(_missing(document.text, node, encoding))
        else:
            for child in node.children:
                if child.has_error or child.is_missing:
                    visit(child)

    visit(root)
    return _in_pythons_words(document, found, encoding) if words else found


def _in_pythons_words(
    document: Document, found: list[types.Diagnostic], encoding: str
) -> list[types.Diagnostic]:
    """In Python, the first error is the one Python's compiler reports: what
    it says (`expected ':'`), not only where tree-sitter lost the thread,
    and where. Python read every line above it, so tree-sitter's errors
    there are its recovery's, not the code's (a colon missing in a method
    made tree-sitter mark the module's docstring, 180 lines up): they go.
    A stretch tree-sitter could not parse that holds Python's line is
    marked on that line; errors below it stay. Compiling runs nothing."""
    if not found or document.language != "python":
        return found
    try:
        compile(document.text, "<hearth>", "exec", dont_inherit=True)
    except SyntaxError as error:
        line = (error.lineno or 1) - 1
        if documents.line_bounds(document.text, line) is None:
            return found  # past the end: Python's EOF errors, tree-sitter's stand
        below = [d for d in found if d.range.end.line >= line]
        start = _position(document.text, (line, 0), encoding)
        end = _position(document.text, (line, 0), encoding, chars=10**9)
        if below and below[0].range.start.line == line:
            start, end = below[0].range.start, below[0].range.end
        if below and below[0].range.start.line <= line:
            below = below[1:]
        return [_diagnostic(start, end, error.msg), *below][:MOST]
    except ValueError:  # a null byte: tree-sitter's words stand
        pass
    return found


def _error(text: str, node: Node, encoding: str) -> types.Diagnostic:
    start = _position(text, node.start_point, encoding)
    if node.end_point.row == node.start_point.row:
        end = _position(text, node.end_point, encoding)
    else:  # a broken stretch of lines: marked on its first
        end = _position(text, (node.start_point.row, 0), encoding, chars=10**9)
    snippet = first_line_shortened((node.text or b"").decode("utf-8", "replace"), _SNIPPET_CHARS)
    message = f'syntax error at "{snippet}"' if snippet else "syntax error"
    return _diagnostic(start, end, message)


def _missing(text: str, node: Node, encoding: str) -> types.Diagnostic:
    at = _position(text, node.start_point, encoding)
    return _diagnostic(at, at, f'missing "{node.type}"')


def _diagnostic(start: types.Position, end: types.Position, message: str) -> types.Diagnostic:
    return types.Diagnostic(
        range=types.Range(start=start, end=end),
        message=message,
        severity=types.DiagnosticSeverity.Error,
        source=SOURCE,
    )


def _position(
    text: str, point: tuple[int, int], encoding: str, chars: int | None = None
) -> types.Position:
    """The LSP position of tree-sitter's (row, byte column) point in `text`
    (`chars`: a column in characters instead)."""
    row, byte_column = point
    bounds = documents.line_bounds(text, row)
    if bounds is None:
        return types.Position(line=row, character=0)
    start, end = bounds
    line = text[start:end]
    if chars is None:
        chars = len(line.encode("utf-8", "surrogatepass")[:byte_column].decode("utf-8", "ignore"))
    chars = min(chars, len(line))
    cursor = documents.TextPosition(offset=start + chars, line=row, column=chars)
    return documents.position_of(text, cursor, encoding)


class SyntaxErrors(FeatureState):
    """One document's published syntax errors: new ones after a pause in
    the typing, gone ones at once."""

    def __init__(self, outlet: Outlet) -> None:
        self._outlet = outlet
        self._published: list[types.Diagnostic] = []
        self._later: asyncio.TimerHandle | None = None
        self._uri = ""

    @property
    def published(self) -> list[types.Diagnostic]:
        """The syntax errors the editor shows now."""
        return list(self._published)

    def opened(self, document: Document) -> None:
        self._uri = document.uri
        self._after_pause(document)

    def edited(self, document: Document) -> None:
        if self._published:
            # At each key: tree-sitter's incremental parse only, no compile.
            now = [e.range for e in syntax_errors(document, self._outlet.encoding(), words=False)]
            kept = [error for error in self._published if error.range in now]
            if kept != self._published:
                self._publish(document, kept)
        self._after_pause(document)

    def close(self) -> None:
        """Closed: nothing more is published, and what was is withdrawn."""
        if self._later is not None:
            self._later.cancel()
            self._later = None
        if self._published:
            self._published = []
            self._outlet.publish(self._uri, None, [])

    def _after_pause(self, document: Document) -> None:
        if self._later is not None:
            self._later.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no server running: nothing to publish to
            return
        self._later = loop.call_later(PAUSE_S, self._now, document)

    def _now(self, document: Document) -> None:
        self._later = None
        wanted = self._outlet.wanted()
        errors = syntax_errors(document, self._outlet.encoding()) if wanted else []
        if errors != self._published:
            self._publish(document, errors)

    def _publish(self, document: Document, errors: list[types.Diagnostic]) -> None:
        self._published = errors
        self._outlet.publish(document.uri, document.version, errors)
