"""What a handler works with: the session of each open document, and a
snapshot of one request.

A `DocumentSession` holds everything Hearth keeps for one open document:
its text and tree, the newest request of each feature, and a slot for each
feature's own state (`FeatureState`: the inline suggestion shown, the
explanations read ahead, ...). The features' states are made by the
factories the server gives `Sessions`: this module knows none of them.
An edit, a rest of the cursor and the close reach every slot from here.

A `RequestContext` is what a feature's handler gets: the settings in force
when the request came, the document's session, the cursor resolved in it,
and the parts the handler may use (the scheduler, the model's host, the
workspace). `Parts.context` builds it, and is the one place a request's
document and position are checked: a bad one is answered with InvalidParams.
A `RequestGuard` says when a request has become stale.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from lsp_server.context import languages, symbols
from lsp_server.documents import BadPosition, Document, TextPosition, real_path, resolve
from lsp_server.inference.scheduler import Scheduler
from lsp_server.model_host import ModelHost, ModelState
from lsp_server.settings import Settings
from lsp_server.workspace.context import CrossFile
from lsp_server.workspace.files import language_of, read_source, shown_path
from lsp_server.workspace.index import WorkspaceIndex
from lsp_server.workspace.service import Indexing
from lsp_server.workspace.summary import FileSummary, from_outline

log = logging.getLogger(__name__)

Background = Coroutine[Any, Any, None]
# The cursor rests this long (editors ask for code actions where it moves
# to) before work for where it rests begins: reading a prompt ahead, say.
RESTING_S = 0.25


class FeatureState:
    """What one feature keeps for one open document: its slot in the
    document's session. Each hook does nothing unless the feature says."""

    def opened(self, document: Document) -> None:
        """The document was opened (this slot was just made for it)."""

    def edited(self, document: Document) -> None:
        """The document was edited (it is at its new version already)."""

    def rested(self, ctx: RequestContext) -> Background | None:
        """Work to do in the background where the cursor now rests (`ctx.at`),
        such as reading a prompt ahead; None for none."""
        return None

    def close(self) -> None:
        """The document was closed: drop all that is kept."""


State = TypeVar("State", bound=FeatureState)
StateFactory = Callable[[], FeatureState]


class DocumentSession:
    """One open document and all that Hearth keeps for it."""

    def __init__(
        self, document: Document, scheduler: Scheduler, states: Sequence[StateFactory] = ()
    ) -> None:
        self.document = document
        self._scheduler = scheduler
        self._latest: dict[str, int] = {}  # each feature's newest request: older ones are stale
        self._states: dict[type[FeatureState], FeatureState] = {}
        for make in states:
            state = make()
            self._states[type(state)] = state
            state.opened(document)
        self.said_too_big = False  # the log said it is over limits.documentChars

    @property
    def uri(self) -> str:
        return self.document.uri

    def state(self, kind: type[State]) -> State:
        """The slot of the feature whose state is of `kind`."""
        state = self._states[kind]
        assert isinstance(state, kind)
        return state

    def begin(self, feature: str) -> RequestGuard:
        """Number a new request of `feature` about the document: it is now its
        latest, and the one before it is stale."""
        number = self._latest[feature] = self._latest.get(feature, 0) + 1
        return RequestGuard(self, feature, number, self.document.version)

    def is_latest(self, feature: str, number: int) -> bool:
        return self._latest.get(feature) == number

    def edited(self) -> None:
        """After an edit: each feature hears of it, then the model's work for
        the versions before this one stops at its next token (unless a feature
        carried it over to this version: typing what it writes)."""
        for state in self._states.values():
            state.edited(self.document)
        self._scheduler.cancel_document(self.uri, self.document.version)

    def rested(self, ctx: RequestContext) -> list[Background]:
        """The background work of each feature where the cursor rests."""
        return [work for state in self._states.values() if (work := state.rested(ctx))]

    def close(self) -> None:
        """The editor closed the document: its work stops at the next token,
        and nothing of it is kept."""
        self._scheduler.close_document(self.uri)
        for state in self._states.values():
            state.close()


@dataclass(frozen=True)
class RequestGuard:
    """One request about a document, and the one test of whether it is stale:
    a newer request of the same feature came for the document, or the
    document was edited since it began. A stale request's answer would be
    for text the user no longer has: it answers nothing. (An answer that is
    placed in the text as it is when it is ready, such as a docstring, only
    gives way to a newer request: `superseded`.)"""

    session: DocumentSession
    feature: str
    number: int
    version: int

    @property
    def superseded(self) -> bool:
        """A newer request of the same feature came for the document."""
        return not self.session.is_latest(self.feature, self.number)

    @property
    def stale(self) -> bool:
        """Superseded, or the document was edited since."""
        return self.superseded or self.session.document.version != self.version


