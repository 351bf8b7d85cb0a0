"""Positions in documents, in the encoding the client negotiated.

pygls keeps the text of open documents and applies incremental changes; this
module turns an LSP position into an offset into that text, strictly: a line
past the end of the document is an error the client should hear about, while
a character past the end of its line means the end of the line, as the LSP
specification says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lsprotocol import types

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
class Cursor:
    """A position resolved against a document's text."""

    offset: int  # code points from the start of the text
    line: int
    column: int  # code points from the start of the line

    def split(self, text: str) -> tuple[str, str]:
        return text[: self.offset], text[self.offset :]


def line_bounds(text: str, line: int) -> tuple[int, int] | None:
    """Start and end offsets (before the line break) of `line`, or None past the end."""
    start = 0
    for _ in range(line):
        breaks = [i for i in (text.find("\n", start), text.find("\r", start)) if i >= 0]
        if not breaks:
            return None
        newline = min(breaks)
        start = newline + 2 if text.startswith("\r\n", newline) else newline + 1
    ends = [i for i in (text.find("\n", start), text.find("\r", start)) if i >= 0]
    return start, min(ends) if ends else len(text)


def resolve(text: str, position: types.Position, encoding: str) -> Cursor:
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
    return Cursor(offset=start + column, line=position.line, column=column)


def position_of(text: str, cursor: Cursor, encoding: str) -> types.Position:
    """The LSP position of `cursor` in `encoding` code units (after clamping, the true one)."""
    units = _units(encoding)
    line_text = text[cursor.offset - cursor.column : cursor.offset]
    return types.Position(line=cursor.line, character=sum(units(c) for c in line_text))
