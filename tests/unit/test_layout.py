"""PromptLayout shares a prompt's budget out the same way for every engine:
here with one token a character, so that counts are plain to see."""

from __future__ import annotations

from lsp_server.layout import FileContext, PromptLayout, estimated_tokens

LAYOUT = PromptLayout()
PREFIX = "".join(f"line {i}\n" for i in range(100))
SUFFIX = "".join(f"after {i}\n" for i in range(100))


def chars(text: str) -> list[str]:
    return list(text)


def above_the_header(files: FileContext) -> tuple[list[str], list[str]]:
    return [], chars("".join(text for _, text in files.files))


def test_estimated_tokens_join_back_to_the_text_one_a_few_characters() -> None:
    text = "def total(items):\n    return sum(items)\n"
    pieces = estimated_tokens(text)
    assert "".join(pieces) == text
    assert len(pieces) == 12  # 41 characters at 3.5 a token
    assert estimated_tokens("") == []


def test_the_budget_is_what_is_asked_within_the_window() -> None:
    assert LAYOUT.budget(500, context_size=2048, max_tokens=128, fixed=4) == 500
    assert LAYOUT.budget(None, context_size=2048, max_tokens=128, fixed=4) == 1916
    # However many tokens are asked for, the prompt keeps half the window.
    assert LAYOUT.budget(4000, context_size=2048, max_tokens=4000, fixed=4) == 1020


def test_a_cut_prompt_fits_its_budget_the_prefix_cut_from_the_left() -> None:
    laid = LAYOUT.cut(PREFIX, SUFFIX, "x = ", None, 200, chars, above_the_header)
    assert len(laid.prefix) + len(laid.suffix) + len(laid.middle) <= 200
    assert PREFIX.endswith("".join(laid.prefix))
    assert SUFFIX.startswith("".join(laid.suffix))
    assert "".join(laid.middle) == "x = "


def test_typing_in_the_middle_does_not_move_the_cuts() -> None:
    before = LAYOUT.cut(PREFIX, SUFFIX, "x", None, 200, chars, above_the_header)
    after = LAYOUT.cut(PREFIX, SUFFIX, "x = total(", None, 200, chars, above_the_header)
    assert (after.prefix, after.suffix) == (before.prefix, before.suffix)


def test_a_middle_longer_than_its_share_joins_the_prefix() -> None:
    long_line = "y" * 60  # a quarter of 200 is 50
    laid = LAYOUT.cut(PREFIX, SUFFIX, long_line, None, 200, chars, above_the_header)
    assert laid.middle == []
    assert "".join(laid.prefix).endswith(long_line)


def test_the_suffix_keeps_its_minimum_share() -> None:
    laid = LAYOUT.cut(PREFIX, SUFFIX, "", None, 200, chars, above_the_header)
    assert len(laid.suffix) == 200 // LAYOUT.suffix_min_share
    assert len(laid.prefix) == 200 - len(laid.suffix)


def test_context_takes_its_share_other_files_giving_way_before_the_header() -> None:
    header = "".join(f"import m{i}\n" for i in range(30))  # 300 characters
    files = (("a.py", "A = 1\n" * 5), ("b.py", "B = 2\n" * 50))
    context = FileContext("repo", "here.py", header, files)
    laid = LAYOUT.cut(PREFIX, SUFFIX, "", context, 400, chars, above_the_header)
    assert len(laid.above) <= 400 // LAYOUT.context_share
    assert laid.context is not None
    assert laid.context.files == (), "other files go first"
    # The header is cut at a line boundary, its end kept: it joins the prefix.
    assert header.endswith(laid.context.header)
    assert laid.context.header.startswith("import ")
    assert "".join(laid.above) == laid.context.header
    roomy = LAYOUT.cut(PREFIX, SUFFIX, "", context, 1000, chars, above_the_header)
    assert roomy.context is not None
    assert roomy.context.files == files[:1], "the last file is the least wanted"
    assert "".join(roomy.above) == files[0][1] + header