class Sessions:
    """The open documents' sessions, by URI."""

    def __init__(self, scheduler: Scheduler, states: Sequence[StateFactory] = ()) -> None:
        self._scheduler = scheduler
        self._states = tuple(states)  # each feature's factory of its per-document state
        self._sessions: dict[str, DocumentSession] = {}
        self.max_chars = Document.max_chars  # limits.documentChars; the server sets it

    def open(self, item: types.TextDocumentItem) -> DocumentSession:
        old = self._sessions.get(item.uri)
        if old is not None:  # opened again without a close: the old one's work is stale
            old.close()
        document = Document(item.uri, item.language_id, item.version, item.text, self.max_chars)
        session = DocumentSession(document, self._scheduler, self._states)
        self._sessions[item.uri] = session
        return session

    def change(
        self, params: types.DidChangeTextDocumentParams, encoding: str
    ) -> DocumentSession | None:
        """Apply an edit, and tell the document's features (`DocumentSession.edited`);
        the document's session, None when it is not open."""
        session = self._sessions.get(params.text_document.uri)
        if session is None:
            log.warning("didChange for %s, which is not open", params.text_document.uri)
            return None
        document = session.document
        document.max_chars = self.max_chars
        for change in params.content_changes:
            document.apply(change, encoding)
        document.version = params.text_document.version
        session.edited()
        return session

    def close(self, uri: str) -> None:
        session = self._sessions.pop(uri, None)
        if session is not None:
            session.close()

    def get(self, uri: str) -> DocumentSession | None:
        return self._sessions.get(uri)

    def documents(self) -> list[Document]:
        return [session.document for session in self._sessions.values()]

    def __iter__(self) -> Iterator[DocumentSession]:
        return iter(list(self._sessions.values()))


@dataclass(frozen=True)
class Workspace:
    """The workspace folders, and the open documents that may lend code to a prompt."""

    roots: tuple[str, ...]  # the folders' URIs (the root URI for clients without folders)
    sessions: Sessions = field(repr=False)
    index: WorkspaceIndex | None = field(default=None, repr=False)  # None: context.workspace off

    def cross_file(self, document: Document) -> CrossFile | None:
        """What `document` imports from other files of the workspace, read from
        the index, or from the editor's buffer where the file is open."""
        path, syntax, index = real_path(document.uri), document.syntax, self.index
        if index is None or path is None or syntax is None:
            return None
        summaries: dict[Path, FileSummary | None] = {}

        @cache
        def opened() -> dict[Path | None, Document]:
            # Found when a prompt is made, not for each key typed into a kept one.
            return self.opened_by_path()

        def summary(of: Path) -> FileSummary | None:
            if of not in summaries:
                buffer = opened().get(of)
                tree = buffer.syntax if buffer is not None else None
                summaries[of] = (
                    from_outline(tree.language, tree.outline(), tree.tree())
                    if tree is not None
                    else index.summary(of)
                )
            return summaries[of]

        def source(of: Path) -> str | None:
            buffer = opened().get(of)
            return buffer.text if buffer is not None else read_source(of)

        imported = [syntax.outline().text(*span) for span in syntax.outline().imports]
        key = (id(index), index.generation)  # the buffers' versions are in the prompt's own key
        return CrossFile(path, imported, index.roots, summary, key, index.similar_code, source)

    def opened_by_path(self) -> dict[Path | None, Document]:
        """The context documents by their real paths (the first one opened
        where two URIs lead to one file)."""
        opened: dict[Path | None, Document] = {}
        for document in self.context_documents():
            opened.setdefault(real_path(document.uri), document)
        return opened

    def relative(self, uri: str) -> str:
        """A document's path as a user names it: from its workspace folder, else
        the file's name (the URI itself when it is not a file)."""
        path = real_path(uri)
        if path is None:
            return uri
        return shown_path(path, (f for f in map(real_path, self.roots) if f is not None))

    def context_documents(self) -> list[Document]:
        """The open documents that may lend code to another's prompt: those
        inside the workspace folders, once `..` and symlinks are resolved
        (all of them when the editor gave no folder). A file from elsewhere
        that the user opened is used for itself, but never shown to the model
        for another (with a remote engine, it would leave the machine)."""
        documents = self.sessions.documents()
        roots = [path for root in self.roots if (path := real_path(root))]
        if not roots:
            return documents
        inside = []
        for document in documents:
            path = real_path(document.uri)
            if path is not None and any(path.is_relative_to(root) for root in roots):
                inside.append(document)
        return inside

    def imported_target(self, document: Document, name: str) -> symbols.Target | None:
        """The definition of `name` in the workspace file `document` imports it
        from (for a hover): the file's open buffer, else the file on disk."""
        cross_file = self.cross_file(document)
        found = cross_file.origin(name) if cross_file is not None else None
        if found is None:
            return None
        uri = found.path.as_uri()
        opened = self.opened_by_path().get(found.path)
        if opened is None:
            language = language_of(found.path)
            text = read_source(found.path)
            if language is None or text is None:
                return None
            language_id = languages.spec_named(language).language_ids[0]
            opened = Document(uri, language_id, 0, text)
        syntax = opened.syntax
        if syntax is None:
            return None
        outline = syntax.outline()
        definition = symbols.named(outline, found.entry.name, None)
        return symbols.Target(opened, outline, definition) if definition is not None else None


