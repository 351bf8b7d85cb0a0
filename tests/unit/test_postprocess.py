"""Post-processing on what the small instruct model really writes past the hole."""

from __future__ import annotations

import pytest

from lsp_server.context.syntax import SyntaxTree, parse_damage
from lsp_server.inference.api import Generation, StopReason
from lsp_server.postprocess import (
    SURE_LINE,
    Hole,
    ParseCheck,
    Plan,
    closers_replaced,
    fit_syntax,
    heal,
    indent_unit,
    restyle,
    trim,
    unheal,
)


def generated(text: str, reason: StopReason = "end") -> Generation:
    return Generation(text, reason)


# --- one line or a block ------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "suffix", "block"),
    [
        ("def cheapest(items):\n    ", "\n\n\ndef other():\n    pass\n", True),  # empty body
        ("def cheapest(items):", "\n\n\ndef other():\n", True),  # end of the opening line
        ("function f() {\n  ", "\n}\n", True),  # an empty body in braces
        ("def f(x):\n    y = 1\n    ", "\n    return y\n", False),  # inside a block
        ("def f(x):\n    ", "\n    return x\n", False),  # the body has code below
        ("total = compute(", ")\n", False),  # the middle of an expression
        ("value = 1\n", "\nprint(value)\n", False),  # after a plain statement
        ("", "", True),  # an empty file
    ],
)
def test_a_block_only_for_an_empty_body(prefix: str, suffix: str, block: bool) -> None:
    assert Hole(prefix, suffix).wants_block() is block


def test_one_line_keeps_only_the_first_line() -> None:
    cursor = Hole("def f(x):\n    y = 1\n    ", "\n    return y\n")
    assert trim(generated("z = y * 2\n    w = 3\n"), cursor, block=False) == "z = y * 2"


# --- the end of the block ------------------------------------------------------


def test_block_ends_where_indentation_drops() -> None:
    cursor = Hole("def cheapest(items):\n    if not items:\n        return None\n    ", "\n")
    text = 'return min(items, key=lambda item: item.price)\n\n\ndef main():\n    """Main."""\n'
    assert trim(generated(text), cursor, block=True) == (
        "return min(items, key=lambda item: item.price)"
    )


def test_nested_block_is_kept_whole() -> None:
    cursor = Hole("def total(rows):\n    ", "\n")
    text = (
        "result = 0\n    for row in rows:\n        result += row.amount\n    return result\n\nx = 1"
    )
    assert trim(generated(text), cursor, block=True) == (
        "result = 0\n    for row in rows:\n        result += row.amount\n    return result"
    )


def test_body_of_the_line_the_cursor_ends() -> None:
    cursor = Hole("def area(w, h):", "\n\n\nprint(area(2, 3))\n")
    text = "\n    return w * h\n\n\ndef volume(w, h, d):\n"
    assert trim(generated(text), cursor, block=True) == "\n    return w * h"


def test_stops_before_repeating_any_of_the_next_lines() -> None:
    cursor = Hole("def area(w, h):\n    ", "\n    check(w)\n    return  result\n")
    text = "result = w * h\n    return result\n"
    assert trim(generated(text), cursor, block=True) == "result = w * h"


def test_stops_before_rewriting_a_next_line_without_its_end() -> None:
    # csv.py, the 1.5B model: the next lines again, short of their comment or their end.
    cursor = Hole(
        "        dialect.doublequote = doublequote\n        ",
        "\n        # _csv.reader won't accept a quotechar of ''\n"
        "        dialect.quotechar = quotechar or '\"'\n",
    )
    text = "dialect.delimiter = delimiter\n        dialect.quotechar = quotechar\n"
    assert trim(generated(text), cursor, block=True) == "dialect.delimiter = delimiter"
    cursor = Hole(
        "        self._fieldnames = fieldnames\n        ",
        "\n        self.restval = restval  # default\n",
    )
    text = "self.restkey = restkey\n        self.restval = restval\n"
    assert trim(generated(text), cursor, block=True) == "self.restkey = restkey"
    # A comment line counts whole, as the comment it is.
    cursor = Hole("def f(a):\n    ", "\n    # split\n    g(a)\n")
    assert trim(generated("a = 1\n    # split\n"), cursor, block=True) == "a = 1"
    # A lone closer counts only whole: it may close the suggestion's own block.
    cursor = Hole("function f(xs) {\n  xs.forEach((x) => {\n    ", "\n  });\n}\n")
    text = "if (x) {\n      log(x);\n    }\n  });\n"
    assert trim(generated(text), cursor, block=True) == "if (x) {\n      log(x);\n    }"


