"""A real HearthServer in this process, driven as an editor drives it.

The server is the one `create_server()` builds, with its handlers and its
protocol (pygls's, with Hearth's changes); only the transport is not stdio.
Each message goes, as a JSON object fresh from the wire, to the protocol's
`handle_message`, which answers through pygls's own machinery: requests run
as tasks on this event loop, `$/cancelRequest` cancels them, and what the
server writes comes back through `Editor.write`, pygls's writer. The
initialize handshake is a request like any other, and sets up the
workspace and the position encoding.

Two messages are never sent: `initialized` and
`workspace/didChangeConfiguration`, whose handlers load the model from
settings (a real file). The fake engine is attached instead
(`ModelHost.attach`), and the settings come with `initialize`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from lsprotocol import types
from lsprotocol.converters import get_converter
from pygls.exceptions import JsonRpcException

from lsp_server.inference.api import Engine
from lsp_server.server import HearthServer, create_server
from lsp_server.stats import COMMAND as STATS_COMMAND
from tests.fast.fake_engine import GUARD_S, guarded

# Nothing read ahead where the cursor rests: only what a test asks for asks the model.
QUIET = {"completion": {"readAhead": False}, "hover": {"readAhead": False}}
# An editor that resolves code actions' edits (VS Code, Neovim).
RESOLVES = types.ClientCapabilities(
    text_document=types.TextDocumentClientCapabilities(
        code_action=types.CodeActionClientCapabilities(
            resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"])
        )
    )
)


class Editor:
    """The editor's side of a conversation with an in-process server."""

    def __init__(self) -> None:
        self.server: HearthServer = create_server()
        self._converter = get_converter()
        self._ids = itertools.count(1)
        self._versions: dict[str, int] = {}
        self._pending: dict[int | str, tuple[str, asyncio.Future[Any]]] = {}
        self.shown: list[str] = []  # the messages the server asked the editor to show
        self.diagnostics: dict[str, list[dict[str, Any]]] = {}  # the latest published, by URI
        self.asked: list[str] = []  # the methods of the server's requests (never answered)
        self.server.protocol.set_writer(self, include_headers=False)

    # --- pygls's writer: what the server sends ----------------------------------

    def write(self, data: bytes) -> None:
        message = json.loads(data)
        if "method" in message:  # the server's own messages: only showMessage is kept
            if "id" in message:
                self.asked.append(message["method"])
            if message["method"] == types.WINDOW_SHOW_MESSAGE:
                self.shown.append(message["params"]["message"])
            if message["method"] == types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS:
                params = message["params"]
                self.diagnostics[params["uri"]] = params["diagnostics"]
            return
        method, answer = self._pending.pop(message["id"])
        if answer.done():  # the test stopped waiting
            return
        if "error" in message:
            error = self._converter.structure(message["error"], types.ResponseError)
            answer.set_exception(JsonRpcException.from_error(error))
            return
        if method == types.TEXT_DOCUMENT_CODE_ACTION and message.get("result"):
            answer.set_result([self._code_action(item) for item in message["result"]])
            return
        response_type = types.METHOD_TO_TYPES[method][1]
        assert response_type is not None, method
        answer.set_result(self._converter.structure(message, response_type).result)

    def _code_action(self, item: dict[str, Any]) -> types.Command | types.CodeAction:
        """A code action request's answer item. lsprotocol 2025.0 structures
        any item with a `command` as a Command, a CodeAction that runs one too;
        a Command's `command` is its name, a string."""
        if isinstance(item.get("command"), str):
            command: types.Command = self._converter.structure(item, types.Command)
            return command
        action: types.CodeAction = self._converter.structure(item, types.CodeAction)
        return action

    def close(self) -> None:
        """pygls's writer is closed on `exit`, which is never sent."""

    # --- what the editor sends --------------------------------------------------

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": self._converter.unstructure(params)})

    def request(
        self, method: str, params: Any, msg_id: int | str | None = None
    ) -> asyncio.Future[Any]:
        """Send a request; its answer, or the JsonRpcException it was answered with."""
        msg_id = next(self._ids) if msg_id is None else msg_id
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = (method, answer)
        message = {"id": msg_id, "method": method, "params": self._converter.unstructure(params)}
        self._send(message)
        return answer

    def _send(self, message: dict[str, Any]) -> None:
        # Through JSON and back: the server gets what it would read from stdin.
        wire = json.loads(json.dumps({"jsonrpc": "2.0", **message}))
        self.server.protocol.handle_message(wire)

    async def initialize(
        self,
        settings: Mapping[str, Any] | None,
        capabilities: types.ClientCapabilities | None = None,
        name: str = "Neovim",
        folder: Path | None = None,
    ) -> None:
        params = types.InitializeParams(
            capabilities=capabilities or types.ClientCapabilities(),
            initialization_options=settings,
            client_info=types.ClientInfo(name=name),
            workspace_folders=[types.WorkspaceFolder(folder.as_uri(), folder.name)]
            if folder is not None
            else None,
        )
        await guarded(self.request(types.INITIALIZE, params))

    async def shutdown(self) -> None:
        await guarded(self.request(types.SHUTDOWN, None))

    def open(self, uri: str, text: str, language: str = "python") -> None:
        self._versions[uri] = 1
        item = types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)
        self.notify(types.TEXT_DOCUMENT_DID_OPEN, types.DidOpenTextDocumentParams(item))

    def insert(self, uri: str, at: types.Position, text: str) -> int:
        """An incremental didChange that inserts `text` at `at`; the new version."""
        version = self._versions[uri] = self._versions[uri] + 1
        change = types.TextDocumentContentChangePartial(
            range=types.Range(start=at, end=at), text=text
        )
        self.notify(
            types.TEXT_DOCUMENT_DID_CHANGE,
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(uri=uri, version=version), [change]
            ),
        )
        return version

    def inline(
        self,
        uri: str,
        at: types.Position,
        *,
        invoked: bool = True,
        msg_id: int | str | None = None,
    ) -> asyncio.Future[Any]:
        """Ask for inline completions at `at`, invoked (as by a key binding) or
        automatic (as an editor asks while the user types)."""
        kind = types.InlineCompletionTriggerKind
        params = types.InlineCompletionParams(
            context=types.InlineCompletionContext(
                trigger_kind=kind.Invoked if invoked else kind.Automatic
            ),
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=at,
        )
        return self.request(types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id)

    def hover(
        self, uri: str, at: types.Position, msg_id: int | str | None = None
    ) -> asyncio.Future[Any]:
        params = types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=at)
        return self.request(types.TEXT_DOCUMENT_HOVER, params, msg_id)

    def code_actions(
        self,
        uri: str,
        at: types.Position,
        diagnostics: list[types.Diagnostic] | None = None,
        trigger: types.CodeActionTriggerKind | None = None,
    ) -> asyncio.Future[Any]:
        """The code actions where the cursor is (editors ask as it moves), with
        the `diagnostics` there (of any server) and the `trigger` kind."""
        params = types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=at, end=at),
            context=types.CodeActionContext(diagnostics=diagnostics or [], trigger_kind=trigger),
        )
        return self.request(types.TEXT_DOCUMENT_CODE_ACTION, params)

    def resolve(self, action: types.CodeAction) -> asyncio.Future[Any]:
        """The action with its edit, as an editor asks when the user picks it."""
        return self.request(types.CODE_ACTION_RESOLVE, action)

    def cancel(self, msg_id: int | str) -> None:
        self.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))

    def execute(self, command: str, *args: Any) -> asyncio.Future[Any]:
        """workspace/executeCommand: `command` with `args`."""
        params = types.ExecuteCommandParams(command=command, arguments=list(args))
        return self.request(types.WORKSPACE_EXECUTE_COMMAND, params)

    async def stats(self) -> dict[str, Any]:
        params = types.ExecuteCommandParams(command=STATS_COMMAND)
        result = await guarded(self.request(types.WORKSPACE_EXECUTE_COMMAND, params))
        assert isinstance(result, dict), result
        return result

    async def until(self, counter: str, value: int) -> None:
        """Wait until the `counter` of hearth.stats reaches `value` (polled, with a guard)."""
        deadline = time.monotonic() + GUARD_S
        while (await self.stats())[counter] < value:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{counter} never reached {value}")
            await asyncio.sleep(0.001)


@contextlib.asynccontextmanager
async def hearth(
    engine: Engine,
    settings: Mapping[str, Any] | None = None,
    capabilities: types.ClientCapabilities | None = None,
    name: str = "Neovim",
    folder: Path | None = None,
) -> AsyncIterator[Editor]:
    """An initialized server with `engine` as its model, and the editor talking
    to it (with `capabilities`, or none, the `name` it gives, and the
    workspace `folder`); shut down (its scheduler closed) at the end."""
    editor = Editor()
    try:
        await editor.initialize(settings, capabilities, name, folder)
        editor.server.host.attach(engine)
        yield editor
    finally:
        await editor.shutdown()
