"""What the model wrote -> what the editor shows.

Small instruct models do not stop where the hole ends: after the missing
code they go on to write the rest of the file, a `main()`, or a Markdown
explanation. These rules keep the part that belongs at the cursor:

- one line, or a block only where the syntax asks for one (an empty body);
- stop where the model repeats the code after the cursor, dedents out of the
  cursor's block, or starts explaining itself in Markdown;
- token healing: the prompt never ends mid-token (half an identifier, the
  indentation of the cursor's line); the model writes that token whole and
  only what follows the cursor is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lsp_server.context.syntax import parse_damage
from lsp_server.inference.engine import Generation

BLOCK_OPENERS = (":", "{")
SYNTAX_CHECK_LIMIT = 1_000_000  # characters; bigger files skip the parse check
_WORD_TAIL = re.compile(r"[A-Za-z0-9_]+$")
_REPEAT_WINDOW = 3  # how many of the lines after the cursor a suggestion must not repeat


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _squash(line: str) -> str:
    return " ".join(line.split())


@dataclass(frozen=True)
class Cursor:
    """The text around the cursor, as post-processing sees it."""

    prefix: str
    suffix: str

    @property
    def line_before(self) -> str:
        return self.prefix[self.prefix.rfind("\n") + 1 :]

    @property
    def line_after(self) -> str:
        return self.suffix.split("\n", 1)[0]

    def lines_after(self) -> list[str]:
        """The non-blank lines after the cursor's line."""
        return [line for line in self.suffix.split("\n")[1:] if line.strip()]

    def wants_block(self) -> bool:
        """A block fits only an empty body: after a line that opens one (`:` or `{`),
        with nothing indented deeper below. Everywhere else, one line."""
        if self.line_after.strip():
            return False  # the middle of a line
        current = self.line_before
        if current.strip():
            opener = current
        else:
            previous = [line for line in self.prefix.split("\n")[:-1] if line.strip()]
            if not previous:
                return True  # an empty file
            opener = previous[-1]
        if not opener.rstrip().endswith(BLOCK_OPENERS):
            return False
        following = self.lines_after()
        return not following or _indent(following[0]) <= _indent(opener)


def heal(prefix: str) -> tuple[str, str]:
    """Cut the prompt back to a clean token boundary.

    Returns the prefix to prompt with and the text cut off, which the model
    is to write again: the indentation of an otherwise empty line, or the
    start of an identifier.
    """
    line = prefix[prefix.rfind("\n") + 1 :]
    if line and not line.strip():
        return prefix[: -len(line)], line
    word = _WORD_TAIL.search(line)
    if word is not None:
        return prefix[: -len(word.group())], word.group()
    return prefix, ""


def unheal(text: str, cut: str) -> str | None:
    """The part of `text` after the cut-off token, or None when the model wrote another."""
    if not cut:
        return text
    if not cut.strip():
        # Indentation: the user's stands; the model's own for this line is dropped.
        return text.lstrip(" \t")
    if not text.startswith(cut):
        return None
    return text[len(cut) :]


def _opens_block(cursor: Cursor, first_line: str) -> bool:
    """The suggestion's first line ends a line that opens a block (`for x in y:`),
    which needs its body: a one-line suggestion becomes a block."""
    return (cursor.line_before + first_line).rstrip().endswith(BLOCK_OPENERS)


def written_past_the_hole(text: str, cursor: Cursor, block: bool) -> bool:
    """True once the model has begun a line that `trim` would cut: the rest is waste."""
    lines = text.split("\n")
    if len(lines) < 2:
        return False
    if not block and not _opens_block(cursor, lines[0]):
        return True
    return bool(lines[-1].strip()) and len(_keep_block(lines, cursor)) < len(lines)


