"""textDocument/hover: what a function, method or class is and does, under
a heading that names it and says who spoke (editors merge the hovers of all
their language servers).

Over an error or warning Hearth has seen (error_explanations.py), the
hover says what is wrong and why. Otherwise only a definition's name, or a
call or type that refers to a definition in
an open document (or, with the workspace index, the file it is imported
from), gets a hover; anywhere else the model is not asked. What the code
says shows at once: the signature, the first paragraph of its doc, and
where it is defined when that is another file. The model's explanation
(features/explanations.py) comes below it, if it is written within
`hover.timeoutMs`; past that, the hover shows the sentences written so far
and says the rest is coming, and the next hover shows it. The work runs at
INTERACTIVE priority, so a suggestion the user is typing towards preempts it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import textwrap
from collections.abc import Callable

from lsprotocol import types

from lsp_server import documents
from lsp_server.context import symbols
from lsp_server.features import error_explanations
from lsp_server.features import explanations as model_words
from lsp_server.features.explanations import Explanations
from lsp_server.inference.api import EngineUnavailable
from lsp_server.inference.scheduler import Cancelled
from lsp_server.session import RequestContext

log = logging.getLogger(__name__)

FEATURE = "hover"
WRITING = "_Hearth is writing an explanation: hover again in a moment._"
LOADING = "_The model is loading: hover again for Hearth's explanation._"
# The marks around a doc comment's lines: quotes, /** * */, ///, //, #.
_DOC_MARKS = re.compile(
    r"""^\s*(?:[rRuUbB]{0,2}("{3}|'{3}|"|')|/\*\*?|\*/|\*(?!\*)|//[/!]?|#)?\s?"""
)
_DOC_END = re.compile(r"""\s*("{3}|'{3}|\*/|"|')\s*$""")


def heading(definition_kind: str, name: str) -> str:
    return f"#### {definition_kind} `{name}` · Hearth"


def doc_paragraph(doc: str) -> str:
    """The first paragraph of a doc comment or docstring, without its marks,
    as one line (a tag line such as `@param` ends it too)."""
    kept: list[str] = []
    for raw in doc.strip().split("\n"):
        line = _DOC_END.sub("", _DOC_MARKS.sub("", raw, count=1)).strip()
        if not line or line.startswith("@"):
            if kept:
                break
            continue
        kept.append(line)
    return " ".join(kept)


def known(target: symbols.Target, language: str, where: str | None) -> list[str]:
    """What the code says of `target`, as Markdown paragraphs."""
    outline, definition = target.outline, target.definition
    signature = textwrap.dedent(outline.signature(definition)).strip()
    parts = [f"```{language}\n{signature}\n```"]
    if definition.doc is not None:
        doc = doc_paragraph(outline.text(*definition.doc))
        if doc:
            parts.append(doc)
    if where is not None:
        line = outline.source.count(b"\n", 0, definition.start) + 1
        parts.append(f"Defined in `{where}:{line}`")
    return parts


async def hover(
    ctx: RequestContext, explanations: Explanations, markdown: bool = True
) -> types.Hover | None:
    settings = ctx.settings.hover
    if not settings.enabled:
        return None
    guard = ctx.session.begin(FEATURE)  # a newer hover, or an edit, makes this one stale
    document, cursor = ctx.document, ctx.at
    errors = error_explanations.at(ctx, cursor)
    if errors:  # what is wrong here comes before what the code is
        diagnostic = errors[0]
        said = await explanation(
            ctx,
            explanations,
            lambda: error_explanations.key_of(ctx, diagnostic),
            lambda key: error_explanations.question(ctx, diagnostic, key),
        )
        if said and not guard.stale:
            parts = [error_explanations.heading(diagnostic), *said]
            return _shown(parts, markdown, diagnostic.range)
    symbol = symbols.symbol_at(document, cursor.offset)
    if symbol is None:
        return None
    target = symbols.resolve(document, symbol, ctx.workspace.context_documents())
    if target is None:  # not in this file nor an open one: where the file imports it from
        target = ctx.workspace.imported_target(document, symbol.name)
    syntax = target.document.syntax if target is not None else None
    if target is None or syntax is None:
        return None
    elsewhere = target.document.uri != document.uri
    where = ctx.workspace.relative(target.document.uri) if elsewhere else None
    *code, location = [*known(target, syntax.language, where), ""]
    definition = target.definition
    parts = [heading(definition.kind, definition.name), *code]
    parts += await _explanation(ctx, explanations, target)
    if guard.stale:
        return None  # its range is in text the editor no longer shows
    parts += [location] if location else []
    return _shown(parts, markdown, _name_range(document, cursor, symbol, ctx.encoding))


def _shown(parts: list[str], markdown: bool, where: types.Range) -> types.Hover:
    kind = types.MarkupKind.Markdown if markdown else types.MarkupKind.PlainText
    value = "\n\n".join(parts if markdown else [plain(part) for part in parts])
    return types.Hover(contents=types.MarkupContent(kind=kind, value=value), range=where)


def plain(markdown: str) -> str:
    """One of the hover's Markdown paragraphs as plain text: no heading marks,
    code fences, backquotes or emphasis."""
    if markdown.startswith("```"):
        return "\n".join(markdown.split("\n")[1:-1])
    text = markdown.removeprefix("#### ")
    if text.startswith("_") and text.endswith("_"):
        text = text[1:-1]
    return text.replace("`", "")


async def _explanation(
    ctx: RequestContext, explanations: Explanations, target: symbols.Target
) -> list[str]:
    """The model's explanation of `target` (see `explanation`)."""

    return await explanation(
        ctx,
        explanations,
        lambda: model_words.key_of(ctx, target),
        lambda key: model_words.about_definition(key, target),
    )


async def explanation(
    ctx: RequestContext,
    explanations: Explanations,
    key_of: Callable[[], model_words.Key | None],
    question: Callable[[model_words.Key], model_words.Question],
) -> list[str]:
    """The model's explanation kept by `key_of()` (known once a model is
    loaded: it is part of the key), asked with `question`, if it is
    written within `hover.timeoutMs`; else what is written so far and a line
    saying the rest is coming. A hover that is cancelled cancels it too,
    unless something else waits for it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.settings.hover.timeout_ms / 1000
    # Not loaded yet (or not even started, right after initialize): wait for
    # it within the same limit. A wait of 0 would time out at once, so none.
    if not ctx.model_ready and not await ctx.model_loaded(max(0.0, deadline - loop.time())):
        return [LOADING] if ctx.model_loading else []
    key = key_of()
    if key is None:
        return []
    text = explanations.get(key)
    if text is not None:
        return [text] if text else []
    asked = question(key)
    earlier = explanations.pending.get(key)
    ahead = earlier is not None and earlier.background and not earlier.task.done()
    pending = model_words.start(ctx, explanations, key, asked)
    pending.waiters += 1
    try:
        text = await asyncio.wait_for(
            asyncio.shield(pending.task), max(0.0, deadline - loop.time())
        )
    except TimeoutError:
        log.info(  # by its name: code stays out of the log
            "hover %s: explanation not ready in %d ms, goes on in the background",
            asked.label,
            ctx.settings.hover.timeout_ms,
        )
        so_far = model_words.written_so_far(pending)
        return [so_far, WRITING] if so_far else [WRITING]
    except Cancelled as reason:
        if not ahead:
            log.info("hover: no explanation (%s)", reason)
            return []
        text = None  # read ahead, and given up for newer work there: asked anew below
    except EngineUnavailable as reason:
        log.info("hover: no explanation (%s)", reason)
        return []
    except asyncio.CancelledError:
        if pending.waiters == 1 and not pending.background:
            pending.task.cancel()
        raise
    finally:
        pending.waiters -= 1
    if text is None:
        return await explanation(ctx, explanations, key_of, question)
    return [text] if text else []


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
