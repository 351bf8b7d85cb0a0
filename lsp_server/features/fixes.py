"""Quick fixes: "Hearth: fix ..." on any error or warning, from any source.

Offering one is free: `textDocument/codeAction` answers at once with an
action for each error or warning in its context that overlaps the range
(Pyright's, ruff's, tsc's, Hearth's own), the diagnostic attached and no
edit. The model is asked when the editor resolves the action: it rewrites
the region around the diagnostic (regions.py) with the old region as its
draft (rewriting.py), told the diagnostic's message, source, code and
related information. The answer is checked, asked once more with the
reason if it fails, and becomes an edit of the changed lines for the
document's version (proposals.py, the path edits by instruction share), or
a message that no fix was found.

Editors that cannot resolve an action's edit (eglot 1.9) get it in the
request itself, but only when the user asked for actions (trigger kind
Invoked, or no trigger kind: such an old client asks only then), never on
the requests an editor makes by itself as the cursor moves.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from lsprotocol import converters, types
from pygls.exceptions import JsonRpcInvalidParams

from lsp_server import documents
from lsp_server.features import error_explanations, proposals, syntax_repairs
from lsp_server.features.proposals import NotWritten
from lsp_server.features.regions import Region, region_for
from lsp_server.features.related_code import related_code, workspace_reader
from lsp_server.features.rewriting import Request
from lsp_server.features.used_code import used_code
from lsp_server.session import RequestContext
from lsp_server.settings import FixSettings
from lsp_server.text import first_line_shortened
from lsp_server.window import Window

log = logging.getLogger(__name__)

KIND = types.CodeActionKind.QuickFix
FEATURE = "fixes"
_TAG = "fix"  # data["hearth"] of a fix action
_TITLE_CHARS = 60
_FIXED = (types.DiagnosticSeverity.Error, types.DiagnosticSeverity.Warning, None)
_CONVERTER = converters.get_converter()
FIND_THE_MISTAKE = "Find the mistake in the code above that causes this problem, and correct it."
# A first answer that changed nothing is asked again made to name the mistake
# first. Naming it on every try fixed 7 of 30 bugs against 5, but took 3.46x
# the prompt's read and led the small model astray on a bug it fixes at once.
THE_MISTAKE_IS = "The mistake is"


def offered(settings: FixSettings, only: Sequence[str] | None) -> bool:
    """Whether a code action request (for the kinds `only`) gets fixes."""
    return settings.enabled and (not only or any(KIND.value.startswith(k) for k in only))


def _overlaps(diagnostic: types.Diagnostic, asked: types.Range) -> bool:
    start, end = diagnostic.range.start, diagnostic.range.end
    return (start.line, start.character) <= (asked.end.line, asked.end.character) and (
        asked.start.line,
        asked.start.character,
    ) <= (end.line, end.character)


def title(diagnostic: types.Diagnostic) -> str:
    return f'Hearth: fix "{_short(diagnostic)}"'


def _short(diagnostic: types.Diagnostic) -> str:
    """The diagnostic's message: its first line, shortened."""
    return first_line_shortened(diagnostic.message, _TITLE_CHARS)


def actions(ctx: RequestContext, params: types.CodeActionParams) -> list[types.CodeAction]:
    """A fix action for each error or warning of the request's context that
    overlaps its range, and one that explains it; none in a document Hearth
    has no grammar for."""
    document = ctx.document
    if document.syntax is None:
        return []
    found = []
    for diagnostic in params.context.diagnostics:
        if diagnostic.severity not in _FIXED or not _overlaps(diagnostic, params.range):
            continue
        unstructured = _CONVERTER.unstructure(diagnostic)
        found.append(
            types.CodeAction(
                title=title(diagnostic),
                kind=KIND,
                is_preferred=False,
                diagnostics=[diagnostic],
                data={
                    "hearth": _TAG,
                    "uri": document.uri,
                    "version": document.version,
                    "diagnostic": unstructured,
                },
            )
        )
        found.append(error_explanations.action(document.uri, diagnostic, unstructured))
    return found


def asked_by_user(params: types.CodeActionParams) -> bool:
    """The user asked for actions: not a request the editor made by itself."""
    return params.context.trigger_kind in (types.CodeActionTriggerKind.Invoked, None)


