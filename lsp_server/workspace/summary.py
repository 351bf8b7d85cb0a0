"""What the index keeps of one file: its definitions, short, and its imports.

A file's tree is parsed, read with the grammars/ queries (as an open
document's is, through `Outline`) and dropped: the index keeps for each
definition what a prompt or a hover would show of it, a few hundred bytes,
not the file. Methods are kept inside their class's entry.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from tree_sitter import Parser, QueryCursor, Tree

from lsp_server.context import languages
from lsp_server.context.outline import Definition, Outline, outline

CONSTANT_CHARS = 100  # a module-level assignment is shown up to here: its name and a start
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
    tree = parser.parse(source)
    return from_outline(language, outline(language, tree, source), tree)


def from_outline(language: str, read: Outline, tree: Tree) -> FileSummary:
    """The summary of a parse already made (an open document's): `read` is
    the outline of `tree`."""
    entries = _constants(language, read, tree)
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
    entries.sort(key=lambda entry: entry.line)
    return FileSummary(language, tuple(entries), imports)


def _constants(language: str, read: Outline, tree: Tree) -> list[Entry]:
    """The names a module assigns at its top, each with its first line."""
    cursor = QueryCursor(languages.query(language, "definitions"))
    entries = []
    for _, captures in cursor.matches(tree.root_node):
        if "definition.constant" not in captures or "name" not in captures:
            continue
        node = captures["definition.constant"][0]
        line = read.text(node.start_byte, node.end_byte).split("\n", 1)[0]
        if len(line) > CONSTANT_CHARS:
            line = line[:CONSTANT_CHARS] + " ..."
        name = captures["name"][0]
        entries.append(
            Entry(
                name=read.text(name.start_byte, name.end_byte),
                kind="constant",
                owner="",
                line=node.start_point.row,
                end_line=node.end_point.row,
                doc="",
                text=line,
            )
        )
    return entries


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
