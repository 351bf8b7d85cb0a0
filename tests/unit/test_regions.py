"""The region a fix rewrites (features/regions.py) and the edit its new
version becomes (features/region_edits.py): which lines, which edits, and
which answers are refused."""

from __future__ import annotations

import pytest
from lsprotocol import types

from lsp_server.documents import Document
from lsp_server.features import proposals, region_edits
from lsp_server.features.regions import MAX_LINES, WINDOW, lines_of, region_for
from lsp_server.features.rewriting import Request
from lsp_server.inference.api import Generation

SOURCE = """import os


class Store:
    def __init__(self, root):
        self.root = root

    def path(self, name):
        full = os.path.join(self.root, name)
        return full


LIMIT = 10
names = [n for n in os.listdir(".")]
print(len(names))
"""


def document(text: str, language: str = "python") -> Document:
    return Document("file:///work/store.py", language, 3, text)


def test_a_line_in_a_method_gets_that_method() -> None:
    region = region_for(document(SOURCE), 8, 8)
    assert (region.first, region.last, region.name) == (7, 9, "path")
    assert region.text.startswith("    def path(self, name):\n")
    assert region.text.endswith("        return full\n")


def test_a_top_level_line_gets_the_statements_it_touches() -> None:
    region = region_for(document(SOURCE), 13, 13)
    assert (region.first, region.last, region.name) == (13, 13, None)
    assert region.text == 'names = [n for n in os.listdir(".")]\n'


def test_a_long_function_gets_a_window_around_the_line() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_LINES + 20))
    region = region_for(document(f"def long():\n{body}"), 60, 60)
    assert region.name is None
    assert region.first <= 60 <= region.last
    assert region.line_count <= 2 * WINDOW + 1


def test_lines_are_counted_as_lsp_counts_them() -> None:
    assert lines_of("a\r\nb\rc\nd") == ["a\r\n", "b\r", "c\n", "d"]
    assert lines_of("") == []


def edits(text: str, first: int, last: int, new: str) -> list[types.TextEdit]:
    doc = document(text)
    region = region_for(doc, first, last)
    return region_edits.line_edits(doc, region, new, "utf-16")


def test_only_changed_lines_are_edited() -> None:
    region = region_for(document(SOURCE), 8, 8)
    new = region.text.replace("return full", "return full.strip()")
    (edit,) = edits(SOURCE, 8, 8, new)
    assert edit.range == types.Range(start=types.Position(9, 0), end=types.Position(10, 0))
    assert edit.new_text == "        return full.strip()\n"


def test_lines_inserted_are_an_insertion() -> None:
    region = region_for(document(SOURCE), 8, 8)
    guard = "        if not name:\n            raise ValueError(name)\n"
    new = region.text.replace("        full =", guard + "        full =")
    (edit,) = edits(SOURCE, 8, 8, new)
    assert edit.range.start == edit.range.end == types.Position(8, 0)
    assert edit.new_text == guard


def test_the_last_line_without_a_line_break_is_edited_to_its_end() -> None:
    text = "def f():\n    return 1"
    (edit,) = edits(text, 1, 1, "def f():\n    return 2")
    assert edit.range == types.Range(start=types.Position(1, 0), end=types.Position(1, 12))
    assert edit.new_text == "    return 2"


def test_the_answer_gets_the_files_line_breaks() -> None:
    crlf = SOURCE.replace("\n", "\r\n")
    region = region_for(document(crlf), 8, 8)
    new = region_edits.in_line_breaks_of(region, "    def path(self, name):\n        return 1\n")
    assert new == "    def path(self, name):\r\n        return 1\r\n"
    assert region_edits.in_line_breaks_of(region_for(document(SOURCE), 8, 8), new) == (
        "    def path(self, name):\n        return 1\n"
    )


def test_answers_are_refused_for_changing_nothing_or_breaking_the_code() -> None:
    doc = document(SOURCE)
    region = region_for(doc, 8, 8)
    assert region_edits.refusal(doc, region, region.text) == "it changes nothing"
    broken = region.text.replace("os.path.join(self.root, name)", "os.path.join(self.root, name")
    assert region_edits.refusal(doc, region, broken) == "it does not parse"
    # tree-sitter takes this, Python's compiler does not.
    top = region_for(doc, 13, 13)
    assert region_edits.refusal(doc, top, "return names\n") == "it does not compile"
    fixed = region.text.replace("return full", "return full or None")
    assert region_edits.refusal(doc, region, fixed) is None


def test_an_error_elsewhere_in_the_file_does_not_refuse_a_fix_here() -> None:
    text = SOURCE + "print(\n"  # broken at the end, far from the region
    doc = document(text)
    region = region_for(doc, 8, 8)
    fixed = region.text.replace("return full", "return full or None")
    assert region_edits.refusal(doc, region, fixed) is None


