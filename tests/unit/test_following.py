"""Typing that follows a running generation: what it takes over, and when it stops."""

from __future__ import annotations

from lsp_server.features.following import Followed
from lsp_server.inference.api import Generation
from lsp_server.postprocess import Plan

BEFORE = "def total(self):\n    return sel"
AFTER = "\n\n\ndef count(self):\n    return len(self.items)\n"


def started() -> Followed:
    # The cursor is mid-word: the prompt leaves out `sel`, the model writes it again.
    return Followed(BEFORE, AFTER, Plan.at(BEFORE, AFTER))


def test_only_typing_at_its_cursor_is_followed() -> None:
    followed = started()
    assert followed.typed_in(BEFORE + "f." + AFTER) == "f."
    assert followed.typed_in(BEFORE + AFTER) == ""  # backspaced to where it began
    assert followed.typed_in(BEFORE + "f\n    " + AFTER) is None  # a line break
    assert followed.typed_in(BEFORE[:-1] + AFTER) is None  # deleted before the cursor
    assert followed.typed_in("#\n" + BEFORE + "f" + AFTER) is None  # an edit above
    assert followed.typed_in(BEFORE + "f" + AFTER + "x") is None  # an edit below


def test_untouched_it_stops_where_its_own_plan_does() -> None:
    followed = started()
    assert not followed.done("self.total")
    assert not followed.done("self.total\n")  # the line is written: the next one is wanted too
    assert followed.done("self.total\n    log(self)\n")
    assert followed.done("len(")  # another word than the one at the cursor


def test_it_goes_on_while_the_typing_agrees_and_stops_when_it_does_not() -> None:
    followed = started()
    followed.follow("f.")
    assert not followed.done("se")  # still writing the word the prompt left out
    assert not followed.done("self")  # behind the typing, agreeing so far
    assert not followed.done("self.to")
    followed.follow("f.x")
    assert followed.done("self.to")  # the user typed something else


def test_a_request_that_takes_it_over_gets_what_follows_the_typed_text() -> None:
    followed = started()
    followed.follow("f.")
    plan = Plan.at(BEFORE + "f.", AFTER)
    followed.take_over(plan)
    assert not followed.done("self.total\n    log(self)")
    assert followed.done("self.total\n    log(self)\n")  # the next line too, for the new cursor
    scored = Generation("self.total\n", "stop", line_scores=(-0.1, 0.0))
    generation = followed.rebase(scored, "f.", plan)
    assert generation is not None
    assert plan.finish(generation).text == "total"
    assert generation.line_scores == scored.line_scores, "the lines are the same lines"
    assert followed.rebase(Generation("self.count\n", "stop"), "f.x", plan) is None


def test_typing_the_whole_line_leaves_the_next_line_to_add() -> None:
    followed = started()
    followed.follow("f.total")
    plan = Plan.at(BEFORE + "f.total", AFTER)
    followed.take_over(plan)
    assert not followed.done("self.total\n")
    assert followed.done("self.total\n    log(self)\n")
    for text, shown in [("self.total\n", ""), ("self.total\n    log(self)\n", "\n    log(self)")]:
        generation = followed.rebase(Generation(text, "stop"), "f.total", plan)
        assert generation is not None
        assert plan.finish(generation).text == shown


def test_a_backspace_past_the_newest_request_falls_back_to_the_first_plan() -> None:
    followed = started()
    followed.follow("f.t")
    followed.take_over(Plan.at(BEFORE + "f.t", AFTER))
    followed.follow("f")
    assert not followed.done("self.total")
    assert followed.done("self.total\n    log(self)\n")
