"""Which of a module's names to list after `module.` at the cursor.

A module such as `email.errors` defines dozens of names, more than the
prompt's context has room for, and many differ only in a word or two
(`InvalidBase64PaddingDefect`, `InvalidBase64LengthDefect`). Listed in file
order, the budget ran out before the one the code needed (crossfile
benchmark, member kind: the name was in the prompt for 36 of 60 tasks).
So the names go in the order of how much the code around the cursor speaks
of them: the words of a name (split at case changes, underscores and
digits) that the nearby lines, comments and strings use, each weighted by
how few of the module's names share it, since a word every name has
(`Defect`) tells them apart no better than none. The budget keeps the
first ones; the prompt shows them in file order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from lsp_server.text import words as text_words
from lsp_server.workspace.summary import Entry

LINES_BEFORE = 10  # lines above the cursor's whose words rank the names (crossfile benchmark)
LINES_AFTER = 3  # ... and below it


def words(text: str) -> set[str]:
    """The words of `text`, lower case, its names split into their parts:
    `InvalidBase64PaddingDefect` is invalid, base, 64, padding and defect.
    Not words of one or two letters: `in`, `is`, `no` say nothing of a
    name (`NoBoundaryInMultipartDefect`) when a comment uses them."""
    return {part for part in text_words(text) if len(part) > 2 or part.isdigit()}


def around(above: str, line: str, suffix: str) -> str:
    """The code around the cursor that ranks the names: the last lines of
    `above` (the text before the cursor's line), `line` (the cursor's line
    up to the module's name, not what is typed after the dot, so that the
    list holds while the user types) and the first lines of `suffix`."""
    before = above.split("\n")[-LINES_BEFORE - 1 :]
    return "\n".join([*before, line, *suffix.split("\n")[: LINES_AFTER + 1]])


def ranked(entries: Sequence[Entry], near: str) -> list[Entry]:
    """`entries` ordered by how much `near` (the code around the cursor)
    speaks of them, best first; in their own order where it does not tell."""
    split = [words(entry.name) for entry in entries]
    sharing = Counter(part for parts in split for part in parts)
    used = words(near)
    score = [sum(1 / sharing[part] for part in parts & used) for parts in split]
    order = sorted(range(len(entries)), key=lambda i: -score[i])
    return [entries[i] for i in order]
