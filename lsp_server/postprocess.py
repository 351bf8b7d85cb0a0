"""What the model wrote -> what the editor shows.

Small instruct models do not stop where the hole ends: after the missing
code they go on to write the rest of the file, a `main()`, or a Markdown
explanation. These rules keep the part that belongs at the cursor:

- the rest of the line inside a line; a block on a fresh line (an empty
  body, or between statements, where a blank line ends it); at the end of
  a line that is whole, the next line;
- stop where the model repeats the code after the cursor, dedents out of the
  cursor's block, or starts explaining itself in Markdown;
- token healing: the prompt never ends mid-token (half an identifier, the
  spaces after code, the indentation of the cursor's line); the model writes
  that token whole and only what follows the cursor is kept;
- the block moves to the cursor's indentation, in the file's tabs or spaces;
- closers the editor auto-inserted after the cursor are replaced, not doubled;
- nothing that makes the file parse worse.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

from lsp_server.inference.api import Generation
from lsp_server.text import (
    last_nonblank_line,
    without_end_comment_or_whitespace,
    without_whitespace,
)

BLOCK_OPENERS = (":", "{")
_WORD_TAIL = re.compile(r"[A-Za-z0-9_]+$")
# An opening quote, with a string prefix (`f"`, `rb'`): quotes merge with what
# follows them into one token (`"\\n`, `'%`, `""`).
_QUOTE_TAIL = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z]{0,2}[\"'`]$")
_REPEAT_WINDOW = 3  # how many of the lines after the cursor a suggestion must not repeat
# Between statements, a line past the first is shown only when the model's
# tokens there have at least this mean log-probability (about 4 in 5 each).
# Quality benchmark, 1.5B model, 100 tasks each: single lines 48 -> 51,
# blocks 14 -> 15 (it was as good from -0.3 to -0.15 on blocks).
SURE_LINE = -0.2


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _restates(line: str, coming: list[tuple[str, str]], comment: str | None) -> bool:
    """Whether `line` writes one of the `coming` lines (each as it is, and
    `comparable`) again, whole or its start: a model rewriting the code below
    often drops its comment or the end of its expression
    (`dialect.quotechar = quotechar` for `dialect.quotechar = quotechar or '"'`)."""
    says = without_end_comment_or_whitespace(line, comment)
    if not says:
        return False
    if not any(char.isalnum() for char in says):
        # A lone closer repeats one only at the same depth: a `}` deeper in
        # closes a block of the suggestion's own.
        return any(line.rstrip() == other.rstrip() for other, _ in coming)
    return any(other_says.startswith(says) for _, other_says in coming)


@dataclass(frozen=True)
class Hole:
    """The text around the cursor, as post-processing sees it."""

    prefix: str
    suffix: str
    comment: str | None = None  # the language's line comment marker (see `comparable`)

    @property
    def line_before(self) -> str:
        return self.prefix[self.prefix.rfind("\n") + 1 :]

    @property
    def line_after(self) -> str:
        return self.suffix.split("\n", 1)[0]

    def comparable(self, line: str) -> str:
        """What `line` says, in the cursor's language."""
        return without_end_comment_or_whitespace(line, self.comment)

    def lines_after(self) -> list[str]:
        """The non-blank lines after the cursor's line."""
        return [line for line in self.suffix.split("\n")[1:] if line.strip()]

    @property
    def fresh_line(self) -> bool:
        """The cursor is on a line with nothing but indentation."""
        return not self.line_before.strip() and not self.line_after.strip()

    @cached_property
    def line_end(self) -> bool:
        """The cursor ends a line of code that opens no empty body: the model
        writes the rest of the line, and then the next line, which is the
        suggestion once the line is whole (typed, or whole already)."""
        line_ended = self.line_before.strip() and not self.line_after.strip()
        return bool(line_ended) and not self.wants_block()

    def after_line(self, line: str) -> Hole:
        """The hole at the start of the next line, once the cursor's line ends with `line`."""
        return Hole(self.prefix + line + "\n", self.suffix, self.comment)

    @cached_property
    def between_statements(self) -> bool:
        """On a fresh line that is not an empty body: more code follows in the block."""
        return self.fresh_line and not self.wants_block()

    def wants_block(self) -> bool:
        """A block fits only an empty body: after a line that opens one (`:` or `{`),
        with nothing indented deeper below. Everywhere else, one line."""
        if self.line_after.strip():
            return False  # the middle of a line
        current = self.line_before
        if current.strip():
            opener = current
        else:
            above = last_nonblank_line(self.prefix[: len(self.prefix) - len(current)])
            if above is None:
                return True  # an empty file
            opener = above
        if not opener.rstrip().endswith(BLOCK_OPENERS):
            return False
        following = self.lines_after()
        return not following or _indent(following[0]) <= _indent(opener)


