"""What the events of a streamed answer say, in each server's dialect."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lsp_server.inference.api import GenerationStats, StopReason


@dataclass
class Piece:
    """One event of a streamed answer: text, and how the answer ended, if it did."""

    text: str = ""
    finish: StopReason | None = None
    stats: dict[str, Any] | None = None  # llama.cpp's timings, on its last event


_LLAMA_STOPS: dict[str, StopReason] = {"eos": "end", "word": "stop", "limit": "length"}
_OPENAI_STOPS: dict[str, StopReason] = {"stop": "end", "length": "length"}


def llamacpp_piece(event: dict[str, Any]) -> Piece:
    """llama.cpp's /completion and /infill events."""
    piece = Piece(text=str(event.get("content") or ""))
    if event.get("stop"):
        piece.finish = _LLAMA_STOPS.get(str(event.get("stop_type")), "end")
    timings = event.get("timings")
    if isinstance(timings, dict):
        piece.stats = timings
    return piece


def _choice(event: dict[str, Any]) -> dict[str, Any]:
    choices = event.get("choices") or [{}]
    choice = choices[0]
    return choice if isinstance(choice, dict) else {}


def completion_piece(event: dict[str, Any]) -> Piece:
    """OpenAI's /v1/completions events."""
    choice = _choice(event)
    finish = choice.get("finish_reason")
    return Piece(
        text=str(choice.get("text") or ""),
        finish=_OPENAI_STOPS.get(str(finish), "end") if finish else None,
    )


def chat_piece(event: dict[str, Any]) -> Piece:
    """OpenAI's /v1/chat/completions events."""
    choice = _choice(event)
    delta = choice.get("delta")
    finish = choice.get("finish_reason")
    return Piece(
        text=str(delta.get("content") or "") if isinstance(delta, dict) else "",
        finish=_OPENAI_STOPS.get(str(finish), "end") if finish else None,
    )


def take_timings(stats: GenerationStats, timings: dict[str, Any]) -> None:
    """llama.cpp's account of the request: prompt tokens read and reused, tokens written."""
    stats.evaluated_tokens = int(timings.get("prompt_n") or 0)
    stats.reused_tokens = int(timings.get("cache_n") or 0)
    stats.prompt_tokens = stats.evaluated_tokens + stats.reused_tokens
    stats.decoded_tokens = int(timings.get("predicted_n") or stats.decoded_tokens)
