"""An LSP client that drives the real `hearth` server the way an editor does.

Used by `hearth demo` and by the benchmarks: start the server as a
subprocess, initialize with an editor's capabilities, open documents, ask
for inline completions (and apply the first suggestion with its range), for
hovers and for docstrings.

When the server ends (or closes its output), the requests waiting, and any
after, fail at once with ServerExited: its exit code and the end of its
stderr (and log file). pygls's client waited for all three pipes to close
and be read to the end, which a full stderr or a child holding them prevents.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from lsp_server import __version__, documents
from lsp_server.layers import USER_CONFIGURATION
from lsp_server.server_process import (
    EXIT_GRACE_S,
    ServerExited,
    close_pipes,
    ended,
    exit_message,
)

STDERR_KEPT = 200  # the server's last lines on stderr, for reporting why it ended
LANGUAGE_IDS = {
    ".py": "python",
    ".js": "javascript",
    ".ts": "typescript",
    ".tsx": "typescriptreact",
    ".rs": "rust",
    ".go": "go",
    ".c": "c",
    ".h": "c",
    ".cpp": "cpp",
    ".java": "java",
}


@dataclass
class RequestCounts:
    """What became of the requests sent, for a benchmark or a status line."""

    sent: int = 0
    answered: int = 0  # a result or an error answer (a cancelled request's among them)
    lost: int = 0  # failed with ServerExited: waiting when the server ended
    abandoned: int = 0  # the caller stopped waiting before an answer came


class _LanguageClient(LanguageClient):
    """pygls's client, but what happens when the server ends is EditorClient's."""

    def __init__(self, on_exit: Callable[[asyncio.subprocess.Process], Awaitable[None]]) -> None:
        super().__init__("hearth-editor-client", __version__)
        self._on_exit = on_exit

    async def _server_exit(self) -> None:
        # Overrides a private method of pygls 2.1 (BaseLanguageClient._server_exit,
        # a task from start_io on): pygls's own awaited process.wait(), which also
        # waits for the pipes, and then failed requests without saying why. If a
        # pygls release renames it, tests/e2e/test_editor_client.py's
        # test_a_server_whose_pipes_outlive_it_is_seen_to_exit hangs and fails.
        if self._server is not None:
            await self._on_exit(self._server)
        self._stop_event.set()


@dataclass(frozen=True)
class Suggestion:
    text: str
    range: types.Range

    def apply(self, document: str, encoding: str = "utf-16") -> str:
        """The document after accepting the suggestion (its range replaced by its text)."""
        start = documents.resolve(document, self.range.start, encoding).offset
        end = documents.resolve(document, self.range.end, encoding).offset
        return document[:start] + self.text + document[end:]


class EditorClient:
    """`async with EditorClient(...) as editor:` runs a server for the block's duration."""

    def __init__(
        self,
        model: str | None = None,
        settings: dict[str, Any] | None = None,
        progress: bool = False,
        log_file: str | None = None,
        folders: Sequence[Path] = (),
    ) -> None:
        self.command = [sys.executable, "-m", "lsp_server", "--stdio"]
        if model:
            self.command += ["--model", model]
        if log_file:
            self.command += ["--log-file", log_file]
        self.settings = settings
        self.folders = [types.WorkspaceFolder(uri=f.as_uri(), name=f.name) for f in folders]
        self.messages: list[str] = []
        self.progress = progress
        self._client = _LanguageClient(self._watch_server)
        self._versions: dict[str, int] = {}
        self.log_file = log_file
        self._stderr: deque[str] = deque(maxlen=STDERR_KEPT)
        self._stderr_drain: asyncio.Task[None] | None = None
        self.stderr_bytes = 0
        self.on_stderr: Callable[[str], None] | None = None  # told each line as it comes
        self.counts = RequestCounts()
        self.exited: ServerExited | None = None  # set once the server is gone
        self._waiting: dict[Future[Any], float] = {}  # each unanswered request: when sent

        @self._client.feature(types.WINDOW_SHOW_MESSAGE)
        def show_message(params: types.ShowMessageParams) -> None:
            self.messages.append(params.message)
            print(f"[server] {params.message}", file=sys.stderr)

        @self._client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def create_progress(params: types.WorkDoneProgressCreateParams) -> None:
            return None

        @self._client.feature(types.PROGRESS)
        def on_progress(params: types.ProgressParams) -> None:
            if not self.progress:
                return
            value: Any = params.value
            message = getattr(value, "message", None) or getattr(value, "title", None)
            percent = getattr(value, "percentage", None)
            if message:
                suffix = f" {percent}%" if percent is not None else ""
                print(f"\r[progress] {message}{suffix}\x1b[K", end="", file=sys.stderr, flush=True)
            if isinstance(value, types.WorkDoneProgressEnd):
                print(file=sys.stderr)

    @property
    def process(self) -> asyncio.subprocess.Process | None:
        """The server's process, once started."""
        return self._client._server

    async def __aenter__(self) -> EditorClient:
        await self._client.start_io(*self.command)
        process = self.process
        if process is not None and process.stderr is not None:
            self._stderr_drain = asyncio.create_task(self._drain(process.stderr))
        try:
            await self._request(
                types.INITIALIZE,
                types.InitializeParams(
                    process_id=None,
                    capabilities=types.ClientCapabilities(
                        window=types.WindowClientCapabilities(work_done_progress=True),
                        general=types.GeneralClientCapabilities(
                            position_encodings=[types.PositionEncodingKind.Utf16]
                        ),
                        # The settings it sends are its caller's, never a folder's.
                        experimental={USER_CONFIGURATION: True},
                    ),
                    initialization_options=self.settings,
                    workspace_folders=self.folders or None,
                ),
            )
        except BaseException:
            await self._close()  # a server that ended while starting (a crash)
            raise
        self._notify(types.INITIALIZED, types.InitializedParams())
        return self

    async def __aexit__(self, *_: object) -> None:
        try:
            if self.exited is None:  # a server that is gone is not asked to shut down
                await self._request(types.SHUTDOWN, None)
                self._notify(types.EXIT, None)
        finally:
            await self._close()

    async def _close(self) -> None:
        """Let the server exit, or kill it; stop pygls's client without waiting
        for pipes that a child of the server may hold."""
        process = self.process
        if process is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ended(process, output=False), 5 * EXIT_GRACE_S)
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
        # Pipes that outlived the server's grace are held by a child of it:
        # waiting the grace again for pygls to see them close is no use.
        drain = self._stderr_drain
        held = self.exited is not None and drain is not None and not drain.done()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._client.stop(), 0.1 if held else EXIT_GRACE_S)
        close_pipes(process)

    async def _drain(self, stream: asyncio.StreamReader) -> None:
        # pygls gives the server a stderr pipe and never reads it: full (64 KB of
        # log), it would block the server on its next log line. Read on past a
        # line over 64 KB, which readline refuses (`async for` stopped there).
        while True:
            try:
                line = await stream.readline()
            except ValueError:
                self._stderr.append("(a line of over 64 KB left out)")
                continue
            if not line:
                return
            self.stderr_bytes += len(line)
            if line.strip():
                text = line.decode(errors="replace").rstrip()
                self._stderr.append(text)
                if self.on_stderr is not None:
                    self.on_stderr(text)

    async def stderr_tail(self) -> tuple[str, ...]:
        """The last lines the server wrote on stderr, once it has ended: it waits
        for the last of them (a while: a child of the server may hold stderr)."""
        if self._stderr_drain is not None:
            await asyncio.wait({self._stderr_drain}, timeout=EXIT_GRACE_S)
        return tuple(self._stderr)

    # --- the server's end -------------------------------------------------------

    async def _watch_server(self, process: asyncio.subprocess.Process) -> None:
        """Once the server exits or closes its output, fail what waits for it."""
        await ended(process, output=True)
        with contextlib.suppress(TimeoutError):  # output closed: the exit code follows
            await asyncio.wait_for(ended(process, output=False), EXIT_GRACE_S)
        stderr = await self.stderr_tail()
        waiting = sum(not future.done() for future in self._waiting)
        message = exit_message(process, waiting, stderr, self.log_file)
        self.exited = error = ServerExited(message, process.returncode)
        for future in [future for future in self._waiting if not future.done()]:
            future.set_exception(error)

    # --- messages -----------------------------------------------------------------

    def _notify(self, method: str, params: Any) -> None:
        if self.exited is not None:
            raise self.exited
        self._client.protocol.notify(method, params)

    async def _request(self, method: str, params: Any, msg_id: str | None = None) -> Any:
        """Send a request and wait for its answer, or for ServerExited."""
        if self.exited is not None:
            raise self.exited
        future = self._client.protocol.send_request(method, params, msg_id=msg_id)
        self.counts.sent += 1
        self._waiting[future] = time.monotonic()
        future.add_done_callback(self._answered)
        return await asyncio.wrap_future(future)

    def _answered(self, future: Future[Any]) -> None:
        self._waiting.pop(future, None)
        if future.cancelled():
            self.counts.abandoned += 1
        elif isinstance(future.exception(), ServerExited):
            self.counts.lost += 1
        else:
            self.counts.answered += 1

    def waiting(self, longer_than: float = 0.0) -> int:
        """The requests unanswered, of those sent over `longer_than` seconds ago."""
        now = time.monotonic()
        return sum(now - sent > longer_than for sent in self._waiting.values())

    def open(self, uri: str, text: str, language_id: str) -> None:
        self._versions[uri] = 1
        self._notify(
            types.TEXT_DOCUMENT_DID_OPEN,
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id=language_id, version=1, text=text
                )
            ),
        )

    def close(self, uri: str) -> None:
        self._notify(
            types.TEXT_DOCUMENT_DID_CLOSE,
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)),
        )

    def insert(self, uri: str, at: types.Position, text: str) -> None:
        """Type `text` at `at` (an incremental didChange)."""
        self._versions[uri] += 1
        self._notify(
            types.TEXT_DOCUMENT_DID_CHANGE,
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=uri, version=self._versions[uri]
                ),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(start=at, end=at), text=text
                    )
                ],
            ),
        )

    async def suggest(
        self, uri: str, position: types.Position, invoked: bool = True, request_id: str = ""
    ) -> Suggestion | None:
        """The first inline suggestion at `position`, or None. With `request_id`,
        `cancel(request_id)` cancels it (None then, or a cancellation error)."""
        found = await self.suggestions(uri, position, invoked, request_id)
        return found[0] if found else None

    async def suggestions(
        self, uri: str, position: types.Position, invoked: bool = True, request_id: str = ""
    ) -> list[Suggestion]:
        """Every inline suggestion at `position`, best first (invoked: the
        alternatives too)."""
        kind = (
            types.InlineCompletionTriggerKind.Invoked
            if invoked
            else types.InlineCompletionTriggerKind.Automatic
        )
        params = types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=position,
            context=types.InlineCompletionContext(trigger_kind=kind),
        )
        result = await self._request(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id=request_id or None
        )
        return [
            Suggestion(
                item.insert_text if isinstance(item.insert_text, str) else item.insert_text.value,
                item.range or types.Range(start=position, end=position),
            )
            for item in getattr(result, "items", None) or []
        ]

    def cancel(self, request_id: str) -> None:
        """`$/cancelRequest`, as an editor sends it when the user types on."""
        self._notify(types.CANCEL_REQUEST, types.CancelParams(id=request_id))

    async def hover(self, uri: str, position: types.Position) -> str | None:
        """The hover's Markdown at `position`, or None."""
        result = await self._request(
            types.TEXT_DOCUMENT_HOVER,
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri), position=position
            ),
        )
        contents = getattr(result, "contents", None)
        return contents.value if isinstance(contents, types.MarkupContent) else None

    async def code_actions(
        self, uri: str, position: types.Position, only: list[types.CodeActionKind]
    ) -> list[Any]:
        """The code actions of the kinds `only` at `position`, as an editor asks
        where the cursor moves (and Hearth reads ahead where it rests)."""
        actions = await self._request(
            types.TEXT_DOCUMENT_CODE_ACTION,
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(start=position, end=position),
                context=types.CodeActionContext(diagnostics=[], only=only),
            ),
        )
        return list(actions or [])

    async def docstring_edit(self, uri: str, position: types.Position) -> list[types.TextEdit]:
        """The edits of the docstring code action at `position` (none if not offered)."""
        actions = await self.code_actions(uri, position, [types.CodeActionKind.RefactorRewrite])
        for action in actions:
            edit = getattr(action, "edit", None)
            for change in getattr(edit, "document_changes", None) or []:
                return [e for e in change.edits if isinstance(e, types.TextEdit)]
        return []

    def save(self, uri: str) -> None:
        """The document was saved: what the server holds of the file is on disk."""
        self._notify(
            types.TEXT_DOCUMENT_DID_SAVE,
            types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri=uri)),
        )

    async def context(self, uri: str, position: types.Position) -> dict[str, Any]:
        """What a suggestion at `position` would show the model besides the code there."""
        result = await self._request(
            types.WORKSPACE_EXECUTE_COMMAND,
            types.ExecuteCommandParams(
                command="hearth.showContext",
                arguments=[uri, {"line": position.line, "character": position.character}],
            ),
        )
        return dict(result or {})

    async def stats(self) -> dict[str, Any]:
        result = await self._request(
            types.WORKSPACE_EXECUTE_COMMAND, types.ExecuteCommandParams(command="hearth.stats")
        )
        return dict(result or {})

    def change_settings(self, settings: dict[str, Any]) -> None:
        """New settings, as an editor sends them when the user edits them
        (`workspace/didChangeConfiguration`; this client does not answer
        `workspace/configuration`, so they come in the notification)."""
        self._notify(
            types.WORKSPACE_DID_CHANGE_CONFIGURATION,
            types.DidChangeConfigurationParams(settings={"hearth": settings}),
        )
