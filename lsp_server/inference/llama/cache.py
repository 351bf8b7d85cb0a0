"""Reusing llama.cpp's KV cache from one prompt to the next."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# The shortest run of cached tokens worth shifting into place: shorter ones
# are cheaper to read again than to have out of context.
SHIFT_MIN_TOKENS = 32


def can_shift(api: Any, llm: Any) -> bool:
    """Whether `llm`'s KV cache can move tokens to other positions."""
    return bool(api.llama_memory_can_shift(llm._ctx.memory))


def reuse_cache(llm: Any, prompt: Sequence[int], *, shift: bool) -> int:
    """Make the KV cache hold as much of `prompt` as it can; how many leading
    prompt tokens it then holds.

    Beyond the common prefix, spans of the cache that the new prompt leaves
    out are dropped, and what follows them is shifted left, as llama.cpp's
    server does with `--cache-reuse`: when the window's first lines scroll
    out of the prompt, or a piece of context goes, the rest stays cached.
    (The shifted tokens keep what they saw of the dropped ones; llama.vim
    lives with that too.) Insertions cannot be reused: a sequence's
    positions must stay consecutive. At least one token is always left to
    evaluate, because sampling needs the logits of the last prompt token.
    Without `shift` (a model whose cache cannot move), just the common prefix.

    Reaches into `Llama.input_ids`, `n_tokens` and `_ctx` (llama-cpp-python
    0.3.x); tests/engine/test_engine.py::
    test_a_span_left_out_of_the_prompt_keeps_what_follows_cached breaks when
    they change.
    """
    cached = llm.input_ids[: llm.n_tokens].tolist()
    end = min(len(cached), len(prompt))
    head_p = 0
    while head_p < end and cached[head_p] == prompt[head_p]:
        head_p += 1
    head_c = head_p
    while shift and head_c < len(cached) and head_p < len(prompt):
        same = 0
        while (
            head_c + same < len(cached)
            and head_p + same < len(prompt)
            and cached[head_c + same] == prompt[head_p + same]
        ):
            same += 1
        if same < SHIFT_MIN_TOKENS:
            head_c += 1
            continue
        llm._ctx.kv_cache_seq_rm(0, head_p, head_c)
        llm._ctx.kv_cache_seq_shift(0, head_c, head_c + same, head_p - head_c)
        llm.input_ids[head_p : head_p + same] = cached[head_c : head_c + same]
        head_p += same
        head_c += same
    return min(head_p, len(prompt) - 1)
