"""What the index keeps of one file: its definitions, short, and its imports.

A file's tree is parsed, read with the grammars/ queries (as an open
document's is, through `Outline`) and dropped: the index keeps for each
definition what a prompt or a hover would show of it, a few hundred bytes,
not the file. Methods are kept inside their class's entry.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from tree_sitter import Parser

from lsp_server.context import languages
from lsp_server.context.outline import Definition, Outline, outline

_parsers = threading.local()  # a tree-sitter Parser is not to be shared between threads


@dataclass(frozen=True)
class Entry:
    """One definition of a file, as the model is shown it."""

    name: str
    kind: str  # "function", "class" or "method"
    owner: str  # the class a method belongs to; empty for the others
    line: int  # 0-based, where the definition starts
    end_line: int
    doc: str  # the first line of its docstring or doc comment, or empty
    text: str  # its short form (Outline.short_form): signature, doc, members; bodies elided


@dataclass(frozen=True)
class FileSummary:
    language: str
    entries: tuple[Entry, ...]
    imports: tuple[str, ...]  # the import statements, as written

    def named(self, name: str) -> list[Entry]:
        return [entry for entry in self.entries if entry.name == name]

    def members(self, owner: str) -> list[Entry]:
        return [entry for entry in self.entries if entry.owner == owner]

    @property
    def size(self) -> int:
        """Roughly the bytes it holds, for the index's memory limit."""
        texts = [*self.imports, *(e.text + e.doc + e.name for e in self.entries)]
        return sum(len(text) for text in texts) + 100 * len(self.entries)


def summarise(language: str, text: str) -> FileSummary:
    """The summary of a file written in `language` (a grammars/ folder)."""
    parser = getattr(_parsers, language, None)
    if parser is None:
        parser = Parser(languages.language(language))
        setattr(_parsers, language, parser)
    source = text.encode("utf-8", "surrogatepass")
    return from_outline(language, outline(language, parser.parse(source), source))


def from_outline(language: str, read: Outline) -> FileSummary:
    """The summary of an outline already made: an open document's."""
    entries = []
    for definition in read.definitions:
        if read.scope(definition) is not None:
            continue  # local to a function: not seen from other files
        owner = read.owner(definition)
        if owner is not None and read.scope(owner) is not None:
            continue
        entries.append(
            Entry(
                name=definition.name,
                kind=definition.kind,
                owner=owner.name if owner is not None else "",
                line=read.source.count(b"\n", 0, definition.start),
                end_line=read.source.count(b"\n", 0, definition.end),
                doc=_first_line(read, definition),
                # A method is shown as its signature: its class's entry has the rest.
                text=read.signature(definition).strip()
                if owner is not None
                else read.short_form(definition),
            )
        )
    imports = tuple(read.text(start, end) for start, end in read.imports)
    return FileSummary(language, tuple(entries), imports)


def _first_line(read: Outline, definition: Definition) -> str:
    """The first line of words of a definition's docstring or doc comment."""
    if definition.doc is None:
        return ""
    for line in read.text(*definition.doc).split("\n"):
        words = line.strip().strip("\"'").lstrip("/*!#").strip().removesuffix("*/").strip()
        words = words.removeprefix('r"""').strip()
        if words:
            return words
    return ""
