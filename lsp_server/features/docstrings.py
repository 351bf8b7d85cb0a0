"""Code actions "Generate docstring" and "Update docstring".

Offering one is cheap: the action names the definition and carries no edit;
the model is asked only when the editor resolves it (`codeAction/resolve`),
or at once for editors that cannot resolve edits. The parameters, the return
and the exceptions come from the code, so each parameter is documented and
none is invented; the model writes the summary and the descriptions. The
edit touches only the docstring, in the file's line endings, and is made only
if the file then parses no worse than before.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from lsp_server import documents
from lsp_server.context import symbols
from lsp_server.context.outline import Definition, Outline
from lsp_server.features import docstring_form as prompt
from lsp_server.features import docstring_style as style
from lsp_server.features.region_edits import versioned
from lsp_server.inference.api import ChatMessage, EngineUnavailable
from lsp_server.inference.scheduler import Cancelled, Priority
from lsp_server.layout import chars_for
from lsp_server.session import RequestContext
from lsp_server.settings import DocstringSettings
from lsp_server.window import Window

log = logging.getLogger(__name__)

KIND = types.CodeActionKind.RefactorRewrite
FEATURE = "docstrings"


class DocstringError(Exception):
    """No docstring could be made; the message says why, for the user."""


def _definition_at(outline: Outline, at: int) -> Definition | None:
    """The innermost definition around byte `at`."""
    around = [d for d in outline.definitions if d.start <= at < d.end]
    return around[-1] if around else None


def offered(settings: DocstringSettings, only: Sequence[str] | None) -> bool:
    """Whether a code action request (for the kinds `only`) gets the docstring action."""
    return settings.enabled and (not only or any(KIND.value.startswith(k) for k in only))


async def code_actions(ctx: RequestContext, window: Window) -> list[types.CodeAction] | None:
    """The action for the definition around the cursor (the range's start)."""
    document = ctx.document
    syntax = document.syntax
    if syntax is None:
        return None
    outline = syntax.outline()
    definition = _definition_at(outline, syntax.byte_offset(ctx.at.offset))
    if definition is None or definition.body_start is None:
        return None
    guard = ctx.session.begin(FEATURE)
    verb = "Update" if definition.doc is not None else "Generate"
    action = types.CodeAction(
        title=f"{verb} docstring for {definition.name} (Hearth)",
        kind=KIND,
        data={"uri": document.uri, "name": definition.name, "start": definition.start},
    )
    if not window.resolves_code_action_edits():
        action = await resolve(ctx, window, action)
        # Asked again meanwhile (the cursor moved on): that request answers.
        if action.edit is None or guard.superseded:
            return None
    return [action]


def action_uri(action: types.CodeAction) -> str:
    """The document of one of our actions, from the data it was offered with."""
    data: Any = action.data
    if not (
        isinstance(data, dict)
        and isinstance(data.get("uri"), str)
        and isinstance(data.get("name"), str)
        and isinstance(data.get("start"), int)
    ):
        raise JsonRpcInvalidParams("codeAction/resolve: not a Hearth docstring action")
    uri: str = data["uri"]
    return uri


async def resolve(
    ctx: RequestContext, window: Window, action: types.CodeAction
) -> types.CodeAction:
    """The action (checked by `action_uri`) with its edit, computed now;
    without one (and a message) if it failed."""
    data: Any = action.data
    try:
        action.edit = await docstring_edit(ctx, data["name"], data["start"])
    except DocstringError as error:
        window.say(str(error))
    return action


@dataclass(frozen=True)
class Written:
    """A docstring's content, before it is placed in the text."""

    name: str
    start: int  # byte offset of the definition when it was written
    facts: style.Facts
    prose: style.Prose


async def write(ctx: RequestContext, name: str, start: int) -> Written:
    """The model's prose for the docstring of the definition `name` that
    starts at byte `start` (or the one of that name nearest it)."""
    settings, document = ctx.settings.docstrings, ctx.document
    syntax = document.syntax
    if syntax is None:
        raise DocstringError(f"{document.uri}: no grammar for this language")
    outline = syntax.outline()
    definition = symbols.named(outline, name, start)
    if definition is None:
        raise DocstringError(f"{name} is no longer defined in {document.uri}")
    what = style.facts(syntax.language, syntax.tree().root_node, outline, definition)
    target = symbols.Target(document, outline, definition)
    code = target.excerpt(chars_for(settings.prompt_tokens))
    calls = prompt.call_sites(document, definition, ctx.workspace.context_documents())
    if not await ctx.model_loaded():
        raise DocstringError("no model is loaded")
    messages = prompt.first(definition, syntax.language, code, calls, what)
    deadline = asyncio.get_running_loop().time() + settings.timeout_ms / 1000
    # The Google style guide lets a summary that says what is returned stand
    # for the Returns section: one line less to write, and no repeat.
    summary_returns = syntax.language == "python" and settings.style == "google"
    lines = prompt.form(what, syntax.language)
    answer = await _ask(ctx, messages, lines, deadline, name, summary_returns)
    prose = prompt.parse_answer(answer, what)
    if prose is None:
        raise DocstringError(f"the model's answer for {name} had no summary; try again")
    if summary_returns and style.says_returned(prose.summary):
        what = dataclasses.replace(what, returns=False)
    asked = prompt.gaps(prose, what)
    if asked.parameters or asked.returns or asked.raises:
        # Once more for those, with the first answer in view.
        retold = ""
        with contextlib.suppress(DocstringError):
            messages = prompt.again(messages, answer, asked)
            retold = await _ask(ctx, messages, prompt.form(asked)[1:], deadline, name, False)
        prose = prompt.filled(prose, retold, asked)
    return Written(name, definition.start, what, prose)


async def _ask(
    ctx: RequestContext,
    messages: list[ChatMessage],
    lines: list[str],
    deadline: float,
    name: str,
    summary_returns: bool,
) -> str:
    """The model's answer to `messages`, the form's `lines` filled in, by
    `deadline` (`summary_returns`: see docstring_form.write_form)."""
    settings, uri = ctx.settings.docstrings, ctx.document.uri
    ticket = ctx.scheduler.submit(
        lambda engine, cancel: prompt.write_form(
            engine, cancel, messages, lines, settings.max_tokens, summary_returns
        ),
        priority=Priority.INTERACTIVE,
        uri=uri,
        purpose="docstring",
        supersedes=("docstring", uri, name),  # not another definition's
    )
    try:
        left = deadline - asyncio.get_running_loop().time()
        generation = await asyncio.wait_for(ticket.result(), max(0.0, left))
    except TimeoutError as error:
        raise DocstringError(
            f"the model did not finish the docstring of {name} within "
            f"docstrings.timeoutMs ({settings.timeout_ms} ms)"
        ) from error
    except (Cancelled, EngineUnavailable) as error:
        raise DocstringError(f"the docstring of {name} was not written: {error}") from error
    return generation.text


def text_edit(ctx: RequestContext, written: Written) -> types.TextEdit:
    """Where `written` goes in the document as it is now (it may have changed
    while the model wrote), as an edit that parses no worse."""
    document = ctx.document
    syntax = document.syntax
    assert syntax is not None
    outline = syntax.outline()
    definition = symbols.named(outline, written.name, written.start)
    if definition is None:
        raise DocstringError(f"{written.name} is no longer defined in {document.uri}")
    begin, end, text = placement(
        document.text,
        outline,
        definition,
        syntax.language,
        written.name,
        written.prose,
        written.facts,
        ctx.settings.docstrings.style,
    )
    if syntax.damage_with(begin, text, end - begin) > syntax.damage_with(begin, ""):
        raise DocstringError(
            f"the docstring of {written.name} would break the parse of {document.uri}"
        )
    encoding = ctx.encoding
    return types.TextEdit(
        range=types.Range(
            start=documents.position_of(document.text, _cursor(document.text, begin), encoding),
            end=documents.position_of(document.text, _cursor(document.text, end), encoding),
        ),
        new_text=text,
    )


async def docstring_edit(ctx: RequestContext, name: str, start: int) -> types.WorkspaceEdit:
    """The edit that writes (or rewrites) the docstring of one definition."""
    written = await write(ctx, name, start)
    return versioned(ctx.document, [text_edit(ctx, written)])


async def document_all(ctx: RequestContext, window: Window) -> dict[str, Any]:
    """`hearth.generateDocstrings`: a docstring for every definition in the
    document that has none, with progress the user can cancel; what was
    written up to a cancel is applied. Returns what was done."""
    document = ctx.document
    uri, syntax = document.uri, document.syntax
    if syntax is None:
        raise JsonRpcInvalidParams(f"{uri}: no grammar for this language, nothing to document")
    wanted = [
        (d.name, d.start)
        for d in syntax.outline().definitions
        if d.doc is None and d.body_start is not None
    ]
    token = await window.begin_progress("Hearth: writing docstrings", cancellable=True)
    stop = window.progress_cancelled(token) if token is not None else None
    written: list[Written] = []
    failed: list[str] = []
    cancelled = False
    for number, (name, start) in enumerate(wanted):
        if stop is not None and stop.done():
            cancelled = True
            break
        if token is not None:
            window.report_progress(
                token, f"{name} ({number + 1}/{len(wanted)})", number * 100 // len(wanted)
            )
        task = asyncio.ensure_future(write(ctx, name, start))
        try:
            waiting: set[asyncio.Future[Any]] = {task} if stop is None else {task, stop}
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not task.done():
                task.cancel()  # the user cancelled: the model stops at its next token
        if not task.done() or task.cancelled():
            cancelled = True
            break
        try:
            written.append(task.result())
        except DocstringError as error:
            log.info("docstrings %s: %s", uri, error)
            failed.append(name)
    edits: list[types.TextEdit] = []
    for one in written:
        try:
            edits.append(text_edit(ctx, one))
        except DocstringError as error:
            log.info("docstrings %s: %s", uri, error)
            failed.append(one.name)
    if edits:
        await window.apply_edit(versioned(document, edits), "Hearth: docstrings")
    summary = f"{len(edits)} docstrings written" + (", cancelled" if cancelled else "")
    if token is not None:
        window.end_progress(token, summary)
    return {"documented": len(edits), "failed": failed, "cancelled": cancelled}


def placement(
    text: str,
    outline: Outline,
    definition: Definition,
    language: str,
    name: str,
    prose: style.Prose,
    what: style.Facts,
    python_style: str,
) -> tuple[int, int, str]:
    """Where the docstring goes in `text` (character offsets: the span it
    replaces, empty for a new one) and its text."""
    newline = "\r\n" if "\r\n" in text else "\n"

    def chars(byte: int) -> int:
        return len(outline.text(0, byte))

    assert definition.body_start is not None
    if language == "python":
        body = chars(definition.body_start)
        line_start = text.rfind("\n", 0, body) + 1
        if text[line_start:body].strip():
            raise DocstringError(f"{name} has its body on the line of its signature")
        indent = text[line_start:body]
        lines = style.python_docstring(prose, what, python_style, indent)
        doc = definition.doc
        if doc is not None and doc[1] > definition.body_start:  # a docstring to replace
            return chars(doc[0]), chars(doc[1]), newline.join(lines)
        return line_start, line_start, newline.join(lines) + newline
    # The start of its line: above `export`, `pub` and the like too.
    start = text.rfind("\n", 0, chars(definition.start)) + 1
    indent = re.match(r"[ \t]*", text[start:]).group()  # type: ignore[union-attr]
    lines = style.comment_docstring(language, definition.name, prose, what, indent)
    if definition.doc is not None and definition.doc[1] <= definition.start:
        begin, end = chars(definition.doc[0]), chars(definition.doc[1])
        while end > begin and text[end - 1] in "\r\n":
            end -= 1  # a `///` comment node holds its line break; the break stays
        return begin, end, newline.join(lines)
    # Above the attributes that belong to it (Rust's #[...]).
    while True:
        above = text.rfind("\n", 0, max(0, start - 1)) + 1
        if start == 0 or not text[above:start].strip().startswith("#["):
            break
        start = above
    return start, start, newline.join(lines) + newline


def _cursor(text: str, offset: int) -> documents.TextPosition:
    line_start = max(text.rfind("\n", 0, offset), text.rfind("\r", 0, offset)) + 1
    line = len(re.findall(r"\r\n|\r|\n", text[:line_start]))
    return documents.TextPosition(offset, line, offset - line_start)
