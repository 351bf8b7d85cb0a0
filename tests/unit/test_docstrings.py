"""Docstrings without the model: what the code says to document, the model's
answer read against it, and each language's convention and placement."""

from __future__ import annotations

import ast

import pytest

from lsp_server.documents import Document
from lsp_server.features import docstring_style as style
from lsp_server.features.code_chat import first_sentence
from lsp_server.features.docstring_form import (
    TODO,
    TODO_RAISES,
    TODO_RETURNS,
    answered,
    call_sites,
    described,
    filled,
    form,
    gaps,
    parse_answer,
    write_form,
)
from lsp_server.features.docstrings import placement
from lsp_server.inference.api import ChatMessage, Generation, GenerationStats, Sampling, Steering
from lsp_server.inference.cancel import CancelToken

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
    assert prose.raises == {"ValueError": ""}  # left out: asked again
    assert parse_answer("I cannot help with that.", facts) is None


def test_what_the_answer_left_unsaid_is_asked_again_then_marked_todo() -> None:
    what = style.Facts(("path", "strict", "mode"), True, ("ValueError",))
    answer = "SUMMARY: Open a file.\nPARAM path: where the file is\nPARAM strict: the strict\n"
    prose = parse_answer(answer, what)
    assert prose is not None
    asked = gaps(prose, what)
    assert asked == style.Facts(("strict", "mode"), True, ("ValueError",))
    retold = "PARAM strict: whether a missing file is an error\nPARAM mode: the mode value\n"
    done = filled(prose, retold, asked)
    assert done.parameters == {
        "path": "where the file is",
        "strict": "whether a missing file is an error",
        "mode": TODO,  # still says nothing
    }
    assert (done.returns, done.raises) == (TODO_RETURNS, {"ValueError": TODO_RAISES})
    retold += "RETURNS: the open file\nRAISES ValueError: when the path is empty\n"
    done = filled(prose, retold, asked)
    assert (done.returns, done.raises) == (
        "the open file",
        {"ValueError": "when the path is empty"},
    )
    assert gaps(done, what) == style.Facts((), False, ())  # a TODO is not asked again


