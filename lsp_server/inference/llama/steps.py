"""The steps every generation loop takes: one call's asks and limits,
reading a batch with the logits it needs, and the tests that end a
generation after each token. decode.py's loops and draft.py's share them."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lsp_server.inference.api import GenerationStats, Sampling, Steering, StopReason
from lsp_server.inference.cancel import CancelToken


@dataclass(frozen=True)
class Call:
    """One call's asks and limits, and the stats it reports."""

    sampling: Sampling
    steering: Steering
    cancel: CancelToken
    deadline: float | None
    stats: GenerationStats
    lead: bytes  # text the caller has: the output starts with it, the text returned not


@dataclass(frozen=True)
class Written:
    reason: StopReason
    text: str  # the output after the lead ("" when cancelled)


def finished(
    call: Call, text: bytearray, ended: bool, decoded: int, cached: int, context_size: int
) -> Written | None:
    """How the generation ends after its latest token, None while it goes
    on: the end of generation, a stop string (`text`, the output after the
    lead, is cut at it), the caller's stop test, the token limit or the
    context's end (`decoded` tokens written, `cached` in the KV cache), the
    time budget, the cancel."""
    sampling, steering = call.sampling, call.steering
    if ended:
        return Written("end", text_of(text))
    if sampling.stop and cut_at_stop(text, sampling.stop):
        return Written("stop", text_of(text))
    if steering.stop_when is not None and steering.stop_when(text_of(text)):
        return Written("stop", text_of(text))
    if decoded >= sampling.max_tokens or cached >= context_size:
        return Written("length", text_of(text))
    if call.deadline is not None and time.monotonic() >= call.deadline:
        return Written("time", text_of(text))
    if call.cancel.cancelled:
        return Written("cancelled", "")
    return None


def keep(llm: Any, call: Call, output: bytearray, token: int, tokens: list[int] | None) -> None:
    """A token written (not an end): onto `output`, counted, and into `tokens`."""
    output += llm.detokenize([token])
    call.stats.decoded_tokens += 1
    if tokens is not None:
        tokens.append(token)


def text_of(output: bytes | bytearray) -> str:
    """Output so far as text (a character cut off mid-way left out)."""
    return output.decode("utf-8", errors="ignore")


def decode_batch(llm: Any, tokens: Sequence[int], *, logits_from: int) -> None:
    """`llm.eval` of one batch, keeping the logits of `tokens[logits_from:]`
    (eval keeps only the last token's). Written as `Llama.eval` is in
    llama-cpp-python 0.3.x (`_ctx`, `_batch`, `input_ids`, `n_tokens`): every
    prompt is read through it, so every test in tests/engine/ breaks when
    they change."""
    llm._ctx.kv_cache_seq_rm(-1, llm.n_tokens, -1)
    past = llm.n_tokens
    llm._batch.set_batch(batch=tokens, n_past=past, logits_all=False)
    for index in range(logits_from, len(tokens)):
        llm._batch.batch.logits[index] = True
    llm._ctx.decode(llm._batch)
    llm.input_ids[past : past + len(tokens)] = tokens
    llm.n_tokens += len(tokens)


def cut_at_stop(output: bytearray, stops: Sequence[str]) -> bool:
    """Truncate `output` at the first stop string in it; True if one was found."""
    positions = [i for stop in stops if (i := output.find(stop.encode())) >= 0]
    if not positions:
        return False
    del output[min(positions) :]
    return True
