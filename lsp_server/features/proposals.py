"""A region rewritten on request, checked, as the edit an editor applies:
the one path of fixes, edits by instruction and fixes of failures.

The model rewrites the region with the old text as its draft (rewriting.py)
on the scheduler's worker. Its answer is checked on the event loop, where
the document lives (region_edits.refusal: it changes something, parses no
worse, compiles); a refused answer is asked for once more with the reason.
What passes becomes an edit of the changed lines for the document's version.
Writing shows progress the user can cancel; cancelling stops the model at
its next pass.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

from lsprotocol import types

from lsp_server.documents import Document
from lsp_server.features import region_edits, rewriting
from lsp_server.features.regions import Region, lines_of
from lsp_server.features.rewriting import Request
from lsp_server.inference.api import Engine, EngineUnavailable, Generation
from lsp_server.inference.cancel import CancelToken
from lsp_server.inference.scheduler import Cancelled, Priority
from lsp_server.layout import DENSE_CHARS_PER_TOKEN
from lsp_server.session import RequestContext
from lsp_server.window import Window

log = logging.getLogger(__name__)

TRIES = 2  # a refused answer is asked for once more, told why
UNCHANGED = region_edits.UNCHANGED
T = TypeVar("T")
Ask = Callable[[Request], Awaitable[Generation]]  # the model's answer to one request


class NotWritten(Exception):
    """No checked rewrite was written; the message says why, for the user."""


async def propose(
    document: Document,
    region: Region,
    request: Request,
    ask: Ask,
    known: str | None = None,
    confined: bool = False,
) -> str:
    """The region rewritten as `request` says and checked: its new text;
    `known`, a rewrite found without the model (syntax_repairs.py), when it
    passes the checks. `confined`: a function's rewrite may not write code
    before its first line (a fix: the small model put `from math import
    ceil` above the function it was to fix)."""
    if known is not None and region_edits.refusal(document, region, known) is None:
        return known
    refused = None
    for _ in range(TRIES):
        asked = request if refused is None else _again(request, refused)
        answer = await ask(asked)
        written = rewriting.code_of(answer.text, region.text, bool(asked.reason))
        written = without_copied_head(written, document, region, asked.before)
        code = indented(written, common_indent(region.text))
        new = region_edits.in_line_breaks_of(region, code)
        refused = region_edits.refusal(document, region, new)
        if refused is None and confined and region.name and _writes_ahead(region, new):
            refused = "it writes code before the function's first line"
        if refused is None:
            return new
        log.info("rewrite of %s:%d refused: %s", document.uri, region.first + 1, refused)
    raise NotWritten(f"the model's answer was refused twice ({refused})")


def without_copied_head(answer: str, document: Document, region: Region, shown: str = "") -> str:
    """`answer` without the lines the model wrote ahead of the region's
    first line that it copied from the rest of the file or from the code it
    was `shown` for reference (used_code.py): the imports, the class line and
    the elided members (`...`) written before the method it was asked to
    write again. Lines new to the file, such as an import an edit needs,
    stay. What is left starts at the margin, as the region was shown: a
    method written inside the class line it copied is a level deeper."""
    first = _first_start(region.text)
    lines = lines_of(answer)
    around = lines_of(document.text)
    copied = around[: region.first] + around[region.last + 1 :] + lines_of(shown)
    elsewhere = {line.strip() for line in copied}
    head = 0
    while head < len(lines) and _start(lines[head]) != first:
        if lines[head].strip() and lines[head].strip() not in elsewhere:
            return answer  # something of the model's own before the first line
        head += 1
    if head in (0, len(lines)):
        return answer  # nothing ahead, or no line starts as the region does
    kept = lines[head]
    return dedented("".join(lines[head:]), kept[: len(kept) - len(kept.lstrip(" \t"))])


def _writes_ahead(region: Region, new: str) -> bool:
    """Whether `new` has code before a line that starts as the region's first."""
    return _first_start(new) != _first_start(region.text)


def _first_start(text: str) -> str:
    """How the first line of `text` with code starts (`_start`)."""
    return next((_start(line) for line in lines_of(text) if line.strip()), "")


def _start(line: str) -> str:
    """How a line starts, for finding the region's first line in an answer
    that may have changed it: up to its first bracket (`def f`, `x = g`)."""
    return line.strip().split("(", 1)[0].split("[", 1)[0]


