"""An LSP client that drives the real `hearth` server the way an editor does.

Used by `hearth demo` and by the benchmarks: start the server as a
subprocess, initialize with an editor's capabilities, open documents, ask
for inline completions (and apply the first suggestion with its range), for
hovers and for docstrings.
"""

from __future__ import annotations

import asyncio
import sys
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from lsp_server import __version__, documents

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
        self._client = LanguageClient("hearth-editor-client", __version__)
        self._versions: dict[str, int] = {}
        self._stderr: deque[str] = deque(maxlen=STDERR_KEPT)
        self._stderr_drain: asyncio.Task[None] | None = None

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
        await self._client.initialize_async(
            types.InitializeParams(
                process_id=None,
                capabilities=types.ClientCapabilities(
                    window=types.WindowClientCapabilities(work_done_progress=True),
                    general=types.GeneralClientCapabilities(
                        position_encodings=[types.PositionEncodingKind.Utf16]
                    ),
                ),
                initialization_options=self.settings,
                workspace_folders=self.folders or None,
            )
        )
        self._client.initialized(types.InitializedParams())
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._client.shutdown_async(None)
        self._client.exit(None)
        await self._client.stop()

    async def _drain(self, stream: asyncio.StreamReader) -> None:
        # pygls gives the server a stderr pipe and never reads it: full (64 KB of
        # log), it would block the server on its next log line.
        async for line in stream:
            if line.strip():
                self._stderr.append(line.decode(errors="replace").rstrip())

    async def stderr_tail(self) -> tuple[str, ...]:
        """The last lines the server wrote on stderr; call it once the server
        has ended (or been killed): it waits for the last of them."""
        if self._stderr_drain is not None:
            await self._stderr_drain
        return tuple(self._stderr)

    def open(self, uri: str, text: str, language_id: str) -> None:
        self._versions[uri] = 1
        self._client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id=language_id, version=1, text=text
                )
            )
        )

    def close(self, uri: str) -> None:
        self._client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )

    def insert(self, uri: str, at: types.Position, text: str) -> None:
        """Type `text` at `at` (an incremental didChange)."""
        self._versions[uri] += 1
        self._client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=uri, version=self._versions[uri]
                ),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(start=at, end=at), text=text
                    )
                ],
            )
        )

    async def suggest(
        self, uri: str, position: types.Position, invoked: bool = True, request_id: str = ""
    ) -> Suggestion | None:
        """The first inline suggestion at `position`, or None. With `request_id`,
        `cancel(request_id)` cancels it (None then, or a cancellation error)."""
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
        if request_id:
            result = await self._client.protocol.send_request_async(
                types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id=request_id
            )
        else:
            result = await self._client.text_document_inline_completion_async(params)
        items = getattr(result, "items", None) or []
        if not items:
            return None
        item = items[0]
        text = item.insert_text if isinstance(item.insert_text, str) else item.insert_text.value
        return Suggestion(text, item.range or types.Range(start=position, end=position))

    def cancel(self, request_id: str) -> None:
        """`$/cancelRequest`, as an editor sends it when the user types on."""
        self._client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=request_id))

    async def hover(self, uri: str, position: types.Position) -> str | None:
        """The hover's Markdown at `position`, or None."""
        result = await self._client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri), position=position
            )
        )
        contents = getattr(result, "contents", None)
        return contents.value if isinstance(contents, types.MarkupContent) else None

    async def docstring_edit(self, uri: str, position: types.Position) -> list[types.TextEdit]:
        """The edits of the docstring code action at `position` (none if not offered)."""
        actions = await self._client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(start=position, end=position),
                context=types.CodeActionContext(
                    diagnostics=[], only=[types.CodeActionKind.RefactorRewrite]
                ),
            )
        )
        for action in actions or []:
            edit = getattr(action, "edit", None)
            for change in getattr(edit, "document_changes", None) or []:
                return [e for e in change.edits if isinstance(e, types.TextEdit)]
        return []

    def save(self, uri: str) -> None:
        """The document was saved: what the server holds of the file is on disk."""
        self._client.text_document_did_save(
            types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri=uri))
        )

    async def context(self, uri: str, position: types.Position) -> dict[str, Any]:
        """What a suggestion at `position` would show the model besides the code there."""
        result = await self._client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command="hearth.showContext",
                arguments=[uri, {"line": position.line, "character": position.character}],
            )
        )
        return dict(result or {})

    async def stats(self) -> dict[str, Any]:
        result = await self._client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="hearth.stats")
        )
        return dict(result or {})
