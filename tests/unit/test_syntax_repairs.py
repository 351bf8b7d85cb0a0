"""One token put in where Python's compiler names the place, when exactly
one of them makes the file compile; otherwise nothing (the model's turn)."""

from __future__ import annotations

import pytest

from lsp_server.documents import Document
from lsp_server.features.regions import region_for
from lsp_server.features.syntax_repairs import repaired


def repair(text: str, line: int, language: str = "python") -> str | None:
    document = Document("file:///w/a.py", language, 1, text)
    return repaired(document, region_for(document, line, line))


@pytest.mark.parametrize(
    ("broken", "line", "fixed"),
    [
        ("def f(x)\n    return x\n", 0, "def f(x):\n    return x\n"),
        ("def f(x):\n    if x  # é\n        return 1\n", 1, "def f(x):\n    if x:  # é\n"),
        ("def f(x):\n    if len(x:\n        return 1\n", 1, "def f(x):\n    if len(x):\n"),
        ("def f(x):\r\n    for a in x\r\n        pass\r\n", 1, "    for a in x:\r\n"),
    ],
)
def test_the_one_token_that_compiles_is_put_in_where_python_says(
    broken: str, line: int, fixed: str
) -> None:
    result = repair(broken, line)
    assert result is not None
    assert fixed in result
    assert len(result) == len(broken) + 1


@pytest.mark.parametrize(
    ("text", "line", "language"),
    [
        ("def f(x):\n    y = len(x\n    return y\n", 1, "python"),  # where: not said
        ("def f(x):\n    return 'abc\n", 1, "python"),  # a quote: not one of the tokens
        ("def f(x):\n    return x\n", 1, "python"),  # nothing wrong
        ("def f(x)\n    return x\n\n\ndef g(y):\n    return y\n", 4, "python"),  # elsewhere
        ("function f(x) {\n  return x\n", 1, "javascript"),
    ],
)
def test_no_repair_where_the_place_or_the_token_is_not_certain(
    text: str, line: int, language: str
) -> None:
    assert repair(text, line, language) is None
