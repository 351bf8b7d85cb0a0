"""Where a prompt's window of the file around the cursor starts and ends.

The window starts at a line boundary and moves in steps of WINDOW_STEP
lines, so that while the user types, the start of the prompt (other
files, header, the window's first lines) stays the same and stays in the
model's KV cache. It never opens on the rest of a statement begun above
it, and its middle (what the model is shown as begun by itself) starts a
few lines above the cursor (`anchor`).
"""

from __future__ import annotations

WINDOW_STEP = 8  # lines
LINE_SHARE = 8  # the cursor's line may take 1/8 of the window beyond its allowance
# A line ending so goes on below; a line starting so closes what began above.
_OPEN_ENDS = ("(", "[", ",", "\\")
_CLOSED_STARTS = (")", "]", "}")


def window_start(prefix: str, allowance: int) -> int:
    """Where the window's prefix starts: the first line within `allowance`
    characters of the cursor, moved on to a multiple of WINDOW_STEP lines."""
    if len(prefix) <= allowance:
        return 0
    start = prefix.find("\n", len(prefix) - allowance) + 1
    if start == 0:
        return len(prefix) - allowance  # one huge line
    line = prefix.count("\n", 0, start)
    snapped = start
    for _ in range(-line % WINDOW_STEP):
        newline = prefix.find("\n", snapped)
        if newline < 0:
            return start  # the step lies past the cursor's line
        snapped = newline + 1
    return snapped


def statement_start(prefix: str, start: int, end: int) -> int:
    """`start`, or the start of a line below it (at most WINDOW_STEP lines, and
    not past `end`) that is not the rest of a statement begun above it: a
    window that opens on `    self.pattern)` shows the model broken code."""
    for _ in range(WINDOW_STEP):
        if start == 0 or start >= end:
            break
        above = prefix[prefix.rfind("\n", 0, start - 1) + 1 : start].rstrip()
        line = prefix[start : prefix.find("\n", start) + 1 or len(prefix)].lstrip()
        if not (above.endswith(_OPEN_ENDS) or line.startswith(_CLOSED_STARTS)):
            break
        start = prefix.find("\n", start) + 1
    return start


def anchor(prefix: str, start: int, line_start: int, room: int, lines: int) -> int:
    """Where the middle starts: `lines` lines above the cursor's line
    (`line_start`), as far as they are in the window (from `start`) and
    within `room` characters of the cursor."""
    anchor = line_start
    for _ in range(lines):
        if anchor <= start:
            break
        above = prefix.rfind("\n", 0, anchor - 1) + 1
        if above < start or len(prefix) - above > room:
            break
        anchor = above
    return anchor


def window_end(suffix: str, allowance: int) -> int:
    if len(suffix) <= allowance:
        return len(suffix)
    end = suffix.rfind("\n", 0, allowance)
    return end if end > 0 else allowance