def _keep_block(lines: list[str], cursor: Cursor) -> list[str]:
    current = cursor.line_before
    # The first line continues the cursor's line; its indentation is the block's.
    first = current + lines[0]
    block_indent = _indent(first) if first.strip() else 0
    if first.rstrip().endswith(BLOCK_OPENERS):
        block_indent += 1  # the body of the line that opens a block goes deeper
    coming = [_squash(line) for line in cursor.lines_after()[:_REPEAT_WINDOW]]
    kept = [lines[0]]
    for line in lines[1:]:
        if line.lstrip().startswith("```"):
            break  # the model has started explaining itself in Markdown
        if line.strip() and _indent(line) < block_indent:
            break  # the block at the cursor has ended
        if line.strip() and _squash(line) in coming:
            break  # it is repeating the code after the cursor
        kept.append(line)
    return kept


def trim(generation: Generation, cursor: Cursor, block: bool) -> str:
    """The suggestion to show for `generation` at `cursor`."""
    lines = generation.text.split("\n")
    if generation.stop_reason in ("length", "time") and len(lines) > 1:
        # The last line was cut off mid-way by a limit: not worth showing.
        lines = lines[:-1]
    kept = _keep_block(lines, cursor) if block or _opens_block(cursor, lines[0]) else lines[:1]
    text = "\n".join(kept).rstrip()
    # A suggestion that only repeats what follows the cursor on its line adds nothing.
    if cursor.line_after.strip() and text.strip() == cursor.line_after.strip():
        return ""
    # Nor one that makes the cursor's line a copy of the next.
    completed = cursor.line_before + text.split("\n", 1)[0] + cursor.line_after
    following = cursor.lines_after()
    if following and completed.strip() and _squash(completed) == _squash(following[0]):
        return ""
    return text


@dataclass(frozen=True)
class Plan:
    """How one suggestion is asked for and shaped: one line or a block, the
    healed prompt, and what the model's text must start with."""

    cursor: Cursor
    block: bool
    prompt_prefix: str
    prompt_suffix: str
    cut: str

    @classmethod
    def at(cls, prefix: str, suffix: str) -> Plan:
        cursor = Cursor(prefix, suffix)
        prompt_prefix, cut = heal(prefix)
        # At the end of a line, the hole is the rest of the line with its line
        # break, the shape FIM training cuts; with the break left in the suffix
        # the model often fills the hole with the next line again.
        prompt_suffix = suffix[1:] if suffix.startswith("\n") else suffix
        return cls(cursor, cursor.wants_block(), prompt_prefix, prompt_suffix, cut)

    def done(self, text: str) -> bool:
        """For the engine's `stop_when`: nothing more the model writes can be shown."""
        diverged = not (text.startswith(self.cut) or self.cut.startswith(text))
        if self.cut.strip() and diverged:
            return True  # it wrote another identifier than the one at the cursor
        healed = unheal(text, self.cut)
        return healed is not None and written_past_the_hole(healed, self.cursor, self.block)

    def finish(self, generation: Generation, language: str | None = None) -> str:
        """The text to show after the cursor ("" for nothing). With a tree-sitter
        `language`, a suggestion that breaks the parse is cut back or dropped."""
        healed = unheal(generation.text, self.cut)
        if healed is None:
            return ""
        text = trim(Generation(healed, generation.stop_reason), self.cursor, self.block)
        return fit_syntax(language, self.cursor, text)


def fit_syntax(language: str | None, cursor: Cursor, text: str) -> str:
    """`text`, or its longest run of whole lines, that does not parse worse than the
    file without it; "" when even its first line makes the parse worse."""
    if not text or language is None:
        return text
    if len(cursor.prefix) + len(cursor.suffix) > SYNTAX_CHECK_LIMIT:
        return text
    before = parse_damage(language, cursor.prefix + cursor.suffix)
    lines = text.split("\n")
    for end in range(len(lines), 0, -1):
        candidate = "\n".join(lines[:end])
        if (
            candidate.strip()
            and parse_damage(language, cursor.prefix + candidate + cursor.suffix) <= before
        ):
            return candidate
    return ""
