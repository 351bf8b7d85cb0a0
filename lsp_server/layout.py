"""PromptLayout: the one place a prompt's budget is shared out and its parts cut.

The types a prompt is made of here and cut there: context/ chooses and
gathers (`FileContext`), inference/ cuts and renders; both import this
module, and neither imports the other. A prompt carries its layout
(context/prompt.py's `Prompt.layout`) to the engine.

context/prompt.py chooses the window around the cursor in characters, with
these shares; each engine then cuts the prompt to its budget in tokens with
the same shares: the embedded engine in the model's own token ids, a remote
engine in pieces of text counted at an estimate (`estimated_tokens`), since
it cannot see the server's tokenizer.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Generic, TypeVar

# Characters a token of code holds, at a low estimate: the window prompt.py
# chooses in characters then rarely needs an engine's exact cut.
CHARS_PER_TOKEN = 3.5
# ... and in the densest code: the middle (typed text after the prompt's
# anchor) is held to its share counted so, so that an engine never has to
# cut it (a cut middle joins the prefix, and the whole prompt is read again).
DENSE_CHARS_PER_TOKEN = 2.5


def chars_for(tokens: int) -> int:
    """About how many characters of code `tokens` tokens hold (CHARS_PER_TOKEN)."""
    return int(tokens * CHARS_PER_TOKEN)


@dataclass(frozen=True)
class FileContext:
    """What a prompt may hold besides the code around the cursor.

    `header`: parts of the current file outside the window around the cursor
    (imports, the enclosing signatures, definitions the code refers to), in
    file order; it goes right before the local prefix. `files`: snippets of
    other files as (path, text). With a repository-level format
    (`<|repo_name|>`, `<|file_sep|>`) they are files before the current one,
    whose path is given; otherwise their code goes above the header.
    """

    repo: str = ""
    path: str = ""
    header: str = ""
    files: tuple[tuple[str, str], ...] = ()


T = TypeVar("T")
Tokenize = Callable[[str], list[T]]
"""Text to tokens: a model's ids, or pieces of the text that join back to it."""
Render = Callable[[FileContext], tuple[list[T], list[T]]]
"""Other files (a context without its header) as tokens: the repository-level
part (the files with their paths, then the current file's), and the code put
above the header in formats without one."""


def estimated_tokens(text: str, chars_per_token: float = CHARS_PER_TOKEN) -> list[str]:
    """`text` in pieces of about `chars_per_token` characters, one piece a
    token at that estimate; they join back to `text`."""
    if not text:
        return []
    count = math.ceil(len(text) / chars_per_token)
    ends = [int(k * chars_per_token) for k in range(count)] + [len(text)]
    return [text[start:end] for start, end in itertools.pairwise(ends)]


@dataclass(frozen=True)
class LaidOut(Generic[T]):
    """A prompt's parts, cut to its budget, as tokens of one kind."""

    repo: list[T] = field(default_factory=list)  # Render's repository-level part
    above: list[T] = field(default_factory=list)  # Render's code above, then the header
    prefix: list[T] = field(default_factory=list)  # the code before the cursor, after `above`
    suffix: list[T] = field(default_factory=list)
    middle: list[T] = field(default_factory=list)  # empty when it joined the prefix
    # The context as kept: the other files that fit, the header as cut.
    context: FileContext | None = None


