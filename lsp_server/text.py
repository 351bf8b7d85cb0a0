"""Text helpers shared by the engine and post-processing: lines of code
compared for what they say, not for how they are spaced or commented."""

from __future__ import annotations

import re
from functools import cache
from typing import AnyStr

# Line comment markers when the language is not known: `#` and `//`.
_ANY_COMMENT = ("#", "//")


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
