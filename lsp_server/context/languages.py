"""The languages Hearth reads with tree-sitter, and their queries from grammars/.

Queries are data: `grammars/<language>/<kind>.scm`, with nvim-treesitter's
`; inherits: other` first line to build on another language's file of the
same kind (TypeScript on JavaScript, C++ on C). A language that is not here
still gets completions, as plain text.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tree_sitter import Language, Query


def _grammars() -> Path:
    # In a wheel, grammars/ is installed as the package lsp_server.grammars; in a
    # checkout (and an editable install) it is at the top of the repository.
    installed = Path(__file__).resolve().parents[1] / "grammars"
    return installed if installed.is_dir() else Path(__file__).resolve().parents[2] / "grammars"


GRAMMARS = _grammars()
QUERY_KINDS = ("definitions", "imports", "scopes", "references", "parameters")


@dataclass(frozen=True)
class LanguageSpec:
    name: str  # the folder under grammars/
    language_ids: tuple[str, ...]  # LSP languageId values that mean it
    module: str  # the grammar wheel
    function: str  # its function returning the language pointer
    line_comment: str
    # A block ends where the indentation does (Python), not at a closing token:
    # a fresh indented line after a block's last statement is still inside it.
    indented_blocks: bool = False
    # What else begins a line that is not code: a block comment, or in Python
    # a string on its own (a docstring; anywhere else it does nothing).
    not_code: tuple[str, ...] = ("/*",)

    def load(self) -> Language:
        loader: Callable[[], object] = getattr(importlib.import_module(self.module), self.function)
        return Language(loader())


LANGUAGES: tuple[LanguageSpec, ...] = (
    LanguageSpec("python", ("python",), "tree_sitter_python", "language", "#", True, ('"', "'")),
    LanguageSpec(
        "javascript",
        ("javascript", "javascriptreact"),
        "tree_sitter_javascript",
        "language",
        "//",
    ),
    LanguageSpec(
        "typescript", ("typescript",), "tree_sitter_typescript", "language_typescript", "//"
    ),
    LanguageSpec("tsx", ("typescriptreact",), "tree_sitter_typescript", "language_tsx", "//"),
    LanguageSpec("rust", ("rust",), "tree_sitter_rust", "language", "//"),
    LanguageSpec("go", ("go",), "tree_sitter_go", "language", "//"),
    LanguageSpec("c", ("c",), "tree_sitter_c", "language", "//"),
    LanguageSpec("cpp", ("cpp", "cuda-cpp"), "tree_sitter_cpp", "language", "//"),
    LanguageSpec("java", ("java",), "tree_sitter_java", "language", "//"),
)
_BY_NAME = {spec.name: spec for spec in LANGUAGES}
_BY_LANGUAGE_ID = {language_id: spec for spec in LANGUAGES for language_id in spec.language_ids}


def spec_for(language_id: str) -> LanguageSpec | None:
    """The language an LSP languageId names, or None for plain text."""
    return _BY_LANGUAGE_ID.get(language_id)


def spec_named(name: str) -> LanguageSpec:
    return _BY_NAME[name]


@cache
def language(name: str) -> Language:
    return _BY_NAME[name].load()


def query_source(name: str, kind: str) -> str:
    """The text of a query file with its `; inherits:` chain resolved (parents first)."""
    text = (GRAMMARS / name / f"{kind}.scm").read_text()
    first_line = text.split("\n", 1)[0]
    if first_line.startswith("; inherits:"):
        parents = [p.strip() for p in first_line.removeprefix("; inherits:").split(",")]
        text = "\n".join([*(query_source(parent, kind) for parent in parents), text])
    return text


@cache
def query(name: str, kind: str) -> Query:
    return Query(language(name), query_source(name, kind))