def test_the_model_stops_once_the_form_is_filled_or_left() -> None:
    done = answered(3, "SUMMARY:")  # the summary, a parameter, the return
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
            '    """Join a path.\n\n    Args:\n        path: The start.\n\n'
            "    Returns:\n        The path.\n\n"
            '    Raises:\n        OSError: If it fails.\n    """',
        ),
        (
            "numpy",
            '    """Join a path.\n\n'
            "    Parameters\n    ----------\n    path\n        The start.\n\n"
            "    Returns\n    -------\n    The path.\n\n    Raises\n    ------\n    OSError\n"
            '        If it fails.\n    """',
        ),
        (
            "sphinx",
            '    """Join a path.\n\n    :param path: The start.\n    :return: The path.\n'
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
    prose = filled(prose, "", gaps(prose, facts))  # nothing more said when asked again
    start, end, new = placement(text, outline, definition, language, name, prose, facts, "google")
    return text[:start] + new + text[end:]


def test_python_goes_inside_the_body_after_decorators_and_replaces_an_old_one() -> None:
    text = "class A:\n    @cache\n    def f(self):\n        pass\n"
    placed = place(text, "python", "f")
    assert placed == 'class A:\n    @cache\n    def f(self):\n        """Do it."""\n        pass\n'
    assert place(placed.replace("Do it", "Old"), "python", "f") == placed
    ast.parse(placed)


def test_a_summary_does_not_name_what_it_is_attached_to_and_python_commands() -> None:
    said = "The `sniff` method of the `Sniffer` class analyzes a sample"
    assert style.summary(said, "python") == "Analyze a sample."
    assert style.summary(said, "java") == "Analyzes a sample."
    assert style.summary("This function creates a list", "python") == "Create a list."
    assert style.summary("The function `f` returns x", "go") == "Returns x."
    python = {
        "Returns the sum": "Return the sum.",
        "Applies a fix": "Apply a fix.",
        "Matches a line": "Match a line.",
        "Processes chunks": "Process chunks.",
        "Caches it": "Cache it.",
        "Has no effect": "Have no effect.",
        "Build the list": "Build the list.",  # already a command
        "This function is used to wrap": "This function is used to wrap.",  # no verb to say
        "Always false": "Always false.",
    }
    assert {said: style.summary(said, "python") for said in python} == python


# What a placed docstring says for what the model left unsaid.
FOR, RETURNS, RAISED = f"{TODO}.", f"{TODO_RETURNS}.", f"{TODO_RAISES}."


def test_comments_go_above_export_and_attributes_in_the_files_line_endings() -> None:
    script = "export function f(a) {\r\n  return a;\r\n}\r\n"
    assert place(script, "typescript", "f").startswith(
        f"/**\r\n * Does it.\r\n *\r\n * @param a {FOR}\r\n * @returns {RETURNS}\r\n */\r\nexport"
    )
    rust = "#[inline]\npub fn f() {}\n"
    assert place(rust, "rust", "f") == "/// Does it.\n#[inline]\npub fn f() {}\n"
    assert place("/// Old.\n/// More.\n#[inline]\npub fn f() {}\n", "rust", "f") == (
        "/// Does it.\n#[inline]\npub fn f() {}\n"
    )
    go = "package p\n\n// Old.\nfunc F(a int) {}\n"
    assert (
        place(go, "go", "F")
        == f"package p\n\n// F does it.\n//\n//   - a: {FOR}\nfunc F(a int) {{}}\n"
    )


def test_javadoc_doxygen_and_jsdoc_above_annotations_and_in_the_classs_indentation() -> None:
    java = (
        "class Shop {\n    @Override\n    public int total(int count) throws IOException {\n"
        "        return count;\n    }\n}\n"
    )
    assert place(java, "java", "total") == java.replace(
        "    @Override",
        f"    /**\n     * Does it.\n     *\n     * @param count {FOR}\n"
        f"     * @return {RETURNS}\n     * @throws IOException {RAISED}\n     */\n"
        "    @Override",
    )
    c = "static int add(int a, int *b) {\n    return a + *b;\n}\n"
    assert place(c, "c", "add").startswith(
        f"/**\n * @brief Does it.\n *\n * @param a {FOR}\n * @param b {FOR}\n"
        f" * @return {RETURNS}\n */\nstatic int add"
    )
    script = "class Cart {\n  add(item, count = 1) {\n    this.items.push(item);\n  }\n}\n"
    assert place(script, "javascript", "add") == script.replace(
        "  add(",
        f"  /**\n   * Does it.\n   *\n   * @param item {FOR}\n   * @param count {FOR}\n"
        "   */\n  add(",
    )


def test_the_model_is_shown_the_lines_that_call_the_definition() -> None:
    text = (
        "def area(w, h):\n"
        "    return w * h if w else area(1, h)\n"
        "\n"
        "# area(2, 5) is in a comment, 'area' in a string: neither calls it\n"
        "label = 'area'\n"
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
    done = answered(2, "PARAM")
    assert not done(" w: the width in metres\nPARAM h: the he")
    assert done(" w: the width in metres\nPARAM h: the height in metres\n")
    answer = "PARAM w: the width in metres\nPARAM x: invented\nPARAM h: the height"
    assert described(answer, ("w", "h")) == {"w": "the width in metres", "h": "the height"}


class Continuing:
    """An engine that continues the answer it is given: each call writes the
    next of `written`, a word a token, until `stop_when` or the limit."""

    CONTINUES_ANSWERS = True

    def __init__(self, *written: str) -> None:
        self.written = list(written)
        self.begun: list[str] = []
        self.decoded = 0

    def chat(
        self,
        messages: list[ChatMessage],
        sampling: Sampling,
        cancel: CancelToken,
        *,
        steering: Steering,
        answer_prefix: str = "",
    ) -> Generation:
        self.begun.append(answer_prefix)
        out, words = "", self.written.pop(0).split(" ")
        for count, word in enumerate(words, 1):
            out += ("" if count == 1 else " ") + word
            stop = steering.stop_when
            if count == sampling.max_tokens or (stop is not None and stop(out)):
                break
        self.decoded += count
        return Generation(out, "stop", GenerationStats(decoded_tokens=count))


def test_the_form_is_filled_a_line_at_a_time_one_sentence_each() -> None:
    lines = form(style.Facts(("path",), True, ()), "python")
    engine = Continuing(
        " Join the parts of a path. It is used by open().",
        "\n the first part, e.g. a folder.\nRETURNS: invented",
        " the joined path, 2.5 times longer\n",
    )
    written = write_form(engine, CancelToken(), [], lines, max_tokens=100)  # type: ignore[arg-type]
    assert written.text == (
        "SUMMARY: Join the parts of a path.\n"
        "PARAM path: the first part, e.g. a folder.\n"
        "RETURNS: the joined path, 2.5 times longer"
    )
    # Each line is begun with what was kept of the last ones, and its tag.
    assert engine.begun == [
        "SUMMARY:",
        "SUMMARY: Join the parts of a path.\nPARAM path:",
        written.text.rsplit(" the joined", 1)[0],
    ]
    assert written.stats.decoded_tokens == engine.decoded
    # Out of budget, the lines left stay empty: asked again, then a TODO.
    short = write_form(Continuing(" Join the parts of a path. More"), CancelToken(), [], lines, 3)  # type: ignore[arg-type]
    assert short.text == "SUMMARY: Join the\nPARAM path:\nRETURNS:"


def test_a_summary_that_says_what_is_returned_stands_for_the_returns_line() -> None:
    lines = form(style.Facts(("path",), True, ()), "python")
    engine = Continuing(" Returns the joined path. More.", " the first part.")
    written = write_form(engine, CancelToken(), [], lines, 100, summary_returns=True)  # type: ignore[arg-type]
    assert written.text == "SUMMARY: Returns the joined path.\nPARAM path: the first part."
    assert len(engine.begun) == 2, "the RETURNS line is not asked for"
    assert style.says_returned("SUMMARY: Yield each line.")
    assert style.says_returned("The function `f` returns x")
    assert not style.says_returned("Join the path and return it.")


def test_a_first_sentence_ends_at_its_mark_not_inside_numbers_or_abbreviations() -> None:
    assert first_sentence("\n  Use e.g. 2.5 or i.e. x. Then more.") == "Use e.g. 2.5 or i.e. x."
    assert first_sentence("no mark at all") == "no mark at all"