def test_a_line_being_written_is_judged_by_what_it_says_only_once_whole() -> None:
    # calendar.py: `yield` begins `yield i`, not the `yield from ...` below.
    plan = Plan.at(
        "    def days(self, n):\n        ",
        "\n        after = n % 7\n        yield from repeat(0, after)\n",
    )
    written = "        for i in range(n):\n            yield"
    assert not plan.done(written)
    assert not plan.done(written + " i\n")
    assert not plan.done(written + " i\n        after")
    assert plan.done(written + " i\n        after = n % 7\n        y")  # the line below, again
    assert plan.done(written + " from repeat(0, after)\n        x")


def test_a_block_the_model_opens_on_a_fresh_line_keeps_its_end_and_what_follows() -> None:
    cursor = Hole("function f(x) {\n  ", "\n}\n")
    text = "if (x) {\n    log(x);\n  }\n  return 1;\n}\n"
    assert trim(generated(text), cursor, block=True) == "if (x) {\n    log(x);\n  }\n  return 1;"
    cursor = Hole("def count(items):\n    ", "\n")
    text = "total = 0\n    for item in items:\n        total += 1\n    return total\n\nx = 1\n"
    assert trim(generated(text), cursor, block=True) == text.split("\n\n")[0]


def test_a_block_stops_where_the_model_goes_round_in_circles() -> None:
    cursor = Hole("class Lexer:\n    def __init__(self):\n        ", "\n\n    def next(self):\n")
    text = "self.quotes = '\"'\n        self.quotes = '\"'\n        self.quotes = '\"'\n"
    assert trim(generated(text), cursor, block=True) == "self.quotes = '\"'"
    text = "self.a = 1\n        self.b = 2\n        self.a = 1\n        self.b = 2\n"
    assert trim(generated(text), cursor, block=True) == "self.a = 1\n        self.b = 2"
    # Code that repeats a line, but not the lines before it, is kept whole.
    cursor = Hole("def pair(f):\n    ", "\n")
    text = "a = f(1)\n    log(a)\n    b = f(2)\n    log(a)\n    return a, b"
    assert trim(generated(text), cursor, block=True) == text


def test_markdown_explanations_are_dropped() -> None:
    cursor = Hole("def f():\n    ", "\n")
    text = "return compute()\n```\n\nThis code calls compute."
    assert trim(generated(text), cursor, block=True) == "return compute()"


def test_a_line_cut_by_the_token_limit_is_dropped() -> None:
    cursor = Hole("def f():\n    items = [\n        ", "\n")
    text = '"apple",\n        "banana",\n        "cher'
    assert trim(generated(text, "length"), cursor, block=True) == '"apple",\n        "banana",'
    # Not when it is the only line: a partial line is still the start of the answer.
    assert trim(generated('"apple", "ban', "length"), cursor, block=True) == '"apple", "ban'


def test_repeating_the_rest_of_the_line_is_nothing() -> None:
    assert trim(generated("):"), Hole("def f(x", "):\n    pass\n"), block=False) == ""


