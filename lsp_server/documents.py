"""Open documents, and positions in them in the encoding the client negotiated.

Hearth keeps its own copy of each open document, and pygls keeps none (see
protocol.HearthProtocol): pygls splits lines with `str.splitlines`, which also
breaks at form feeds and other separators that LSP positions do not count,
and its text then drifts from the editor's. Here only \n, \r\n and \r end
a line, as LSP says. Each document of a known language also keeps its
tree-sitter tree, edited in step with the text.

Positions resolve strictly: a line past the end of the document is an error
the client should hear about, while a character past the end of its line
means the end of the line, as the LSP specification says.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from lsprotocol import types

from lsp_server.context import languages
from lsp_server.context.syntax import SyntaxTree
from lsp_server.settings import LimitSettings

log = logging.getLogger(__name__)

_UNITS: dict[str, Callable[[str], int]] = {
    types.PositionEncodingKind.Utf8: lambda c: len(c.encode("utf-8", "surrogatepass")),
    types.PositionEncodingKind.Utf16: lambda c: 2 if ord(c) > 0xFFFF else 1,
    types.PositionEncodingKind.Utf32: lambda c: 1,
}


def _units(encoding: str) -> Callable[[str], int]:
    """Code units per character in `encoding`; utf-16, LSP's default, for unknown ones."""
    return _UNITS.get(encoding, _UNITS[types.PositionEncodingKind.Utf16])


class BadPosition(ValueError):
    """A position that does not exist in the document."""


@dataclass(frozen=True)
class TextPosition:
    """A position resolved against a document's text."""

    offset: int  # code points from the start of the text
    line: int
    column: int  # code points from the start of the line

    def split(self, text: str) -> tuple[str, str]:
        return text[: self.offset], text[self.offset :]

    def moved(self, characters: int) -> TextPosition:
        """The position `characters` further on the same line."""
        return TextPosition(self.offset + characters, self.line, self.column + characters)


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def line_bounds(text: str, line: int) -> tuple[int, int] | None:
    """Start and end offsets (before the line break) of `line`, or None past the end."""
    start = 0
    if line > 0:
        # One pass of the regex engine: a loop of find() calls looking for
        # either break rescans the text per line, and took 30 s to reach the
        # end of a 200,000-line file.
        found = next(itertools.islice(_LINE_BREAK.finditer(text), line - 1, None), None)
        if found is None:
            return None
        start = found.end()
    end = _LINE_BREAK.search(text, start)
    return start, end.start() if end else len(text)


def resolve(text: str, position: types.Position, encoding: str) -> TextPosition:
    """The cursor at `position` (in `encoding` code units) in `text`."""
    if position.line < 0 or position.character < 0:
        raise BadPosition(f"negative position {position.line}:{position.character}")
    bounds = line_bounds(text, position.line)
    if bounds is None:
        raise BadPosition(
            f"line {position.line} is past the end of the document "
            f"({text.count(chr(10)) + 1} lines)"
        )
    start, end = bounds
    units = _units(encoding)
    counted = 0
    column = 0
    # Past the end of the line means the end of the line (LSP 3.17).
    for char in text[start:end]:
        width = units(char)
        if counted + width > position.character:
            break
        counted += width
        column += 1
    return TextPosition(offset=start + column, line=position.line, column=column)


def position_of(text: str, cursor: TextPosition, encoding: str) -> types.Position:
    """The LSP position of `cursor` in `encoding` code units (after clamping, the true one)."""
    units = _units(encoding)
    line_text = text[cursor.offset - cursor.column : cursor.offset]
    return types.Position(line=cursor.line, character=sum(units(c) for c in line_text))


def _clamped(text: str, position: types.Position, encoding: str) -> int:
    """The offset of `position`, a line past the end meaning the end of the text."""
    try:
        return resolve(text, position, encoding).offset
    except BadPosition:
        return 0 if position.line < 0 else len(text)


@dataclass
class Document:
    uri: str
    language_id: str
    version: int
    text: str
    # Longer texts are kept (the editor's edits must apply) but not parsed.
    max_chars: int = LimitSettings.document_chars
    syntax: SyntaxTree | None = field(default=None, repr=False)

    @property
    def language(self) -> str | None:
        """The tree-sitter language of the document, None for plain text."""
        spec = languages.spec_for(self.language_id)
        return spec.name if spec else None

    @property
    def line_comment(self) -> str | None:
        """What begins a line comment in the document's language; None for plain text."""
        spec = languages.spec_for(self.language_id)
        return spec.line_comment if spec else None

    @property
    def not_code(self) -> tuple[str, ...]:
        """What begins a line that is not code (a comment, a docstring); none for plain text."""
        spec = languages.spec_for(self.language_id)
        return (spec.line_comment, *spec.not_code) if spec else ()

    @property
    def too_big(self) -> bool:
        return len(self.text) > self.max_chars

    def __post_init__(self) -> None:
        self._track_syntax()

    def _track_syntax(self) -> None:
        language = self.language
        if language is None or self.too_big:
            self.syntax = None
        elif self.syntax is None:
            self.syntax = SyntaxTree(language, self.text)

    def apply(self, change: types.TextDocumentContentChangeEvent, encoding: str) -> None:
        """One content change of a didChange notification."""
        if isinstance(change, types.TextDocumentContentChangeWholeDocument):
            self.text = change.text
            if self.syntax is not None:
                self.syntax.reset(change.text)
            self._track_syntax()
            return
        start = _clamped(self.text, change.range.start, encoding)
        end = _clamped(self.text, change.range.end, encoding)
        if end < start:
            log.warning("%s: a change whose range ends before it starts; swapped", self.uri)
            start, end = end, start
        old = self.text
        self.text = old[:start] + change.text + old[end:]
        if self.syntax is not None:
            self.syntax.edit(old, start, end, change.text, self.text)
        self._track_syntax()


def real_path(uri: str) -> Path | None:
    """The file a file: URI names, `..` and symlinks resolved; None for other schemes."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    return Path(os.path.realpath(unquote(parsed.path)))