def common_indent(text: str) -> str:
    """The indentation every line of `text` with code shares: taken off what
    the model is shown (selected lines of a body, shown indented, were
    rewritten by the small model as a new function) and put back on its answer."""
    lines = [line for line in lines_of(text) if line.strip()]
    if not lines:
        return ""
    indents = [line[: len(line) - len(line.lstrip(" \t"))] for line in lines]
    # The prefix shared by all is the one shared by the first and last in order.
    low, high = min(indents), max(indents)
    same = next((i for i, (a, b) in enumerate(zip(low, high, strict=False)) if a != b), len(low))
    return low[:same]


def dedented(text: str, indent: str) -> str:
    """`text` with `indent` taken off the start of each line that has it."""
    return "".join(line.removeprefix(indent) for line in lines_of(text))


def indented(text: str, indent: str) -> str:
    """`text` with `indent` put before each line with code."""
    if not indent:
        return text
    return "".join(indent + line if line.strip() else line for line in lines_of(text))


def _again(request: Request, refused: str) -> Request:
    """`request` asked once more, told why its first answer was refused."""
    if refused == UNCHANGED:  # the model saw nothing wrong: say that there is
        told = request.told(
            f"A first answer was refused because {refused}, yet the code above has the "
            "problem. Find the mistake and write the code again, corrected."
        )
        if request.reason_when_unchanged:
            return replace(told, reason=request.reason_when_unchanged)
        return told
    return request.told(f"A first answer was refused because {refused}. Write the code again.")


async def edit(
    ctx: RequestContext,
    region: Region,
    request: Request,
    ask: Ask,
    opened: bool = True,
    known: str | None = None,
    confined: bool = False,
) -> types.WorkspaceEdit:
    """The checked rewrite of `region` (`known`, if it passes the checks) as
    an edit of the document's current version (of none for a file the
    editor has not `opened`), only the changed lines."""
    document = ctx.document
    if not region.text.strip():
        raise NotWritten("there is no code there")
    if not await ctx.model_loaded():
        raise NotWritten("no model is loaded")
    version = document.version
    new = await propose(document, region, request, ask, known, confined)
    if ctx.document is not document or document.version != version:
        raise NotWritten("the document changed while the model wrote; ask again")
    edits = region_edits.line_edits(document, region, new, ctx.encoding)
    return region_edits.versioned(document, edits, opened)


def asker(
    ctx: RequestContext,
    region: Region,
    *,
    purpose: str,
    timeout_ms: int,
    setting: str,
    growth: float = 1.5,
) -> Ask:
    """How `region` is asked of the model on the scheduler's worker:
    superseding an earlier rewrite for `purpose` in the same document,
    cancelled with the awaiting task, given up after `timeout_ms` (the
    setting named `setting`). The answer may run to `growth` times the
    region and a little more."""
    uri = ctx.document.uri
    fence = ctx.document.language or ""
    shown = dedented(region.text, common_indent(region.text))
    expected = int(len(shown) / DENSE_CHARS_PER_TOKEN)

    def work(request: Request) -> Callable[[Engine, CancelToken], Generation]:
        def written(engine: Engine, cancel: CancelToken) -> Generation:
            most = max(64, engine.context_size - expected - 512)
            wanted = int(expected * growth) + 64
            if request.reason:
                wanted += rewriting.REASON_TOKENS
            return rewriting.rewrite(engine, cancel, fence, shown, request, min(most, wanted))

        return written

    async def ask(request: Request) -> Generation:
        ticket = ctx.scheduler.submit(
            work(request),
            priority=Priority.INTERACTIVE,
            uri=uri,
            version=ctx.document.version,
            purpose=purpose,
            supersedes=(purpose, uri),
        )
        try:
            return await asyncio.wait_for(ticket.result(), timeout_ms / 1000)
        except TimeoutError as error:
            raise NotWritten(
                f"the model did not finish within {setting} ({timeout_ms} ms)"
            ) from error
        except Cancelled as error:
            raise NotWritten(f"it was not written: {error}") from error
        except EngineUnavailable as error:
            raise NotWritten(str(error)) from error
        except ValueError as error:  # the region and its answer do not fit the context
            raise NotWritten(f"{error} (model.contextSize)") from error

    return ask


async def with_progress(window: Window, title: str, work: Awaitable[T]) -> tuple[bool, T | None]:
    """`work` run under a progress bar the user can cancel: (True, its
    result), or (False, None) when cancelled, the work then stopped."""
    token = await window.begin_progress(title, cancellable=True)
    stop = window.progress_cancelled(token) if token is not None else None
    task = asyncio.ensure_future(work)
    try:
        waiting: set[asyncio.Future[Any]] = {task} if stop is None else {task, stop}
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():  # cancelled from the progress bar: `finally` stops it
            return False, None
        return True, task.result()
    finally:
        if not task.done():
            task.cancel()  # the model stops at its next pass
        if token is not None:
            window.end_progress(token, "done")
