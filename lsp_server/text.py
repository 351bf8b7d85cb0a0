"""Text helpers shared by the engine, post-processing and the features: lines
of code compared for what they say, not for how they are spaced or commented;
names split into their words."""

from __future__ import annotations

import re
from functools import cache
from typing import AnyStr

# A word of a name: split at underscores, case changes and digits.
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
# Line comment markers when the language is not known: `#` and `//`.
_ANY_COMMENT = ("#", "//")


def words(text: str) -> list[str]:
    """The lowercase words of `text`, names split at underscores and case
    changes: `parseHTTPResponse_v2` is parse, http, response, v and 2."""
    return [w.lower() for w in _WORD.findall(text)]


def without_whitespace(text: AnyStr) -> AnyStr:
    """`text` (a line, or a token's bytes) without any whitespace: compared for what it says."""
    return text[:0].join(text.split())


@cache
def _end_comment(markers: tuple[str, ...]) -> re.Pattern[str]:
    """A comment at the end of a line: one of `markers` after a blank."""
    return re.compile(r"\s+(?:" + "|".join(map(re.escape, markers)) + ").*$")


def without_end_comment_or_whitespace(line: str, comment: str | None = None) -> str:
    """What a line of code says, for comparing lines: no whitespace, end
    comment gone (a line that is all comment stays whole). A model writing
    the next line again often adds a comment of its own, or leaves that
    line's out. `comment`: the language's line comment marker (in Python
    `a // b` is code); None for any of `_ANY_COMMENT`."""
    code = _end_comment((comment,) if comment else _ANY_COMMENT).sub("", line)
    return without_whitespace(code if code.strip() else line)


def last_nonblank_line(text: str) -> str | None:
    """The last line of `text` that is not blank, found from the end without
    splitting `text` whole (the file above the cursor, asked per token)."""
    end = len(text)
    while end > 0:
        start = text.rfind("\n", 0, end - 1) + 1
        if (line := text[start:end].rstrip("\n")).strip():
            return line
        end = start
    return None


def first_line_shortened(text: str, most: int) -> str:
    """`text`'s first line with words, stripped, cut to at most `most`
    characters with an ellipsis: a message or a snippet in a title."""
    line = text.strip().split("\n")[0].strip()
    return line if len(line) <= most else line[: most - 1].rstrip() + "…"
