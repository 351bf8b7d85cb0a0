"""HearthServer: owns settings, documents, the model and the scheduler, and
wires LSP methods to the features. Feature logic lives in features/."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import os
import time
import uuid
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer

from lsp_server import __version__, settings
from lsp_server.context.prompt import AnchoredPrompts
from lsp_server.documents import Document, DocumentStore
from lsp_server.features import docstrings, following, hover, inline_completion, shown
from lsp_server.inference.scheduler import Scheduler
from lsp_server.model_host import LoadRequest, ModelHost, ModelState
from lsp_server.protocol import PARSE_ERROR, HearthProtocol

log = logging.getLogger(__name__)

STATS_COMMAND = "hearth.stats"
EDITOR_CHECK_S = 2.0  # how often the editor's process is looked for
MODEL_FILE_CHECK_S = 2.0  # ... and the model's file
DOCSTRINGS_COMMAND = "hearth.generateDocstrings"


class RequestTracker:
    """The newest request per document, so older ones know they are stale."""

    def __init__(self) -> None:
        self._numbers = itertools.count(1)
        self._latest: dict[str, int] = {}

    def begin(self, uri: str) -> int:
        number = next(self._numbers)
        self._latest[uri] = number
        return number

    def superseded(self, uri: str, number: int) -> bool:
        return self._latest.get(uri, number) != number

    def forget(self, uri: str) -> None:
        self._latest.pop(uri, None)


class HearthServer(LanguageServer):
    protocol: HearthProtocol

    def __init__(
        self,
        cli_model: str | None = None,
        cli_settings: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            "hearth",
            __version__,
            protocol_cls=HearthProtocol,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        environ = os.environ if environ is None else environ
        self.settings = settings.SettingsStore()
        self.settings.update("cli", cli_settings)
        self.settings.update("env", settings.env_layer(environ))
        self.cli_model = cli_model
        self.environ = environ
        self.env_model = environ.get("HEARTH_MODEL")
        self.scheduler = Scheduler()
        self.model = ModelHost(self.scheduler)
        self.requests = RequestTracker()
        self.documents = DocumentStore()
        self.explanations = hover.Explanations(self.settings.current.hover.cache_bytes)
        self.shown = shown.ShownSuggestions()
        self.following = following.Following()
        self.prompts = AnchoredPrompts()
        self._background: set[asyncio.Future[None]] = set()
        self._told: set[str] = set()
        self._too_big: set[str] = set()  # documents said to be over limits.documentChars

    # --- talking to the user -------------------------------------------------

    def tell(self, message: str, kind: types.MessageType = types.MessageType.Error) -> None:
        """Show `message` to the user, once per server lifetime."""
        if message in self._told:
            return
        self._told.add(message)
        self.show(message, kind)

    def show(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        """Show `message` to the user, every time."""
        self.window_show_message(types.ShowMessageParams(type=kind, message=f"Hearth: {message}"))

    def status(self, state: str, message: str = "", percent: int | None = None) -> None:
        """`hearth/status` (loading, ready, busy, error), for a client that shows it
        in a status bar and said so (capability `experimental.hearthStatus`)."""
        experimental = self.client_capabilities.experimental
        if not (isinstance(experimental, Mapping) and experimental.get("hearthStatus")):
            return
        params: dict[str, Any] = {"state": state, "message": message}
        if percent is not None:
            params["percent"] = percent
        self.protocol.notify("hearth/status", params)

    def watch_engine(self) -> None:
        """Report the model's worker starting and running out of work as status,
        and a remote engine's outages as they begin and end."""
        loop = asyncio.get_running_loop()

        def on_busy(busy: bool) -> None:  # on the worker thread
            if self.model.state is ModelState.READY and self.model.error is None:
                with contextlib.suppress(RuntimeError):  # the loop is closed: shutting down
                    loop.call_soon_threadsafe(self.status, "busy" if busy else "ready")

        def on_health(outage: str | None) -> None:  # on the worker thread
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self.engine_health, outage)

        self.scheduler.on_busy = on_busy
        self.model.on_health = on_health

    def engine_health(self, outage: str | None) -> None:
        """A remote engine stopped answering (`outage` says why) or answers again:
        told once each way, not on every keystroke in between."""
        if outage is not None:
            self.status("error", outage)
            self.show(f"{outage}. No suggestions until it answers; Hearth tries again.")
        else:
            self.status("ready")
            self.show(f"the engine at {self.model.where} answers again.", types.MessageType.Info)

    async def exit_with_editor(self, pid: int) -> None:
        """Exit once the editor's process (`processId` from `initialize`) is
        gone, even if it left our stdin open: an orphaned server would hold
        the model's memory for nothing. (LSP asks this of servers.)"""
        while _process_alive(pid):
            await asyncio.sleep(EDITOR_CHECK_S)
        log.warning("the editor (process %d) is gone: Hearth exits", pid)
        self.shut_down()
        # Not sys.exit: pygls's reader thread is blocked on stdin, and its
        # shutdown would wait for it.
        os._exit(0)

    async def watch_model_file(self) -> None:
        """Follow the model's file: one downloaded again over the loaded one is
        loaded again once complete; a deleted one is said once."""
        while True:
            await asyncio.sleep(MODEL_FILE_CHECK_S)
            event, path = self.model.poll_file(), self.model.watched
            if event is not None:
                log.warning("the model file %s: %s", path, event)
            if event == "deleted":
                self.show(
                    f"the model file {path} was deleted: Hearth goes on with the model "
                    "it has loaded until it restarts"
                )
            elif event == "changing":
                self.show(
                    f"the model file {path} changed on disk: Hearth loads it again "
                    "once it stops changing"
                )
            elif event == "changed":
                await self.load_model(again=True)
                if self.model.error is None:
                    self.show(f"loaded {path} again", types.MessageType.Info)

    def report_server_error(self, error: Exception, source: Any) -> None:
        # pygls would pop up "Error in server" for every bad notification; the
        # log has the detail and the server goes on.
        log.error("server error (%s): %s", getattr(source, "__name__", source), error)
        if source is JsonRpcException and isinstance(error, ValueError):
            # The reader's: a body json.loads refused (not JSON, or not UTF-8).
            self.protocol.answer_error(None, PARSE_ERROR)

    @staticmethod
    def invalid_params(message: str) -> JsonRpcInvalidParams:
        return JsonRpcInvalidParams(message)

    # --- documents -----------------------------------------------------------

    @property
    def position_encoding(self) -> str:
        return self.workspace.position_encoding or types.PositionEncodingKind.Utf16

    def workspace_roots(self) -> list[str]:
        """The workspace folders' URIs (the root URI for clients without folders)."""
        roots = [folder.uri for folder in self.workspace.folders.values()]
        root = self.workspace.root_uri
        return roots or ([root] if root else [])

    def context_documents(self) -> list[Document]:
        """The open documents that may lend code to another's prompt: those
        inside the workspace folders, once `..` and symlinks are resolved
        (all of them when the editor gave no folder). A file from elsewhere
        that the user opened is used for itself, but never shown to the model
        for another (with a remote engine, it would leave the machine)."""
        roots = [path for root in self.workspace_roots() if (path := _real_path(root))]
        if not roots:
            return list(self.documents)
        inside = []
        for document in self.documents:
            path = _real_path(document.uri)
            if path is not None and any(path.is_relative_to(root) for root in roots):
                inside.append(document)
        return inside

    def in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` without anyone waiting for it (reading ahead)."""
        task = asyncio.ensure_future(work)
        self._background.add(task)  # referenced until done, or it could be collected
        task.add_done_callback(self._background.discard)

    def open_document(self, uri: str) -> Document:
        document = self.documents.get(uri)
        if document is None:
            raise self.invalid_params(f"{uri} is not open: send textDocument/didOpen first")
        return document

    def close_document(self, uri: str) -> None:
        self.scheduler.cancel_document(uri, 2**63)
        self.requests.forget(uri)
        self.shown.forget(uri)
        self.following.forget(uri)
        self.prompts.forget(uri)
        self._too_big.discard(uri)
        self.documents.close(uri)

    def document_to_analyse(self, uri: str) -> Document | None:
        """The open document `uri`, or None when it is over limits.documentChars
        (said once in the log, as long as it stays open)."""
        document = self.open_document(uri)
        if not document.too_big:
            return document
        if uri not in self._too_big:
            self._too_big.add(uri)
            log.warning(
                "%s has %d characters, over limits.documentChars (%d): Hearth leaves it alone",
                uri,
                len(document.text),
                document.max_chars,
            )
        return None

    # --- settings and the model ----------------------------------------------

    def apply_settings(self, layer: str, values: Any) -> bool:
        """Take one layer of settings; report problems. True when it was accepted."""
        if values is not None and not isinstance(values, Mapping):
            self.tell(f"settings ({layer}) must be an object, not {type(values).__name__}")
            return False
        try:
            warnings = self.settings.update(layer, values)
        except settings.SettingsError as error:
            self.tell(f"invalid settings ignored, the previous ones stay in force: {error}")
            return False
        for warning in warnings:
            self.tell(warning, types.MessageType.Warning)
        current = self.settings.current
        logging.getLogger("lsp_server").setLevel(current.log.level.upper())
        self.documents.max_chars = current.limits.document_chars
        self.explanations.max_bytes = current.hover.cache_bytes
        self.explanations.trim()
        return True

    def load_request(self) -> LoadRequest:
        current = self.settings.current
        key_variable = current.engine.api_key_env
        api_key = self.environ.get(key_variable) if key_variable else None
        if key_variable and current.engine.kind == "remote" and not api_key:
            self.tell(
                f"hearth.engine.apiKeyEnv names {key_variable}, which is not set in the "
                "environment Hearth runs in: requests go without a key",
                types.MessageType.Warning,
            )
        return LoadRequest(
            self.cli_model, current.model, self.env_model, current.engine, api_key or None
        )

    async def load_model(self, again: bool = False) -> None:
        """Load the model if it is not loaded with the current settings (or
        `again`, when its file changed), with progress."""
        request = self.load_request()
        if not again and not self.model.needs_reload(request):
            return
        token = await self.begin_progress("Hearth: loading the model")

        def report(message: str, percent: int | None) -> None:
            self.status("loading", message, percent)
            if token is not None:
                self.work_done_progress.report(
                    token, types.WorkDoneProgressReport(message=message, percentage=percent)
                )

        await self.model.load(request, report, again=again)
        if token is not None:
            self.work_done_progress.end(
                token, types.WorkDoneProgressEnd(message=self.model.state.value)
            )
        if self.model.error is not None:
            self.status("error", self.model.error)
            self.tell(self.model.error)
        else:
            self.status("ready")

    async def begin_progress(self, title: str, cancellable: bool = False) -> str | None:
        """A progress bar in the editor, if it has them: its token, else None."""
        window = self.client_capabilities.window
        if window is None or not window.work_done_progress:
            return None
        token = str(uuid.uuid4())
        try:
            await self.work_done_progress.create_async(token)
        except Exception as error:  # the client refused: go on without a progress bar
            log.warning("work done progress refused: %s", error)
            return None
        self.work_done_progress.begin(
            token,
            types.WorkDoneProgressBegin(title=title, percentage=0, cancellable=cancellable),
        )
        return token

    async def pull_configuration(self) -> None:
        workspace = self.client_capabilities.workspace
        if workspace is None or not workspace.configuration:
            return
        try:
            (config,) = await self.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section="hearth")])
            )
        except Exception as error:
            log.warning("workspace/configuration failed: %s", error)
            return
        self.apply_settings("workspace", config)

    def stats(self) -> dict[str, Any]:
        engine = self.scheduler.engine
        return {
            **self.scheduler.stats.as_dict(),
            "model": engine.model_name if engine is not None else None,
            "modelPath": self.model.where,
            "engine": self.settings.current.engine.kind,
            "modelState": self.model.state.value,
            "modelError": self.model.error,
            "fimFormat": engine.fim_family if engine is not None else None,
            "explanations": len(self.explanations),
            "typedThrough": self.shown.hits,
            "takenOver": self.following.taken_over,
            "cpuSeconds": time.process_time(),
            "residentBytes": _resident_bytes(),
            "settings": settings.to_wire(self.settings.current),
            # What Hearth holds of each document, for an editor (or a test) to
            # check that it is in step: a digest, never the code.
            "documents": [
                {
                    "uri": d.uri,
                    "version": d.version,
                    "characters": len(d.text),
                    "sha256": hashlib.sha256(d.text.encode("utf-8", "surrogatepass")).hexdigest(),
                }
                for d in self.documents
            ],
        }

    def shut_down(self) -> None:
        self.scheduler.close()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether it exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, as another user's
    return True


def _real_path(uri: str) -> Path | None:
    """The file a file: URI names, `..` and symlinks resolved; None for other schemes."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    return Path(os.path.realpath(unquote(parsed.path)))


def _resident_bytes() -> int | None:
    """This process's resident memory now (Linux), None where /proc is absent."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def create_server(
    cli_model: str | None = None,
    cli_settings: Mapping[str, Any] | None = None,
) -> HearthServer:
    server = HearthServer(cli_model, cli_settings)

    @server.feature(types.INITIALIZE)
    def initialize(ls: HearthServer, params: types.InitializeParams) -> None:
        ls.apply_settings("initialization", params.initialization_options)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: HearthServer, params: types.InitializedParams) -> None:
        ls.watch_engine()
        if ls.process_id is not None and os.name == "posix":
            ls.in_background(ls.exit_with_editor(ls.process_id))
        await ls.pull_configuration()
        await ls.load_model()
        ls.in_background(ls.watch_model_file())

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: HearthServer, params: types.DidChangeConfigurationParams
    ) -> None:
        workspace = ls.client_capabilities.workspace
        if workspace is not None and workspace.configuration:
            await ls.pull_configuration()
        elif isinstance(params.settings, Mapping) and "hearth" in params.settings:
            ls.apply_settings("workspace", params.settings["hearth"])
        await ls.load_model()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: HearthServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.documents.open(params.text_document)
        ls.scheduler.cancel_document(params.text_document.uri, params.text_document.version)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: HearthServer, params: types.DidChangeTextDocumentParams) -> None:
        uri, version = params.text_document.uri, params.text_document.version
        ls.documents.change(params, ls.position_encoding)
        document = ls.documents.get(uri)
        followed = ls.following.edited(uri, document.text) if document is not None else None
        if followed is not None and followed.ticket is not None:
            ls.scheduler.carry(followed.ticket, version)  # typed at its cursor: it goes on
        # Other work for the versions before this one is stale: it stops at its next token.
        ls.scheduler.cancel_document(uri, version)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: HearthServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.close_document(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def on_inline_completion(
        ls: HearthServer, params: types.InlineCompletionParams
    ) -> types.InlineCompletionList:
        return await inline_completion.inline_completion(ls, params)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def on_hover(ls: HearthServer, params: types.HoverParams) -> types.Hover | None:
        return await hover.hover(ls, params)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[docstrings.KIND], resolve_provider=True),
    )
    async def on_code_action(
        ls: HearthServer, params: types.CodeActionParams
    ) -> list[types.CodeAction] | None:
        # Editors ask for code actions where the cursor is, as it moves.
        ls.in_background(
            inline_completion.read_ahead(ls, params.text_document.uri, params.range.end)
        )
        return await docstrings.code_actions(ls, params)

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def on_code_action_resolve(
        ls: HearthServer, action: types.CodeAction
    ) -> types.CodeAction:
        return await docstrings.resolve(ls, action)

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions())
    async def on_completion(
        ls: HearthServer, params: types.CompletionParams
    ) -> types.CompletionList | None:
        return await inline_completion.completion(ls, params)

    @server.command(STATS_COMMAND)
    def stats(ls: HearthServer, *args: Any) -> dict[str, Any]:
        return ls.stats()

    @server.command(DOCSTRINGS_COMMAND)
    async def generate_docstrings(ls: HearthServer, *args: Any) -> dict[str, Any]:
        uri = args[0] if args else None
        if isinstance(uri, Mapping):
            uri = uri.get("uri")
        if not isinstance(uri, str):
            raise ls.invalid_params(f"{DOCSTRINGS_COMMAND} takes a document URI, not {args!r}")
        return await docstrings.document_all(ls, uri)

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: HearthServer, *args: Any) -> None:
        await asyncio.to_thread(ls.shut_down)

    return server
