"""What the model is shown for one suggestion.

The code around the cursor first; then, within the context budget and in
this order of priority, what that window leaves out and the code needs:
the signatures of the definitions the cursor is in, the file's imports,
definitions of this file that the code near the cursor uses, the
definitions it uses that the file imports from other files of the
workspace, and definitions in other open documents of the same language
that it uses.

The window starts at a line boundary and moves in steps of WINDOW_STEP
lines, so that while the user types, the start of the prompt (other
files, header, the window's first lines) stays the same and stays in the
model's KV cache.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from urllib.parse import unquote, urlparse

from lsp_server.context.layout import CHARS_PER_TOKEN, PromptLayout
from lsp_server.context.outline import Definition, Outline
from lsp_server.documents import Document
from lsp_server.inference.fim import FileContext
from lsp_server.workspace.context import CrossFile

WINDOW_STEP = 8  # lines
LINE_SHARE = 8  # the cursor's line may take 1/8 of the window beyond its allowance
# Characters per token in the least dense code: typed text after the anchor
# up to the middle's share of the budget in this many characters a token.
DENSE_CHARS_PER_TOKEN = 2.5
# A line ending so goes on below; a line starting so closes what began above.
_OPEN_ENDS = ("(", "[", ",", "\\")
_CLOSED_STARTS = (")", "]", "}")
NEAR_BEFORE = 30  # lines before the cursor whose names count as used near it
NEAR_AFTER = 10  # ... and after it
# Names that are called, are members (after a dot), or are types (capitalised):
# a local variable that shares a definition's name is not worth prompt tokens.
_USED_NAME = re.compile(r"\b([A-Za-z_]\w*)\s*\(|\.\s*([A-Za-z_]\w*)|\b(_*[A-Z]\w*)")
_SPECIAL_NAME = re.compile(r"__\w+__")  # Python's dunders: every class has its own


@dataclass(frozen=True)
class Prompt:
    prefix: str  # the window's part before the cursor's line (or the anchor)
    middle: str  # from there to the cursor: the start of what the model writes
    suffix: str  # the window's part after the cursor
    context: FileContext
    budget: int  # the tokens it was chosen for, which the engine cuts it to

    @property
    def before_cursor(self) -> str:
        return self.prefix + self.middle


def relative_path(uri: str, roots: Iterable[str]) -> tuple[str, str]:
    """The repository name and the document's path in it, for the prompt: the
    workspace folder that holds it, else just the file's name."""
    path = PurePosixPath(unquote(urlparse(uri).path) or uri)
    for root in roots:
        folder = PurePosixPath(unquote(urlparse(root).path))
        if path.is_relative_to(folder) and folder != path:
            return folder.name, str(path.relative_to(folder))
    return "", path.name


def _window_start(prefix: str, allowance: int) -> int:
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


def _statement_start(prefix: str, start: int, end: int) -> int:
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


def _middle_chars(prompt_tokens: int, layout: PromptLayout) -> int:
    """The most text a prompt's middle holds: its share of the budget."""
    return int(layout.middle_room(prompt_tokens) * DENSE_CHARS_PER_TOKEN)


def _anchor(prefix: str, start: int, line_start: int, room: int, lines: int) -> int:
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


def _window_end(suffix: str, allowance: int) -> int:
    if len(suffix) <= allowance:
        return len(suffix)
    end = suffix.rfind("\n", 0, allowance)
    return end if end > 0 else allowance


def _names_near(document: Document, offset: int) -> set[str]:
    """The names the code near `offset` uses (not its comments or strings)."""
    text = document.text
    start = offset
    for _ in range(NEAR_BEFORE):
        start = text.rfind("\n", 0, max(0, start - 1)) + 1
        if start == 0:
            break
    end = offset
    for _ in range(NEAR_AFTER):
        end = text.find("\n", end + 1)
        if end < 0:
            end = len(text)
            break
    syntax = document.syntax
    code = syntax.code_only(start, end) if syntax is not None else text[start:end]
    used = {name for match in _USED_NAME.findall(code) for name in match if name}
    # A name the code there defines (`def __init__(`) is not a use of it: shown
    # other definitions of it (every class's `__init__`, body elided), the
    # model learnt to write `...` for the body at the cursor (quality benchmark).
    # Nor is a special method's name worth looking up: it is every class's.
    used = {name for name in used if not _SPECIAL_NAME.fullmatch(name)}
    if syntax is not None:
        first, last = syntax.byte_offset(start), syntax.byte_offset(end)
        outline = syntax.outline()
        used -= {d.name for d in outline.definitions if first <= d.name_span[0] < last}
    return used