@dataclass(frozen=True)
class RequestContext:
    """What one request's handler works with: a snapshot of the settings, the
    document's session and the cursor resolved in it (None for a request
    without a position), and the parts it may use."""

    settings: Settings
    session: DocumentSession
    cursor: TextPosition | None
    encoding: str  # the position encoding agreed at initialize
    scheduler: Scheduler
    host: ModelHost = field(repr=False)  # the model's: see `model_ready`, `model_loaded`
    workspace: Workspace

    @property
    def model_ready(self) -> bool:
        """A model is loaded and no load is under way."""
        return self.host.state is ModelState.READY

    @property
    def model_loading(self) -> bool:
        return self.host.state is ModelState.LOADING

    async def model_loaded(self, timeout: float | None = None) -> bool:
        """Wait for a load under way to end (up to `timeout` seconds); True
        when a model is then ready."""
        return await self.host.wait(timeout)

    @property
    def document(self) -> Document:
        return self.session.document

    @property
    def at(self) -> TextPosition:
        """The cursor, for handlers of requests that have one."""
        assert self.cursor is not None, "a request without a position"
        return self.cursor

    async def rested(self, seconds: float) -> bool:
        """Wait `seconds`; True when the document was not edited meanwhile and
        a model is ready: background work for where the cursor rests may go on."""
        version = self.document.version
        await asyncio.sleep(seconds)
        return self.document.version == version and self.model_ready


@dataclass(frozen=True)
class Parts:
    """The long-lived parts a request context is made from."""

    sessions: Sessions
    scheduler: Scheduler
    host: ModelHost
    indexing: Indexing

    def context(
        self,
        settings: Settings,
        encoding: str,
        roots: tuple[str, ...],
        uri: str,
        position: types.Position | None = None,
    ) -> RequestContext | None:
        """The context of a request about `uri` (at `position`). None when the
        document is over limits.documentChars (said once in the log, as long
        as it stays open). Raises InvalidParams for a document that is not
        open or a position that is not in it."""
        session = self.sessions.get(uri)
        if session is None:
            raise JsonRpcInvalidParams(f"{uri} is not open: send textDocument/didOpen first")
        document = session.document
        if document.too_big:
            if not session.said_too_big:
                session.said_too_big = True
                log.warning(
                    "%s has %d characters, over limits.documentChars (%d): Hearth leaves it alone",
                    uri,
                    len(document.text),
                    document.max_chars,
                )
            return None
        session.said_too_big = False
        cursor = None
        if position is not None:
            try:
                cursor = resolve(document.text, position, encoding)
            except BadPosition as error:
                raise JsonRpcInvalidParams(f"{uri}: {error}") from error
        workspace = Workspace(roots, self.sessions, self.indexing.index)
        return RequestContext(
            settings, session, cursor, encoding, self.scheduler, self.host, workspace
        )

    def file_context(
        self, settings: Settings, encoding: str, roots: tuple[str, ...], document: Document
    ) -> RequestContext:
        """The context of a request about a file the editor has not opened,
        read from disk into `document`: a session of its own that no
        feature keeps state in, gone with the request."""
        session = DocumentSession(document, self.scheduler)
        workspace = Workspace(roots, self.sessions, self.indexing.index)
        return RequestContext(
            settings, session, None, encoding, self.scheduler, self.host, workspace
        )
