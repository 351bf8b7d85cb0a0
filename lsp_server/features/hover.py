"""textDocument/hover: what a function, method or class does, in a few
sentences from the model, under a heading that names it and says who spoke
(editors merge the hovers of all their language servers).

Only a definition's name, or a call or type that refers to a definition in
an open document, gets a hover; anywhere else the model is not asked.
Explanations are kept by the text of the definition (and the model that
wrote them): a definition that moved is explained at once, an edit inside
it asks again. A hover waits for the model up to a time budget; past it, it
shows nothing and the explanation goes on in the background, ready for the
next hover. The work runs at INTERACTIVE priority, so a suggestion the user
is typing towards preempts it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from dataclasses import dataclass
from functools import partial

from lsprotocol import types

from lsp_server import documents
from lsp_server.context import symbols
from lsp_server.context.layout import CHARS_PER_TOKEN
from lsp_server.inference.api import ChatMessage, EngineUnavailable, Generation, Sampling, Steering
from lsp_server.inference.scheduler import Cancelled, Priority
from lsp_server.session import RequestContext

log = logging.getLogger(__name__)

SYSTEM = (
    "You are Hearth, a coding assistant inside the user's editor. "
    "You explain code in plain, precise English."
)
ASK = (
    "In one short paragraph of two or three sentences, explain what the {kind} `{name}` "
    "below does: its purpose, its inputs, what it returns, and any side effects. "
    "No heading, no list, no code block.\n\n```{fence}\n{code}\n```"
)
# A sentence ends at . ! or ? after a word (not after the number of a list item).
_SENTENCE_END = re.compile(r"(?<=[^\d\s])[.!?](?=\s|$)")
PARAGRAPH = 80  # characters: a first paragraph this long is the explanation
SENTENCES = 3  # a hover says this much at most: longer answers cost seconds per sentence

Key = tuple[str, str, str]  # model, language, the code shown to it


@dataclass
class _Pending:
    task: asyncio.Task[str]
    waiters: int = 0


class Explanations:
    """Finished explanations (least recently used dropped past a byte bound),
    and the ones being written."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._done: OrderedDict[Key, str] = OrderedDict()
        self._bytes = 0
        self.pending: dict[Key, _Pending] = {}

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


def explained(text: str) -> bool:
    """For the engine's `stop_when`: the first paragraph, or SENTENCES
    sentences, are written. Models asked for a few sentences often go on
    with more, or with lists; a hover is the summary."""
    text = text.lstrip()
    end = text.find("\n\n")
    if end >= PARAGRAPH and not text.startswith("#"):
        return True
    return sum(1 for m in _SENTENCE_END.finditer(text) if m.end() < len(text)) >= SENTENCES


def tidy(generation: Generation) -> str:
    """The model's answer as hover prose: its first paragraph, no heading of
    its own, and no sentence left half-written."""
    text = re.sub(r"^#+ .*\n+", "", generation.text.strip()).strip()
    first = text.split("\n\n", 1)[0].strip()
    if len(first) >= PARAGRAPH:
        text = first
    ends = list(_SENTENCE_END.finditer(text))
    if ends and generation.stop_reason != "end":
        text = text[: ends[-1].end()]
    return text.rstrip(":")


def heading(definition_kind: str, name: str) -> str:
    return f"#### {definition_kind} `{name}` · Hearth"


async def _explain(
    ctx: RequestContext, explanations: Explanations, key: Key, target: symbols.Target
) -> str:
    """Ask the model about the code in `key`, and keep the answer for the next hover."""
    _, language, code = key
    settings = ctx.settings.hover
    definition = target.definition
    messages = [
        ChatMessage("system", SYSTEM),
        ChatMessage(
            "user",
            ASK.format(kind=definition.kind, name=definition.name, fence=language, code=code),
        ),
    ]
    sampling, steering = Sampling(max_tokens=settings.max_tokens), Steering(stop_when=explained)
    ticket = ctx.scheduler.submit(
        lambda engine, cancel: engine.chat(messages, sampling, cancel, steering=steering),
        priority=Priority.INTERACTIVE,
        uri=target.document.uri,
        purpose="hover",
        supersedes=("hover", target.document.uri),
    )
    generation = await ticket.result()
    text = tidy(generation)
    log.info(
        "hover %s: %d ms prompt, %d ms writing, %d tokens, %s",
        definition.name,
        generation.stats.prompt_seconds * 1000,
        generation.stats.decode_seconds * 1000,
        generation.stats.decoded_tokens,
        generation.stop_reason,
    )
    if text:
        explanations.put(key, text)
    return text