@dataclass(frozen=True)
class PromptLayout:
    """How a prompt's token budget is shared out. Each preset has its own
    (inference/models.py), and a model of the user's gets the one of the
    preset nearest its size; the defaults here are the default preset's."""

    # The share of the budget kept for the middle (1/4): the text typed on
    # the cursor's line and below the prompt's anchor, which a prompt ends
    # with so that typing only appends to it. A fixed share, not the
    # middle's length: typing must not move where the prefix is cut, or the
    # whole prompt is read again.
    middle_share: int = 4
    # The context (other files, then the header) takes at most 1/2 of the
    # budget the middle leaves, other files giving way before the header.
    context_share: int = 2
    # The suffix keeps at least 1/4 of what the context leaves, however long
    # the prefix (the small preset's keeps 1/2).
    suffix_min_share: int = 4
    # The prompt's budget, in tokens, unless the user sets
    # completion.promptTokens: what the model reads when a prompt is new
    # (most prompts are mostly in its cache).
    prompt_tokens: int = 768
    # Lines above the cursor's line that start the middle, with the line itself:
    # a small model continues text it takes for its own better than it continues
    # the prefix (quality benchmark, 0.5B: single lines 13 -> 20 of 40).
    middle_lines: int = 3

    def budget(self, asked: int | None, context_size: int, max_tokens: int, fixed: int) -> int:
        """The prompt's tokens: `asked` (None or 0: all there is room for),
        within the context window less the answer's room and `fixed` tokens
        (a BOS, the FIM tokens). The prompt keeps at least half the window,
        however many tokens are asked for; generation then ends at the
        window's edge (stop reason "length")."""
        reserved = min(max_tokens, context_size // 2)
        room = context_size - reserved - fixed
        return min(asked, room) if asked else room

    def with_budget(self, prompt_tokens: int) -> PromptLayout:
        """The same shares, for a budget of `prompt_tokens`."""
        return replace(self, prompt_tokens=prompt_tokens)

    def middle_room(self, budget: int) -> int:
        """The most tokens a prompt's middle holds."""
        return budget // self.middle_share

    def middle_chars(self) -> int:
        """The most characters a prompt's middle holds, chosen before it is
        tokenized: its share of `prompt_tokens` in the densest code."""
        return int(self.middle_room(self.prompt_tokens) * DENSE_CHARS_PER_TOKEN)

    def context_chars(self, context_tokens: int) -> int:
        """The characters the context (other files, the header) may take: its
        share of `prompt_tokens`, at most `context_tokens` tokens."""
        return chars_for(min(context_tokens, self.prompt_tokens // self.context_share))

    def cut(
        self,
        prefix: str,
        suffix: str,
        middle: str,
        context: FileContext | None,
        budget: int,
        tokenize: Tokenize[T],
        render: Render[T],
    ) -> LaidOut[T]:
        """The parts of a prompt within `budget` tokens.

        The middle keeps its share (a longer one joins the prefix). The
        context comes first, as material that changes least; it takes at most
        its share of the rest. Prefix and suffix share what is left, the
        prefix cut from the left and the suffix from the right."""
        middle_ids = tokenize(middle)
        middle_room = self.middle_room(budget) if middle else 0
        budget -= middle_room
        if len(middle_ids) > middle_room:
            # A very long line: cut from the left with the prefix, not kept whole.
            prefix, middle_ids = prefix + middle, []
        repo, above, kept = self._context(context, budget // self.context_share, tokenize, render)
        budget -= len(repo) + len(above)
        # A cheap cut by characters first, so a huge file is never tokenized whole.
        prefix, suffix = prefix[-budget * 8 :], suffix[: budget * 8]
        prefix_ids, suffix_ids = tokenize(prefix), tokenize(suffix)
        suffix_ids = suffix_ids[: max(budget // self.suffix_min_share, budget - len(prefix_ids))]
        prefix_ids = prefix_ids[max(0, len(prefix_ids) - (budget - len(suffix_ids))) :]
        return LaidOut(repo, above, prefix_ids, suffix_ids, middle_ids, kept)

    def _context(
        self, context: FileContext | None, budget: int, tokenize: Tokenize[T], render: Render[T]
    ) -> tuple[list[T], list[T], FileContext | None]:
        """The repository part, and the code above with the header, of
        `context` within `budget` tokens: the header first, then as many of
        the other files as fit; and the context so kept."""
        if context is None:
            return [], [], None
        header = context.header
        header_ids = tokenize(header)
        if len(header_ids) > budget:
            # Cut at a line boundary from the left: the header's end joins the prefix.
            header = _last_lines_within(header, header_ids, budget)
            header_ids = tokenize(header)
        files = list(context.files)
        while True:
            shown = FileContext(context.repo, context.path, files=tuple(files))
            repo, above = render(shown)
            if not files or len(repo) + len(above) + len(header_ids) <= budget:
                kept = FileContext(context.repo, context.path, header, tuple(files))
                return repo, above + header_ids, kept
            files.pop()  # the last file is the least wanted


def _last_lines_within(text: str, ids: Sequence[object], budget: int) -> str:
    """The last whole lines of `text` that fit `budget` tokens, estimated from `ids`."""
    keep = len(text) * budget // max(1, len(ids))
    cut = text[-keep:] if keep else ""
    return cut[cut.find("\n") + 1 :] if "\n" in cut else ""
