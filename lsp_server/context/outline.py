"""A document's definitions and imports, from the grammars/ queries, and
short forms of them to show the model: signature, doc, body elided."""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node, QueryCursor, Tree

from lsp_server.context import languages

SHORT_LINES = 6  # a definition this short is shown whole
DOC_LINES = 4  # a longer doc comment is cut to its first paragraph
CLASS_MEMBERS = 12  # member signatures shown in a class's outline
_KINDS = ("method", "function", "class")  # most specific first


@dataclass(frozen=True)
class Definition:
    kind: str  # "function", "method" or "class"
    name: str
    name_span: tuple[int, int]  # byte offsets of the name where it is defined
    start: int  # byte offsets in the document: the definition's first line starts here
    end: int
    body_start: int | None  # None for a declaration without a body
    doc: tuple[int, int] | None  # its doc comment or docstring, as byte offsets

    def contains(self, offset: int) -> bool:
        return self.start <= offset < self.end


@dataclass(frozen=True)
class Outline:
    """Definitions and imports of one parse of a document."""

    source: bytes
    definitions: tuple[Definition, ...]
    imports: tuple[tuple[int, int], ...]  # whole lines, as byte offsets
    indented_blocks: bool = False  # the language's blocks end where their indentation does

    def encloses(self, definition: Definition, offset: int) -> bool:
        """Whether code written at `offset` is part of `definition`: inside it, or,
        where blocks end by indentation, on an indented line after its last
        statement with nothing but blank lines in between."""
        if definition.contains(offset):
            return True
        if not self.indented_blocks or offset < definition.end:
            return False
        if self.source[definition.end : offset].strip():
            return False
        line = self.source[definition.start : self.source.find(b"\n", definition.start)]
        indentation = len(line) - len(line.lstrip(b" \t"))
        return _column(self.source, offset) > indentation

    def text(self, start: int, end: int) -> str:
        return self.source[start:end].decode("utf-8", "surrogatepass")

    def signature(self, definition: Definition) -> str:
        """The definition's first line(s) up to its body, with their indentation."""
        end = definition.body_start if definition.body_start is not None else definition.end
        return self.text(definition.start, end).rstrip()

    def short_form(self, definition: Definition) -> str:
        """What the model sees of a definition outside the window: the whole of a
        short one; else its doc, signature and (for a class) its members'
        signatures, with the body elided as the language writes an empty one."""
        whole = self.text(definition.start, definition.end).rstrip()
        if whole.count("\n") < SHORT_LINES or definition.body_start is None:
            return self._with_doc_before(definition, whole)
        head = self.signature(definition)
        body = self.source[definition.body_start : definition.end]
        if body.startswith(b"{"):
            inner = " ".join(
                self.signature(member).strip()
                + (" { ... }" if member.body_start is not None else "")
                for member in self._members(definition)
            )
            text = f"{head} {{ {inner + ' ' if inner else ''}... }}"
            return self._with_doc_before(definition, text)
        # An indented body (Python): the docstring stays, the rest becomes `...`.
        indent = " " * _column(self.source, definition.body_start)
        lines = [head]
        if definition.doc is not None and definition.doc[1] > definition.body_start:
            lines.append(_brief(self.text(*definition.doc)))
        lines += [
            f"{self.signature(member)} ..." if member.body_start is not None else ""
            for member in self._members(definition)
        ]
        lines.append(indent + "...")
        return "\n".join(line for line in lines if line)

    def _with_doc_before(self, definition: Definition, text: str) -> str:
        if definition.doc is not None and definition.doc[1] <= definition.start:
            return _brief(self.text(*definition.doc)) + "\n" + text
        return text

    def scope(self, definition: Definition) -> Definition | None:
        """The function or method whose body holds `definition` (None at the
        top or in a class): a local definition is not seen from elsewhere."""
        functions = [
            d
            for d in self.definitions
            if d.kind != "class" and d.start < definition.start and definition.end <= d.end
        ]
        return functions[-1] if functions else None

    def owner(self, definition: Definition) -> Definition | None:
        """The class a method belongs to."""
        if definition.kind != "method":
            return None
        classes = [
            d
            for d in self.definitions
            if d.kind == "class" and d.start < definition.start and definition.end <= d.end
        ]
        return classes[-1] if classes else None

    def _members(self, definition: Definition) -> list[Definition]:
        if definition.kind != "class":
            return []
        members = [
            d
            for d in self.definitions
            if d.kind == "method" and definition.start < d.start and d.end <= definition.end
        ]
        return members[:CLASS_MEMBERS]


def _brief(doc: str) -> str:
    """A long doc comment cut to its first paragraph, closed as it was closed."""
    lines = doc.split("\n")
    if len(lines) <= DOC_LINES:
        return doc
    kept: list[str] = []
    for line in lines[: DOC_LINES - 1]:
        if kept and kept[-1].strip() and not line.strip():
            break  # the end of the first paragraph
        kept.append(line)
    last = lines[-1]
    for closer in ('"""', "'''", "*/"):
        if last.rstrip().endswith(closer):
            indent = last[: len(last) - len(last.lstrip())]
            kept.append(indent + closer)
            break
    return "\n".join(kept)


def _column(source: bytes, offset: int) -> int:
    return offset - (source.rfind(b"\n", 0, offset) + 1)


def _line_start(source: bytes, offset: int) -> int:
    """The start of `offset`'s line, if only whitespace precedes it there."""
    start = source.rfind(b"\n", 0, offset) + 1
    return start if not source[start:offset].strip() else offset


def outline(language: str, tree: Tree, source: bytes) -> Outline:
    definitions: dict[int, Definition] = {}
    cursor = QueryCursor(languages.query(language, "definitions"))
    for _, captures in cursor.matches(tree.root_node):
        kind = next((k for k in _KINDS if f"definition.{k}" in captures), None)
        if kind is None or "name" not in captures:
            continue
        node = captures[f"definition.{kind}"][0]
        known = definitions.get(node.start_byte)
        if known is not None and _KINDS.index(known.kind) <= _KINDS.index(kind):
            continue  # a method also matches the function pattern: the method wins
        definitions[node.start_byte] = Definition(
            kind=kind,
            name=_node_text(captures["name"][0]),
            name_span=(captures["name"][0].start_byte, captures["name"][0].end_byte),
            start=_line_start(source, node.start_byte),
            end=node.end_byte,
            body_start=captures["body"][0].start_byte if "body" in captures else None,
            doc=_span(captures.get("doc"), source),
        )
    imports = QueryCursor(languages.query(language, "imports")).captures(tree.root_node)
    import_spans = sorted(
        (_line_start(source, node.start_byte), node.end_byte) for node in imports.get("import", [])
    )
    ordered = tuple(sorted(definitions.values(), key=lambda d: d.start))
    indented = languages.spec_named(language).indented_blocks
    return Outline(source, ordered, tuple(import_spans), indented)


def _node_text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "surrogatepass")


def _span(nodes: list[Node] | None, source: bytes) -> tuple[int, int] | None:
    """Doc comments can be several nodes (one per `///` line): their whole span."""
    if not nodes:
        return None
    return _line_start(source, min(n.start_byte for n in nodes)), max(n.end_byte for n in nodes)