Place = tuple[int, int]  # where a piece goes: sorted by this, then by text


@dataclass
class _Pieces:
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


def _header(
    outline: Outline, window: tuple[int, int], cursor: int, names: set[str], room: int
) -> _Pieces:
    """What of the current file, outside `window` (byte offsets), goes first.

    In file order, except that what lies after the window goes into the
    enclosing definition it is part of, before the next deeper signature:
    the last line of the header is the signature of the innermost definition
    the window starts in, which the window continues."""
    start, end = window
    pieces = _Pieces(room, [])
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
    _add_definitions(pieces, outline, nearest_first, lambda d: _place(d, chain, start))
    return pieces


def _seen_from(outline: Outline, definition: Definition, cursor: int) -> bool:
    """Whether code at `cursor` can use `definition` by its name: not one local
    to another function (a class nested in a method is no use elsewhere)."""
    scope = outline.scope(definition)
    return scope is None or outline.encloses(scope, cursor)


def _place(definition: Definition, chain: list[Definition], window_start: int) -> Place:
    """Where a definition goes in the header."""
    if definition.start < window_start or not chain:
        return definition.start, 0
    containers = [c for c in chain if c.contains(definition.start)]
    # Right after its container's signature, else before the outermost one.
    place = containers[-1].start + 1 if containers else chain[0].start - 1
    return place, definition.start


