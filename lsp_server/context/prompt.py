"""What the model is shown for one suggestion.

The code around the cursor first; then, within the context budget and in
this order of priority, what that window leaves out and the code needs:
the signatures of the definitions the cursor is in, the file's imports,
definitions of this file that the code near the cursor uses, the
definitions it uses that the file imports from other files of the
workspace, and definitions in other open documents of the same language
that it uses.

A prompt is made in two steps. `gather` collects its material: the names
used near the cursor, the file's outline, what the workspace index lends
(it reads the index and the open documents), and the other documents'
definitions those names stand for. `lay_out` then chooses the window
(context/window.py) and fits the material around it (context/header.py),
all with the request's `PromptLayout`, which the prompt carries on to the
engine: the window is chosen in characters with the same shares the engine
cuts by in tokens.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlparse

from lsp_server.context import window
from lsp_server.context.header import Pieces, add_definitions, header
from lsp_server.context.outline import Definition, Outline
from lsp_server.documents import Document
from lsp_server.layout import FileContext, PromptLayout, chars_for
from lsp_server.workspace.context import CrossFile

NEAR_BEFORE = 30  # lines before the cursor whose names count as used near it
NEAR_AFTER = 10  # ... and after it
# Names that are called, are members (after a dot), or are types (capitalised):
# a local variable that shares a definition's name is not worth prompt tokens.
_USED_NAME = re.compile(r"\b([A-Za-z_]\w*)\s*\(|\.\s*([A-Za-z_]\w*)|\b(_*[A-Z]\w*)")
_SPECIAL_NAME = re.compile(r"__\w+__")  # Python's dunders: every class has its own


@dataclass(frozen=True)
class Prompt:
    prefix: str  # the window's part before the cursor's line (or the anchor)
    middle: str  # from there to the cursor: the start of what the model writes
    suffix: str  # the window's part after the cursor
    context: FileContext
    layout: PromptLayout  # what it was chosen by, which the engine cuts it by

    @property
    def before_cursor(self) -> str:
        return self.prefix + self.middle


@dataclass(frozen=True)
class PromptRequest:
    """All a prompt is made from."""

    document: Document
    offset: int  # the cursor
    # The text to prompt with before and after the cursor (healed: `prefix`
    # may stop short of `offset`).
    prefix: str
    suffix: str
    layout: PromptLayout  # its shares, and its budget (`prompt_tokens`)
    context_tokens: int  # the most the context may take (completion.contextTokens)
    roots: tuple[str, ...] = ()  # the workspace folders' URIs: the repository, the paths
    others: tuple[Document, ...] = ()  # the open documents that may lend code
    cross_file: CrossFile | None = None  # what the document imports from the workspace


@dataclass(frozen=True)
class OpenFile:
    """Another open document's definitions that the code near the cursor uses."""

    path: str  # as the prompt names it
    outline: Outline
    used: list[Definition]


@dataclass(frozen=True)
class Material:
    """What a prompt may show besides the window, gathered before it is laid out."""

    names: set[str]  # used near the cursor
    outline: Outline | None  # the document's own (None without a grammar)
    # What other files of the workspace lend, most wanted first (CrossFile.for_prompt).
    shared: list[tuple[str, list[tuple[int, str]]]]
    open_files: list[OpenFile]  # in the order of their URIs


def relative_path(uri: str, roots: Sequence[str]) -> tuple[str, str]:
    """The repository name and the document's path in it, for the prompt: the
    workspace folder that holds it, else just the file's name."""
    path = PurePosixPath(unquote(urlparse(uri).path) or uri)
    for root in roots:
        folder = PurePosixPath(unquote(urlparse(root).path))
        if path.is_relative_to(folder) and folder != path:
            return folder.name, str(path.relative_to(folder))
    return "", path.name


def names_near(document: Document, offset: int) -> set[str]:
    """The names the code near `offset` uses (not its comments or strings)."""
    text = document.text
    start = offset
    for _ in range(NEAR_BEFORE):
        start = text.rfind("\n", 0, max(0, start - 1)) + 1
        if start == 0:
            break
    end = offset
    for _ in range(NEAR_AFTER):
        end = text.find("\n", end + 1)
        if end < 0:
            end = len(text)
            break
    return names_in(document, start, end)


def names_in(document: Document, start: int, end: int) -> set[str]:
    """The names the code from `start` to `end` (character offsets) uses,
    not in its comments or strings, nor those it defines itself."""
    syntax = document.syntax
    text = document.text
    code = syntax.code_only(start, end) if syntax is not None else text[start:end]
    used = {name for match in _USED_NAME.findall(code) for name in match if name}
    # A name the code there defines (`def __init__(`) is not a use of it: shown
    # other definitions of it (every class's `__init__`, body elided), the
    # model learnt to write `...` for the body at the cursor (quality benchmark).
    # Nor is a special method's name worth looking up: it is every class's.
    used = {name for name in used if not _SPECIAL_NAME.fullmatch(name)}
    if syntax is not None:
        first, last = syntax.byte_offset(start), syntax.byte_offset(end)
        outline = syntax.outline()
        used -= {d.name for d in outline.definitions if first <= d.name_span[0] < last}
    return used


