"""The contract between Hearth and a model engine, embedded or remote.

Features, the scheduler and post-processing import from here only; the
engines (llama/, remote/) implement it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal, Protocol

from lsp_server.inference.cancel import CancelToken
from lsp_server.layout import FileContext, PromptLayout

# "writing": the text so far, given while the engine writes on (features/following.py).
StopReason = Literal["end", "stop", "length", "time", "cancelled", "writing"]
Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Sampling:
    """How the sampler chooses tokens, and when it stops."""

    max_tokens: int = 128  # 0: only read the prompt into the KV cache
    temperature: float = 0.0  # 0 is greedy
    top_k: int = 40
    top_p: float = 0.95
    seed: int = 0
    time_budget: float | None = None  # wall-clock seconds for the whole call
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class Steering:
    """What post-processing asks of a generation besides sampling. Engines
    differ in what they can do of it: each declares, in STEERING, which
    fields it honours and which it ignores (and logs, once, that it ignored
    one a caller set)."""

    # Token healing: the text must begin with this, which the prompt left out
    # because it ends mid-token; the first tokens are chosen to agree with it.
    starts_with: str = ""
    # Called with the text so far after each token; True ends the generation
    # (for stops that depend on the code, such as the end of a block).
    stop_when: Callable[[str], bool] | None = None
    # Lines the first line must not be (the code after the hole, which a model
    # that sees no gap writes again): written, generation goes back and takes
    # another way (llama/detour.py).
    avoid: tuple[str, ...] = ()
    # The language's line comment marker: lines are compared without their end
    # comments (text.without_end_comment_or_whitespace); None when not known.
    comment: str | None = None
    # Other suggestions wanted besides the first, for the user to cycle
    # through: each goes another way at one of the first's least sure choices
    # (llama/alternatives.py). Fewer come back when there is no time left.
    alternatives: int = 0
    # What the first line's code may not begin with, after the indentation
    # `starts_with` heals: a comment's marker where code is wanted.
    code_first: tuple[str, ...] = ()
    # Text the output is likely to copy, such as the region a rewrite writes
    # anew: read ahead in batches and taken where the model agrees
    # (llama/draft.py). A greedy generation writes the same text with it as
    # without it, in fewer passes.
    draft: str = ""


Treatment = Literal["honoured", "ignored"]
"""What an engine does with a field of Steering."""


class IgnoredSteering:
    """Says in an engine's log, at debug level and once for each field, that
    it ignored steering a caller set (not left at its default). Only the
    field's name: its value is the user's code."""

    def __init__(self, log: logging.Logger, engine: str, declared: Mapping[str, Treatment]) -> None:
        self._log = log
        self._engine = engine
        self._ignored = tuple(
            name for name, treatment in declared.items() if treatment == "ignored"
        )
        self._told: set[str] = set()

    def note(self, steering: Steering, *also: str) -> None:
        """Log the ignored fields `steering` sets; `also`: fields this call
        ignores besides those the engine declares."""
        for name in (*self._ignored, *also):
            if name in self._told or getattr(steering, name) == getattr(_UNSTEERED, name):
                continue
            self._told.add(name)
            self._log.debug("%s ignores steering.%s (said once)", self._engine, name)


_UNSTEERED = Steering()


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    reused_tokens: int = 0  # prompt tokens found in the KV cache
    evaluated_tokens: int = 0  # prompt tokens the model had to read
    decoded_tokens: int = 0
    checked_tokens: int = 0  # of those, read as a draft in a batch, not one a pass
    passes: int = 0  # forward passes while writing, where a draft was read (Steering.draft)
    draft_tokens: int = 0  # draft tokens read in those passes, agreed with or not
    decoded_after_cancel: int = 0  # decode steps started after the cancel was set: 0 or 1
    prompt_tokens_after_cancel: int = 0  # prompt tokens of a chunk that began after the cancel
    prompt_seconds: float = 0.0
    decode_seconds: float = 0.0


@dataclass
class Generation:
    text: str
    stop_reason: StopReason
    stats: GenerationStats = field(default_factory=GenerationStats)
    alternatives: tuple[str, ...] = ()  # other texts, best first (Steering.alternatives)
    # How sure the model was of each line of `text`: the mean log-probability
    # of the tokens it chose there; empty when the engine cannot say.
    line_scores: tuple[float, ...] = ()

    @property
    def cancelled(self) -> bool:
        return self.stop_reason == "cancelled"


class EngineUnavailable(Exception):
    """There is no engine to run the work on: no model is loaded, or the remote
    engine does not answer. The message says why, for the user."""


class ModelFileChanged(EngineUnavailable):
    """The loaded model's file was rewritten on disk: its weights cannot be read."""


class Engine(Protocol):
    """What features and the scheduler need of a model, embedded or remote."""

    # Each field of Steering, and whether the engine honours it or ignores it.
    STEERING: ClassVar[Mapping[str, Treatment]]
    # Whether `chat` continues an answer begun with `answer_prefix` (the model
    # reads it), rather than having the model write the answer whole.
    CONTINUES_ANSWERS: ClassVar[bool]
    # How the model's prompts share their budget out (models.layout_for),
    # fixed once the engine is loaded (or connected): a prompt's window is
    # chosen by it, and the prompt carries it to `infill`.
    layout: PromptLayout

    @property
    def model_name(self) -> str: ...

    @property
    def fim_family(self) -> str | None:
        """The model's fill-in-the-middle format, None when it has none."""

    @property
    def context_size(self) -> int: ...

    def infill(
        self,
        prefix: str,
        suffix: str,
        sampling: Sampling,
        cancel: CancelToken,
        *,
        steering: Steering = Steering(),
        middle: str = "",
        layout: PromptLayout | None = None,
        context: FileContext | None = None,
    ) -> Generation:
        """Write what goes between `prefix` and `suffix`, starting with `middle`
        (not repeated in the text returned). The prompt is cut as `layout`
        (the prompt's: context/prompt.py chose its window by it) shares it
        out, to its `prompt_tokens`; with no layout, by the engine's own
        shares to all the room the context window has."""

    def chat(
        self,
        messages: Sequence[ChatMessage],
        sampling: Sampling,
        cancel: CancelToken,
        *,
        steering: Steering = Steering(),
        answer_prefix: str = "",
    ) -> Generation: ...

    def close(self) -> None: ...