def heal(prefix: str) -> tuple[str, str]:
    """Cut the prompt back to a clean token boundary.

    Returns the prefix to prompt with and the text cut off, which the model
    is to write again: the indentation of an otherwise empty line, the start
    of an identifier, the spaces after code (` =` is one token), or an
    opening quote.
    """
    line = prefix[prefix.rfind("\n") + 1 :]
    if line and not line.strip():
        return prefix[: -len(line)], line
    spaces = len(line) - len(line.rstrip(" \t"))
    if spaces:
        return prefix[:-spaces], line[-spaces:]
    tail = _WORD_TAIL.search(line) or _QUOTE_TAIL.search(line)
    if tail is not None:
        return prefix[: -len(tail.group())], tail.group()
    return prefix, ""


def unheal(text: str, cut: str) -> str | None:
    """The part of `text` after the cut-off token, or None when the model wrote another."""
    if not cut:
        return text
    if not cut.strip():
        # Indentation: the user's stands, and the model's lines move with it.
        first = text.split("\n", 1)[0]
        own = first[: len(first) - len(first.lstrip(" \t"))]
        return _shift(text[len(own) :], own, cut) if own != cut else text[len(own) :]
    if not text.startswith(cut):
        return None
    return text[len(cut) :]


def _shift(text: str, old: str, new: str) -> str:
    """Lines after the first that start with the `old` indentation start with `new`."""
    first, *rest = text.split("\n")
    moved = [
        new + line[len(old) :] if line.startswith(old) and line.strip() else line for line in rest
    ]
    return "\n".join([first, *moved])


def indent_unit(text: str) -> str:
    """The file's indentation step: a tab, or its smallest indentation in spaces."""
    tabs = spaces = 0
    smallest = 0
    for line in text.split("\n")[-400:]:
        if line.startswith("\t"):
            tabs += 1
        elif line.startswith(" ") and line.strip():
            spaces += 1
            width = _indent(line)
            smallest = width if not smallest else min(smallest, width)
    if tabs > spaces:
        return "\t"
    return " " * (smallest or 4)


