"""Writing with a draft: a rewrite copies most of the text it rewrites.

A rewrite of a region (a fix, an edit by instruction, a next edit) is
mostly the old region again. Reading is several times faster than writing
on a CPU (one forward pass over a batch costs little more than a pass over
one token while the weights dominate the memory traffic), so the old text
is offered as a draft: each pass reads the token the model just chose and
the next k tokens of the draft in one batch, and the model's choice after
each row says how far it agrees. Every agreeing token is accepted at once,
and the model's own choice at the first disagreement comes with it; the
rejected tokens are dropped from the KV cache (the next pass overwrites
them). After a disagreement the draft is found again where the model's
last few tokens occur in it past the point it left; until then the model
writes one token a pass, as without a draft.

Only a greedy generation is drafted (temperature 0, no token healing under
way, no detour, no alternatives): its every token is the likeliest, which
the rows' logits say as the single-token passes would, so the text is the
same with the draft as without it (tests/engine/test_draft.py). Where two
tokens are nearly as likely, the batch's rounding could choose otherwise
than a pass of one token: that token is read again alone (NEAR_TIE).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lsp_server.inference.llama.confidence import log_probability
from lsp_server.inference.llama.steps import decode_batch

# Draft tokens read in one pass: it starts at K_START, doubles while the model
# agrees with all of them and halves when it does not, within K_MIN..K_MAX.
# A pass of k tokens costs about k single passes up to 4 tokens on two cores
# (benchmarks/results/engine.md), far less per token past that; K_MAX 64 was
# no faster than 32 on the small model (benchmarks/rewrite.py, 6 functions).
K_MIN = 4
K_START = 8
K_MAX = 32
# The model's last tokens that must occur in the draft for it to be found again.
MATCH = 3


@dataclass
class Draft:
    """The draft's tokens, and where the text written so far has reached in them."""

    ids: Sequence[int]
    at: int | None = 0  # the draft token expected next; None: the text left the draft
    floor: int = 0  # the draft is searched from here on when found again
    lookahead: int = K_START
    proposed: int = 0  # draft tokens read in a batch, in all
    accepted: int = 0  # ... and the model agreed with
    written: list[int] = field(default_factory=list)  # the model's tokens so far

    @classmethod
    def of(cls, llm: Any, text: str) -> Draft | None:
        """`text` as a draft in `llm`'s tokens; None for no text."""
        if not text:
            return None
        return cls([int(t) for t in llm.tokenize(text.encode(), add_bos=False, special=False)])

    def wrote(self, token: int) -> None:
        """The model chose `token` itself (not accepted from the draft)."""
        self.written.append(token)
        at = self.at
        if at is not None and at < len(self.ids) and self.ids[at] == token:
            self.at = at + 1
        else:
            self._lost(at)

    def took(self, tokens: Sequence[int]) -> None:
        """The model agreed with the draft's next `tokens`."""
        if not tokens:
            return
        assert self.at is not None, "a proposal comes only from where the text is in the draft"
        self.written.extend(tokens)
        self.at += len(tokens)

    def offered(self, proposed: int, accepted: int) -> None:
        """A pass read `proposed` draft tokens, and the model took `accepted`:
        the lookahead doubles when it took them all, and halves when not."""
        if not proposed:
            return
        self.proposed += proposed
        self.accepted += accepted
        if accepted == proposed:
            self.lookahead = min(K_MAX, self.lookahead * 2)
        else:
            self.lookahead = max(K_MIN, self.lookahead // 2)

    def proposal(self, room: int) -> list[int]:
        """The draft's next tokens to read with the model's last one, at most
        `room`; none while the text is away from the draft."""
        if self.at is None:
            self.at = self._found_again()
        if self.at is None or room <= 0:
            return []
        return list(self.ids[self.at : self.at + min(self.lookahead, room)])

    def _lost(self, at: int | None) -> None:
        if at is not None:
            self.floor = at
        self.at = None

    def _found_again(self) -> int | None:
        """Where the draft goes on after the model's last MATCH tokens, if they
        occur in it from `floor` on (the nearest such place)."""
        tail = self.written[-MATCH:]
        if len(tail) < MATCH:
            return None
        ids = self.ids
        for start in range(self.floor, len(ids) - MATCH + 1):
            if ids[start] == tail[0] and list(ids[start : start + MATCH]) == tail:
                return start + MATCH
        return None


# A row whose best token leads the next by less than this (in logits) is a
# near-tie: the rounding of a batched pass may differ from a pass of one token
# (another kernel, another order of sums) and flip it, so such a row's token is
# read again alone, as it is without a draft.
NEAR_TIE = 0.1


@dataclass(frozen=True)
class Verified:
    """One pass with a draft: the draft tokens the model agreed with (in the
    KV cache), and its own next choice (not read yet), each with its
    log-probability."""

    taken: list[tuple[int, float]]
    choice: tuple[int, float]


def verify(
    llm: Any, token: int, proposal: Sequence[int], logits: Callable[[int], np.ndarray]
) -> Verified:
    """Read `token` and the draft's `proposal` in one pass, and take the
    proposal as far as the model's likeliest tokens agree with it; the
    tokens it did not take leave the KV cache. `logits(row)`: the last
    pass's logits of its row `row`, in place."""
    batch = [token, *proposal]
    decode_batch(llm, batch, logits_from=0)
    taken: list[tuple[int, float]] = []
    for row in range(len(batch)):
        values = logits(row)
        best = int(np.argmax(values))
        if np.count_nonzero(values >= values[best] - NEAR_TIE) > 1:
            llm.n_tokens -= len(batch) - row
            decode_batch(llm, [batch[row]], logits_from=0)
            values = logits(0)
            best = int(np.argmax(values))
            return Verified(taken, (best, log_probability(values, best)))
        if row < len(proposal) and best == proposal[row]:
            taken.append((best, log_probability(values, best)))
            continue
        llm.n_tokens -= len(proposal) - row  # the next pass overwrites the rest
        return Verified(taken, (best, log_probability(values, best)))
    raise AssertionError("the last row always ends the proposal")
