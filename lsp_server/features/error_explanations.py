"""Explanations of errors: what is wrong and why, in two or three sentences,
for a diagnostic Hearth has seen (its own syntax errors, and every one a
code action request carried, whichever server reported it).

A hover over the diagnostic's range shows it (hover.py), written in the
background once the cursor rests there, as explanations of definitions
are; the action `Hearth: explain "..."` (offered with each fix) shows it
as a message, for editors whose hover is not at hand. Explanations are
kept by the code around the diagnostic and its message, with the others
(explanations.py): asked again only when either changes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from lsprotocol import converters, types
from pygls.exceptions import JsonRpcInvalidParams

from lsp_server.documents import Document, TextPosition
from lsp_server.features import code_chat, proposals
from lsp_server.features import explanations as model_words
from lsp_server.features.explanations import Explanations, Key, Question
from lsp_server.features.regions import region_for
from lsp_server.features.syntax_errors import SyntaxErrors
from lsp_server.inference.api import EngineUnavailable
from lsp_server.inference.scheduler import Cancelled
from lsp_server.layout import chars_for
from lsp_server.session import RESTING_S, Background, FeatureState, RequestContext
from lsp_server.text import first_line_shortened
from lsp_server.window import Window

COMMAND = "hearth.explainDiagnostic"
ASK = (
    "The code above has this problem, reported at the line `{line}`: {message}{source}. "
    "In two or three short sentences, say what is wrong and why, in plain words. "
    "No heading, no list, no code block."
)
MAX_SEEN = 200  # diagnostics kept per document: a file with more is not read one by one
_CONVERTER = converters.get_converter()
_EXPLAINED = (types.DiagnosticSeverity.Error, types.DiagnosticSeverity.Warning, None)


class SeenDiagnostics(FeatureState):
    """The diagnostics code action requests carried for one document, until
    it is edited (their ranges then move: the editor sends them again)."""

    def __init__(self, explanations: Explanations) -> None:
        self.explanations = explanations  # the server's, shared by all documents
        self.seen: list[types.Diagnostic] = []

    def saw(self, diagnostics: Sequence[types.Diagnostic]) -> None:
        for diagnostic in diagnostics:
            if diagnostic.severity in _EXPLAINED and diagnostic not in self.seen:
                self.seen.append(diagnostic)
        del self.seen[:-MAX_SEEN]

    def edited(self, document: Document) -> None:
        self.seen = []

    def close(self) -> None:
        self.seen = []

    def rested(self, ctx: RequestContext) -> Background | None:
        settings = ctx.settings.hover
        if not (settings.enabled and settings.read_ahead) or not at(ctx, ctx.at):
            return None
        return explain_ahead(ctx, self.explanations, RESTING_S)


def at(ctx: RequestContext, cursor: TextPosition) -> list[types.Diagnostic]:
    """The errors and warnings Hearth has seen whose range holds `cursor`."""
    session = ctx.session
    own = session.state(SyntaxErrors).published
    here = (cursor.line, cursor.column)
    found = []
    for diagnostic in [*session.state(SeenDiagnostics).seen, *own]:
        start, end = diagnostic.range.start, diagnostic.range.end
        # Columns are compared as the editor counts them: close enough to
        # tell whether the cursor is on the range's line and within it.
        within = (start.line, start.character) <= here <= (end.line, max(end.character, 1))
        if within and diagnostic not in found:
            found.append(diagnostic)
    return found


def key_of(ctx: RequestContext, diagnostic: types.Diagnostic) -> Key | None:
    """What the explanation of `diagnostic` is kept by: the code around it and its message."""
    engine, document = ctx.scheduler.engine, ctx.document
    if engine is None or document.language is None:
        return None
    code = _code(ctx, diagnostic)
    return engine.model_name, document.language, f"{code}\n\0{diagnostic.message}"


def _code(ctx: RequestContext, diagnostic: types.Diagnostic) -> str:
    region = region_for(ctx.document, diagnostic.range.start.line, diagnostic.range.end.line)
    code = proposals.dedented(region.text, proposals.common_indent(region.text))
    return code[: chars_for(ctx.settings.hover.prompt_tokens)]


def question(ctx: RequestContext, diagnostic: types.Diagnostic, key: Key) -> Question:
    _, language, _ = key
    lines = ctx.document.text.split("\n")
    line = diagnostic.range.start.line
    reported = lines[line].strip() if 0 <= line < len(lines) else ""
    source = " ".join(
        str(part) for part in (diagnostic.source, diagnostic.code) if part not in (None, "")
    )
    asked = ASK.format(
        line=reported, message=diagnostic.message.strip(), source=f" ({source})" if source else ""
    )
    messages = code_chat.about(language, _code(ctx, diagnostic), asked)
    return Question(messages, ctx.document.uri, "a diagnostic", kind="error")


def heading(diagnostic: types.Diagnostic) -> str:
    kind = "warning" if diagnostic.severity == types.DiagnosticSeverity.Warning else "error"
    said = first_line_shortened(diagnostic.message, 80).replace("`", "'")
    return f"#### {kind} `{said}` · Hearth"


async def explain_ahead(ctx: RequestContext, explanations: Explanations, rest_s: float) -> None:
    """Once the cursor has rested `rest_s`, explain the diagnostics at it in
    the background, one at a time; an edit to the document stops it."""
    if not await ctx.rested(rest_s):
        return
    version = ctx.document.version
    for diagnostic in at(ctx, ctx.at):
        if ctx.document.version != version or not ctx.model_ready:
            return
        key = key_of(ctx, diagnostic)
        if key is None or explanations.get(key) is not None:
            continue
        pending = model_words.start(
            ctx, explanations, key, question(ctx, diagnostic, key), background=True
        )
        with contextlib.suppress(Cancelled, EngineUnavailable):
            await asyncio.shield(pending.task)


def action(uri: str, diagnostic: types.Diagnostic, unstructured: Any) -> types.CodeAction:
    """`Hearth: explain "..."`: the command that shows the explanation as a message."""
    said = first_line_shortened(diagnostic.message, 60)
    title = f'Hearth: explain "{said}"'
    return types.CodeAction(
        title=title,
        kind=types.CodeActionKind.QuickFix,
        is_preferred=False,
        diagnostics=[diagnostic],
        command=types.Command(title=title, command=COMMAND, arguments=[uri, unstructured]),
    )


def arguments(args: tuple[Any, ...]) -> tuple[str, types.Diagnostic]:
    """The document and diagnostic of a `hearth.explainDiagnostic` call."""
    if len(args) != 2 or not isinstance(args[0], str):
        raise JsonRpcInvalidParams(f"{COMMAND} takes a document URI and a diagnostic, not {args!r}")
    try:
        return args[0], _CONVERTER.structure(args[1], types.Diagnostic)
    except Exception as error:  # anything else a client may send
        raise JsonRpcInvalidParams(f"{COMMAND}: a bad diagnostic {args[1]!r}") from error


async def explain(
    ctx: RequestContext, explanations: Explanations, window: Window, diagnostic: types.Diagnostic
) -> dict[str, Any]:
    """`hearth.explainDiagnostic`: the explanation, shown as a message and returned."""
    said = first_line_shortened(diagnostic.message, 60)
    key = key_of(ctx, diagnostic) if await ctx.model_loaded() else None
    if key is None:
        window.say(f'cannot explain "{said}": no model is loaded')
        return {"explanation": None}
    text = explanations.get(key)
    if text is None:
        pending = model_words.start(ctx, explanations, key, question(ctx, diagnostic, key))
        try:
            finished, text = await proposals.with_progress(
                window, "Hearth: explaining", asyncio.shield(pending.task)
            )
        except (Cancelled, EngineUnavailable) as error:
            window.say(f'cannot explain "{said}": {error}')
            return {"explanation": None}
        if not finished:
            return {"explanation": None, "cancelled": True}
    window.say(f'"{said}": {text}', types.MessageType.Info)
    return {"explanation": text}