@pytest.mark.parametrize(
    ("text", "indent"),
    [
        ("    a = 1\n\n        b = 2\n", "    "),
        ("\ta\n\t\tb\n", "\t"),
        ("def f():\n    pass\n", ""),
        ("  a\n    b\n", "  "),
        ("\n\n", ""),
    ],
)
def test_the_indent_lines_share_comes_off_and_goes_back(text: str, indent: str) -> None:
    assert proposals.common_indent(text) == indent
    assert proposals.indented(proposals.dedented(text, indent), indent) == text


def test_a_parse_broken_to_the_end_of_the_file_gives_the_broken_statement_alone() -> None:
    # The missing colon makes one error node of the function and all after it.
    text = (
        "import math\n\n\n"
        "def cost(weight)\n"
        "    return math.ceil(weight)\n\n\n"
        "def price(items):\n"
        "    return [\n        cost(i)\n    for i in items]\n\n\n"
        "print(price([1]))\n"
    )
    document = Document("file:///w/a.py", "python", 1, text)
    region = region_for(document, 3, 3)
    assert (region.first, region.last) == (3, 4), region
    below = region_for(document, 9, 9)  # inside the bracket: its closing line is kept
    assert (below.first, below.last) == (7, 10), below


def test_a_function_with_a_bracket_left_open_ends_before_the_code_after_it() -> None:
    # tree-sitter's function swallows the call below it; the region does not.
    text = (
        "import math\n\n\n"
        "def cost(weight: float, express: bool) -> float:\n"
        "    base = 4.5 + 1.2 * math.ceil(weight\n"
        "    return base * 2 if express else base\n\n\n"
        "print(cost(2.0, True))\n"
    )
    document = Document("file:///w/a.py", "python", 1, text)
    region = region_for(document, 4, 4)
    assert (region.first, region.last, region.name) == (3, 5, "cost"), region


def test_code_copied_from_around_the_region_before_its_first_line_goes() -> None:
    text = (
        "import os\nfrom gettext import gettext as _\n\n\n"
        "class GetoptError(Exception):\n"
        "    def __init__(self, msg, opt='):\n"
        "        self.msg = msg\n"
    )
    document = Document("file:///w/g.py", "python", 1, text)
    region = region_for(document, 5, 5)
    answer = (
        "import os\n\nclass GetoptError(Exception):\n"
        "    def __init__(self, msg, opt=''):\n        self.msg = msg\n"
    )
    kept = proposals.without_copied_head(answer, document, region)
    assert kept == "def __init__(self, msg, opt=''):\n    self.msg = msg\n", "as it was shown"
    shown = "class GetoptError(Exception):\n    def short(self):\n        ...\n"
    stub = "class GetoptError(Exception):\n    def short(self):\n        ...\n\n" + answer[11:]
    assert proposals.without_copied_head(stub, document, region, shown) == kept, "what it was shown"
    assert proposals.without_copied_head(stub, document, region) == stub
    needed = "from typing import Any\n" + answer
    assert proposals.without_copied_head(needed, document, region) == needed, "new to the file"
    unmatched = "import os\nx = 1\n"
    assert proposals.without_copied_head(unmatched, document, region) == unmatched


def test_a_broken_function_runs_to_its_last_indented_line() -> None:
    # tree-sitter's broken function stops at the `try`; the `except` is its own.
    text = (
        "def ratio(x, y):\n"
        "    n = len(x\n"
        "    try:\n"
        "        return sum(x) / n\n"
        "    except ZeroDivisionError:\n"
        "        return 0\n\n\n"
        "print(ratio([1], [2]))\n"
    )
    document = Document("file:///w/r.py", "python", 1, text)
    region = region_for(document, 1, 1)
    assert (region.first, region.last) == (0, 5), region


async def test_a_fix_may_not_write_code_before_the_function() -> None:
    text = "import math\n\n\ndef cost(w):\n    return math.ceil(w) + bse\n"
    document = Document("file:///w/c.py", "python", 1, text)
    region = region_for(document, 4, 4)
    answers = iter(["from math import ceil\n\ndef cost(w):\n    return ceil(w) + bse\n"] * 2)

    async def ask(request: Request) -> Generation:
        return Generation(next(answers), "stop")

    fixed = await proposals.propose(document, region, Request("Fix it."), ask)
    assert fixed.startswith("from math import ceil"), "an edit may"
    answers = iter(["from math import ceil\n\ndef cost(w):\n    return ceil(w) + bse\n"] * 2)
    with pytest.raises(proposals.NotWritten, match="before the function's first line"):
        await proposals.propose(document, region, Request("Fix it."), ask, confined=True)