def test_the_next_line_again_with_a_comment_of_its_own_is_nothing() -> None:
    cursor = Hole("def f(heap):\n    ", "\n    lastelt = heap.pop()\n    return lastelt\n")
    again = "lastelt = heap.pop()  # raises IndexError if heap is empty"
    assert trim(generated(again), cursor, block=False) == ""
    # Nor the next line without the comment it has.
    cursor = Hole("def f(heap):\n    ", "\n    lastelt = heap.pop()  # the last\n")
    assert trim(generated("lastelt = heap.pop()"), cursor, block=False) == ""
    assert trim(generated("item = heap.pop()"), cursor, block=False) == "item = heap.pop()"


def test_floor_division_in_python_is_not_a_comment() -> None:
    below = "\n    half = n // 2\n    return half\n"
    python = Hole("def f(n):\n    ", below, "#")
    assert trim(generated("half = n // 3"), python, block=False) == "half = n // 3"
    assert Plan.at("def f(n):\n    ", below, "#").avoid == ("half=n//2", "returnhalf")
    # In a language whose comments begin with `//`, the same line is the next one again.
    assert trim(generated("half = n // 3"), Hole("int f() {\n    ", below, "//"), False) == ""


def test_trailing_whitespace_goes() -> None:
    assert trim(generated("value  \n\n"), Hole("x = ", "\n"), block=False) == "value"


# --- token healing ---------------------------------------------------------------


def test_healing_cuts_indentation_and_half_words() -> None:
    assert heal("def f():\n    ") == ("def f():\n", "    ")
    assert heal("x = self.whitesp") == ("x = self.", "whitesp")
    assert heal("x = (") == ("x = (", "")
    # ` =` is one token: a prompt ending in the space asks for a split the model never saw.
    assert heal("        self.token ") == ("        self.token", " ")
    assert heal('print(f"') == ("print(", 'f"')
    assert heal("x = '") == ("x = ", "'")
    assert heal("x = f(a)") == ("x = f(a)", "")


def test_unhealing_keeps_what_follows_the_cursor() -> None:
    assert unheal("ace = ' \\t'", "whitesp") is None  # another identifier: no suggestion
    assert unheal("whitespace = ' \\t'", "whitesp") == "ace = ' \\t'"
    # The user's indentation stands; the model's for the first line is dropped.
    assert unheal("        return x", "    ") == "return x"
    assert unheal(" = ''", " ") == "= ''"


def test_the_models_block_moves_to_the_users_indentation() -> None:
    # The user's line is indented 8; the model wrote its block at 4.
    text = "    if ready:\n        start()\n    done()\nafter()"
    assert unheal(text, "        ") == "if ready:\n            start()\n        done()\nafter()"
    plan = Plan.at("def f():\n    while True:\n        ", "\n")
    fill = plan.finish(generated("    for x in y:\n        go(x)\n"))
    assert fill.text == "for x in y:\n            go(x)"


def test_indentation_follows_the_files_style() -> None:
    assert indent_unit("def f():\n\tif x:\n\t\treturn 1\n") == "\t"
    assert indent_unit("def f():\n  if x:\n    return 1\n") == "  "
    assert indent_unit("x = 1\n") == "    "
    assert restyle("if x:\n        go()\n    end()", "\t") == "if x:\n\t\tgo()\n\tend()"
    assert restyle("if x:\n\t\tgo()", "  ") == "if x:\n    go()"
    tabs = Plan.at("def f():\n\tif ready:\n\t\t", "\n")
    assert tabs.finish(generated("        for x in y:\n            go(x)\n")).text == (
        "for x in y:\n\t\t\tgo(x)"
    )


# --- closing brackets the editor inserted ------------------------------------------


