"""Which definition a position in a document names: its own name where it is
defined, or a call or type that refers to it (grammars/*/references.scm),
found in the same document or in another open one of the same language."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tree_sitter import QueryCursor

from lsp_server.context import languages
from lsp_server.context.outline import Definition, Outline
from lsp_server.documents import Document


@dataclass(frozen=True)
class Symbol:
    name: str
    span: tuple[int, int]  # byte offsets of the name at the position
    definition: Definition | None  # set when the position is on the name of a definition


@dataclass(frozen=True)
class Target:
    """A definition, with the document and outline it is read from."""

    document: Document
    outline: Outline
    definition: Definition

    def excerpt(self, room: int) -> str:
        """What the model reads of the definition, within `room` characters:
        its class's first line for a method, its doc comment, and its text,
        the body cut to fit with the cut marked in a comment."""
        outline, definition = self.outline, self.definition
        head: list[str] = []
        owner = outline.owner(definition)
        if owner is not None:
            head.append(outline.signature(owner).split("\n")[0])
        if definition.doc is not None and definition.doc[1] <= definition.start:
            head.append(outline.text(*definition.doc))  # a comment before it (JSDoc, ///)
        whole = outline.text(definition.start, definition.end).rstrip()
        if len(whole) > room and definition.kind == "class":
            whole = outline.short_form(definition)  # members' signatures, bodies elided
        lines = [*head, *whole.split("\n")]
        kept: list[str] = []
        used = 0
        for line in lines:
            if used + len(line) + 1 > room and kept:
                break
            kept.append(line)
            used += len(line) + 1
        left = len(lines) - len(kept)
        if left:
            syntax = self.document.syntax
            comment = languages.spec_named(syntax.language).line_comment if syntax else "#"
            indent = kept[-1][: len(kept[-1]) - len(kept[-1].lstrip())]
            kept.append(f"{indent}{comment} ... ({left} more lines not shown)")
        return "\n".join(kept)


def symbol_at(document: Document, offset: int) -> Symbol | None:
    """The definition name or reference under `offset` (a character offset),
    or None for anything else: whitespace, comments, literals, other names."""
    syntax = document.syntax
    if syntax is None:
        return None
    outline = syntax.outline()
    at = syntax.byte_offset(offset)
    for definition in outline.definitions:
        start, end = definition.name_span
        if start <= at < end:
            return Symbol(definition.name, definition.name_span, definition)
    for name, span in _references(document, at, at + 1):
        if span[0] <= at < span[1]:
            return Symbol(name, span, None)
    return None


def references_between(document: Document, start: int, end: int) -> list[Symbol]:
    """The calls and types that refer to a definition between two character
    offsets, in the order they are written."""
    syntax = document.syntax
    if syntax is None:
        return []
    found = _references(document, syntax.byte_offset(start), syntax.byte_offset(end))
    return [Symbol(name, span, None) for name, span in found]


def _references(document: Document, start: int, end: int) -> list[tuple[str, tuple[int, int]]]:
    """The references.scm captures that overlap the bytes from `start` to `end`."""
    syntax = document.syntax
    assert syntax is not None
    cursor = QueryCursor(languages.query(syntax.language, "references"))
    cursor.set_byte_range(start, end)
    nodes = sorted(
        cursor.captures(syntax.tree().root_node).get("reference", []), key=lambda n: n.start_byte
    )
    return [
        ((node.text or b"").decode("utf-8", "surrogatepass"), (node.start_byte, node.end_byte))
        for node in nodes
    ]


def resolve(document: Document, symbol: Symbol, others: Iterable[Document]) -> Target | None:
    """The definition that `symbol`, a name in `document`, defines or refers to."""
    syntax = document.syntax
    if syntax is None:
        return None
    outline = syntax.outline()
    if symbol.definition is not None:
        return Target(document, outline, symbol.definition)
    here = named(outline, symbol.name, symbol.span[0])
    if here is not None:
        return Target(document, outline, here)
    for other in sorted(others, key=lambda d: d.uri):
        if other.uri == document.uri or other.syntax is None:
            continue
        if other.syntax.language != syntax.language:
            continue
        other_outline = other.syntax.outline()
        there = named(other_outline, symbol.name, None)
        if there is not None:
            return Target(other, other_outline, there)
    return None


def named(outline: Outline, name: str, near: int | None) -> Definition | None:
    """Of the definitions named `name`: the one in the class around `near`
    (a method called on `self`), else the nearest, else the first."""
    named = [d for d in outline.definitions if d.name == name]
    if not named or near is None:
        return named[0] if named else None
    for definition in named:
        owner = outline.owner(definition)
        if owner is not None and owner.contains(near):
            return definition
    return min(named, key=lambda d: abs(d.start - near))
