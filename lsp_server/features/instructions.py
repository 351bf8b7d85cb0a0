"""Edits by instruction: `hearth.edit` rewrites a selection, or the
definition around the cursor, as the user says in plain words ("use
pathlib", "add type hints", "raise ValueError on a negative amount").

The edit goes the way a fix does (proposals.py): the model rewrites the
region with the old text as its draft, the answer is checked, and what
passes becomes an edit of the changed lines for the document's version.
It is returned, not applied: the editor shows the change and applies it
when the user accepts (one undo step), or drops it. An editor whose buffer
moved on since refuses the versioned edit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lsprotocol import converters, types
from pygls.exceptions import JsonRpcInvalidParams

from lsp_server.features import proposals
from lsp_server.features.proposals import NotWritten
from lsp_server.features.regions import Region, region_for, selected
from lsp_server.features.rewriting import Request
from lsp_server.session import RequestContext
from lsp_server.window import Window

COMMAND = "hearth.edit"
MAX_INSTRUCTION_CHARS = 2000
MAX_SELECTED_LINES = 200  # more is slow to rewrite on a CPU, and rarely one change
_CONVERTER = converters.get_converter()


def arguments(args: tuple[Any, ...]) -> tuple[str, types.Range, str]:
    """The document, range and instruction of a `hearth.edit` call: three
    arguments, or one object with `uri`, `range` and `instruction`."""
    if len(args) == 1 and isinstance(args[0], Mapping):
        given = args[0]
        args = (given.get("uri"), given.get("range"), given.get("instruction"))
    if len(args) != 3:
        raise JsonRpcInvalidParams(
            f"{COMMAND} takes a document URI, a range and an instruction, not {args!r}"
        )
    uri, asked, instruction = args
    if not isinstance(uri, str):
        raise JsonRpcInvalidParams(f"{COMMAND}: the document must be a URI, not {uri!r}")
    try:
        selection = _CONVERTER.structure(asked, types.Range)
    except Exception as error:  # anything else a client may send
        raise JsonRpcInvalidParams(f"{COMMAND}: a bad range {asked!r}") from error
    if not isinstance(instruction, str) or not instruction.strip():
        raise JsonRpcInvalidParams(f"{COMMAND}: say what to change (an empty instruction)")
    if len(instruction) > MAX_INSTRUCTION_CHARS:
        raise JsonRpcInvalidParams(
            f"{COMMAND}: an instruction of at most {MAX_INSTRUCTION_CHARS} characters"
        )
    return uri, selection, instruction.strip()


def region_of(ctx: RequestContext, selection: types.Range) -> Region:
    """The lines a selection covers (one that ends at a line's start leaves
    that line out); for an empty selection, the definition around it."""
    start, end = selection.start, selection.end
    if (start.line, start.character) > (end.line, end.character):
        start, end = end, start
    if start == end:
        return region_for(ctx.document, start.line, start.line)
    last = end.line - 1 if end.character == 0 and end.line > start.line else end.line
    if last - start.line + 1 > MAX_SELECTED_LINES:
        raise NotWritten(f"select at most {MAX_SELECTED_LINES} lines to edit at once")
    return selected(ctx.document, start.line, last)


def request_for(instruction: str) -> Request:
    """What the model is asked."""
    return Request(
        f"Rewrite the code above: {instruction}\n"
        "Change only what this needs; keep everything else exactly as it is."
    )


async def propose(
    ctx: RequestContext, window: Window, selection: types.Range, instruction: str
) -> dict[str, Any]:
    """`hearth.edit`: the proposed edit (not applied) and the lines it
    rewrites, or why there is none; written with progress the user can cancel."""
    if ctx.document.syntax is None:
        raise JsonRpcInvalidParams(f"{ctx.document.uri}: no grammar for this language")
    try:
        region = region_of(ctx, selection)
        timeout_ms = ctx.settings.edits.timeout_ms
        ask = proposals.asker(
            ctx,
            region,
            purpose="edit",
            timeout_ms=timeout_ms,
            setting="edits.timeoutMs",
            growth=2.0,
        )
        request = request_for(instruction)
        finished, edit = await proposals.with_progress(
            window, "Hearth: editing", proposals.edit(ctx, region, request, ask)
        )
    except NotWritten as error:
        message = f"no edit was written: {error}"
        window.say(message)
        return {"edit": None, "message": message, "cancelled": False}
    return {
        "edit": _CONVERTER.unstructure(edit) if edit is not None else None,
        "lines": [region.first, region.last],
        "version": ctx.document.version,
        "cancelled": not finished,
    }
