"""Hover without the model: which definition a position names, what the model
is shown of it, how its answer is tidied, and the explanation cache."""

from __future__ import annotations

from lsp_server.context import symbols
from lsp_server.documents import Document
from lsp_server.features.explanations import Explanations, explained, tidy
from lsp_server.features.hover import WRITING, doc_paragraph, heading, known, plain

SHAPES = '''import math


class Circle:
    """A circle."""

    def __init__(self, radius):
        self.radius = radius

    def area(self):
        # the area, from math.pi
        return math.pi * self.radius ** 2

    def describe(self):
        return f"circle of area {self.area()}"


def area(width, height):
    return width * height


def report(shapes):
    total = sum(s.area() for s in shapes)
    return "total: " + str(total) + " " + str(area(1, 2)) + str(Circle(3))
'''


def doc(text: str, uri: str = "file:///w/shapes.py", language: str = "python") -> Document:
    return Document(uri, language, 1, text)


def at(text: str, needle: str, occurrence: int = 1, into: int = 1) -> int:
    """The offset `into` characters inside the `occurrence`-th `needle`."""
    offset = -1
    for _ in range(occurrence):
        offset = text.index(needle, offset + 1)
    return offset + into


def target_at(
    document: Document, offset: int, others: list[Document] | None = None
) -> symbols.Target | None:
    symbol = symbols.symbol_at(document, offset)
    assert symbol is not None
    return symbols.resolve(document, symbol, others or [document])


def test_a_definitions_name_names_it() -> None:
    shapes = doc(SHAPES)
    symbol = symbols.symbol_at(shapes, at(SHAPES, "def report", into=6))
    assert symbol is not None
    assert symbol.definition is not None
    assert (symbol.name, symbol.definition.kind) == ("report", "function")


def test_calls_and_classes_name_what_they_refer_to() -> None:
    shapes = doc(SHAPES)
    call = target_at(shapes, at(SHAPES, "area(1, 2)"))
    assert call is not None
    assert (call.definition.name, call.definition.kind) == ("area", "function")
    made = target_at(shapes, at(SHAPES, "Circle(3)"))
    assert made is not None
    assert made.definition.kind == "class"


def test_a_method_called_on_self_is_the_one_in_its_class() -> None:
    shapes = doc(SHAPES)
    method = target_at(shapes, at(SHAPES, "self.area()", into=6))
    assert method is not None
    assert method.definition.kind == "method"
    assert method.outline.owner(method.definition).name == "Circle"  # type: ignore[union-attr]


def test_comments_strings_blanks_and_variables_name_nothing() -> None:
    shapes = doc(SHAPES)
    for offset in (
        at(SHAPES, "the area, from"),  # a comment
        at(SHAPES, "circle of area"),  # a string
        at(SHAPES, "total: "),  # a string
        at(SHAPES, "    total =", into=1),  # indentation
        at(SHAPES, "total =", into=2),  # a variable
        at(SHAPES, "width * height"),  # a parameter
    ):
        assert symbols.symbol_at(shapes, offset) is None, SHAPES[offset : offset + 20]


def test_a_call_finds_its_definition_in_another_open_document_of_the_language() -> None:
    caller_text = "from geometry import scale\n\nprint(scale(2))\n"
    caller = doc(caller_text, "file:///w/main.py")
    geometry = doc("def scale(factor):\n    return factor * 2\n", "file:///w/geometry.py")
    script = Document("file:///w/scale.js", "javascript", 1, "function scale(f) { return f; }\n")
    found = target_at(caller, at(caller_text, "scale(2)"), [caller, script, geometry])
    assert found is not None
    assert found.document is geometry
    assert target_at(caller, at(caller_text, "scale(2)"), [caller, script]) is None


def test_a_language_without_a_grammar_names_nothing() -> None:
    assert symbols.symbol_at(doc("area(1)", "file:///w/x.txt", "plaintext"), 1) is None


def test_the_excerpt_shows_a_methods_class_and_marks_a_cut_body() -> None:
    long_body = "".join(f"        step_{n} = run({n})\n" for n in range(200))
    text = f"class Job:\n    def work(self):\n        '''Work.'''\n{long_body}"
    job = doc(text)
    target = target_at(job, at(text, "def work", into=5))
    assert target is not None
    shown = target.excerpt(room=400)
    lines = shown.split("\n")
    assert lines[:3] == ["class Job:", "    def work(self):", "        '''Work.'''"]
    assert len(shown) <= 400 + 60
    assert lines[-1].startswith("        # ... (")
    assert lines[-1].endswith("more lines not shown)")


