"""Parsing text with tree-sitter, and judging how broken a parse is."""

from __future__ import annotations

from tree_sitter import Node, Parser

from lsp_server.context import languages


def parse_damage(language: str, text: str) -> int:
    """ERROR and MISSING nodes in the parse of `text` (0 for code that parses cleanly)."""
    root = (
        Parser(languages.language(language)).parse(text.encode("utf-8", "surrogatepass")).root_node
    )
    return _damage(root)


def _damage(node: Node) -> int:
    if not node.has_error:
        return 0
    count = 1 if node.is_error or node.is_missing else 0
    # Only broken subtrees are walked: a clean file costs one check.
    return count + sum(_damage(child) for child in node.children)