def test_auto_closed_brackets_are_replaced_not_doubled() -> None:
    call = Hole("total = compute(", ")\n")
    assert closers_replaced(call, "price, tax)") == 1, "it closes the call itself"
    assert closers_replaced(call, "price, tax") == 0, "it leaves the editor's closer"
    assert closers_replaced(call, "price) + fee(tax)") == 1
    quoted = Hole('print("total: ', '")  \n')
    assert closers_replaced(quoted, '{total}")') == 4, "the whole rest of the line"
    assert closers_replaced(quoted, "{total}") == 0
    assert closers_replaced(Hole("x = f(", ") + 1\n"), "a)") == 0, "not only closers"
    plan = Plan.at("    total = compute(", ")\n    return total\n")
    parses = parses_at("python", "    total = compute(", ")\n    return total\n")
    fill = plan.finish(generated("price, tax)\n"), parses)
    assert (fill.text, fill.replaces) == ("price, tax)", 1), "and the file still parses"


def test_plan_heals_the_prompt_and_shapes_the_answer() -> None:
    plan = Plan.at("class Lexer:\n    def __init__(self):\n        self.whitesp", "\n")
    assert plan.prompt_prefix.endswith("self.")
    assert not plan.block
    assert plan.starts_with == "whitesp", "the engine heals the half word"
    assert plan.finish(generated("whitespace = ' \\t\\r\\n'\n        self.x = 1")).text == (
        "ace = ' \\t\\r\\n'"
    )
    assert plan.finish(generated("wordchars = 'abc'")).text == ""
    assert not plan.done("whi")
    assert plan.done("wordch"), "another identifier: stop at once"
    assert not plan.done("whitespace = 1\n"), "the line, and the next for once it is typed"
    assert plan.done("whitespace = 1\n        self.x = 1\n")


def test_a_line_that_copies_the_next_one_is_dropped() -> None:
    cursor = Hole(
        "    def __init__(self):\n        self.whitesp", "\n        self.whitespace_split = False\n"
    )
    assert trim(generated("ace_split = False"), cursor, block=False) == ""
    assert trim(generated("ace = ' '"), cursor, block=False) == "ace = ' '"


def test_between_statements_lines_past_the_first_show_while_the_model_is_sure() -> None:
    between = Hole("def f(items):\n    total = 0\n    ", "\n    return total\n", "#")
    text = "for item in items:\n        total += item\n    total *= 2\n    print(total)"
    sure, unsure = SURE_LINE + 0.1, SURE_LINE - 0.1

    def shown(*scores: float) -> str:
        return trim(Generation(text, "end", line_scores=scores), between, block=True)

    assert shown(unsure, sure, sure, sure) == text, "the first line shows however unsure"
    assert shown(sure, sure, unsure, sure) == "\n".join(text.split("\n")[:2])
    assert shown(sure, unsure, sure, sure) == "for item in items:"
    # No scores (an engine that cannot say): every line, as before.
    assert trim(generated(text), between, block=True) == text
    # An empty body is a block's place: its lines show whatever the scores.
    body = Hole("def f(items):\n    ", "\n\n\ndef g():\n", "#")
    whole = Generation(text, "end", line_scores=(sure, unsure, unsure, unsure))
    assert trim(whole, body, block=True) == text


def test_between_statements_the_first_line_is_code_not_a_comment() -> None:
    python = ("#", '"', "'")
    below = "\n    return total\n"
    assert Plan.at("def f(items):\n    total = 0\n    ", below, "#", python).code_first == python
    # The first line of a body with code below is between statements too.
    assert Plan.at("def f(items):\n    ", below, "#", python).code_first == python
    # An empty body may begin with its docstring or a comment; a line begun
    # is the user's; a language Hearth does not know has nothing to keep out.
    assert Plan.at("def f(items):\n    ", "\n\ndef g():\n", "#", python).code_first == ()
    assert Plan.at("def f(items):\n    total = ", below, "#", python).code_first == ()
    assert Plan.at("def f(items):\n    total = 0\n    ", below).code_first == ()