def test_the_excerpt_keeps_a_doc_comment_before_the_definition() -> None:
    text = "/** Adds two numbers. */\nfunction add(a, b) {\n  return a + b;\n}\n"
    script = Document("file:///w/add.js", "javascript", 1, text)
    target = target_at(script, at(text, "add(a", into=1))
    assert target is not None
    assert target.excerpt(room=1000) == text.rstrip()


def test_an_answer_cut_by_the_token_limit_ends_at_its_last_whole_sentence() -> None:
    assert tidy("It adds two numbers. It returns their sum and", False) == "It adds two numbers."
    assert (
        tidy("## add\n\nIt adds two numbers (a and b).", True) == "It adds two numbers (a and b)."
    )
    # Written so far, before its first sentence ends: nothing to show yet.
    assert tidy("It adds two", False) == ""


def test_the_explanation_is_the_first_paragraph_without_the_list_after_it() -> None:
    summary = "It inserts x into the sorted list a after any items equal to x; it returns None."
    listed = f"{summary}\n\nHere is a breakdown:\n\n1. **a**: the list.\n2."
    assert not explained(summary + "\n")
    assert explained(summary + "\n\n")
    assert not explained("It sorts.\n\nIt")  # too short to be the explanation
    assert not explained("It sorts a. It returns it. It")
    assert explained("It sorts a. It returns it. It changes a. ")
    assert tidy(listed, False) == summary
    assert tidy("It inserts x.\n\n1. a: the list.\n2.", False) == (
        "It inserts x.\n\n1. a: the list."
    )


def test_the_heading_names_the_symbol_and_hearth() -> None:
    assert heading("function", "add") == "#### function `add` · Hearth"


def test_the_cache_drops_the_least_recently_used_past_its_size() -> None:
    cache = Explanations(max_bytes=100)
    cache.put(("m", "python", "a"), "x" * 40)
    cache.put(("m", "python", "b"), "y" * 40)
    assert cache.get(("m", "python", "a")) is not None  # now the most recent
    cache.put(("m", "python", "c"), "z" * 40)
    assert cache.get(("m", "python", "b")) is None
    assert cache.get(("m", "python", "a")) == "x" * 40
    assert len(cache) == 2
    # hover.cacheBytes lowered while running: trimmed at once; bytes, not characters.
    cache.max_bytes = 50
    cache.trim()
    assert len(cache) == 1
    cache.put(("m", "python", "d"), "é" * 30)  # 60 bytes in UTF-8
    assert len(cache) == 0


def test_a_docs_first_paragraph_is_shown_without_its_marks() -> None:
    python = '"""Return the item.\n\n    Args:\n        x: it.\n    """'
    assert doc_paragraph(python) == "Return the item."
    assert doc_paragraph("'''Joins two\n    paths.'''") == "Joins two paths."
    jsdoc = "/**\n * Adds two numbers.\n * @param a the first\n */"
    assert doc_paragraph(jsdoc) == "Adds two numbers."
    assert doc_paragraph("/// Converts Celsius.\n///\n/// # Examples") == "Converts Celsius."
    assert doc_paragraph("// wordCount counts the words.") == "wordCount counts the words."
    assert doc_paragraph('"""Return the item."""') == "Return the item."


def test_what_the_code_says_comes_first_signature_doc_and_where() -> None:
    text = (
        "class Cart:\n"
        "    def total(self, tax: float,\n"
        "              rounding: int = 2) -> float:\n"
        '        """The sum of the prices, with tax.\n\n        More.\n        """\n'
        "        return 0.0\n"
    )
    cart = doc(text)
    target = target_at(cart, at(text, "def total", into=5))
    assert target is not None
    assert known(target, "python", "shop/cart.py") == [
        "```python\ndef total(self, tax: float,\n          rounding: int = 2) -> float:\n```",
        "The sum of the prices, with tax.",
        "Defined in `shop/cart.py:2`",
    ]
    undocumented = doc("def f(x):\n    return x\n")
    target = target_at(undocumented, 4)
    assert target is not None
    assert known(target, "python", None) == ["```python\ndef f(x):\n```"]


def test_the_references_on_a_line_are_found_in_order() -> None:
    shapes = doc(SHAPES)
    line = SHAPES.index('    return "total: "')
    end = SHAPES.index("\n", line)
    names = [s.name for s in symbols.references_between(shapes, line, end)]
    assert names == ["str", "str", "area", "str", "Circle"]


def test_a_client_without_markdown_gets_the_same_hover_as_plain_text() -> None:
    assert plain(heading("function", "add")) == "function add · Hearth"
    assert plain("```python\ndef add(a, b):\n```") == "def add(a, b):"
    assert plain(WRITING) == WRITING.strip("_")
    assert plain("Defined in `shop/cart.py:2`") == "Defined in shop/cart.py:2"