async def hover(ctx: RequestContext, explanations: Explanations) -> types.Hover | None:
    settings = ctx.settings.hover
    if not settings.enabled:
        return None
    document, cursor = ctx.document, ctx.at
    symbol = symbols.symbol_at(document, cursor.offset)
    if symbol is None:
        return None
    target = symbols.resolve(document, symbol, ctx.workspace.context_documents())
    if target is None:  # not in this file nor an open one: where the file imports it from
        target = ctx.workspace.imported_target(document, symbol.name)
    if target is None:
        return None
    name_range = _name_range(document, cursor, symbol, ctx.encoding)
    if not await ctx.model_loaded():
        return None
    engine = ctx.scheduler.engine
    syntax = target.document.syntax
    if engine is None or syntax is None:
        return None
    code = target.excerpt(int(settings.prompt_tokens * CHARS_PER_TOKEN))
    key = (engine.model_name, syntax.language, code)
    text = explanations.get(key)
    if text is None:
        text = await _wait_for_explanation(ctx, explanations, key, target)
    if not text:
        return None
    definition = target.definition
    return types.Hover(
        contents=types.MarkupContent(
            kind=types.MarkupKind.Markdown,
            value=f"{heading(definition.kind, definition.name)}\n\n{text}",
        ),
        range=name_range,
    )


async def _wait_for_explanation(
    ctx: RequestContext, explanations: Explanations, key: Key, target: symbols.Target
) -> str | None:
    """The explanation, if the model writes it within the time budget. A
    hover that is cancelled cancels it too, unless another hover waits for it."""
    pending = explanations.pending.get(key)
    if pending is None or pending.task.done():
        task = asyncio.create_task(_explain(ctx, explanations, key, target))
        pending = explanations.pending[key] = _Pending(task)
        task.add_done_callback(partial(_forget, explanations, key))
    timeout = ctx.settings.hover.timeout_ms / 1000
    pending.waiters += 1
    try:
        return await asyncio.wait_for(asyncio.shield(pending.task), timeout)
    except TimeoutError:
        log.info(  # by its name: code stays out of the log
            "hover %s: not ready in %.1f s, goes on in the background",
            target.definition.name,
            timeout,
        )
        return None
    except (Cancelled, EngineUnavailable) as reason:
        log.info("hover: no explanation (%s)", reason)
        return None
    except asyncio.CancelledError:
        if pending.waiters == 1:
            pending.task.cancel()
        raise
    finally:
        pending.waiters -= 1


def _forget(explanations: Explanations, key: Key, task: asyncio.Task[str]) -> None:
    pending = explanations.pending.get(key)
    if pending is not None and pending.task is task:
        del explanations.pending[key]
    if not task.cancelled():
        task.exception()  # read: a failed background explanation is logged, not raised


def _name_range(
    document: documents.Document,
    cursor: documents.TextPosition,
    symbol: symbols.Symbol,
    encoding: str,
) -> types.Range:
    """The range of the hovered name, which lies on the cursor's line."""
    syntax = document.syntax
    assert syntax is not None
    at, outline = syntax.byte_offset(cursor.offset), syntax.outline()
    before = len(outline.text(symbol.span[0], at))
    after = len(outline.text(at, symbol.span[1]))

    def moved(chars: int) -> types.Position:
        shifted = documents.TextPosition(cursor.offset + chars, cursor.line, cursor.column + chars)
        return documents.position_of(document.text, shifted, encoding)

    return types.Range(start=moved(-before), end=moved(after))
