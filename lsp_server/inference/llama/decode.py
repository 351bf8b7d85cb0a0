"""The token loop: a prompt read in batches, then one token at a time until
a stop, a limit or a cancel.

We drive llama.cpp token by token instead of calling `create_completion`:
the cancel flag is checked before every decode step (prompt batches
included), and each call reports how much of its prompt was reused from
the KV cache, which is what prompt layout is judged by. On the way the
first tokens are healed (healing.py), a first line that repeats the
code below is written another way (detour.py), and alternatives branch
off the first text at its least sure choices (alternatives.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from lsp_server.inference.api import Generation, GenerationStats, Sampling, Steering, StopReason
from lsp_server.inference.cancel import CancelToken
from lsp_server.inference.llama import healing
from lsp_server.inference.llama.alternatives import Branches
from lsp_server.inference.llama.cache import can_shift, reuse_cache
from lsp_server.inference.llama.confidence import Confidence
from lsp_server.inference.llama.detour import Detour
from lsp_server.inference.llama.draft import Draft, Model, write_drafted
from lsp_server.inference.llama.steps import (
    Call,
    Written,
    decode_batch,
    finished,
    keep,
    text_of,
)


@dataclass(frozen=True)
class _Read:
    """How reading a prompt ended: stopped early, or read, with the draft's
    tokens the healer confirmed (in the KV cache) and, where it chose another,
    that token (not evaluated yet)."""

    stopped: StopReason | None = None
    checked: Sequence[int] = ()
    diverged: int | None = None


@dataclass(frozen=True)
class Decoder:
    """Runs generations on the contexts of one model."""

    api: Any  # the llama_cpp module
    vocab: Any  # the model's llama_vocab
    stops: frozenset[int]  # tokens that end a generation besides end-of-generation
    batch_size: int  # prompt tokens per decode call; the cancel is checked between them
    context_size: int
    pieces: Callable[[], healing.TokenPieces]  # every token's text (waits until built)
    # By context: the last prompt, and the tokens the first text was written in.
    last_written: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=dict)

    def run(
        self,
        llm: Any,
        prompt: Sequence[int],
        sampling: Sampling,
        cancel: CancelToken,
        *,
        steering: Steering = Steering(),
        lead: bytes = b"",
    ) -> Generation:
        """Run the model on `prompt`, steered by all of `steering`. `lead`:
        text the caller has and the prompt left out; the output must start
        with it (it is chosen so), and it is not returned."""
        started = time.monotonic()
        deadline = started + sampling.time_budget if sampling.time_budget else None
        stats = GenerationStats(prompt_tokens=len(prompt))
        cut = lead + steering.starts_with.encode()
        not_first = tuple(start.encode() for start in steering.code_first)
        healer = (
            healing.Healer(self.pieces(), cut, not_first) if cut and sampling.max_tokens else None
        )

        reused = reuse_cache(llm, prompt, shift=can_shift(self.api, llm))
        stats.reused_tokens = reused
        llm.n_tokens = reused  # eval() drops the KV cache from here on
        branches = Branches(self.pieces().piece, self._ends) if steering.alternatives > 0 else None
        written_before = self._written_before(llm, prompt, sampling, steering)
        confidence = Confidence()
        read = self._read(
            llm,
            list(prompt[reused:]),
            healer,
            cut,
            cancel,
            deadline,
            stats,
            written_before,
            branches,
            confidence,
        )
        prompt_done = time.monotonic()
        stats.prompt_seconds = prompt_done - started
        if read.stopped is not None:
            return Generation("", read.stopped, stats)
        if sampling.max_tokens == 0:
            return Generation("", "length", stats)  # read ahead: the prompt is now cached

        # The sampler is llama-cpp-python's own; we set it as generate() does
        # (`Llama._init_sampler`, `_sampler`: llama-cpp-python 0.3.x).
        llm._sampler = llm._init_sampler(
            top_k=sampling.top_k,
            top_p=sampling.top_p,
            temp=sampling.temperature,
            repeat_penalty=1.0,
        )
        llm.set_seed(sampling.seed)
        call = Call(sampling, steering, cancel, deadline, stats, lead)
        # The detour compares runner-ups by their text.
        detour = (
            Detour.of(steering.avoid, self.pieces().piece, steering.comment)
            if steering.avoid
            else None
        )
        output = bytearray()
        tokens: list[int] = []
        # Drafted only when greedy and free (draft.py): healing, the detour and
        # alternatives choose among the model's tokens one pass at a time.
        free = healer is None and detour is None and branches is None
        draft = Draft.of(llm, steering.draft) if free and sampling.temperature == 0 else None
        try:
            if draft is not None:
                model = Model(
                    self._ends, partial(self._logits, llm), self.context_size, self.batch_size
                )
                written = write_drafted(llm, model, call, output, draft, tokens, confidence)
            else:
                written = self._write(
                    llm,
                    call,
                    output,
                    list(read.checked),
                    read.diverged,
                    healer,
                    detour,
                    branches,
                    tokens,
                    confidence=confidence,
                )
            self.last_written[id(llm)] = (tuple(prompt), tuple(tokens))
            others = self._alternatives(llm, call, bytes(output), written.reason, branches)
        finally:
            llm._sampler = None
        stats.decode_seconds = time.monotonic() - prompt_done
        if written.reason == "cancelled":
            return Generation("", written.reason, stats)
        scores = confidence.lines(bytes(output), len(lead))
        return Generation(written.text, written.reason, stats, others, scores)

    def _ends(self, token: int) -> bool:
        return bool(self.api.llama_vocab_is_eog(self.vocab, token)) or token in self.stops

    def _write(
        self,
        llm: Any,
        call: Call,
        output: bytearray,
        checked: list[int],
        pending: int | None,
        healer: healing.Healer | None = None,
        detour: Detour | None = None,
        branches: Branches | None = None,
        tokens: list[int] | None = None,
        decoded: int = 0,
        confidence: Confidence | None = None,
    ) -> Written:
        """Write onto `output` (the text so far, in the KV cache up to
        `llm.n_tokens`) until a stop, a limit or the cancel: first the tokens
        `checked` (chosen and in the cache already), then `pending` (chosen,
        not read yet), then the model's choices. `decoded`: tokens written
        before, which count towards the limit; `tokens`: gets the tokens
        written."""
        start = llm.n_tokens
        lead, stats = call.lead, call.stats
        text = output[len(lead) :]  # the output after `lead`
        while True:
            evaluated = bool(checked)
            if checked:
                token = checked.pop(0)
            elif pending is not None:
                token, pending = pending, None
            else:
                token = self._choose(llm, healer, detour, branches, text, len(output), decoded)
                if confidence is not None:
                    confidence.note(self._logits(llm, -1), token, len(output))
            ended = self._ends(token)
            if not ended:
                keep(llm, call, output, token, tokens)
                decoded += 1
                text = output[len(lead) :]
            if detour and (turn := detour.turn(text_of(text), ended)):
                # The line repeats the code after the hole: the runner-up
                # of its least sure token is written and read in its place.
                llm.n_tokens = turn.position
                del output[turn.length :]
                if confidence is not None:
                    confidence.forget_from(turn.length)
                if branches is not None:
                    branches.forget_from(turn.position)
                if tokens is not None:
                    del tokens[turn.position - start :]
                pending = turn.token
                continue
            done = finished(call, text, ended, decoded, llm.n_tokens, self.context_size)
            if done is not None:
                return done
            if evaluated:
                continue
            step_started = time.monotonic()
            llm.eval([token])
            if call.cancel.set_before(step_started):
                stats.decoded_after_cancel += 1

    def _alternatives(
        self,
        llm: Any,
        call: Call,
        output: bytes,
        reason: StopReason,
        branches: Branches | None,
    ) -> tuple[str, ...]:
        """Other texts than `output`'s, each from the runner-up of one of its
        least sure choices (alternatives.py); as many as there is time for."""
        if branches is None or reason in ("cancelled", "time"):
            return ()
        picks = branches.picks(output, len(call.lead), call.steering.alternatives)
        found: dict[int, str] = {}
        # The furthest branch first: each alternative overwrites the cache
        # from its branch on, and the first text's tokens before every branch
        # still to come must stay there.
        for rank, branch in sorted(enumerate(picks), key=lambda pick: -pick[1].position):
            if call.cancel.cancelled:
                break
            llm.n_tokens = branch.position
            written = self._write(
                llm,
                call,
                bytearray(output[: branch.length]),
                [],
                branch.token,
                decoded=branch.decoded,
            )
            if written.reason in ("cancelled", "time"):
                break  # cut short: not a suggestion the model finished
            found[rank] = written.text
        return tuple(found[rank] for rank in sorted(found))

    def _read(
        self,
        llm: Any,
        rest: list[int],
        healer: healing.Healer | None,
        cut: bytes,
        cancel: CancelToken,
        deadline: float | None,
        stats: GenerationStats,
        written_before: Sequence[int] = (),
        branches: Branches | None = None,
        confidence: Confidence | None = None,
    ) -> _Read:
        """Evaluate the prompt's uncached tokens `rest`, in batches, checking
        the cancel and the deadline between them.

        With a `healer`, the cut's own tokens go into the last batch too, as
        a draft: the healer checks each against the logits before it, so the
        text the user typed is written again in one forward pass instead of
        one a token. Where the healer chooses otherwise, the draft ends and
        its choice is returned to be written. With `written_before` (what the
        same prompt wrote last time), those tokens are the draft, each
        checked against the healer's choice while it heals and the model's
        likeliest after; the model's free choices among them are noted in
        `branches`, and every choice in `confidence`.
        """
        # Not the cut's last token: the healer mostly prefers one that goes on
        # past the cut (`]` + a line break is one token, `]\n`), and a token
        # checked in vain costs a third of a forward pass.
        draft = list(written_before) or (
            [int(t) for t in llm.tokenize(cut, add_bos=False, special=False)][:-1] if healer else []
        )
        piece = self.pieces().piece if written_before else None
        length = 0  # bytes of the draft before the token checked
        sequence = rest + draft
        base = llm.n_tokens
        batch_size = self.batch_size
        for start in range(0, len(sequence), batch_size):
            # What was read stays in the KV cache: a request stopped here
            # leaves the next one less to read.
            if cancel.cancelled:
                return _Read(stopped="cancelled")
            if deadline is not None and time.monotonic() >= deadline:
                return _Read(stopped="time")
            chunk = sequence[start : start + batch_size]
            # Logits from the last prompt token on (each chooses the next token).
            first_out = max(start, len(rest) - 1) if draft else start + len(chunk) - 1
            chunk_started = time.monotonic()
            decode_batch(llm, chunk, logits_from=first_out - start)
            stats.evaluated_tokens += max(0, min(len(chunk), len(rest) - start))
            if cancel.set_before(chunk_started):
                stats.prompt_tokens_after_cancel += len(chunk)
            for position in range(first_out, start + len(chunk)):
                drafted = position + 1 - len(rest)  # the draft's token the logits choose
                if not draft or drafted >= len(draft):
                    break
                at = base + position + 1  # the drafted token's place in the cache
                token = self._check(llm, healer, position - start, branches, at, length, drafted)
                if confidence is not None and piece is not None and token is not None:
                    confidence.note(self._logits(llm, position - start), token, length)
                if token == draft[drafted]:
                    length += len(piece(token)) if piece else 0
                    stats.checked_tokens += 1
                    continue
                # The draft ends here: the cache keeps the tokens before it.
                llm.n_tokens = base + position + 1
                if token is None:
                    # Healing given up: this token is read again alone, so that
                    # its logits are the last ones, which the model samples from.
                    llm.n_tokens -= 1
                    decode_batch(llm, [sequence[position]], logits_from=0)
                return _Read(checked=draft[:drafted], diverged=token)
        return _Read(checked=draft)

    def _choose(
        self,
        llm: Any,
        healer: healing.Healer | None,
        detour: Detour | None,
        branches: Branches | None,
        text: bytes | bytearray,
        length: int,
        decoded: int,
    ) -> int:
        """The next token: the healer's while it heals, else the sampler's. A
        choice of the model's own text on a line the detour watches is noted,
        and so is every free choice when alternatives are wanted."""
        logits = self._logits(llm, -1)
        watching = detour is not None and detour.watching(text_of(text))
        among = None
        token = None
        if healer is not None and healer.active:
            among = healer.past_the_cut() if watching else None
            token = healer.choose(logits)
        if token is None:  # not healing, or healing given up: the model chooses freely
            token, among = int(llm.sample()), None
            if branches is not None:
                branches.note(logits, token, llm.n_tokens, length, decoded)
        elif among is None or token not in among:
            return token  # the user's text spelled out, no choice of the model's
        if detour is not None and watching:
            detour.note(logits, token, llm.n_tokens, length, among)
        return token

    def _check(
        self,
        llm: Any,
        healer: healing.Healer | None,
        row: int,
        branches: Branches | None,
        position: int,
        length: int,
        decoded: int,
    ) -> int | None:
        """The token the model chooses from the last batch's row `row` (-1:
        its last): the healer's while it heals (None: healing given up), else
        the likeliest, a free choice noted in `branches`."""
        logits = self._logits(llm, row)
        if healer is not None and healer.active:
            return healer.choose(logits)
        token = int(np.argmax(logits))
        if branches is not None:
            branches.note(logits, token, position, length, decoded)
        return token

    def _written_before(
        self, llm: Any, prompt: Sequence[int], sampling: Sampling, steering: Steering
    ) -> Sequence[int]:
        """What the same prompt wrote last time on `llm`, to check in one
        batch rather than write again a token at a time: only when
        alternatives are asked for (an editor's cycle key, where the first
        text shows already) and the model chooses greedily. Elsewhere a
        repeat writes anew, token by token, as the first time."""
        if steering.alternatives <= 0 or sampling.temperature > 0:
            return ()
        before, written = self.last_written.get(id(llm), ((), ()))
        return written if before == tuple(prompt) else ()

    def _logits(self, llm: Any, row: int) -> np.ndarray:
        """The logits of the last batch's token `row` (-1: its last), in place."""
        return np.ctypeslib.as_array(
            self.api.llama_get_logits_ith(llm._ctx.ctx, row), shape=(llm.n_vocab(),)
        )