def test_the_model_is_turned_away_from_the_lines_below() -> None:
    below = "\n        doublecolon_len = 0\n        for index, hextet in enumerate(hextets):\n"
    # On an empty line, the lines below as they are (the engine compares them without blanks).
    fresh = Plan.at("    def f(self, hextets):\n        ", below)
    assert fresh.avoid == ("doublecolon_len=0", "forindex,hextetinenumerate(hextets):")
    # On a line begun, what the lines that start the same way hold after the
    # part before the cut: the model's text starts with the cut, `doublecolon_`.
    begun = Plan.at("    def f(self, hextets):\n        doublecolon_", below)
    assert begun.cut == "doublecolon_"
    assert begun.avoid == fresh.avoid
    assert Plan.at("    def f(self):\n        for ", below).avoid == (
        "index,hextetinenumerate(hextets):",
    )
    # A line's end comment is not part of what it says.
    commented = "\n        doublecolon_len = 0  # none yet\n"
    assert Plan.at("    def f(self, hextets):\n        ", commented).avoid == ("doublecolon_len=0",)
    # Text after the cursor on its line: no line below is the cursor's.
    assert Plan.at("    def f(self):\n        print(", ")" + below).avoid == ()


def test_the_hole_ends_with_the_line_break() -> None:
    plan = Plan.at("def f(x):\n    ", "\n    return x\n")
    assert plan.prompt_suffix == "    return x\n"
    assert Plan.at("f(", ")\n").prompt_suffix == ")\n"


# --- the parse must not get worse ------------------------------------------------


def parses_at(language: str, prefix: str, suffix: str) -> ParseCheck:
    return SyntaxTree(language, prefix + suffix).parses_no_worse(len(prefix))


def test_a_suggestion_that_breaks_the_parse_is_dropped() -> None:
    parses = parses_at(
        "python",
        "class Wrapper:\n    def __init__(self, width):\n        ",
        "\n        self.x = 1\n",
    )
    assert fit_syntax("self.width = compute(width, [", parses) == ""
    assert fit_syntax("self.width = compute(width, [", None) == "self.width = compute(width, ["
    assert fit_syntax("self.width = width", parses) == "self.width = width"


def test_a_block_is_cut_back_to_the_lines_that_parse() -> None:
    parses = parses_at("javascript", "function f(items) {\n  ", "\n}\n")
    text = "const total = items.length;\n  return total;\n  }\n  else {"
    assert fit_syntax(text, parses) == "const total = items.length;\n  return total;"


def test_no_grammar_no_check() -> None:
    assert fit_syntax("((((", None) == "(((("


def test_parse_damage_counts_error_and_missing_nodes() -> None:
    assert parse_damage("python", "def f(x):\n    return x\n") == 0
    assert parse_damage("python", "def f(x:\n    return x\n") > 0
    assert parse_damage("c", "int f() { return 1 }") > 0  # a missing ';'


def test_a_line_that_opens_a_block_brings_its_body() -> None:
    cursor = Hole("def days(n):\n    x = 1\n        ", "\n    after = 2\n")
    text = "for d in range(n):\n            yield d\n    after = 2\n"
    assert trim(generated(text), cursor, block=False) == "for d in range(n):\n            yield d"
    plan = Plan.at("def days(n):\n    x = 1\n    y = ", "\n    after = 2\n")
    assert not plan.block
    assert plan.done("2\n    z = 3\n"), "a plain line ends at the next one's line break"
    opener = Plan.at("def days(n):\n    x = 1\n    for d in ", "\n    after = 2\n")
    assert not opener.done("range(n):\n"), "the body is still to come"


@pytest.mark.parametrize(
    ("prefix", "suffix", "line_end"),
    [
        ("def f(n):\n    x = g(n)", "\n    return x\n", True),
        ("def f(n):\n    x = g(n)", "", True),  # at the end of the file
        ("def f(n):\n    x = g(", ")\n    return x\n", False),  # closers after the cursor
        ("def f(n):\n    x = g(n)\n    ", "\n    return x\n", False),  # a fresh line
        ("def f(n):", "\n\nf(1)\n", False),  # an empty body's opener
    ],
)
def test_a_line_end_is_a_line_of_code_with_nothing_after_the_cursor(
    prefix: str, suffix: str, line_end: bool
) -> None:
    assert Hole(prefix, suffix).line_end is line_end