def _above(prefix: str) -> str:
    """The text before the cursor's line."""
    return prefix[: prefix.rfind("\n") + 1]


def gather(request: PromptRequest) -> Material:
    """The material for the prompt of `request`: everything it reads of the
    document's tree, the workspace and the other open documents."""
    document, prefix = request.document, request.prefix
    syntax = document.syntax
    names = names_near(document, request.offset)
    above = _above(prefix)
    cross_file = request.cross_file
    shared = (
        cross_file.for_prompt(names, above, prefix[len(above) :], request.suffix)
        if cross_file
        else []
    )
    open_files = []
    for other in sorted(request.others, key=lambda d: d.uri):
        if other.uri == document.uri or other.syntax is None:
            continue
        if syntax is None or other.syntax.language != syntax.language:
            continue
        outline = other.syntax.outline()
        used = [d for d in outline.definitions if d.name in names and outline.scope(d) is None]
        open_files.append(OpenFile(relative_path(other.uri, request.roots)[1], outline, used))
    own = syntax.outline() if syntax is not None else None
    return Material(names, own, shared, open_files)


def lay_out(request: PromptRequest, material: Material) -> Prompt:
    """The prompt for `request`, with `material` fitted around its window."""
    document, offset, prefix, suffix = (
        request.document,
        request.offset,
        request.prefix,
        request.suffix,
    )
    layout = request.layout
    syntax = document.syntax
    room = chars_for(layout.prompt_tokens)
    context_room = layout.context_chars(request.context_tokens)
    chosen = Pieces(0, [])
    # The window is measured without the cursor's line: typing along a line
    # must not move its edges, or the model reads the whole prompt again.
    above = _above(prefix)
    for _ in range(2):
        # First with the whole budget for the window; if the header takes some,
        # once more with the window that leaves.
        local = room - (context_room - chosen.room if chosen.chosen else 0)
        suffix_end = window.window_end(
            suffix, max(local // layout.suffix_min_share, local - len(above))
        )
        start = window.window_start(above, local - suffix_end)
        if len(prefix) - start > local - suffix_end + local // window.LINE_SHARE:
            start = window.window_start(prefix, local - suffix_end)  # a very long line
        start = window.statement_start(prefix, start, len(above))
        if syntax is None or material.outline is None or (start == 0 and suffix_end == len(suffix)):
            break
        # Not inside a docstring: its closing quotes would read as opening one.
        prose_end = syntax.prose_end(start)
        after = prefix.find("\n", prose_end) + 1 if prose_end > start else 0
        if start < after <= len(above):
            start = window.statement_start(prefix, after, len(above))
        span = (syntax.byte_offset(start), syntax.byte_offset(offset + suffix_end + 1))
        at = syntax.byte_offset(offset)
        chosen = header(material.outline, span, at, material.names, context_room)
        if not chosen.chosen:
            break
    files = _files(material, Pieces(chosen.room if chosen.chosen else context_room, []))
    repo, path = relative_path(document.uri, request.roots)
    middle_room = layout.middle_chars() // 2
    anchor = window.anchor(prefix, start, max(start, len(above)), middle_room, layout.middle_lines)
    return Prompt(
        prefix=prefix[start:anchor],
        middle=prefix[anchor:],
        suffix=suffix[:suffix_end],
        context=FileContext(repo=repo, path=path, header=chosen.text(), files=tuple(files)),
        layout=layout,
    )


def _files(material: Material, remaining: Pieces) -> list[tuple[str, str]]:
    """Other files' code for the prompt, as (path, text), within `remaining`."""
    files: list[tuple[str, str]] = []
    # What other files lend comes first (after `module.`, that module's names;
    # what the code imports, in import order; code like the cursor's): it
    # changes least while the user types, and it is what the code calls.
    for path, texts in material.shared:
        before = len(remaining.chosen)
        for line, text in texts:
            remaining.add(((line, 0), text))
        if len(remaining.chosen) > before:
            files.append((path, Pieces(0, remaining.chosen[before:]).text()))
    imported = {path for path, _ in files}
    for other in material.open_files:
        if other.path in imported:
            continue  # its definitions the code uses are shown already
        before = len(remaining.chosen)
        add_definitions(remaining, other.outline, other.used)
        if len(remaining.chosen) > before:
            files.append((other.path, Pieces(0, remaining.chosen[before:]).text()))
    return files


def assemble(request: PromptRequest) -> Prompt:
    """The prompt for a suggestion at the request's cursor."""
    return lay_out(request, gather(request))
