"""A typist, replayed: functions of the standard library typed again key by
key into an editor's engine, pausing at each line's end for the suggestion.

The latency and soak benchmarks type with it into Hearth (over LSP) and
into llama.cpp's server (as llama.vim drives it); `Editor` is what each
system's document offers the typist, and `Run` what a replay counts.
"""

from __future__ import annotations

import ast
import asyncio
import os
import random
import re
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Protocol

from lsprotocol import types
from lsprotocol.types import Position
from quality import module_sources

from lsp_server.server_process import ServerExited

SEED = 1234
KEY_S = 0.08  # seconds between keys
PAUSE_LIMIT_S = 30.0  # the longest a pause waits for its suggestion
IDLE_S = 5.0  # seconds of idleness measured after the typing
_FIRST_WORD = re.compile(r"\s*(?:\w+|[^\w\s]+)")


@dataclass(frozen=True)
class Task:
    module: str
    source: str  # the file without the function's body
    after: types.Position  # the end of the line the body follows
    body: tuple[str, ...]  # the lines typed, with their indentation


def make_tasks(count: int) -> list[Task]:
    rng = random.Random(SEED)
    candidates: list[Task] = []
    for module, source in module_sources().items():
        lines = source.split("\n")
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.FunctionDef) or node.end_lineno is None:
                continue
            first, last = node.body[0].lineno - 1, node.end_lineno
            body = lines[first:last]
            if not 3 <= len(body) <= 10 or first == node.lineno - 1 or not all(body):
                continue  # short bodies of non-blank lines, not on the signature's line
            kept = "\n".join(lines[:first] + lines[last:])
            after = types.Position(line=first - 1, character=len(lines[first - 1]))
            candidates.append(Task(module, kept, after, tuple(body)))
    return rng.sample(candidates, min(count, len(candidates)))


@dataclass
class Pause:
    seconds: float
    typed: str  # since the previous pause
    suggestion: str


@dataclass
class Run:
    """One system's replay of every task."""

    pauses: list[Pause] = field(default_factory=list)
    typed_through: list[float] = field(default_factory=list)  # answers to keys typed as suggested
    # pauses whose suggestion the user then typed, at least its first word
    # (a function's last pause is judged against nothing: the user moves on)
    then_typed: int = 0
    chars: int = 0
    typing_s: float = 0.0
    reused: int = 0  # prompt tokens found in the KV cache
    read: int = 0  # prompt tokens evaluated
    wasted: int = 0  # tokens decoded for suggestions nobody saw
    after_cancel: str = "n/a"  # most tokens decoded after a cancel
    calls: int = 0  # generations started
    cpu_s: float = 0.0  # server CPU seconds while typing
    idle_cpu_s: float = 0.0  # ... in IDLE_S seconds afterwards
    rss_bytes: int = 0


class Editor(Protocol):
    """One document being typed into, as some editor plugin drives its engine."""

    async def place(self, at: Position) -> None:
        """The cursor is put at `at`, the suggestion there awaited (not measured)."""
        ...

    def type_at(self, at: Position, text: str) -> None: ...

    async def ask(self, at: Position) -> str:
        """The suggestion after a key ("" for none); the plugin decides what to cancel."""
        ...


async def type_function(task: Task, run: Run, editor: Editor) -> None:
    """Type `task`'s body; ask after each key; at each line's end, pause until
    the last key's suggestion arrives."""
    line, column = task.after.line, task.after.character
    started = time.monotonic()
    first_pause = len(run.pauses)
    suggestion = ""  # shown at the last pause
    arrivals: dict[asyncio.Future[str], float] = {}  # when each answer came
    for text in task.body:
        indent = text[: len(text) - len(text.lstrip())]
        typed = ""  # since the last pause
        for key in [f"\n{indent}", *text[len(indent) :]]:
            editor.type_at(Position(line=line, character=column), key)
            if key.startswith("\n"):
                line, column = line + 1, len(indent)
            else:
                column += 1
            run.chars += 1
            typed += key
            sent = time.monotonic()
            answer = asyncio.ensure_future(editor.ask(Position(line=line, character=column)))
            answer.add_done_callback(partial(_stamp, arrivals))
            if suggestion.startswith(typed) and typed != suggestion:
                # Typed as suggested: the rest of the suggestion is the answer.
                answer.add_done_callback(partial(_typed_through, run, sent))
            # A request that is cancelled ends in an error nobody waits for.
            answer.add_done_callback(lambda done: done.cancelled() or done.exception())
            await asyncio.sleep(KEY_S)
        try:
            suggestion = await asyncio.wait_for(answer, PAUSE_LIMIT_S)
        except ServerExited:
            raise  # the server is gone (the error says how): typing on is pointless
        except Exception:  # cancelled or timed out: nothing shown
            suggestion = ""
        # When it came, not when the typist looked (it may have come before the key's pause ended).
        waited = arrivals.get(answer, time.monotonic()) - sent
        if len(run.pauses) > first_pause:  # this function's pause before
            run.then_typed += first_word_typed(run.pauses[-1].suggestion, "\n" + text)
        run.pauses.append(Pause(waited, "\n" + text, suggestion))
    run.typing_s += time.monotonic() - started


def first_word_typed(suggestion: str, then: str) -> bool:
    """Whether `then`, what the user typed next, starts with `suggestion` up
    to the end of its first word (its line break and indentation included)."""
    word = _FIRST_WORD.match(suggestion)
    if word is None or not then.startswith(suggestion[: word.end()]):
        return False
    # A word cut short (`retur` for `return`) is not the word typed.
    last, follows = suggestion[word.end() - 1], then[word.end() : word.end() + 1]
    return not (_in_word(last) and _in_word(follows))


def _in_word(char: str) -> bool:
    return bool(char) and (char.isalnum() or char == "_")


def _stamp(arrivals: dict[asyncio.Future[str], float], answer: asyncio.Future[str]) -> None:
    arrivals[answer] = time.monotonic()


def _typed_through(run: Run, sent: float, answer: asyncio.Future[str]) -> None:
    if not answer.cancelled() and answer.exception() is None and answer.result():
        run.typed_through.append(time.monotonic() - sent)


def process_usage(pid: int) -> tuple[float, int]:
    """CPU seconds and resident bytes of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return cpu, pages * os.sysconf("SC_PAGE_SIZE")