LINE_WHOLE = Plan.at("def f(n):\n    x = g(n)", "\n    return x\n")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\n    y = x * 2\n", "\n    y = x * 2"),
        ("\n    y = x * 2\n    z = 3\n", "\n    y = x * 2"),  # one line
        ("\n    return x\n", ""),  # the line after the cursor's, again
        ("\n", ""),  # the model ends the hole with the line
        (
            "\n    for d in range(n):\n        x += d\n\n",
            "\n    for d in range(n):\n        x += d",
        ),
    ],
)
def test_at_the_end_of_a_whole_line_the_next_line_is_shown(text: str, shown: str) -> None:
    assert LINE_WHOLE.finish(generated(text)).text == shown


def test_a_next_line_cut_by_a_limit_is_not_shown() -> None:
    assert LINE_WHOLE.finish(generated("\n    y = x * ", "length")).text == ""
    assert LINE_WHOLE.finish(generated("\n    y = x *", "writing")).text == ""


def test_at_a_line_end_the_model_writes_the_next_line_and_the_line_is_answered_first() -> None:
    begun = Plan.at("def f(n):\n    x = g(", "\n    return x\n")
    assert begun.hole.line_end
    assert not begun.done("n)\n"), "the next line, for once this one is typed"
    assert not begun.done("n)\n    y = x")
    assert begun.done("n)\n    y = x * 2\n")
    assert begun.done("n)\n\n"), "a blank line ends it"
    assert begun.answered("n)\n    y"), "its suggestion, the rest of the line, is whole"
    assert not begun.answered("n)")
    assert not LINE_WHOLE.answered("\n    y"), "a whole line's is the next line"
    assert not LINE_WHOLE.done("\n    y = x * 2")
    assert LINE_WHOLE.done("\n    y = x * 2\n")
    opener = Plan.at("def f(n):\n    for d in ", "\n    return x\n")
    assert not opener.answered("range(n):\n"), "a block's opener brings its body"


def test_between_statements_a_block_ends_at_a_blank_line() -> None:
    plan = Plan.at("def days(n):\n    x = 1\n    ", "\n    return after\n")
    assert plan.block, "a fresh line between statements may take several"
    assert not plan.done("    y = 2\n    z = 3\n")
    assert plan.done("    y = 2\n\n    w"), "the model has moved on past a blank line"
    fill = plan.finish(generated("    y = 2\n    z = 3\n\n    w = 4\n"))
    assert fill.text == "y = 2\n    z = 3"
    assert plan.finish(generated("    y = 2\n    return after\n")).text == "y = 2"


def test_python_suggestions_must_satisfy_pythons_own_parser() -> None:
    # tree-sitter accepts both of these; Python does not.
    prefix = "import os\n\n\ndef f(addresses):\n    nets = []\n    "
    suffix = "\n    nets.append(1)\n    return nets\n\n\ndef g():\n    return 2\n"
    parses = parses_at("python", prefix, suffix)
    assert not parses("for ip in addresses:", 0), "a block opener without its body"
    assert not parses("x = 1\n        y = 2", 0), "an unexpected indent"
    assert parses("for ip in addresses:\n        nets.append(ip)", 0)


def test_code_broken_elsewhere_does_not_block_the_strict_check() -> None:
    broken_above = "def broken(:\n    pass\n\n\n"
    prefix = broken_above + "def f(addresses):\n    nets = []\n    "
    parses = parses_at("python", prefix, "\n    return nets\n")
    assert not parses("for ip in addresses:", 0)
    assert parses("nets.append(1)", 0)


def test_code_already_broken_at_the_cursor_is_judged_by_tree_sitter_alone() -> None:
    parses = parses_at("python", "def f(x):\n    if x:\n    ", "\n    return x\n")
    assert parses("y = 1", 0)
