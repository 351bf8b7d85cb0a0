"""Writing with a draft: a rewrite copies most of the text it rewrites.

A rewrite of a region (a fix, an edit by instruction, a next edit) is
mostly the old region again. Reading is several times faster than writing
on a CPU (a forward pass over many tokens costs far less a token than one
over a single token: the weights are read from memory once a pass), so the
old text is offered as a draft: each pass reads the token the model just chose and
the next k tokens of the draft in one batch, and the model's choice after
each row says how far it agrees. Every agreeing token is accepted at once,
and the model's own choice at the first disagreement comes with it; the
rejected tokens are dropped from the KV cache (the next pass overwrites
them). After a disagreement the draft is found again where the model's
last few tokens occur in it past the point it left; until then the model
writes one token a pass, as without a draft. A small change found again
right where the text left the draft (a name renamed, a number changed) is
made in the draft ahead too, where the same tokens come again, and taken
back the first time the model does not make it.

Only a greedy generation is drafted (temperature 0, no token healing under
way, no detour, no alternatives): its every token is the likeliest, which
the rows' logits say as the single-token passes would, so the text is the
same with the draft as without it (tests/engine/test_draft.py), but for
choices the model makes by a hair. Where two tokens are nearly as likely
in a row, the batch's rounding could choose otherwise than a pass of one
token: that token is read again alone (NEAR_TIE). What that cannot undo:
tokens taken from a batch write keys and values into the KV cache that
other matrix kernels computed, and later choices see them. On the rewrite
benchmark 178 of 180 outputs were the same; the two others parted at
choices the run without the draft made by 0.05-0.18 logits, and reading
near-ties alone up to 1.0 logits changed neither.

Completions get no draft from their prompt's own text (the last 3 tokens
found in the prompt, the tokens after them proposed), though they often
repeat it. Replayed on the quality benchmark's 300 tasks, their expected
text taken as what the model writes, such a draft was found for 4-13% of
passes and 20% of its tokens would be taken; against the pass costs
below, every lookahead from 1 to 128 tokens made the writing slower, by
1.04x to 1.78x (small and default model, every task kind).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lsp_server.inference.llama.confidence import Confidence, log_probability
from lsp_server.inference.llama.steps import Call, Written, decode_batch, finished, keep

# Draft tokens read in one pass: it starts at K_START, doubles while the model
# agrees with all of them and halves when it does not, within K_MIN..K_MAX
# (K_MAX past the batch size is cut to it). On two cores a pass of b tokens,
# every row's logits kept, cost (default model, ms): 49 for 1, 96 for 2, 196
# for 5, 386 for 8, 363 for 16, 542 for 32, 872 for 64, 1412 for 128; that is
# 17 ms a token at 32, 11 at 128 (small model: 33 for 1, 10 a token at 32, 9
# at 64). A short pass costs about as much as its tokens written one a pass,
# so it pays only when most of it is taken. Replaying the rewrite benchmark's
# outputs (27 rewrites, default model) against these costs: 4/8/32 took
# 137 s, 16/32/64 112 s, 16/32/128 107 s (small: 78, 70, 72).
K_MIN = 16
K_START = 32
K_MAX = 128
# The model's last tokens that must occur in the draft for it to be found again
# anywhere past where the text left it; right there, its last token is enough
# (NEAR places: a token inserted, or one token replaced by others).
MATCH = 3
NEAR = 2
# A change found again by NEAR, of at most this many tokens either side, is
# made in the draft ahead too, wherever the token before it comes again (a
# rename at every use); the first place the model does not make it again
# takes it back everywhere.
REPLAY = 4


@dataclass(frozen=True)
class _Replayed:
    """A place ahead where the draft got the model's latest change."""

    start: int  # the token before the change, in `Draft.ids`
    end: int  # the end of the changed tokens, in `Draft.ids`
    origin: int  # `start` in the draft as it was before (`Draft.unchanged`)


