"""Docstrings without the model: what the code says to document, the model's
answer read against it, and each language's convention and placement."""

from __future__ import annotations

import ast

import pytest

from lsp_server.documents import Document
from lsp_server.features import docstring_style as style
from lsp_server.features.docstring_form import answered, call_sites, described, parse_answer
from lsp_server.features.docstrings import placement

SOURCE = """def outer(path, *parts, strict=False, **options):
    def inner(x):
        return x
    if strict:
        raise ValueError(path)
    inner(1)
"""


def facts_of(text: str, language: str, name: str) -> style.Facts:
    document = Document("file:///w/f", language, 1, text)
    syntax = document.syntax
    assert syntax is not None
    outline = syntax.outline()
    definition = next(d for d in outline.definitions if d.name == name)
    return style.facts(language, syntax.tree().root_node, outline, definition)


def test_facts_come_from_the_definition_itself_not_the_ones_inside_it() -> None:
    assert facts_of(SOURCE, "python", "outer") == style.Facts(
        ("path", "parts", "strict", "options"), False, ("ValueError",)
    )
    assert facts_of(SOURCE, "python", "inner") == style.Facts(("x",), True, ())


def test_the_answer_keeps_what_the_code_has_and_fills_what_the_model_left_out() -> None:
    facts = style.Facts(("path", "strict"), True, ("ValueError",))
    answer = (
        "Here you go:\n"
        "SUMMARY: Joins the parts of a path.\n"
        "PARAM `path`: the first part\n"
        "PARAM invented: not a parameter\n"
        "RETURNS: <the joined path>\n"
    )
    prose = parse_answer(answer, facts)
    assert prose is not None
    assert prose.summary == "Joins the parts of a path."
    assert prose.parameters == {"path": "the first part", "strict": "the strict"}
    assert prose.returns == "the joined path"
    assert prose.raises == {"ValueError": "on failure"}
    assert parse_answer("I cannot help with that.", facts) is None


def test_the_model_stops_once_the_form_is_filled_or_left() -> None:
    done = answered(style.Facts(("path",), True, ()))
    assert not done(" Joins a path.\nPARAM path: the start\nRETURNS: the pa")
    assert done(" Joins a path.\nPARAM path: the start\nRETURNS: the path\n")
    assert not done(" Joins a path.\nPARAM path: the st")
    # A blank line sets the summary apart; the form goes on after it.
    assert not done(" Joins a path.\n\nPARAM path: the start\n\nRETURNS: the pa")
    assert done(" Joins a path.\n\nPARAM path: the start\n\nRETURNS: the path\n")
    # Anything else is the model leaving the form: it is not coming back.
    assert done(" Joins a path.\n\nHere is the code:\n")
    assert done(" Joins a path.\n```python\n")


PROSE = style.Prose("joins a path", {"path": "the start"}, "the path", {"OSError": "if it fails"})
FACTS = style.Facts(("path",), True, ("OSError",))


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (
            "google",
            '    """Joins a path.\n\n    Args:\n        path: The start.\n\n'
            "    Returns:\n        The path.\n\n"
            '    Raises:\n        OSError: If it fails.\n    """',
        ),
        (
            "numpy",
            '    """Joins a path.\n\n'
            "    Parameters\n    ----------\n    path\n        The start.\n\n"
            "    Returns\n    -------\n    The path.\n\n    Raises\n    ------\n    OSError\n"
            '        If it fails.\n    """',
        ),
        (
            "sphinx",
            '    """Joins a path.\n\n    :param path: The start.\n    :return: The path.\n'
            '    :raises OSError: If it fails.\n    """',
        ),
    ],
)
def test_python_styles(kind: str, expected: str) -> None:
    assert "\n".join(style.python_docstring(PROSE, FACTS, kind, "    ")) == expected


def place(text: str, language: str, name: str) -> str:
    document = Document("file:///w/f", language, 1, text)
    syntax = document.syntax
    assert syntax is not None
    outline = syntax.outline()
    definition = next(d for d in outline.definitions if d.name == name)
    facts = style.facts(language, syntax.tree().root_node, outline, definition)
    prose = parse_answer("SUMMARY: does it", facts)
    assert prose is not None
    start, end, new = placement(text, outline, definition, language, name, prose, facts, "google")
    return text[:start] + new + text[end:]


