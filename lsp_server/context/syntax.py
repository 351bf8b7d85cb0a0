"""Parsing text with tree-sitter, keeping trees up to date, and judging how
broken a parse is."""

from __future__ import annotations

import ast
from collections.abc import Callable

from tree_sitter import Node, Parser, Point, Tree

from lsp_server.context import languages
from lsp_server.context.outline import Outline, outline


def _encode(text: str) -> bytes:
    # Lone surrogates can arrive over JSON; they must not stop the parse.
    return text.encode("utf-8", "surrogatepass")


def _locate(text: str, offset: int) -> tuple[int, Point]:
    """The byte offset and tree-sitter point (row, byte column) of `offset` in `text`."""
    line_start = text.rfind("\n", 0, offset) + 1
    row = text.count("\n", 0, offset)
    column = len(_encode(text[line_start:offset]))
    return len(_encode(text[:line_start])) + column, Point(row, column)


def _advance(start: tuple[int, Point], inserted: str) -> tuple[int, Point]:
    """Where `inserted`, written at `start`, ends."""
    byte, point = start
    lines = inserted.split("\n")
    last = len(_encode(lines[-1]))
    if len(lines) == 1:
        return byte + last, Point(point.row, point.column + last)
    return byte + len(_encode(inserted)), Point(point.row + len(lines) - 1, last)


def parse_damage(language: str, text: str) -> int:
    """ERROR and MISSING nodes in the parse of `text` (0 for code that parses cleanly)."""
    return damage(Parser(languages.language(language)).parse(_encode(text)).root_node)


def damage(node: Node) -> int:
    """ERROR and MISSING nodes under `node`."""
    if not node.has_error:
        return 0
    count = 1 if node.is_error or node.is_missing else 0
    # Only broken subtrees are walked: a clean file costs one check.
    return count + sum(damage(child) for child in node.children)


def _python_parses(source: bytes) -> bool:
    """Python's own parser, stricter than tree-sitter's about indentation and
    blocks without a body. It only parses: nothing from the document runs."""
    try:
        ast.parse(source)
    except (SyntaxError, ValueError):  # ValueError: a null byte
        return False
    return True


# Languages whose own parser is at hand: a suggestion must satisfy it too.
STRICT_PARSERS: dict[str, Callable[[bytes], bool]] = {"python": _python_parses}


def _top_level_span(root: Node, at: int) -> tuple[int, int]:
    """The bytes from the top-level statement at (or before) byte `at` to the
    end of the one after it: enough for a strict parser to judge an insertion
    at `at`, without reading the whole file."""
    children = root.children
    before = [child for child in children if child.start_byte <= at]
    start = before[-1].start_byte if before else 0
    if before and before[-1].start_point.column != 0:
        start = 0  # not a statement of its own: judge from the top
    following = len(before)
    end = children[following].end_byte if following < len(children) else root.end_byte
    return start, max(end, at)


def _prose(node: Node, start: int, end: int) -> list[tuple[int, int]]:
    """Byte spans of the comments and string literals under `node` that
    overlap `start`..`end` (node types are named so in every grammar here)."""
    if node.end_byte <= start or node.start_byte >= end:
        return []
    if "comment" in node.type or "string" in node.type:
        return [(node.start_byte, node.end_byte)]
    return [span for child in node.children for span in _prose(child, start, end)]