def _add_definitions(
    pieces: _Pieces,
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


def assemble(
    document: Document,
    offset: int,
    prefix: str,
    suffix: str,
    others: Iterable[Document],
    prompt_tokens: int,
    context_tokens: int,
    roots: Iterable[str] = (),
    layout: PromptLayout = PromptLayout(),
    cross_file: CrossFile | None = None,
) -> Prompt:
    """The prompt for a suggestion at `offset` in `document`.

    `prefix` and `suffix` are the text to prompt with before and after the
    cursor (healed: `prefix` may stop short of `offset`); `others` are the
    other open documents; `roots` the workspace folders' URIs, which name
    the repository and the files' paths in it; `layout` shares the budget out;
    `cross_file` finds what the document imports from the rest of the workspace.
    """
    roots = list(roots)
    syntax = document.syntax
    room = int(prompt_tokens * CHARS_PER_TOKEN)
    context_room = int(min(context_tokens, prompt_tokens // layout.context_share) * CHARS_PER_TOKEN)
    header = _Pieces(0, [])
    names = _names_near(document, offset)
    # The window is measured without the cursor's line: typing along a line
    # must not move its edges, or the model reads the whole prompt again.
    above = prefix[: prefix.rfind("\n") + 1]
    for _ in range(2):
        # First with the whole budget for the window; if the header takes some,
        # once more with the window that leaves.
        local = room - (context_room - header.room if header.chosen else 0)
        suffix_end = _window_end(suffix, max(local // layout.suffix_min_share, local - len(above)))
        start = _window_start(above, local - suffix_end)
        if len(prefix) - start > local - suffix_end + local // LINE_SHARE:
            start = _window_start(prefix, local - suffix_end)  # a very long line
        start = _statement_start(prefix, start, len(above))
        if syntax is None or (start == 0 and suffix_end == len(suffix)):
            break
        # Not inside a docstring: its closing quotes would read as opening one.
        prose_end = syntax.prose_end(start)
        after = prefix.find("\n", prose_end) + 1 if prose_end > start else 0
        if start < after <= len(above):
            start = _statement_start(prefix, after, len(above))
        window = (syntax.byte_offset(start), syntax.byte_offset(offset + suffix_end + 1))
        header = _header(syntax.outline(), window, syntax.byte_offset(offset), names, context_room)
        if not header.chosen:
            break
    files: list[tuple[str, str]] = []
    remaining = _Pieces(header.room if header.chosen else context_room, [])
    # What other files lend comes first (after `module.`, that module's names;
    # what the code imports, in import order; code like the cursor's): it
    # changes least while the user types, and it is what the code calls.
    shared = cross_file.for_prompt(names, above, prefix[len(above) :], suffix) if cross_file else []
    for path, texts in shared:
        before = len(remaining.chosen)
        for line, text in texts:
            remaining.add(((line, 0), text))
        if len(remaining.chosen) > before:
            files.append((path, _Pieces(0, remaining.chosen[before:]).text()))
    imported = {path for path, _ in files}
    for other in sorted(others, key=lambda d: d.uri):
        if other.uri == document.uri or other.syntax is None:
            continue
        if relative_path(other.uri, roots)[1] in imported:
            continue  # its definitions the code uses are shown already
        if syntax is None or other.syntax.language != syntax.language:
            continue
        outline = other.syntax.outline()
        before = len(remaining.chosen)
        used = [d for d in outline.definitions if d.name in names and outline.scope(d) is None]
        _add_definitions(remaining, outline, used)
        if len(remaining.chosen) > before:
            snippet = _Pieces(0, remaining.chosen[before:]).text()
            files.append((relative_path(other.uri, roots)[1], snippet))
    repo, path = relative_path(document.uri, roots)
    room = _middle_chars(prompt_tokens, layout) // 2
    anchor = _anchor(prefix, start, max(start, len(above)), room, layout.middle_lines)
    return Prompt(
        prefix=prefix[start:anchor],
        middle=prefix[anchor:],
        suffix=suffix[:suffix_end],
        context=FileContext(repo=repo, path=path, header=header.text(), files=tuple(files)),
        budget=prompt_tokens,
    )


@dataclass(frozen=True)
class _Kept:
    before: str  # the text before the anchor (the start of the line it was made on)
    rest: tuple[object, ...]  # all else it was made from, but the text after the anchor
    prompt: Prompt
    slid: int = 0  # characters moved from the middle to the prefix since it was made


def _surroundings(
    document: Document,
    suffix: str,
    others: Iterable[Document],
    prompt_tokens: int,
    context_tokens: int,
    roots: Iterable[str],
    layout: PromptLayout,
    cross_file: CrossFile | None,
) -> tuple[object, ...]:
    """All a prompt is made from but the text before the cursor."""
    versions = tuple((other.uri, other.version) for other in others if other.uri != document.uri)
    shared = cross_file.key if cross_file is not None else None
    return (suffix, versions, prompt_tokens, context_tokens, tuple(roots), layout, shared)


class AnchoredPrompt:
    """A document's last prompt, kept while the user types on from it.

    The prompt is made for a cursor at the start of its line, the anchor;
    what the user types after it (along the line, and on new lines below it)
    only extends the prompt's middle while the text before the anchor and
    after the cursor stay as they were. The model then reads just the new
    tokens: a prompt made afresh would put the new line before the suffix,
    which the model would then read again at every line, and could change
    its header under the user's fingers (a half-typed statement can end a
    class early in the parse tree). When the middle outgrows its share of
    the budget, its first lines move to the prefix (the anchor slides down)
    once or twice; after that, or when anything else changes, the prompt is
    made afresh for the cursor's line.
    """

    def __init__(self) -> None:
        self._kept: _Kept | None = None

    def assemble(
        self,
        document: Document,
        offset: int,
        prefix: str,
        suffix: str,
        others: Iterable[Document],
        prompt_tokens: int,
        context_tokens: int,
        roots: Iterable[str] = (),
        layout: PromptLayout = PromptLayout(),
        cross_file: CrossFile | None = None,
    ) -> Prompt:
        """As `assemble`, from the kept prompt if it still holds."""
        others, roots = list(others), list(roots)
        rest = _surroundings(
            document, suffix, others, prompt_tokens, context_tokens, roots, layout, cross_file
        )
        kept = self._extended(prefix, rest, prompt_tokens, layout)
        if kept is not None:
            return kept
        prompt = assemble(
            document,
            offset,
            prefix,
            suffix,
            others,
            prompt_tokens,
            context_tokens,
            roots,
            layout,
            cross_file,
        )
        before = prefix[: len(prefix) - len(prompt.middle)]
        self._kept = _Kept(before, rest, prompt)
        return prompt

    def _extended(
        self, prefix: str, rest: tuple[object, ...], prompt_tokens: int, layout: PromptLayout
    ) -> Prompt | None:
        kept = self._kept
        if kept is None or kept.rest != rest or not prefix.startswith(kept.before):
            return None
        room = _middle_chars(prompt_tokens, layout)
        if len(prefix) - len(kept.before) <= room:
            return replace(kept.prompt, middle=prefix[len(kept.before) :])
        if kept.slid > room:
            return None  # slid far enough: made afresh, with a header for the code now there
        # The middle outgrew its share: its first lines join the prefix. The
        # header stays as it was, so the model reads only from there on again.
        line_start = prefix.rfind("\n") + 1
        anchor = _anchor(prefix, len(kept.before), line_start, room // 2, layout.middle_lines)
        moved = prefix[len(kept.before) : anchor]
        prompt = replace(kept.prompt, prefix=kept.prompt.prefix + moved, middle=prefix[anchor:])
        self._kept = _Kept(prefix[:anchor], rest, prompt, kept.slid + len(moved))
        return prompt

    def forget(self) -> None:
        self._kept = None