async def code_actions(
    ctx: RequestContext, window: Window, params: types.CodeActionParams
) -> list[types.CodeAction]:
    """The fix actions of a code action request: without their edits for an
    editor that resolves them, else with them, when the user asked."""
    found = actions(ctx, params)
    if not found or window.resolves_code_action_edits():
        return found
    explaining = [action for action in found if not is_fix(action)]
    if not asked_by_user(params):
        return explaining  # a command: nothing written until the user picks it
    resolved = [await resolve(ctx, window, action) for action in found if is_fix(action)]
    return [action for action in resolved if action.edit is not None] + explaining


def is_fix(action: types.CodeAction) -> bool:
    data: Any = action.data
    return isinstance(data, dict) and data.get("hearth") == _TAG


def action_uri(action: types.CodeAction) -> str:
    """The document of a fix action, from the data it was offered with."""
    data: Any = action.data
    if not (isinstance(data.get("uri"), str) and isinstance(data.get("diagnostic"), dict)):
        raise JsonRpcInvalidParams("codeAction/resolve: not a Hearth fix action")
    uri: str = data["uri"]
    return uri


async def resolve(
    ctx: RequestContext, window: Window, action: types.CodeAction
) -> types.CodeAction:
    """The action with its edit, written now with progress the user can
    cancel; without one, and a message, when no fix was found."""
    data: Any = action.data
    try:
        diagnostic = _CONVERTER.structure(data["diagnostic"], types.Diagnostic)
    except Exception as error:  # a client that mangled our data
        raise JsonRpcInvalidParams(f"codeAction/resolve: a bad diagnostic ({error})") from error
    document = ctx.document
    if data.get("version") != document.version:
        window.say(
            "the document changed since this fix was offered; ask for it again",
            types.MessageType.Info,
        )
        return action
    try:
        finished, edit = await proposals.with_progress(
            window, "Hearth: writing a fix", fix(ctx, diagnostic)
        )
        if finished:
            action.edit = edit
    except NotWritten as error:
        window.say(f'found no fix for "{_short(diagnostic)}": {error}')
    return action


async def fix(ctx: RequestContext, diagnostic: types.Diagnostic) -> types.WorkspaceEdit:
    """The checked edit that fixes `diagnostic` in the document as it is now."""
    document = ctx.document
    if document.syntax is None:
        raise NotWritten(f"{document.uri}: no grammar for this language")
    region = region_for(document, diagnostic.range.start.line, diagnostic.range.end.line)
    settings = ctx.settings.fixes
    ask = proposals.asker(
        ctx, region, purpose="fix", timeout_ms=settings.timeout_ms, setting="fixes.timeoutMs"
    )
    request = request_in(ctx, diagnostic, region)
    known = syntax_repairs.repaired(document, region)
    return await proposals.edit(ctx, region, request, ask, known=known, confined=True)


def request_in(ctx: RequestContext, diagnostic: types.Diagnostic, region: Region) -> Request:
    """What the model is asked to fix `diagnostic` in `region` of the
    context's document, with the code the region uses from the workspace
    and the code at the places the diagnostic names."""
    document, workspace = ctx.document, ctx.workspace
    line = diagnostic.range.start.line
    path = workspace.relative(document.uri)
    used = used_code(document, region, line, workspace.cross_file(document), path)
    read = workspace_reader(workspace, ctx.settings.limits.document_chars)
    related = related_code(diagnostic, document.uri, region, read, workspace.relative)
    return request_for(diagnostic, region, document.text, _joined(used, related))


def _joined(*parts: str) -> str:
    return "\n\n".join(part for part in parts if part)


def request_for(
    diagnostic: types.Diagnostic, region: Region, text: str, known: str = ""
) -> Request:
    """What the model is asked: the code the region uses (`known`), then the
    problem and where it is, before the code; after it, to find the mistake."""
    at = diagnostic.range.start.line
    bounds = documents.line_bounds(text, at) if at >= 0 else None
    line = text[bounds[0] : bounds[1]].strip() if bounds is not None else ""
    source = " ".join(
        str(part) for part in (diagnostic.source, diagnostic.code) if part not in (None, "")
    )
    said = f"This problem is reported in the code below: {diagnostic.message.strip()}"
    if source:
        said += f" ({source})"
    if line:
        said += f"\nIt is reported at this line: `{line}`"
    for related in diagnostic.related_information or ():
        said += f"\nRelated: {related.message.strip()}"
    # The problem before the code, the task after it: told the problem after
    # the code, the default model fixed 5 of 30 bugs (fixes benchmark); told
    # it before, 6, as many as the plain chat prompt.
    before = f"{known}\n\n{said}" if known else said
    return Request(FIND_THE_MISTAKE, before, reason_when_unchanged=THE_MISTAKE_IS)