class SyntaxTree:
    """One document's tree. Edits are applied to the old tree as they arrive
    (`Tree.edit`); the re-parse happens when the tree is next read, and reuses
    everything the edits did not touch."""

    def __init__(self, language: str, text: str) -> None:
        self.language = language
        self._parser = Parser(languages.language(language))
        self._tree: Tree | None = None  # with every edit so far applied
        self._dirty = True  # edits since the last parse
        self._text = text
        self._source = b""  # the text of the last parse
        self._outline: Outline | None = None

    def edit(self, old_text: str, start: int, end: int, inserted: str, new_text: str) -> None:
        """`old_text[start:end]` was replaced by `inserted`, giving `new_text`."""
        if self._tree is not None:
            begin = _locate(old_text, start)
            old_end = _locate(old_text, end)
            new_end = _advance(begin, inserted)
            self._tree.edit(begin[0], old_end[0], new_end[0], begin[1], old_end[1], new_end[1])
        self._text = new_text
        self._dirty = True

    def reset(self, text: str) -> None:
        """The whole text was replaced: the next read parses from scratch."""
        self._tree, self._text, self._dirty = None, text, True

    def tree(self) -> Tree:
        if self._dirty or self._tree is None:
            source = _encode(self._text)
            old = self._tree
            self._tree = self._parser.parse(source, old) if old else self._parser.parse(source)
            self._source, self._outline, self._dirty = source, None, False
        return self._tree

    def outline(self) -> Outline:
        """Definitions and imports of the current text (computed once per parse)."""
        tree = self.tree()
        if self._outline is None:
            self._outline = outline(self.language, tree, self._source)
        return self._outline

    def code_only(self, start: int, end: int) -> str:
        """The text from `start` to `end` (character offsets) with its comments
        and string literals blanked out: the code's own words."""
        root = self.tree().root_node  # parsed first: `_source` is the current text
        first, last = self.byte_offset(start), self.byte_offset(end)
        region = bytearray(self._source[first:last])
        for span_start, span_end in _prose(root, first, last):
            begin, stop = max(span_start, first) - first, min(span_end, last) - first
            region[begin:stop] = b" " * (stop - begin)
        return region.decode("utf-8", "replace")

    def prose_end(self, offset: int) -> int:
        """Where the comment or string literal that `offset` lies inside ends
        (character offsets); `offset` itself when it lies in code."""
        at = self.byte_offset(offset)
        for start, end in _prose(self.tree().root_node, at, at + 1):
            if start < at:
                return len(self._source[:end].decode("utf-8", "surrogatepass"))
        return offset

    def byte_offset(self, offset: int) -> int:
        """The byte offset of a character offset into the current text."""
        return len(_encode(self._text[:offset]))

    def parses_no_worse(self, offset: int) -> Callable[[str, int], bool]:
        """A test for text to be written at `offset`, replacing so many characters
        after it: does the document parse no worse (no more ERROR and MISSING
        nodes) with it than without?"""
        before = damage(self.tree().root_node)
        strict = self._strictly_parses(offset)

        def no_worse(text: str, replaces: int) -> bool:
            if self.damage_with(offset, text, replaces) > before:
                return False
            return strict is None or strict(text, replaces)

        return no_worse

    def _strictly_parses(self, offset: int) -> Callable[[str, int], bool] | None:
        """The language's own parser as a test of text written at `offset`, for
        the top-level statements around it; None when there is no such parser
        or those statements do not parse as they are."""
        parse = STRICT_PARSERS.get(self.language)
        if parse is None:
            return None
        root = self.tree().root_node
        source = self._source
        at = _locate(self._text, offset)[0]
        start, end = _top_level_span(root, at)
        if not parse(source[start:end]):
            return None

        def strictly(text: str, replaces: int) -> bool:
            after = _locate(self._text, offset + replaces)[0]
            return parse(source[start:at] + _encode(text) + source[after:end])

        return strictly

    def damage_with(self, offset: int, inserted: str, replaces: int = 0) -> int:
        """ERROR and MISSING nodes once `inserted` is written at `offset` over the
        `replaces` characters after it, re-parsing only around the change: the
        document's own tree stays as it is."""
        tree = self.tree()
        if not inserted and not replaces:
            return damage(tree.root_node)
        text = self._text
        candidate = tree.copy()
        begin = _locate(text, offset)
        old_end = _locate(text, offset + replaces)
        end = _advance(begin, inserted)
        candidate.edit(begin[0], old_end[0], end[0], begin[1], old_end[1], end[1])
        edited = text[:offset] + inserted + text[offset + replaces :]
        return damage(self._parser.parse(_encode(edited), candidate).root_node)
