"""What a fix is shown of the places its diagnostic names: the code at the
diagnostic's related locations.

A diagnostic's related information points at other places the problem
involves: the declaration a type checker compares with, or, for a failure
(failure_fixes.py), the calls that led to it, the test among them. The
test says what the code was expected to do, which the failure's last line
alone does not: a fix told `AssertionError: 5 != 4` and shown the test
that asserted it knows what to make the function return.

Each place is shown as the function around it (regions.py), or the lines
around it where that is too long, within RELATED_CODE_CHARS. A place is
read from the editor's buffer if the file is open, else from disk if
`context.workspace` lets Hearth read the workspace's files, and only if
it lies in a workspace folder: a file from elsewhere is never shown to
the model (with a remote engine, it would leave the machine).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lsprotocol import types

from lsp_server import documents
from lsp_server.context import languages
from lsp_server.documents import Document
from lsp_server.features.proposals import NotWritten
from lsp_server.features.regions import Region, lines_of, region_for
from lsp_server.session import Workspace
from lsp_server.workspace import files

RELATED_CODE_CHARS = 1600  # about 450 tokens: the test, or a few lines of each place
AROUND = 3  # lines shown each side of a place whose function is too long to show whole

Reader = Callable[[str], Document | None]


def read_document(path: Path, max_chars: int) -> Document:
    """The file, read from disk as a document no editor has open."""
    language = files.language_of(path)
    if language is None:
        raise NotWritten(f"{path}: Hearth has no grammar for this language")
    too_big = NotWritten(f"{path} is over limits.documentChars ({max_chars})")
    try:
        if path.stat().st_size > 4 * max_chars:  # over the limit however it decodes: not read
            raise too_big
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise NotWritten(f"{path} is not readable as UTF-8 text: {error}") from error
    if len(text) > max_chars:
        raise too_big
    language_id = languages.spec_named(language).language_ids[0]
    return Document(path.as_uri(), language_id, 0, text, max_chars)


def workspace_reader(workspace: Workspace, max_chars: int) -> Reader:
    """Reads a URI as the editor's buffer of it, else as the file on disk
    where the workspace is indexed (`context.workspace`); None for anything
    outside the workspace folders or not readable."""
    roots = [path for root in workspace.roots if (path := documents.real_path(root))]
    return reader(roots, workspace.opened_by_path(), workspace.index is not None, max_chars)


def reader(
    roots: list[Path], opened: dict[Path | None, Document], from_disk: bool, max_chars: int
) -> Reader:
    """Reads a URI inside `roots` as its `opened` document, else, if
    `from_disk`, as the file on disk."""

    def read(uri: str) -> Document | None:
        path = documents.real_path(uri)
        if path is None or not any(path.is_relative_to(root) for root in roots):
            return None
        if path in opened:
            return opened[path]
        if not from_disk:
            return None  # context.workspace is off: no file but the open ones is read
        try:
            return read_document(path, max_chars)
        except NotWritten:
            return None

    return read


def related_code(
    diagnostic: types.Diagnostic,
    uri: str,
    region: Region,
    read: Reader,
    relative: Callable[[str], str],
) -> str:
    """The code at `diagnostic`'s related locations that `read` can read,
    for the model fixing `region` of the document `uri`; "" when there is
    none. `relative` names a URI's file as the user knows it."""
    parts: list[str] = []
    room = RELATED_CODE_CHARS
    shown: set[tuple[str, int]] = set()
    for related in diagnostic.related_information or ():
        place = related.location
        line = place.range.start.line
        if place.uri == uri and region.first <= line <= region.last:
            continue  # in the code being fixed, which the model sees
        document = read(place.uri)
        if document is None or line >= len(lines_of(document.text)):
            continue
        around = region_for(document, line, line)
        if (place.uri, around.first) in shown:
            continue
        text = around.text if len(around.text) <= room else _lines_around(document, line)
        if len(text) > room:
            continue
        shown.add((place.uri, around.first))
        room -= len(text)
        at = lines_of(document.text)[line].strip()
        heading = f"From {relative(place.uri)}, line {line + 1}: `{at}` ({related.message.strip()})"
        parts.append(f"{heading}\n```{document.language or ''}\n{_ended(text)}```")
    if not parts:
        return ""
    return "The problem involves these places, shown for reference:\n\n" + "\n\n".join(parts)


def _lines_around(document: Document, line: int) -> str:
    lines = lines_of(document.text)
    return "".join(lines[max(line - AROUND, 0) : line + AROUND + 1])


def _ended(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"
