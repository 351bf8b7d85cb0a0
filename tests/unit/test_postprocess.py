"""Post-processing on what the small instruct model really writes past the hole."""

from __future__ import annotations

from lsp_server.inference.engine import Generation, StopReason
from lsp_server.postprocess import trim, written_past_the_hole


def generated(text: str, reason: StopReason = "end") -> Generation:
    return Generation(text, reason)


def test_block_ends_where_indentation_drops() -> None:
    prefix = "def cheapest(items):\n    if not items:\n        return None\n    "
    text = 'return min(items, key=lambda item: item.price)\n\n\ndef main():\n    """Main."""\n'
    assert trim(generated(text), prefix, "\n") == "return min(items, key=lambda item: item.price)"


def test_rest_of_a_line_then_the_model_writes_an_example() -> None:
    prefix = "def average(values):\n    return sum(values) / len(value"
    text = "s)\n\n# Example usage:\nvalues = [1.0, 2.0]\nprint(average(values))"
    assert trim(generated(text, "length"), prefix, "") == "s)"


def test_nested_block_is_kept_whole() -> None:
    prefix = "def total(rows):\n    result = 0\n    "
    text = "for row in rows:\n        result += row.amount\n    return result\n\nprint(1)"
    assert trim(generated(text), prefix, "\n") == (
        "for row in rows:\n        result += row.amount\n    return result"
    )


def test_stops_before_repeating_the_code_after_the_cursor() -> None:
    prefix = "def area(w, h):\n    "
    suffix = "\n    return result\n"
    text = "result = w * h\n    return result\n"
    assert trim(generated(text), prefix, suffix) == "result = w * h"


def test_markdown_explanations_are_dropped() -> None:
    prefix = "x = "
    text = "compute()\n```\n\nThis code calls compute."
    assert trim(generated(text), prefix, "") == "compute()"


def test_a_line_cut_by_the_token_limit_is_dropped() -> None:
    prefix = "items = [\n    "
    text = '"apple",\n    "banana",\n    "cher'
    assert trim(generated(text, "length"), prefix, "") == '"apple",\n    "banana",'
    # Not when it is the only line: a partial line is still the start of the answer.
    assert trim(generated('"apple", "ban', "length"), prefix, "") == '"apple", "ban'


def test_repeating_the_rest_of_the_line_is_nothing() -> None:
    assert trim(generated("):"), "def f(x", "):\n    pass\n") == ""


def test_trailing_whitespace_goes() -> None:
    assert trim(generated("value  \n\n"), "x = ", "\n") == "value"


def test_generation_can_stop_once_it_writes_past_the_hole() -> None:
    prefix = "def cheapest(items):\n    "
    assert not written_past_the_hole("return min(items)", prefix, "\n")
    assert not written_past_the_hole("return min(items)\n", prefix, "\n")
    assert not written_past_the_hole("if items:\n        return", prefix, "\n")
    assert written_past_the_hole("return min(items)\n\n\ndef", prefix, "\n")
    assert written_past_the_hole("return min(items)\n```", prefix, "\n")