@dataclass
class Draft:
    """The draft's tokens, and where the text written so far has reached in them."""

    ids: Sequence[int]
    at: int | None = 0  # the draft token expected next; None: the text left the draft
    # Where the text last left the draft: where it goes on is searched from here on.
    floor: int = 0
    # Tokens the text agreed with since the draft was found (again): a place
    # found by a few tokens that occur elsewhere too is trusted only after MATCH.
    agreed: int = MATCH
    left_after: int = 0  # tokens written when the text left the draft at `floor`
    replayed: list[_Replayed] = field(default_factory=list)
    unchanged: Sequence[int] = ()  # the draft before the change was replayed
    lookahead: int = K_START
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
            self.agreed += 1
        elif at is not None and (undone := self._undo_replay(at)) is not None:
            self.floor, self.left_after = undone, len(self.written) - 1 - (at - undone)
            self.at, self.agreed = None, 0
        else:
            self._lost(at)

    def took(self, tokens: Sequence[int]) -> None:
        """The model agreed with the draft's next `tokens`."""
        if not tokens:
            return
        assert self.at is not None, "a proposal comes only from where the text is in the draft"
        self.written.extend(tokens)
        self.at += len(tokens)
        self.agreed += len(tokens)

    def offered(self, proposed: int, accepted: int) -> None:
        """A pass read `proposed` draft tokens, and the model took `accepted`:
        the lookahead doubles when it took them all, and halves when not."""
        if not proposed:
            return
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
        # A place found by a chance match of a few tokens (the `:\n` and
        # indent of an inserted line) says nothing of where the text left the
        # draft: the floor stays where it was, or the true place, behind the
        # chance one, could never be found again (a guard clause inserted at
        # the top of a body lost the rest: 171 passes for 230 tokens).
        if at is not None and self.agreed >= MATCH:
            self.floor = at
            self.left_after = len(self.written) - 1
        self.at = None
        self.agreed = 0

    def _replay(self, new: list[int], resumed: int) -> None:
        """The model wrote `new` where the draft has its tokens from `floor`
        to `resumed`: the same change is made in the draft after `resumed`
        wherever the token before `floor` and those tokens come again."""
        old = list(self.ids[self.floor : resumed])
        if self.floor == 0 or not new or len(new) > REPLAY or len(old) > REPLAY:
            return
        pattern = [self.ids[self.floor - 1], *old]
        ids = list(self.ids)
        changed, replayed = ids[: resumed + 1], []
        at = resumed + 1
        while at < len(ids):
            if ids[at : at + len(pattern)] == pattern:
                replayed.append(_Replayed(len(changed), len(changed) + 1 + len(new), at))
                changed += [pattern[0], *new]
                at += len(pattern)
            else:
                changed.append(ids[at])
                at += 1
        if replayed:
            self.ids, self.unchanged, self.replayed = changed, ids, replayed

    def _undo_replay(self, at: int) -> int | None:
        """When the model did not make the replayed change where `at` lies
        within it: the draft ahead as it was, and where the text left it
        (after the token before the change); None elsewhere."""
        for place in self.replayed:
            if place.start < at < place.end:
                self.ids = [*self.ids[: place.start], *self.unchanged[place.origin :]]
                self.replayed, self.unchanged = [], ()
                return place.start + 1
        return None

    def _found_again(self) -> int | None:
        """Where the draft goes on after the model's last MATCH tokens, if they
        occur in it so that it goes on from `floor` or later (the nearest such
        place): text inserted, then the draft from where it was left."""
        ids = self.ids
        last = self.written[-1:]
        for near in range(self.floor, min(self.floor + NEAR, len(ids))):
            if [ids[near]] == last:
                self._replay(self.written[self.left_after : -1], near)
                return near + 1
        tail = self.written[-MATCH:]
        if len(tail) < MATCH:
            return None
        for start in range(max(0, self.floor - MATCH), len(ids) - MATCH + 1):
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


@dataclass(frozen=True)
class Model:
    """What the drafted loop needs of the decoder: its end tokens, the
    last pass's logits by row, and how many tokens fit in a context and a pass."""

    ends: Callable[[int], bool]
    logits: Callable[[int], np.ndarray]
    context_size: int
    batch_size: int


def write_drafted(
    llm: Any,
    model: Model,
    call: Call,
    output: bytearray,
    draft: Draft,
    tokens: list[int],
    confidence: Confidence,
) -> Written:
    """Write greedily onto `output` (the prompt read, its last row's logits
    at hand) until a stop, a limit or the cancel, as decode.py's loop does,
    but reading the draft's next tokens in the pass that reads the model's
    last one, and taking those it agrees with."""
    stats = call.stats
    decoded = 0
    last = model.logits(-1)
    first = int(np.argmax(last))
    verified = Verified([], (first, log_probability(last, first)))
    while True:
        # The draft tokens the model agreed with (in the cache), then its own choice (not).
        for token, probability in [*verified.taken, verified.choice]:
            confidence.noted.append((len(output), probability))
            ended = model.ends(token)
            if not ended:
                keep(llm, call, output, token, tokens)
                decoded += 1
            text = output[len(call.lead) :]
            done = finished(call, text, ended, decoded, llm.n_tokens, model.context_size)
            if done is not None:
                return done
        draft.took([t for t, _ in verified.taken])
        draft.wrote(token)
        room = min(
            model.context_size - llm.n_tokens - 1,
            model.batch_size - 1,
            call.sampling.max_tokens - decoded,
        )
        proposal = draft.proposal(room)
        step_started = time.monotonic()
        verified = verify(llm, token, proposal, model.logits)
        stats.passes += 1
        if call.cancel.set_before(step_started):
            stats.decoded_after_cancel += 1
        draft.offered(len(proposal), len(verified.taken))
        stats.draft_tokens += len(proposal)
        stats.checked_tokens += len(verified.taken)
