"""Positions in each encoding, on lines with emoji, CJK and every kind of line break."""

from __future__ import annotations

import pytest
from lsprotocol.types import Position

from lsp_server.documents import BadPosition, position_of, resolve

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
