"""Another way for a first line that only repeats the code after the hole.

On an empty line between statements a model sometimes sees no gap to fill:
it writes the code that follows the cursor (quality benchmark, 1.5B model:
`nets = []` masked, it wrote `for ip in addresses:`, two lines further
down; on a line begun with `doublecolon_`, it went on with the next line's
`len = 0`), which post-processing then drops, leaving no suggestion.
Instead, once such a line is written, generation goes back to the choice
on that line the model was least sure of (the smallest lead of its token's
logit over a runner-up that says more than blanks, and another thing) and
takes the runner-up there. A line that is again one to avoid, or a near
copy of one (`for addr in addresses:`), turns back again, a few times at
most: the lines the model was next surest of, for the cost of the tokens
written again.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from lsp_server.text import without_end_comment_or_whitespace, without_whitespace

RUNNERS_UP = 3  # other tokens kept for each choice
TURNS = 3  # times a generation goes back at most
NEAR_COPY = 0.8  # a line this similar to one to avoid is a copy of it, after a turn


@dataclass(frozen=True)
class Choice:
    """A token the model could have written instead of the one it chose."""

    position: int  # where the token goes in the KV cache
    length: int  # bytes of output before it
    margin: float  # the chosen token's logit's lead over this one's
    token: int


def runners_up(
    logits: npt.NDArray[np.float32],
    chosen: int,
    piece: Callable[[int], bytes],
    count: int,
    looked_at: int,
    among: npt.NDArray[np.int64] | None = None,
    passed_over: Callable[[int], bool] = lambda token: False,
) -> list[int]:
    """The `count` likeliest tokens, of the `looked_at` likeliest besides
    `chosen` (among the tokens `among`, all when None), that say another
    thing than it, best first. A token that is only blanks, or differs from
    the chosen one only in blanks (` \n` for `\n`, `  ` for ` =`), writes the
    same text again and is left out, as are those `passed_over` says."""
    others = np.arange(len(logits)) if among is None else among
    others = others[others != chosen]
    if others.size > looked_at:
        others = others[np.argpartition(logits[others], -looked_at)[-looked_at:]]
    says = without_whitespace(piece(chosen))
    kept = [
        int(t)
        for t in others
        if not passed_over(int(t)) and without_whitespace(piece(int(t))) not in (b"", says)
    ]
    return sorted(kept, key=lambda t: -logits[t])[:count]


@dataclass
class Detour:
    """Watches a generation's first line for one of `avoid` (lines after the
    cursor, compared without end comments or whitespace), and says where to
    turn back when it is one."""

    avoid: frozenset[str]
    piece: Callable[[int], bytes]  # a token's text
    comment: str | None = None  # the language's line comment marker
    choices: list[Choice] = field(default_factory=list)
    turns: int = 0
    watched: bool = True  # the first line may still become one to avoid

    @classmethod
    def of(
        cls, lines: tuple[str, ...], piece: Callable[[int], bytes], comment: str | None = None
    ) -> Detour | None:
        avoid = frozenset(without_end_comment_or_whitespace(line, comment) for line in lines) - {""}
        return cls(avoid, piece, comment) if avoid else None

    def watching(self, text: str) -> bool:
        """Whether the first line of `text`, before any turn, may still become
        one to avoid: its choices are the ones to go back to."""
        if self.watched and not self.turns:
            line = without_end_comment_or_whitespace(text.split("\n", 1)[0], self.comment)
            self.watched = any(avoid.startswith(line) for avoid in self.avoid)
        return self.watched and not self.turns

    def note(
        self,
        logits: npt.NDArray[np.float32],
        chosen: int,
        position: int,
        length: int,
        among: npt.NDArray[np.int64] | None = None,
    ) -> None:
        """Record a choice of `chosen` from `logits`, among the tokens `among`
        (all when None): the likeliest others, with their margins. A turn to
        one that writes the same line again would be wasted."""
        for token in runners_up(logits, chosen, self.piece, RUNNERS_UP, 2 * RUNNERS_UP, among):
            margin = float(logits[chosen] - logits[token])
            self.choices.append(Choice(position, length, margin, token))

    def turn(self, text: str, ended: bool) -> Choice | None:
        """Where to go back to, once the first line of `text` is written (a
        line break, or `ended`) and is one to avoid; None to go on."""
        if not (self.watched or self.turns) or ("\n" not in text and not ended):
            return None
        line = without_end_comment_or_whitespace(text.split("\n", 1)[0], self.comment)
        avoided = line in self.avoid or (
            self.turns > 0
            and any(difflib.SequenceMatcher(None, line, a).ratio() >= NEAR_COPY for a in self.avoid)
        )
        if not avoided or not self.choices or self.turns == TURNS:
            self.watched, self.turns = False, 0  # settled: nothing more to watch
            self.choices.clear()
            return None
        self.turns += 1
        choice = min(self.choices, key=lambda choice: choice.margin)
        # Choices further on were made on the way given up: gone with it.
        self.choices = [c for c in self.choices if c.position <= choice.position and c != choice]
        return choice
