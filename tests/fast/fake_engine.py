"""A fake Engine for the fast tier: scripted text, written at a pace the test sets.

It keeps the engine's contract as LlamaEngine does (inference/llama/): the
cancel is checked before each token, a cancelled generation returns no text,
`max_tokens` 0 only reads the prompt, and `stop`, `stop_when`, the time
budget and the end of the script end a generation with the same stop
reasons. What it writes is the script, a fixed text or a function of the
call; it is split into tokens of a word, a run of spaces or tabs, a line
break, or any other single character, so that typing a few characters
lands inside a token as it does with a real tokenizer.

Its pace: an optional delay per token, and an optional Gate the test opens
token by token, so that a test knows exactly how far a generation got when
the next key arrives, without sleeping.

It counts its generations running at once in `overlap` (tests/overlap.py):
the server must never run two, and only the engine can see that it did.
tests/contract/ runs the contract's tests on it and on LlamaEngine alike.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal, TypeVar

from lsp_server.inference.api import (
    ChatMessage,
    Generation,
    GenerationStats,
    IgnoredSteering,
    Sampling,
    Steering,
    StopReason,
    Treatment,
)
from lsp_server.inference.cancel import CancelToken
from lsp_server.layout import FileContext, PromptLayout
from tests.overlap import Overlap

# A word, a run of spaces or tabs, a line break, or any other one character.
_TOKEN = re.compile(r"\w+|[ \t]+|\n|.", re.DOTALL)
GUARD_S = 10.0  # a guard against a test that hangs, never a timing claim
T = TypeVar("T")
log = logging.getLogger(__name__)


async def guarded(awaitable: Awaitable[T]) -> T:
    """`awaitable`, with the guard against a hang."""
    return await asyncio.wait_for(awaitable, GUARD_S)


def rewrites(asked: str, *answers: str) -> Callable[[Call], str]:
    """A script for the fake: each chat whose prompt holds `asked` is answered
    with the next of `answers` (the last again once they run out), fenced as
    a rewrite is; anything else gets nothing."""
    left = list(answers)

    def script(call: Call) -> str:
        if call.kind != "chat" or asked not in call.prefix:
            return ""
        return f"```python\n{left.pop(0) if len(left) > 1 else left[0]}```"

    return script


def chats(fake: FakeEngine, asked: str) -> list[Call]:
    """The chats the fake was asked whose prompt holds `asked`."""
    return [c for c in fake.calls if c.kind == "chat" and asked in c.prefix]


def tokens(text: str) -> list[str]:
    """`text` split as the fake engine splits it."""
    return _TOKEN.findall(text)


@dataclass
class Call:
    """One request to the fake engine: what a feature asked for, and what it got."""

    kind: Literal["infill", "chat"]
    prefix: str  # chat: the messages, one `role: content` line each, and the answer's start
    suffix: str
    middle: str
    sampling: Sampling
    steering: Steering
    budget: int | None = None  # the prompt's, in tokens
    result: Generation | None = None  # once it returned (None while running, or if it raised)

    @property
    def before_cursor(self) -> str:
        """The text before the cursor as the model sees it, with the part of
        the cursor's token that the prompt left for it to write again."""
        return self.prefix + self.middle + self.steering.starts_with


Script = str | Callable[[Call], str]
"""What the fake model writes after the cursor: a text, or one made from the call."""


