"""Talking to the user through the editor: messages, status, progress, edits.

Features get a `Window` rather than the server: what they may say to the
user is all they can reach of it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

log = logging.getLogger(__name__)


class Window:
    def __init__(self, server: LanguageServer) -> None:
        self._server = server
        self._said: set[str] = set()

    def say(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        """Show `message` to the user, every time."""
        self._server.window_show_message(
            types.ShowMessageParams(type=kind, message=f"Hearth: {message}")
        )

    def say_once(self, message: str, kind: types.MessageType = types.MessageType.Error) -> None:
        """Show `message` to the user, once per server lifetime."""
        if message in self._said:
            return
        self._said.add(message)
        self.say(message, kind)

    def status(self, state: str, message: str = "", percent: int | None = None) -> None:
        """`hearth/status` (loading, ready, busy, error), for a client that shows it
        in a status bar and said so (capability `experimental.hearthStatus`)."""
        experimental = self._server.client_capabilities.experimental
        if not (isinstance(experimental, Mapping) and experimental.get("hearthStatus")):
            return
        params: dict[str, Any] = {"state": state, "message": message}
        if percent is not None:
            params["percent"] = percent
        self._server.protocol.notify("hearth/status", params)

    async def begin_progress(self, title: str, cancellable: bool = False) -> str | None:
        """A progress bar in the editor, if it has them: its token, else None."""
        window = self._server.client_capabilities.window
        if window is None or not window.work_done_progress:
            return None
        token = str(uuid.uuid4())
        progress = self._server.work_done_progress
        try:
            await progress.create_async(token)
        except Exception as error:  # the client refused: go on without a progress bar
            log.warning("work done progress refused: %s", error)
            return None
        progress.begin(
            token,
            types.WorkDoneProgressBegin(title=title, percentage=0, cancellable=cancellable),
        )
        return token

    def report_progress(self, token: str, message: str, percent: int | None = None) -> None:
        self._server.work_done_progress.report(
            token, types.WorkDoneProgressReport(message=message, percentage=percent)
        )

    def end_progress(self, token: str, message: str) -> None:
        self._server.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))

    def progress_cancelled(self, token: str) -> asyncio.Future[Any] | None:
        """Done when the user cancels the progress `token` (pygls cancels its future)."""
        cancel = self._server.work_done_progress.tokens.get(token)
        return asyncio.wrap_future(cancel) if cancel is not None else None

    async def apply_edit(self, edit: types.WorkspaceEdit, label: str) -> None:
        await self._server.workspace_apply_edit_async(
            types.ApplyWorkspaceEditParams(edit=edit, label=label)
        )

    def hover_markdown(self) -> bool:
        """The client shows Markdown in hovers (eglot without markdown-mode asks
        for plain text). A client that does not say is sent Markdown."""
        document = self._server.client_capabilities.text_document
        hover = document.hover if document is not None else None
        formats = hover.content_format if hover is not None else None
        return not formats or types.MarkupKind.Markdown in formats

    def resolves_code_action_edits(self) -> bool:
        """The client asks for a code action's edit when the user picks it."""
        document = self._server.client_capabilities.text_document
        code_action = document.code_action if document is not None else None
        support = code_action.resolve_support if code_action is not None else None
        return support is not None and "edit" in support.properties
