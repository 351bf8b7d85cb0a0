"""The workspace index as the server runs it.

Started once the editor has said which folders it opened and the settings
are known, in the background, with a progress bar; told of saved files and
of files changed on disk (`workspace/didChangeWatchedFiles`, registered for
the languages the index reads, while it is on); started again when
`context.*` changes; stopped at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import platformdirs
from lsprotocol import types
from pygls.lsp.server import LanguageServer

from lsp_server.documents import real_path
from lsp_server.settings import ContextSettings
from lsp_server.window import Window
from lsp_server.workspace.files import watched_globs
from lsp_server.workspace.index import WorkspaceIndex

log = logging.getLogger(__name__)

WATCHER_ID = "hearth-workspace-files"


def cache_dir() -> Path:
    """Where the index keeps what it read: beside the models (`$HEARTH_CACHE_DIR`
    when set, else the user's cache directory)."""
    override = os.environ.get("HEARTH_CACHE_DIR")
    base = Path(override) if override else Path(platformdirs.user_cache_dir("hearth"))
    return base / "index"


class Indexing:
    """The index of the workspace folders, while `context.workspace` is on."""

    def __init__(self) -> None:
        self.index: WorkspaceIndex | None = None
        self._made_for: tuple[tuple[Path, ...], ContextSettings] | None = None

    async def start(self, roots: Sequence[str], settings: ContextSettings, window: Window) -> None:
        """Index `roots` (URIs) unless it is already done for them and these settings."""
        folders = tuple(path for root in roots if (path := real_path(root)) and path.is_dir())
        wanted = (folders, settings) if settings.workspace and folders else None
        if wanted == self._made_for:
            return
        self.stop()
        self._made_for = wanted
        if wanted is None:
            return
        index = WorkspaceIndex(folders, settings.exclude, cache_dir())
        self.index = index
        token = await window.begin_progress("Hearth: indexing the workspace")
        loop = asyncio.get_running_loop()

        def progress(done: int, found: int) -> None:
            if token is not None and found:
                percent = 100 * done // found
                message = f"{done}/{found} files"
                loop.call_soon_threadsafe(window.report_progress, token, message, percent)

        index.start(progress)
        await asyncio.to_thread(index.wait)
        if token is not None:
            window.end_progress(token, f"{index.counts.files} files")

    def saved(self, uri: str) -> None:
        path = real_path(uri)
        if self.index is not None and path is not None:
            self.index.refresh(path)

    def files_changed(self, params: types.DidChangeWatchedFilesParams) -> None:
        """Created, changed, deleted (a rename is a deletion and a creation)."""
        if self.index is None:
            return
        for change in params.changes:
            path = real_path(change.uri)
            if path is None:
                continue
            if change.type == types.FileChangeType.Deleted:
                self.index.forget(path)
            else:
                self.index.refresh(path)

    def stop(self, wait: float = 0.0) -> None:
        """Stop the index; at shutdown, `wait` for its worker to end."""
        if self.index is not None:
            self.index.stop(wait)
            self.index = None

    def stats(self) -> dict[str, object]:
        if self.index is None:
            return {"enabled": False}
        counts, skipped = self.index.counts, self.index.skipped
        return {
            "enabled": True,
            "ready": self.index.ready,
            "files": counts.files,
            "megabytes": round(counts.bytes / 1e6, 1),
            "fromCache": counts.from_cache,
            "seconds": round(counts.seconds, 1),
            "leftOut": counts.left_out,
            "tooBig": skipped.too_big,
            "binary": skipped.binary,
            "linksOutside": skipped.outside,
            "unreadable": len(skipped.unreadable),
            "similarCode": self.index.similar_code.stats(),
        }


class FileWatch:
    """The editor's watch of the files the index reads (`workspace/
    didChangeWatchedFiles`, registered dynamically): asked for while
    `context.workspace` is on, and withdrawn when it is turned off, so an
    editor does not watch a workspace for a server that ignores it."""

    def __init__(self) -> None:
        self._asked = False

    async def follow(self, server: LanguageServer, wanted: bool) -> None:
        if wanted == self._asked:
            return
        self._asked = wanted  # before awaiting: a change meanwhile sees it
        workspace = server.client_capabilities.workspace
        watched = workspace.did_change_watched_files if workspace is not None else None
        if watched is None or not watched.dynamic_registration:
            if wanted:
                log.info("the editor cannot watch files for Hearth: the index follows saves only")
            return
        method = types.WORKSPACE_DID_CHANGE_WATCHED_FILES
        try:
            if wanted:
                options = types.DidChangeWatchedFilesRegistrationOptions(
                    watchers=[types.FileSystemWatcher(glob_pattern=g) for g in watched_globs()]
                )
                registration = types.Registration(WATCHER_ID, method, register_options=options)
                await server.client_register_capability_async(
                    types.RegistrationParams(registrations=[registration])
                )
            else:
                withdrawn = types.Unregistration(WATCHER_ID, method)
                await server.client_unregister_capability_async(
                    types.UnregistrationParams(unregisterations=[withdrawn])
                )
        except Exception as error:  # the editor refused: saves still reach the index
            log.warning(
                "the editor refused to %s watching the workspace's files: %s",
                "start" if wanted else "stop",
                error,
            )