def test_python_goes_inside_the_body_after_decorators_and_replaces_an_old_one() -> None:
    text = "class A:\n    @cache\n    def f(self):\n        pass\n"
    placed = place(text, "python", "f")
    assert (
        placed == 'class A:\n    @cache\n    def f(self):\n        """Does it."""\n        pass\n'
    )
    assert place(placed.replace("Does it", "Old"), "python", "f") == placed
    ast.parse(placed)


def test_comments_go_above_export_and_attributes_in_the_files_line_endings() -> None:
    script = "export function f(a) {\r\n  return a;\r\n}\r\n"
    assert place(script, "typescript", "f").startswith(
        "/**\r\n * Does it.\r\n *\r\n * @param a The a.\r\n * @returns The result.\r\n */\r\nexport"
    )
    rust = "#[inline]\npub fn f() {}\n"
    assert place(rust, "rust", "f") == "/// Does it.\n#[inline]\npub fn f() {}\n"
    assert place("/// Old.\n/// More.\n#[inline]\npub fn f() {}\n", "rust", "f") == (
        "/// Does it.\n#[inline]\npub fn f() {}\n"
    )
    go = "package p\n\n// Old.\nfunc F(a int) {}\n"
    assert (
        place(go, "go", "F")
        == "package p\n\n// F does it.\n//\n//   - a: The a.\nfunc F(a int) {}\n"
    )


def test_javadoc_doxygen_and_jsdoc_above_annotations_and_in_the_classs_indentation() -> None:
    java = (
        "class Shop {\n    @Override\n    public int total(int count) throws IOException {\n"
        "        return count;\n    }\n}\n"
    )
    assert place(java, "java", "total") == java.replace(
        "    @Override",
        "    /**\n     * Does it.\n     *\n     * @param count The count.\n"
        "     * @return The result.\n     * @throws IOException On failure.\n     */\n"
        "    @Override",
    )
    c = "static int add(int a, int *b) {\n    return a + *b;\n}\n"
    assert place(c, "c", "add").startswith(
        "/**\n * @brief Does it.\n *\n * @param a The a.\n * @param b The b.\n"
        " * @return The result.\n */\nstatic int add"
    )
    script = "class Cart {\n  add(item, count = 1) {\n    this.items.push(item);\n  }\n}\n"
    assert place(script, "javascript", "add") == script.replace(
        "  add(",
        "  /**\n   * Does it.\n   *\n   * @param item The item.\n   * @param count The count.\n"
        "   */\n  add(",
    )


def test_the_model_is_shown_the_lines_that_call_the_definition() -> None:
    text = (
        "def area(w, h):\n"
        "    return w * h if w else area(1, h)\n"
        "\n"
        "room = area(3, 4)\n"
        "print(area(3, 4) + 1)\n"
        "room = area(3, 4)\n"
    )
    here = Document("file:///w/rooms.py", "python", 1, text)
    elsewhere = Document(
        "file:///w/plan.py", "python", 1, "from rooms import area\nx = area(2, 2)\n"
    )
    script = Document("file:///w/plan.js", "javascript", 1, "const y = area(1, 1);\n")
    syntax = here.syntax
    assert syntax is not None
    definition = next(d for d in syntax.outline().definitions if d.name == "area")
    # Not its own recursive call; each line once; its document first, then
    # the other open ones of its language; three at most.
    assert call_sites(here, definition, [elsewhere, script]) == [
        "room = area(3, 4)",
        "print(area(3, 4) + 1)",
        "x = area(2, 2)",
    ]


def test_asked_again_the_model_writes_only_the_parameter_lines() -> None:
    done = answered(style.Facts(("w", "h"), False, ()), "PARAM")
    assert not done(" w: the width in metres\nPARAM h: the he")
    assert done(" w: the width in metres\nPARAM h: the height in metres\n")
    answer = "PARAM w: the width in metres\nPARAM x: invented\nPARAM h: the height"
    assert described(answer, ("w", "h")) == {"w": "the width in metres", "h": "the height"}
