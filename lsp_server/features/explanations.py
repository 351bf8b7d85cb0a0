"""The model's explanations of definitions, for hovers: asked for, kept,
shown while being written, and read ahead.

Explanations are kept by the text of the definition (and the model that
wrote them): a definition that moved is explained at once, an edit inside it
asks again, and edits elsewhere in the file keep it. One being written is a
`Draft` the engine thread fills token by token, so a hover that comes before
the end shows the sentences written so far. When the cursor rests, the
definitions the user is likely to hover next (the function around the
cursor, those called on its line) are explained in the background, at the
lowest priority: any typing preempts that work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import partial

from lsp_server.context import symbols
from lsp_server.features import code_chat
from lsp_server.inference.api import (
    ChatMessage,
    EngineUnavailable,
    Generation,
    Sampling,
    Steering,
)
from lsp_server.inference.scheduler import Cancelled, Priority
from lsp_server.layout import chars_for
from lsp_server.session import RESTING_S, Background, FeatureState, RequestContext

log = logging.getLogger(__name__)

ASK = (
    "In two or three short sentences, say what the {kind} `{name}` above does and why one "
    "would call it: its purpose and result, not a walk through its lines. "
    "No heading, no list, no code block."
)
PARAGRAPH = 80  # characters: a first paragraph this long is the explanation
SENTENCES = 3  # a hover says this much at most: longer answers cost seconds per sentence
READ_AHEAD = 3  # definitions explained ahead when the cursor rests

Key = tuple[str, str, str]  # model, language, the code shown to it


@dataclass
class Draft:
    """An explanation being written: the engine thread sets `text` after each token."""

    text: str = ""


@dataclass
class _Pending:
    task: asyncio.Task[str]
    draft: Draft
    background: bool  # read ahead: no hover's cancel stops it
    waiters: int = 0


@dataclass
class Explanations:
    """Finished explanations (least recently used dropped past a byte bound),
    and the ones being written."""

    max_bytes: int
    _done: OrderedDict[Key, str] = field(default_factory=OrderedDict)
    _bytes: int = 0
    pending: dict[Key, _Pending] = field(default_factory=dict)

    def get(self, key: Key) -> str | None:
        text = self._done.get(key)
        if text is not None:
            self._done.move_to_end(key)
        return text

    def put(self, key: Key, text: str) -> None:
        if key in self._done:
            return
        self._done[key] = text
        self._bytes += _size(key, text)
        self.trim()

    def trim(self) -> None:
        """Drop the least recently used until within `max_bytes`."""
        while self._bytes > self.max_bytes and self._done:
            old_key, old_text = self._done.popitem(last=False)
            self._bytes -= _size(old_key, old_text)

    def __len__(self) -> int:
        return len(self._done)


def _size(key: Key, text: str) -> int:
    return sum(len(part.encode("utf-8", "surrogatepass")) for part in (*key, text))


def key_of(ctx: RequestContext, target: symbols.Target) -> Key | None:
    """What the explanation of `target` is kept by; None without a model or grammar."""
    engine, syntax = ctx.scheduler.engine, target.document.syntax
    if engine is None or syntax is None:
        return None
    code = target.excerpt(chars_for(ctx.settings.hover.prompt_tokens))
    return engine.model_name, syntax.language, code


def explained(text: str) -> bool:
    """For the engine's `stop_when`: the first paragraph, or SENTENCES
    sentences, are written. Models asked for a few sentences often go on
    with more, or with lists; a hover is the summary."""
    text = text.lstrip()
    end = text.find("\n\n")
    if end >= PARAGRAPH and not text.startswith("#"):
        return True
    return code_chat.sentences_ended(text) >= SENTENCES


def tidy(text: str, finished: bool) -> str:
    """The model's answer as hover prose: its first paragraph, no heading of
    its own, and (unless it ended by itself) no sentence left half-written."""
    text = re.sub(r"^#+ .*\n+", "", text.strip()).strip()
    first = text.split("\n\n", 1)[0].strip()
    if len(first) >= PARAGRAPH:
        text = first
    ends = list(code_chat.SENTENCE_END.finditer(text))
    if not finished:
        text = text[: ends[-1].end()] if ends else ""
    return text.rstrip(":")


def written_so_far(pending: _Pending) -> str:
    """The whole sentences of an explanation still being written."""
    return tidy(pending.draft.text, finished=False)


@dataclass(frozen=True)
class Question:
    """What the model is asked for an explanation, and of which document."""

    messages: list[ChatMessage]
    uri: str
    label: str  # for the log: a name, never code
    # Read ahead, one explanation of this kind replaces the last one's work
    # in the document; other kinds are written alongside.
    kind: str = "definition"


def about_definition(key: Key, target: symbols.Target) -> Question:
    """The question that explains `target`, whose code is in `key`."""
    _, language, code = key
    definition = target.definition
    ask = ASK.format(kind=definition.kind, name=definition.name)
    return Question(code_chat.about(language, code, ask), target.document.uri, definition.name)


def start(
    ctx: RequestContext,
    explanations: Explanations,
    key: Key,
    question: Question,
    background: bool = False,
) -> _Pending:
    """The explanation `question` asks for being written: the one under way, else a new one."""
    pending = explanations.pending.get(key)
    if pending is not None and not pending.task.done():
        pending.background = pending.background and background
        return pending
    draft = Draft()
    task = asyncio.create_task(_explain(ctx, explanations, key, question, draft, background))
    pending = explanations.pending[key] = _Pending(task, draft, background)
    task.add_done_callback(partial(_forget, explanations, key))
    return pending


async def _explain(
    ctx: RequestContext,
    explanations: Explanations,
    key: Key,
    question: Question,
    draft: Draft,
    background: bool,
) -> str:
    """Ask the model `question`, and keep the answer for the next hover."""

    def stop_when(text: str) -> bool:  # on the engine's thread: a str is set whole
        draft.text = text
        return explained(text)

    sampling = Sampling(max_tokens=ctx.settings.hover.max_tokens)
    steering = Steering(stop_when=stop_when)
    ticket = ctx.scheduler.submit(
        lambda engine, cancel: engine.chat(question.messages, sampling, cancel, steering=steering),
        priority=Priority.BACKGROUND if background else Priority.INTERACTIVE,
        uri=question.uri,
        purpose="explanation ahead" if background else "hover",
        # A new hover replaces the last one's work; reading ahead never cancels a hover's.
        supersedes=(
            f"{question.kind} explanation ahead" if background else "hover",
            question.uri,
        ),
    )
    generation: Generation = await ticket.result()
    text = tidy(generation.text, finished=generation.stop_reason == "end")
    log.info(
        "explanation of %s%s: %d ms prompt, %d ms writing, %d tokens, %s",
        question.label,
        " (ahead)" if background else "",
        generation.stats.prompt_seconds * 1000,
        generation.stats.decode_seconds * 1000,
        generation.stats.decoded_tokens,
        generation.stop_reason,
    )
    if text:
        explanations.put(key, text)
    return text


def _forget(explanations: Explanations, key: Key, task: asyncio.Task[str]) -> None:
    pending = explanations.pending.get(key)
    if pending is not None and pending.task is task:
        del explanations.pending[key]
    if not task.cancelled():
        task.exception()  # read: a failed background explanation is logged, not raised


class ExplainingAhead(FeatureState):
    """Explanations in one document: where the cursor rests, those the user
    is likely to hover next are written in the background (`read_ahead`)."""

    def __init__(self, explanations: Explanations) -> None:
        self.explanations = explanations  # the server's, shared by all documents

    def rested(self, ctx: RequestContext) -> Background | None:
        settings = ctx.settings.hover
        if not (settings.enabled and settings.read_ahead):
            return None
        return read_ahead(ctx, self.explanations, RESTING_S)


async def read_ahead(ctx: RequestContext, explanations: Explanations, rest_s: float) -> None:
    """Once the cursor has rested `rest_s`, explain in the background what
    the user is likely to hover next, one definition at a time; an edit to
    the document stops it."""
    if not await ctx.rested(rest_s):
        return
    version = ctx.document.version
    for target in likely_hovered(ctx)[:READ_AHEAD]:
        if ctx.document.version != version or not ctx.model_ready:
            return  # edited while an earlier one was explained
        key = key_of(ctx, target)
        if key is None or explanations.get(key) is not None:
            continue
        question = about_definition(key, target)
        pending = start(ctx, explanations, key, question, background=True)
        with contextlib.suppress(Cancelled, EngineUnavailable):
            await asyncio.shield(pending.task)


def likely_hovered(ctx: RequestContext) -> list[symbols.Target]:
    """The definitions the user may hover from where the cursor rests: those
    called on its line, then the function or method around it."""
    document = ctx.document
    syntax = document.syntax
    if syntax is None:
        return []
    outline = syntax.outline()
    line_start = ctx.at.offset - ctx.at.column
    line_end = document.text.find("\n", ctx.at.offset)
    line_end = len(document.text) if line_end < 0 else line_end
    found: dict[tuple[str, int], symbols.Target] = {}
    others = ctx.workspace.context_documents()
    for symbol in symbols.references_between(document, line_start, line_end):
        target = symbols.resolve(document, symbol, others) or ctx.workspace.imported_target(
            document, symbol.name
        )
        if target is not None and target.definition.kind != "class":
            found.setdefault((target.document.uri, target.definition.start), target)
    at = syntax.byte_offset(ctx.at.offset)
    around = [d for d in outline.definitions if d.kind != "class" and d.contains(at)]
    if around:
        enclosing = symbols.Target(document, outline, around[-1])
        found.setdefault((document.uri, enclosing.definition.start), enclosing)
    return list(found.values())
