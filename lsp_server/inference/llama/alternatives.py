"""Other ways to write a suggestion, for the user to cycle through.

The first suggestion is the model's own choice at every token. Each
alternative goes another way at one of the choices the model was least sure
of on the first line (the smallest lead of its token's logit over a
runner-up), takes the runner-up there and lets the model choose again from
it. The prompt and the first suggestion's text up to that choice are in the
KV cache already, so an alternative costs only its own new tokens; the first
line is where the user reads a suggestion, and where alternatives differ
most for the tokens spent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from lsp_server.inference.llama.detour import runners_up

LOOKED_AT = 5  # the likeliest tokens besides the chosen one looked at for each choice


@dataclass(frozen=True)
class Branch:
    """A token the model could have written instead of the one it chose."""

    position: int  # where the token goes in the KV cache
    length: int  # bytes of output before it
    decoded: int  # tokens written before it
    margin: float  # the chosen token's logit's lead over this one's
    token: int


@dataclass
class Branches:
    """The runner-up of each choice the model made freely, to branch from."""

    piece: Callable[[int], bytes]  # a token's text
    ends: Callable[[int], bool]  # whether a token ends the generation
    seen: list[Branch] = field(default_factory=list)

    def note(
        self,
        logits: npt.NDArray[np.float32],
        chosen: int,
        position: int,
        length: int,
        decoded: int,
    ) -> None:
        """Record the choice of `chosen` from `logits` by its likeliest other
        that says another thing (detour.runners_up). One that ends the
        generation writes less of it (an end of the first line is the
        decision of post-processing): it is passed over too."""
        for token in runners_up(logits, chosen, self.piece, 1, LOOKED_AT, passed_over=self.ends):
            margin = float(logits[chosen] - logits[token])
            self.seen.append(Branch(position, length, decoded, margin, token))

    def forget_from(self, position: int) -> None:
        """Choices at `position` and after were made on a way given up."""
        self.seen = [branch for branch in self.seen if branch.position < position]

    def picks(self, text: bytes, lead: int, count: int) -> list[Branch]:
        """The `count` choices to branch from for the output `text` (whose
        first `lead` bytes the caller had): the least sure on its first
        line, surest last; then, if the first line has too few, the least
        sure after it."""
        line_end = text.find(b"\n", lead)
        first_line = len(text) if line_end < 0 else line_end + 1
        # Choices checked in a batch past where the text stopped are not its.
        seen = [b for b in self.seen if b.length <= len(text)]
        on_line = [b for b in seen if b.length < first_line]
        after = [b for b in seen if b.length >= first_line]
        by_margin = sorted(on_line, key=lambda b: b.margin) + sorted(after, key=lambda b: b.margin)
        return by_margin[:count]