class Gate:
    """Lets a fake engine write a token only when the test says so.

    Closed, the engine waits before each token until the test opens it for
    so many more tokens, or wide; a cancel or the time budget ends the wait
    (the generation then stops without that token).
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._permits = 0
        self._wide = False
        self._waiting = 0  # engine threads waiting for a permit

    def open(self, count: int = 1) -> None:
        """Let `count` more tokens through."""
        with self._condition:
            self._permits += count
            self._condition.notify_all()

    def open_wide(self) -> None:
        """Let every token through from now on."""
        with self._condition:
            self._wide = True
            self._condition.notify_all()

    def through(self, cancel: CancelToken, deadline: float | None) -> bool:
        """Called by the engine before each token: True when it may write it,
        False when the cancel or the deadline came first."""
        withdraw = cancel.on_cancel(self._wake)
        try:
            with self._condition:
                self._waiting += 1
                try:
                    # The cancel first: once set, no token passes, however
                    # many the test let through meanwhile.
                    while not cancel.cancelled:
                        if self._wide:
                            return True
                        if self._permits:
                            self._permits -= 1
                            return True
                        left = None if deadline is None else deadline - time.monotonic()
                        if left is not None and left <= 0:
                            return False
                        self._condition.wait(left)
                    return False
                finally:
                    self._waiting -= 1
        finally:
            withdraw()

    def _wake(self) -> None:
        with self._condition:
            self._condition.notify_all()

    @property
    def holding(self) -> bool:
        """An engine has written every token let through and waits for more."""
        with self._condition:
            return self._waiting > 0 and not self._wide and not self._permits

    async def stalled(self, timeout: float = GUARD_S) -> None:
        """Wait (polling: the engine runs on another thread) until `holding`."""
        deadline = time.monotonic() + timeout
        while not self.holding:
            if time.monotonic() > deadline:
                raise TimeoutError("the fake engine never came to wait at the gate")
            await asyncio.sleep(0.001)


class FakeEngine:
    """An Engine (inference/api.py) that writes `script`, for tests that need no model.

    Like the real engine's token healing, the text it returns begins with
    `steering.starts_with` (the part of the cursor's word the prompt left
    out): the script is what it writes after that. Each call is recorded in
    `calls`; with `error` set, each call raises it (after being recorded).
    `overlap` counts the calls running at once.
    """

    STEERING: ClassVar[Mapping[str, Treatment]] = {
        "starts_with": "honoured",  # what it returns begins with it
        "stop_when": "honoured",  # asked after each token
        "avoid": "ignored",  # the script is what it writes
        "comment": "ignored",  # it only serves `avoid`
        "alternatives": "ignored",  # the script is what it writes
        "code_first": "ignored",  # the script is what it writes
        "draft": "ignored",  # the script is what it writes, draft or none
    }
    CONTINUES_ANSWERS: ClassVar[bool] = False  # the script is the whole answer

    def __init__(
        self,
        script: Script = "",
        *,
        delay: float = 0.0,
        gate: Gate | None = None,
        error: Exception | None = None,
    ) -> None:
        self.script = script
        self.delay = delay  # seconds each token takes, on top of the gate
        self.gate = gate
        self.error = error
        self.calls: list[Call] = []
        self.overlap = Overlap()
        self.closed = False
        self.model_name = "fake"
        self.fim_family: str | None = "fake"
        self.context_size = 4096
        self.layout = PromptLayout()
        self._cached: list[str] = []  # the last prompt read: the fake's KV cache
        self._ignored = IgnoredSteering(log, "the fake engine", self.STEERING)

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
        # In the order of a FIM prompt: the middle last, where the model goes on.
        self._ignored.note(steering)
        budget = layout.prompt_tokens if layout is not None else None
        call = Call("infill", prefix, suffix, middle, sampling, steering, budget)
        return self._generate(call, prefix + suffix + middle, cancel)

    def chat(
        self,
        messages: Sequence[ChatMessage],
        sampling: Sampling,
        cancel: CancelToken,
        *,
        steering: Steering = Steering(),
        answer_prefix: str = "",
    ) -> Generation:
        prompt = "".join(f"{m.role}: {m.content}\n" for m in messages) + answer_prefix
        self._ignored.note(steering)
        call = Call("chat", prompt, "", "", sampling, steering)
        return self._generate(call, prompt, cancel)

    def close(self) -> None:
        self.closed = True

    def _text(self, call: Call) -> str:
        """All the script has the model write for `call`."""
        script = self.script if isinstance(self.script, str) else self.script(call)
        return call.steering.starts_with + script

    def _generate(self, call: Call, prompt: str, cancel: CancelToken) -> Generation:
        with self.overlap.running():
            return self._run(call, prompt, cancel)

    def _run(self, call: Call, prompt: str, cancel: CancelToken) -> Generation:
        self.calls.append(call)
        if self.error is not None:
            raise self.error
        sampling = call.sampling
        started = time.monotonic()
        deadline = started + sampling.time_budget if sampling.time_budget else None
        read = tokens(prompt)
        stats = GenerationStats(prompt_tokens=len(read))
        generation = self._read(read, stats, cancel, deadline)
        stats.prompt_seconds = time.monotonic() - started
        if generation is None:
            generation = self._write(self._text(call), call, cancel, deadline, stats)
            stats.decode_seconds = time.monotonic() - started - stats.prompt_seconds
        call.result = generation
        return generation

    def _read(
        self, read: list[str], stats: GenerationStats, cancel: CancelToken, deadline: float | None
    ) -> Generation | None:
        """Read the prompt, at once: a Generation when that ends the call.
        The cancel first, then the deadline, as LlamaEngine checks them
        before each batch of a prompt."""
        if cancel.cancelled:
            return Generation("", "cancelled", stats)
        if deadline is not None and time.monotonic() >= deadline:
            return Generation("", "time", stats)
        # As llama.cpp's cache: the tokens the last prompt began with are not
        # read again, but the last one always is (its logits are needed).
        same = 0
        while same < min(len(read), len(self._cached)) and read[same] == self._cached[same]:
            same += 1
        stats.reused_tokens = min(same, max(0, len(read) - 1))
        stats.evaluated_tokens = len(read) - stats.reused_tokens
        self._cached = read
        return None

    def _write(
        self,
        text: str,
        call: Call,
        cancel: CancelToken,
        deadline: float | None,
        stats: GenerationStats,
    ) -> Generation:
        sampling, stop_when = call.sampling, call.steering.stop_when
        if sampling.max_tokens == 0:
            return Generation("", "length", stats)  # read ahead: only the prompt
        output = ""
        reason: StopReason = "end"  # the script is written to its end
        for piece in tokens(text):
            if deadline is not None and time.monotonic() >= deadline:
                reason = "time"
                break
            if cancel.cancelled:
                reason = "cancelled"
                break
            step_started = time.monotonic()
            if not self._step(cancel, deadline):
                reason = "cancelled" if cancel.cancelled else "time"
                break
            # Counted as LlamaEngine counts: a step begun after the cancel was set.
            if cancel.set_before(step_started):
                stats.decoded_after_cancel += 1
            output += piece
            stats.decoded_tokens += 1
            stops = [i for stop in sampling.stop if (i := output.find(stop)) >= 0]
            if stops:
                output, reason = output[: min(stops)], "stop"
                break
            if stop_when is not None and stop_when(output):
                reason = "stop"
                break
            if stats.decoded_tokens >= sampling.max_tokens:
                reason = "length"
                break
        if reason == "cancelled":
            return Generation("", reason, stats)
        return Generation(output, reason, stats)

    def _step(self, cancel: CancelToken, deadline: float | None) -> bool:
        """One decode step: the delay, then the gate. False when the gate's wait
        ended with the cancel or the deadline instead of a token."""
        if self.delay:
            time.sleep(self.delay)  # uninterrupted, as a real decode step is
        return self.gate is None or self.gate.through(cancel, deadline)
