"""How many generations run at once, counted where they run: inside the engine.

One model, one worker (DESIGN.md): a llama.cpp context is not thread-safe,
so two generations must never run at once. The scheduler cannot tell: its
single worker thread is the only one that runs work, so its own count is 0
or 1 by construction, whatever the rest of the server does. The engine
can: each `infill` and `chat` enters an `Overlap` on its way in and leaves
it on its way out, on whichever thread called it, so a second caller that
went round the worker is counted. FakeEngine counts its calls so
(tests/fast/fake_engine.py); `Counted` wraps a LlamaEngine to count the same.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

from lsp_server.inference.api import ChatMessage, Generation, Sampling, Treatment
from lsp_server.inference.cancel import CancelToken
from lsp_server.inference.llama.engine import LlamaEngine


class Overlap:
    """Generations running now, the most that ever ran at once, and how many began."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.calls = 0

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """Around one generation, from its call to its return (or raise)."""
        with self._lock:
            self.now += 1
            self.calls += 1
            self.most = max(self.most, self.now)
        try:
            yield
        finally:
            with self._lock:
                self.now -= 1


class Counted:
    """A LlamaEngine whose generations are counted by `overlap`: the real
    engine's calls, unchanged, between entering the count and leaving it.
    Several engines may share one `overlap`: then it counts the generations
    running at once on all of them."""

    STEERING: ClassVar[Mapping[str, Treatment]] = LlamaEngine.STEERING
    CONTINUES_ANSWERS: ClassVar[bool] = LlamaEngine.CONTINUES_ANSWERS

    def __init__(self, engine: LlamaEngine, overlap: Overlap | None = None) -> None:
        self.engine = engine
        self.overlap = overlap or Overlap()
        self.layout = engine.layout  # fixed once the model is loaded

    @property
    def model_name(self) -> str:
        return self.engine.model_name

    @property
    def fim_family(self) -> str | None:
        return self.engine.fim_family

    @property
    def context_size(self) -> int:
        return self.engine.context_size

    def infill(
        self,
        prefix: str,
        suffix: str,
        sampling: Sampling,
        cancel: CancelToken,
        **options: Any,  # LlamaEngine.infill's, passed as they are
    ) -> Generation:
        with self.overlap.running():
            return self.engine.infill(prefix, suffix, sampling, cancel, **options)

    def chat(
        self,
        messages: Sequence[ChatMessage],
        sampling: Sampling,
        cancel: CancelToken,
        **options: Any,  # LlamaEngine.chat's, passed as they are
    ) -> Generation:
        with self.overlap.running():
            return self.engine.chat(messages, sampling, cancel, **options)

    def close(self) -> None:
        self.engine.close()
