"""HearthServer: builds the parts, and wires LSP methods to the features.

The features' logic lives in features/; each handler here builds the
request's context (session.py) and hands it over. What runs beside the
requests is in lifecycle.py, what the server reports in stats.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Coroutine, Mapping
from functools import partial
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer

from lsp_server import __version__, layers, lifecycle, settings, stats
from lsp_server.features import (
    docstrings,
    error_explanations,
    explanations,
    failure_fixes,
    fixes,
    hover,
    inline_completion,
    instructions,
    suggestions,
    syntax_errors,
)
from lsp_server.inference.scheduler import Scheduler
from lsp_server.model_host import LoadRequest, ModelHost
from lsp_server.protocol import PARSE_ERROR, HearthProtocol
from lsp_server.session import Parts, RequestContext, Sessions
from lsp_server.window import Window
from lsp_server.workspace.service import FileWatch, Indexing

log = logging.getLogger(__name__)

DOCSTRINGS_COMMAND = "hearth.generateDocstrings"
# What VS Code and the editors built from it call themselves in initialize's clientInfo.
_VSCODE_NAMES = ("visual studio code", "code - oss", "code-server", "vscodium")
CONTEXT_COMMAND = "hearth.showContext"  # what a suggestion there would show the model


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
        self.settings = layers.SettingsStore()
        self.settings.update("cli", cli_settings)
        self.settings.update("env", layers.env_layer(environ))
        self.cli_model = cli_model
        self.environ = environ
        self.env_model = environ.get("HEARTH_MODEL")
        self.scheduler = Scheduler()
        self.host = ModelHost(self.scheduler)
        self.explanations = explanations.Explanations(self.settings.current.hover.cache_bytes)
        # What each feature keeps for an open document, made when it opens.
        self.client_name = ""  # the editor's, from initialize
        errors = syntax_errors.Outlet(
            self.syntax_errors_wanted, lambda: self.position_encoding, self.publish_diagnostics
        )
        self.sessions = Sessions(
            self.scheduler,
            (
                inline_completion.InlineCompletion,
                partial(explanations.ExplainingAhead, self.explanations),
                partial(syntax_errors.SyntaxErrors, errors),
                partial(error_explanations.SeenDiagnostics, self.explanations),
            ),
        )
        self.indexing = Indexing()
        self.file_watch = FileWatch()
        self.parts = Parts(self.sessions, self.scheduler, self.host, self.indexing)
        self.window = Window(self)
        self.counters = stats.Counters()
        self._background: set[asyncio.Future[None]] = set()

    def report_server_error(self, error: Exception, source: Any) -> None:
        # pygls would pop up "Error in server" for every bad notification; the
        # log has the detail and the server goes on.
        log.error("server error (%s): %s", getattr(source, "__name__", source), error)
        if source is JsonRpcException and isinstance(error, ValueError):
            # The reader's: a body json.loads refused (not JSON, or not UTF-8).
            self.protocol.answer_error(None, PARSE_ERROR)

    # --- requests --------------------------------------------------------------

    @property
    def position_encoding(self) -> str:
        return self.workspace.position_encoding or types.PositionEncodingKind.Utf16

    def workspace_roots(self) -> tuple[str, ...]:
        """The workspace folders' URIs (the root URI for clients without folders)."""
        roots = tuple(folder.uri for folder in self.workspace.folders.values())
        root = self.workspace.root_uri
        return roots or ((root,) if root else ())

    def context(self, uri: str, position: types.Position | None = None) -> RequestContext | None:
        """The context of a request about `uri` (see session.Parts.context)."""
        return self.parts.context(
            self.settings.current, self.position_encoding, self.workspace_roots(), uri, position
        )

    def syntax_errors_wanted(self) -> bool:
        """diagnostics.syntax for this editor: "auto" is off in VS Code (and
        the editors built from it), whose language services report syntax
        errors already, on in the others."""
        choice = self.settings.current.diagnostics.syntax
        if choice != "auto":
            return choice == "on"
        name = self.client_name.lower()
        return not any(vscode in name for vscode in _VSCODE_NAMES)

    def publish_diagnostics(
        self, uri: str, version: int | None, diagnostics: list[types.Diagnostic]
    ) -> None:
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
        )

    def in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` without anyone waiting for it (reading ahead)."""
        task = asyncio.ensure_future(work)
        self._background.add(task)  # referenced until done, or it could be collected
        task.add_done_callback(self._background.discard)

    def rested(self, uri: str, position: types.Position) -> None:
        """The cursor is at `position` (editors ask for code actions where it
        moves to): the features' work for where it rests starts in the background."""
        with contextlib.suppress(JsonRpcInvalidParams):  # nothing to do there
            resting = self.context(uri, position)
            for work in resting.session.rested(resting) if resting is not None else ():
                self.in_background(work)

    # --- settings and the model ----------------------------------------------

    def apply_settings(self, layer: str, values: Any) -> bool:
        """Take one layer of settings; report problems. True when it was accepted."""
        if values is not None and not isinstance(values, Mapping):
            self.window.say_once(
                f"settings ({layer}) must be an object, not {type(values).__name__}"
            )
            return False
        # What the client answers for the workspace may be a folder's (see layers.py).
        experimental = self.client_capabilities.experimental
        folder = layer == "workspace" and not layers.vouches_for_configuration(experimental)
        try:
            warnings = self.settings.update(layer, values, folder)
        except settings.SettingsError as error:
            self.window.say_once(
                f"invalid settings ignored, the previous ones stay in force: {error}"
            )
            return False
        for warning in warnings:
            self.window.say_once(warning, types.MessageType.Warning)
        current = self.settings.current
        logging.getLogger("lsp_server").setLevel(current.log.level.upper())
        self.sessions.max_chars = current.limits.document_chars
        self.explanations.max_bytes = current.hover.cache_bytes
        self.explanations.trim()
        return True

    def load_request(self) -> LoadRequest:
        current = self.settings.current
        key_variable = current.engine.api_key_env
        api_key = self.environ.get(key_variable) if key_variable else None
        if key_variable and current.engine.kind == "remote" and not api_key:
            self.window.say_once(
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
        if not again and not self.host.needs_reload(request):
            return
        token = await self.window.begin_progress("Hearth: loading the model")

        def report(message: str, percent: int | None) -> None:
            self.window.status("loading", message, percent)
            if token is not None:
                self.window.report_progress(token, message, percent)

        await self.host.load(request, report, again=again)
        if token is not None:
            self.window.end_progress(token, self.host.state.value)
        if self.host.error is not None:
            self.window.status("error", self.host.error)
            self.window.say_once(self.host.error)
        else:
            self.window.status("ready")

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
        report = stats.report(
            self.scheduler,
            self.host,
            self.settings.current,
            self.counters,
            len(self.explanations),
            self.sessions.documents(),
        )
        return {**report, "workspaceIndex": self.indexing.stats()}

    def shut_down(self) -> None:
        self.indexing.stop(wait=5.0)
        self.scheduler.close()

    def index_workspace(self) -> None:
        """Start (or start again, or stop) the workspace index as the settings say."""
        context = self.settings.current.context
        self.in_background(self.indexing.start(self.workspace_roots(), context, self.window))
        self.in_background(self.file_watch.follow(self, context.workspace))


def create_server(
    cli_model: str | None = None,
    cli_settings: Mapping[str, Any] | None = None,
) -> HearthServer:
    server = HearthServer(cli_model, cli_settings)

    @server.feature(types.INITIALIZE)
    def initialize(ls: HearthServer, params: types.InitializeParams) -> None:
        ls.client_name = params.client_info.name if params.client_info is not None else ""
        ls.apply_settings("initialization", params.initialization_options)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: HearthServer, params: types.InitializedParams) -> None:
        lifecycle.report_engine(ls.scheduler, ls.host, ls.window)
        if ls.process_id is not None and os.name == "posix":
            ls.in_background(lifecycle.exit_with_editor(ls.process_id, ls.shut_down))
        await ls.pull_configuration()
        ls.index_workspace()
        await ls.load_model()
        ls.in_background(
            lifecycle.follow_model_file(ls.host, ls.window, lambda: ls.load_model(again=True))
        )

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: HearthServer, params: types.DidChangeConfigurationParams
    ) -> None:
        workspace = ls.client_capabilities.workspace
        if workspace is not None and workspace.configuration:
            await ls.pull_configuration()
        elif isinstance(params.settings, Mapping) and "hearth" in params.settings:
            ls.apply_settings("workspace", params.settings["hearth"])
        ls.index_workspace()
        await ls.load_model()

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def did_change_folders(ls: HearthServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
        ls.index_workspace()  # pygls has updated the folders already

    # A file is read and parsed again off the event loop: typing goes on meanwhile.
    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    async def did_change_watched_files(
        ls: HearthServer, params: types.DidChangeWatchedFilesParams
    ) -> None:
        await asyncio.to_thread(ls.indexing.files_changed, params)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: HearthServer, params: types.DidSaveTextDocumentParams) -> None:
        await asyncio.to_thread(ls.indexing.saved, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: HearthServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.sessions.open(params.text_document)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: HearthServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.sessions.change(params, ls.position_encoding)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: HearthServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.sessions.close(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def on_inline_completion(
        ls: HearthServer, params: types.InlineCompletionParams
    ) -> types.InlineCompletionList:
        ctx = ls.context(params.text_document.uri, params.position)
        if ctx is None:
            return suggestions.NO_SUGGESTION
        invoked = params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
        shown = await inline_completion.suggest(ctx, ls.counters, invoked=invoked)
        return suggestions.as_inline_list(shown)

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions())
    async def on_completion(
        ls: HearthServer, params: types.CompletionParams
    ) -> types.CompletionList | None:
        if not ls.settings.current.completion.completion_items:
            return None
        ctx = ls.context(params.text_document.uri, params.position)
        if ctx is None:
            return suggestions.as_completion_list([])
        trigger = params.context.trigger_kind if params.context is not None else None
        invoked = trigger == types.CompletionTriggerKind.Invoked
        shown = await inline_completion.suggest(ctx, ls.counters, invoked=invoked)
        return suggestions.as_completion_list(shown)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def on_hover(ls: HearthServer, params: types.HoverParams) -> types.Hover | None:
        ctx = ls.context(params.text_document.uri, params.position)
        if ctx is None:
            return None
        return await hover.hover(ctx, ls.explanations, ls.window.hover_markdown())

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[docstrings.KIND, fixes.KIND], resolve_provider=True
        ),
    )
    async def on_code_action(
        ls: HearthServer, params: types.CodeActionParams
    ) -> list[types.CodeAction] | None:
        uri = params.text_document.uri
        settings, only = ls.settings.current, params.context.only
        ctx = ls.context(uri, params.range.start)
        if ctx is not None:  # what the editor shows there: a hover may explain it
            ctx.session.state(error_explanations.SeenDiagnostics).saw(params.context.diagnostics)
        ls.rested(uri, params.range.end)
        if ctx is None:
            return None
        found: list[types.CodeAction] = []
        if fixes.offered(settings.fixes, only):
            found += await fixes.code_actions(ctx, ls.window, params)
        if docstrings.offered(settings.docstrings, only):
            found += await docstrings.code_actions(ctx, ls.window) or []
        return found or None

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def on_code_action_resolve(
        ls: HearthServer, action: types.CodeAction
    ) -> types.CodeAction:
        if fixes.is_fix(action):
            ctx = ls.context(fixes.action_uri(action))
            return await fixes.resolve(ctx, ls.window, action) if ctx is not None else action
        ctx = ls.context(docstrings.action_uri(action))
        return await docstrings.resolve(ctx, ls.window, action) if ctx is not None else action

    @server.command(stats.COMMAND)
    def on_stats(ls: HearthServer, *args: Any) -> dict[str, Any]:
        return ls.stats()

    @server.command(CONTEXT_COMMAND)
    def show_context(ls: HearthServer, *args: Any) -> dict[str, Any]:
        if len(args) != 2 or not isinstance(args[0], str) or not isinstance(args[1], Mapping):
            raise JsonRpcInvalidParams(
                f"{CONTEXT_COMMAND} takes a document URI and a position, not {args!r}"
            )
        try:
            position = types.Position(line=args[1]["line"], character=args[1]["character"])
        except (KeyError, TypeError) as error:
            raise JsonRpcInvalidParams(f"{CONTEXT_COMMAND}: a bad position {args[1]!r}") from error
        ctx = ls.context(args[0], position)
        if ctx is None:
            raise JsonRpcInvalidParams(f"{args[0]} is over limits.documentChars")
        return inline_completion.context_at(ctx)

    @server.command(DOCSTRINGS_COMMAND)
    async def generate_docstrings(ls: HearthServer, *args: Any) -> dict[str, Any]:
        uri = args[0] if args else None
        if isinstance(uri, Mapping):
            uri = uri.get("uri")
        if not isinstance(uri, str):
            raise JsonRpcInvalidParams(f"{DOCSTRINGS_COMMAND} takes a document URI, not {args!r}")
        ctx = ls.context(uri)
        if ctx is None:
            raise JsonRpcInvalidParams(
                f"{uri} is over limits.documentChars: Hearth leaves it alone"
            )
        return await docstrings.document_all(ctx, ls.window)

    @server.command(instructions.COMMAND)
    async def edit_by_instruction(ls: HearthServer, *args: Any) -> dict[str, Any]:
        uri, selection, instruction = instructions.arguments(args)
        ctx = ls.context(uri)
        if ctx is None:
            raise JsonRpcInvalidParams(
                f"{uri} is over limits.documentChars: Hearth leaves it alone"
            )
        return await instructions.propose(ctx, ls.window, selection, instruction)

    @server.command(error_explanations.COMMAND)
    async def explain_diagnostic(ls: HearthServer, *args: Any) -> dict[str, Any]:
        uri, diagnostic = error_explanations.arguments(args)
        ctx = ls.context(uri)
        if ctx is None:
            raise JsonRpcInvalidParams(f"{uri} is over limits.documentChars")
        return await error_explanations.explain(ctx, ls.explanations, ls.window, diagnostic)

    @server.command(failure_fixes.COMMAND)
    async def fix_failure(ls: HearthServer, *args: Any) -> dict[str, Any]:
        text = failure_fixes.failure_text(args)
        at = failure_fixes.Where(ls.settings.current, ls.position_encoding, ls.workspace_roots())
        return await failure_fixes.fix(text, at, ls.parts, ls.window)

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: HearthServer, *args: Any) -> None:
        await asyncio.to_thread(ls.shut_down)

    return server
