"""The parts of files a prompt shows besides its window: chosen within a
character budget, and put in file order.

The header is what of the current file lies outside the window: the
signatures of the definitions the window starts in, the imports, and the
definitions the code near the cursor uses. Other files lend definitions
the same way (`add_definitions`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lsp_server.context.outline import Definition, Outline

Place = tuple[int, int]  # where a piece goes: sorted by this, then by text


@dataclass
class Pieces:
    """Parts of one file chosen for the prompt, within a character budget."""

    room: int
    chosen: list[tuple[Place, str]]

    def add(self, *pieces: tuple[Place, str]) -> bool:
        """Add all of `pieces` (leaving out those already chosen), or none."""
        new = [piece for piece in pieces if piece not in self.chosen]
        size = sum(len(text) + 1 for _, text in new)
        if size > self.room:
            return False
        self.room -= size
        self.chosen.extend(new)
        return True

    def text(self) -> str:
        return "".join(text + "\n" for _, text in sorted(self.chosen))


def header(
    outline: Outline, window: tuple[int, int], cursor: int, names: set[str], room: int
) -> Pieces:
    """What of the current file, outside `window` (byte offsets), goes first.

    In file order, except that what lies after the window goes into the
    enclosing definition it is part of, before the next deeper signature:
    the last line of the header is the signature of the innermost definition
    the window starts in, which the window continues."""
    start, end = window
    pieces = Pieces(room, [])
    # The definitions the window starts in, and those around the cursor: code
    # shown without its `class` line reads as the body of whatever came last.
    chain = [
        d
        for d in outline.definitions
        if d.start < start and (start < d.end or outline.encloses(d, cursor))
    ]
    for definition in chain:
        pieces.add(((definition.start, 0), outline.signature(definition)))
    pieces.add(*(((s, 0), outline.text(s, e)) for s, e in outline.imports if e <= start))
    outside = [
        d
        for d in outline.definitions
        if d.name in names
        and not outline.encloses(d, cursor)
        and (d.end <= start or d.start >= end)
        and _seen_from(outline, d, cursor)
    ]
    nearest_first = sorted(outside, key=lambda d: abs(d.start - cursor))
    add_definitions(pieces, outline, nearest_first, lambda d: _placement(d, chain, start))
    return pieces


def _seen_from(outline: Outline, definition: Definition, cursor: int) -> bool:
    """Whether code at `cursor` can use `definition` by its name: not one local
    to another function (a class nested in a method is no use elsewhere)."""
    scope = outline.scope(definition)
    return scope is None or outline.encloses(scope, cursor)


def _placement(definition: Definition, chain: list[Definition], window_start: int) -> Place:
    """Where a definition goes in the header."""
    if definition.start < window_start or not chain:
        return definition.start, 0
    containers = [c for c in chain if c.contains(definition.start)]
    # Right after its container's signature, else before the outermost one.
    place = containers[-1].start + 1 if containers else chain[0].start - 1
    return place, definition.start


def add_definitions(
    pieces: Pieces,
    outline: Outline,
    definitions: list[Definition],
    place: Callable[[Definition], Place] = lambda d: (d.start, 0),
) -> None:
    taken: list[Definition] = []
    for definition in definitions:
        if any(t.start <= definition.start and definition.end <= t.end for t in taken):
            continue  # already shown within a class's outline
        shown = [(place(definition), outline.short_form(definition))]
        owner = outline.owner(definition)
        if owner is not None:
            # A method comes with its class's first line, not floating on its own.
            shown.insert(0, (place(owner), outline.signature(owner)))
        if pieces.add(*shown):
            taken.append(definition)
