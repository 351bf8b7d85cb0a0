"""`hearth.fixFailure`: the text of a failure, pasted or selected (a Python
traceback, pytest's report, a Node, Rust, Go or Java stack), fixed where
it happened.

failures.py finds the innermost frame that lies in a file of the
workspace (where that is a test's own assertion, the function the test
calls: under_test.py); the failure is then that place's diagnostic, and
the fix goes the way every fix does (proposals.py): the function around
the line rewritten with the old text as its draft, checked, and proposed
as an edit of the changed lines, not applied. A file the editor has not opened is
read from disk for it, and its edit carries no version. Nothing the
failure names is run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lsprotocol import converters, types
from pygls.exceptions import JsonRpcInvalidParams

from lsp_server import documents
from lsp_server.features import failures, fixes, proposals, syntax_repairs, under_test
from lsp_server.features.failures import Failure, Frame
from lsp_server.features.proposals import NotWritten
from lsp_server.features.regions import region_for
from lsp_server.features.related_code import read_document
from lsp_server.session import Parts, RequestContext
from lsp_server.settings import Settings
from lsp_server.window import Window

COMMAND = "hearth.fixFailure"
MAX_FAILURE_CHARS = 200_000  # a whole CI log is more than a failure
CALLERS = 3  # the frames nearest the failure's, in the workspace, named to the model
_CONVERTER = converters.get_converter()


def failure_text(args: tuple[Any, ...]) -> str:
    """The failure's text of a `hearth.fixFailure` call: one argument, the
    text, or an object with `text`."""
    given = args[0] if len(args) == 1 else None
    if isinstance(given, Mapping):
        given = given.get("text")
    if not isinstance(given, str) or not given.strip():
        raise JsonRpcInvalidParams(f"{COMMAND} takes the text of a failure, not {args!r}")
    if len(given) > MAX_FAILURE_CHARS:
        raise JsonRpcInvalidParams(
            f"{COMMAND}: at most {MAX_FAILURE_CHARS} characters; paste the failure, not the log"
        )
    return given


def located(text: str, roots: tuple[str, ...]) -> tuple[Failure, Frame, Path]:
    """The failure in `text`, its innermost frame in the workspace, and that file."""
    failure = failures.parse(text)
    if failure is None:
        raise NotWritten("no stack frame Hearth can read in this text")
    folders = [path for path in map(documents.real_path, roots) if path is not None]
    found = failures.innermost_in(failure, failures.resolver(folders))
    if found is None:
        paths = ", ".join(sorted({frame.path for frame in failure.frames})[:4])
        raise NotWritten(f"none of the failure's frames is a file of the workspace ({paths})")
    frame, path = found
    return failure, frame, path


def diagnostic_of(
    failure: Failure, frame: Frame, callers: list[tuple[Frame, str]]
) -> types.Diagnostic:
    """The failure as a diagnostic at `frame`'s line, its workspace callers
    (frame, URI) as related information."""
    line = max(frame.line - 1, 0)
    where = types.Range(start=types.Position(line, 0), end=types.Position(line + 1, 0))
    related = [
        types.DiagnosticRelatedInformation(
            location=types.Location(
                uri=uri,
                range=types.Range(
                    start=types.Position(max(caller.line - 1, 0), 0),
                    end=types.Position(max(caller.line - 1, 0), 0),
                ),
            ),
            message=f"called from {caller.function or 'here'} "
            f"({Path(caller.path).name}:{caller.line})",
        )
        for caller, uri in callers
    ]
    return types.Diagnostic(
        range=where,
        message=failure.message or "it failed here",
        severity=types.DiagnosticSeverity.Error,
        source=failure.kind,
        related_information=related or None,
    )


def callers_of(
    failure: Failure, frame: Frame, resolve: Callable[[str], Path | None]
) -> list[tuple[Frame, str]]:
    """The frames outside `frame` that lie in the workspace, as (frame,
    URI): the outermost first, where the run entered the workspace (a test:
    it says what was expected), then up to CALLERS nearest `frame`."""
    outer: list[tuple[Frame, str]] = []
    for caller in failure.frames[: failure.frames.index(frame)]:
        path = resolve(caller.path)
        if path is not None and (caller, path.as_uri()) not in outer:  # once a recursion
            outer.append((caller, path.as_uri()))
    return outer[:1] + outer[:0:-1][:CALLERS]


async def propose(
    ctx: RequestContext, window: Window, failure: Failure, frame: Frame, opened: bool
) -> dict[str, Any]:
    """The fix of `failure` at `frame` in the context's document: the edit
    proposed (not applied) and where, or why there is none."""
    document = ctx.document
    line = min(max(frame.line - 1, 0), max(document.text.count("\n"), 0))
    folders = [p for p in map(documents.real_path, ctx.workspace.roots) if p is not None]
    callers = callers_of(failure, frame, failures.resolver(folders))
    diagnostic = diagnostic_of(failure, frame, callers)
    where = {"uri": document.uri, "line": line}
    try:
        region = region_for(document, line, line)
        settings = ctx.settings.fixes
        ask = proposals.asker(
            ctx, region, purpose="fix", timeout_ms=settings.timeout_ms, setting="fixes.timeoutMs"
        )
        request = fixes.request_in(ctx, diagnostic, region)
        finished, edit = await proposals.with_progress(
            window,
            "Hearth: fixing the failure",
            proposals.edit(
                ctx,
                region,
                request,
                ask,
                opened,
                syntax_repairs.repaired(document, region),
                confined=True,
            ),
        )
    except NotWritten as error:
        message = f"found no fix for the failure at {Path(frame.path).name}:{frame.line}: {error}"
        window.say(message)
        return {"edit": None, "message": message, "cancelled": False, **where}
    return {
        "edit": _CONVERTER.unstructure(edit) if edit is not None else None,
        "lines": [region.first, region.last],
        "cancelled": not finished,
        **where,
    }


@dataclass(frozen=True)
class Where:
    """What a request context is made with: the settings, the position
    encoding, the workspace folders' URIs."""

    settings: Settings
    encoding: str
    roots: tuple[str, ...]


def _context(parts: Parts, at: Where, path: Path) -> tuple[RequestContext, bool]:
    """The context of the editor's buffer of `path` if it has one open
    (True), else of the file as it is on disk (False)."""
    for session in parts.sessions:
        if documents.real_path(session.uri) == path.resolve():
            ctx = parts.context(at.settings, at.encoding, at.roots, session.uri)
            if ctx is None:
                raise NotWritten(f"{path} is over limits.documentChars")
            return ctx, True
    document = read_document(path, at.settings.limits.document_chars)
    return parts.file_context(at.settings, at.encoding, at.roots, document), False


async def fix(text: str, at: Where, parts: Parts, window: Window) -> dict[str, Any]:
    """`hearth.fixFailure`: the fix of the failure in `text`, proposed in the
    editor's buffer of its file, else in the file as it is on disk; or why
    there is none."""
    try:
        failure, frame, path = located(text, at.roots)
        ctx, opened = _context(parts, at, path)
        target = await under_test.tested(ctx, failure, frame, path)
        if target is not None:  # the test's own assertion: fix what it tests
            failure = replace(failure, frames=(*failure.frames, target))
            frame = target
            ctx, opened = _context(parts, at, Path(target.path))
    except NotWritten as error:
        message = f"found nothing to fix: {error}"
        window.say(message)
        return {"edit": None, "message": message, "cancelled": False}
    return await propose(ctx, window, failure, frame, opened)
