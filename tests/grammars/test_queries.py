"""Every query compiles, and captures what the fixtures' caret comments say.

Fixture format (as nvim-treesitter's query tests): a comment line under a
line of code holds assertions about it. `^ capture` says the code at the
caret's column is inside a node captured as `capture`; `<- capture` says the
same of the column where the comment starts; `!capture` says it is not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from tree_sitter import Node, Parser, QueryCursor

from lsp_server.context import languages

FIXTURES = Path(__file__).parent / "fixtures"
SPECS = {spec.name: spec for spec in languages.LANGUAGES}


@dataclass(frozen=True)
class Assertion:
    line: int
    column: int
    capture: str
    negated: bool


def assertions(source: str, comment: str) -> list[Assertion]:
    found: list[Assertion] = []
    code_line = -1
    pattern = re.compile(rf"^(\s*){re.escape(comment)}(.*?)(\^|<-)\s*(!?)([\w.]+)\s*$")
    for number, text in enumerate(source.split("\n")):
        match = pattern.match(text)
        if match is None:
            code_line = number
            continue
        indent, between, marker, negated, capture = match.groups()
        column = len(indent) if marker == "<-" else len(indent) + len(comment) + len(between)
        found.append(Assertion(code_line, column, capture, negated == "!"))
    return found


def captures(name: str, source: bytes) -> dict[str, list[Node]]:
    tree = Parser(languages.language(name)).parse(source)
    found: dict[str, list[Node]] = {}
    for kind in languages.QUERY_KINDS:
        for capture, nodes in (
            QueryCursor(languages.query(name, kind)).captures(tree.root_node).items()
        ):
            found.setdefault(capture, []).extend(nodes)
    return found


def covers(node: Node, line: int, column: int) -> bool:
    return tuple(node.start_point) <= (line, column) < tuple(node.end_point)


@pytest.mark.parametrize("name", sorted(SPECS))
@pytest.mark.parametrize("kind", languages.QUERY_KINDS)
def test_query_compiles(name: str, kind: str) -> None:
    query = languages.query(name, kind)
    assert query.pattern_count > 0  # type: ignore[operator]  # a property; the 0.25 stub says a method


def test_every_language_has_a_fixture() -> None:
    assert sorted(p.stem for p in FIXTURES.iterdir()) == sorted(SPECS)


@pytest.mark.parametrize("fixture", sorted(FIXTURES.iterdir()), ids=lambda p: p.name)
def test_fixture_captures(fixture: Path) -> None:
    spec = SPECS[fixture.stem]
    source = fixture.read_text()
    expected = assertions(source, spec.line_comment)
    assert expected, "a fixture without assertions tests nothing"
    found = captures(spec.name, source.encode())
    failures = []
    for check in expected:
        hit = any(covers(node, check.line, check.column) for node in found.get(check.capture, []))
        if hit == check.negated:
            verb = "captured" if check.negated else "not captured"
            failures.append(
                f"{fixture.name}:{check.line + 1}:{check.column + 1} {verb} as @{check.capture}"
            )
    assert not failures, "\n".join(failures)


def test_typescript_inherits_javascript() -> None:
    source = languages.query_source("tsx", "imports")
    assert "(import_statement) @import" in source
    assert source.index("(import_statement)") < source.index("; inherits: typescript")


def test_languages_are_named_by_lsp_language_ids() -> None:
    assert languages.spec_for("typescriptreact") is SPECS["tsx"]
    assert languages.spec_for("cpp") is SPECS["cpp"]
    assert languages.spec_for("markdown") is None