def restyle(text: str, unit: str) -> str:
    """Indentation of the lines after the first in the file's style (tabs or spaces)."""
    first, *rest = text.split("\n")
    styled = [first]
    for line in rest:
        body = line.lstrip(" \t")
        leading = line[: len(line) - len(body)]
        if unit == "\t" and " " in leading:
            width = len(leading.expandtabs(4))
            leading = "\t" * (width // 4) + " " * (width % 4)
        elif unit != "\t" and "\t" in leading:
            leading = leading.replace("\t", unit)
        styled.append(leading + body)
    return "\n".join(styled)


CLOSERS = frozenset(")]}\"'`")


def closers_replaced(hole: Hole, text: str) -> int:
    """How many characters after the cursor the suggestion replaces: the closing
    brackets and quotes the editor auto-inserted there, when the suggestion's
    first line writes them itself (in order). 0: it is inserted before them."""
    rest = hole.line_after
    closers = rest.strip()
    if not closers or not CLOSERS.issuperset(closers):
        return 0
    first = text.split("\n", 1)[0]
    found = 0
    for char in closers:
        found = first.find(char, found) + 1
        if not found:
            return 0
    return len(rest)


def _opens_block(hole: Hole, first_line: str) -> bool:
    """The suggestion's first line ends a line that opens a block (`for x in y:`),
    which needs its body: a one-line suggestion becomes a block."""
    return (hole.line_before + first_line).rstrip().endswith(BLOCK_OPENERS)


def written_past_the_hole(text: str, hole: Hole, block: bool) -> bool:
    """True once the model has begun a line that `trim` would cut: the rest is waste."""
    lines = text.split("\n")
    if len(lines) < 2:
        return False
    if not block and not _opens_block(hole, lines[0]):
        if hole.line_end:  # the next line, once this one is whole
            return written_past_the_hole(
                text[len(lines[0]) + 1 :], hole.after_line(lines[0]), False
            )
        return True
    return bool(lines[-1].strip()) and len(_keep_block(lines, hole, False)) < len(lines)


def _keep_block(lines: list[str], hole: Hole, ended: bool = True) -> list[str]:
    """The lines that belong to the block at the cursor. `ended`: the last
    line is whole; else it is being written, and only its start counts (its
    indentation), not what it says (`yield` may become any statement)."""
    # Between statements, a blank line ends what the model fills in.
    between = hole.between_statements
    current = hole.line_before
    # The first line continues the cursor's line; its indentation is the block's.
    first = current + lines[0]
    block_indent = _indent(first) if first.strip() else 0
    if current.strip() and first.rstrip().endswith(BLOCK_OPENERS):
        # The cursor's line opens a block: the suggestion is its body, deeper.
        # (An opener the model writes on a fresh line is followed by its body
        # and then, at its own level, by its `}` and the code after it.)
        block_indent += 1
    coming = [(line, hole.comparable(line)) for line in hole.lines_after()[:_REPEAT_WINDOW]]
    kept = [lines[0]]
    for number, line in enumerate(lines[1:], 1):
        whole = ended or number < len(lines) - 1
        if line.lstrip().startswith("```"):
            break  # the model has started explaining itself in Markdown
        if between and not line.strip():
            break
        if line.strip() and _indent(line) < block_indent:
            break  # the block at the cursor has ended
        if whole and _restates(line, coming, hole.comment):
            break  # it is repeating the code after the cursor
        period = _going_round([first, *kept[1:], line]) if whole else 0
        if period:
            return kept[: len(kept) - period + 1]
        kept.append(line)
    return kept


def _going_round(lines: list[str]) -> int:
    """How many lines the last ones repeat, the same lines again just before
    them (a model stuck in a loop writes `a = 1` over and over): 0 for none."""
    for period in (1, 2):
        last, before = lines[-period:], lines[-2 * period : -period]
        if len(lines) >= 2 * period and last == before and any(x.strip() for x in last):
            return period
    return 0


def _sure_lines(lines: list[str], scores: Sequence[float]) -> list[str]:
    """The first line, and those after it up to the first the model was not
    sure of (`scores`: each line's mean log-probability; none: all kept).
    Between statements one line was the likelier ask: a line the model was
    unsure of there is most often one it made up, not one that was missing."""
    kept = lines[:1]
    for line, score in zip(lines[1:], scores[1:], strict=False):
        if score < SURE_LINE:
            break
        kept.append(line)
    return kept if scores else lines


def trim(generation: Generation, hole: Hole, block: bool) -> str:
    """The suggestion to show for `generation` at `hole`."""
    lines = generation.text.split("\n")
    if generation.stop_reason in ("length", "time", "writing") and len(lines) > 1:
        # The last line was cut off mid-way by a limit (or is being written): not worth showing.
        lines = lines[:-1]
    if hole.line_end and len(lines) > 1 and not lines[0].strip() and not _opens_block(hole, ""):
        # The cursor's line is whole: the next line (a block if it opens one).
        rest = Generation("\n".join(lines[1:]), "stop", line_scores=generation.line_scores[1:])
        text = trim(rest, hole.after_line(lines[0]), False)
        return "\n" + text if text else ""
    kept = _keep_block(lines, hole) if block or _opens_block(hole, lines[0]) else lines[:1]
    if hole.between_statements:
        kept = _sure_lines(kept, generation.line_scores)
    text = "\n".join(kept).rstrip()
    # A suggestion that only repeats what follows the cursor on its line adds nothing.
    if hole.line_after.strip() and text.strip() == hole.line_after.strip():
        return ""
    # Nor one that makes the cursor's line a copy of the next.
    completed = hole.line_before + text.split("\n", 1)[0] + hole.line_after
    following = hole.lines_after()
    if (
        following
        and completed.strip()
        and hole.comparable(completed) == hole.comparable(following[0])
    ):
        return ""
    return text


@dataclass(frozen=True)
class Plan:
    """How one suggestion is asked for and shaped: one line or a block, the
    healed prompt, and what the model's text must start with."""

    hole: Hole
    block: bool
    prompt_prefix: str
    prompt_suffix: str
    cut: str
    not_code: tuple[str, ...] = ()  # what begins a line of the language that is not code

    @classmethod
    def at(
        cls, prefix: str, suffix: str, comment: str | None = None, not_code: tuple[str, ...] = ()
    ) -> Plan:
        """The plan at the cursor between `prefix` and `suffix`, in a language
        whose line comments begin with `comment` (None: not known), and whose
        lines that are not code begin with one of `not_code`."""
        hole = Hole(prefix, suffix, comment)
        prompt_prefix, cut = heal(prefix)
        # At the end of a line, the hole is the rest of the line with its line
        # break, the shape FIM training cuts; with the break left in the suffix
        # the model often fills the hole with the next line again.
        prompt_suffix = suffix[1:] if suffix.startswith("\n") else suffix
        # A block for an empty body, and on a fresh line between statements (where
        # a blank line, a dedent or the code below ends it); elsewhere one line.
        block = hole.wants_block() or hole.fresh_line
        return cls(hole, block, prompt_prefix, prompt_suffix, cut, not_code)

    @property
    def starts_with(self) -> str:
        """What the model's text must begin with (token healing in the engine):
        the cut, be it half a word, the spaces after code, or the indentation
        of an empty line (which the model then writes exactly, not deeper)."""
        return self.cut

    @property
    def avoid(self) -> tuple[str, ...]:
        """What the model's first line must not be (blanks aside): the code
        just below the cursor, which a model that sees no gap writes again.
        On a line begun, the part of such a line after what the cursor's line
        holds before the cut (`doublecolon_` + `len = 0` is the next line again)."""
        if self.hole.line_after.strip():
            return ()
        line = self.hole.line_before
        begun = without_whitespace(line[: len(line) - len(self.cut)])
        coming = map(self.hole.comparable, self.hole.lines_after()[:_REPEAT_WINDOW])
        return tuple(
            other[len(begun) :]
            for other in coming
            if other.startswith(begun) and len(other) > len(begun)
        )

    @property
    def code_first(self) -> tuple[str, ...]:
        """What the first line may not begin with (the engine keeps its first
        token from them): between statements the code goes on, and a comment
        or a docstring there was most often the model's own preface to a line
        of code (quality benchmark, 1.5B model: 11 of the 54 lines it missed
        began so). A comment the user begins (`#`) is completed as before."""
        return self.not_code if self.hole.between_statements else ()

    def answered(self, text: str) -> bool:
        """Whether the suggestion in `text` (the model's text so far) is whole
        though the model writes on: at a line's end, the rest of the line is
        written and the model is on the next line (following.py answers at once)."""
        healed = unheal(text, self.cut)
        if healed is None or not self.hole.line_end:
            return False
        line, ended, _ = healed.partition("\n")
        return bool(ended and line.strip()) and not _opens_block(self.hole, line)

    def done(self, text: str) -> bool:
        """For the engine's `stop_when`: nothing more the model writes can be shown."""
        diverged = not (text.startswith(self.cut) or self.cut.startswith(text))
        if self.cut.strip() and diverged:
            return True  # it wrote another identifier than the one at the cursor
        healed = unheal(text, self.cut)
        return healed is not None and written_past_the_hole(healed, self.hole, self.block)

    def finish(self, generation: Generation, parses: ParseCheck | None = None) -> Fill:
        """What to show at the cursor (empty text for nothing). With `parses`
        (does the file parse no worse with this text written at the cursor,
        replacing so many characters after it?), a suggestion that breaks the
        parse is cut back or dropped."""
        healed = unheal(generation.text, self.cut)
        if healed is None:
            return Fill("")
        scores = generation.line_scores
        text = trim(
            Generation(healed, generation.stop_reason, line_scores=scores), self.hole, self.block
        )
        text = restyle(text, indent_unit(self.hole.prefix[-20_000:]))
        replaces = closers_replaced(self.hole, text)
        return Fill(fit_syntax(text, parses, replaces), replaces)


ParseCheck = Callable[[str, int], bool]


@dataclass(frozen=True)
class Fill:
    text: str  # written at the cursor
    replaces: int = 0  # characters after the cursor it replaces (auto-inserted closers)


def fit_syntax(text: str, parses: ParseCheck | None, replaces: int = 0) -> str:
    """`text`, or its longest run of whole lines, for which `parses` holds;
    "" when even its first line fails. Without a check, `text` as it is."""
    if not text or parses is None:
        return text
    lines = text.split("\n")
    for end in range(len(lines), 0, -1):
        candidate = "\n".join(lines[:end])
        if candidate.strip() and parses(candidate, replaces):
            return candidate
    return ""
