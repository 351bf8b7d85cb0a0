"""Typing into the ghost text: the rest of the suggestion, without the model."""

from __future__ import annotations

from lsp_server.features.shown import Shown

BEFORE = "def area(w, h):\n    return "
AFTER = "\n\nprint(area(2, 3))\n"
SHOWN = Shown(BEFORE, AFTER, "w * h")
CYCLED = Shown(BEFORE, AFTER, "w * h", ("w * h / 2", "h * w"))


def test_typing_the_first_characters_leaves_the_rest() -> None:
    assert SHOWN.rests(BEFORE + "w ", AFTER) == ["* h"]
    assert SHOWN.rests(BEFORE, AFTER) == ["w * h"]  # back at the same spot


def test_typing_all_of_it_leaves_nothing_to_suggest() -> None:
    # The model ended its line there: no new suggestion, and no model call.
    assert SHOWN.rests(BEFORE + "w * h", AFTER) == []
    # Also when an alternative goes on: the suggestion shown first is done.
    assert CYCLED.rests(BEFORE + "w * h", AFTER) == []


def test_anything_else_is_a_miss() -> None:
    assert SHOWN.rests(BEFORE + "h", AFTER) is None  # typed something else
    assert SHOWN.rests(BEFORE + "w ", AFTER + "x") is None  # text after changed
    assert SHOWN.rests("import os\n" + BEFORE, AFTER) is None  # text before changed


def test_alternatives_typed_into_keep_their_rest_in_order() -> None:
    assert CYCLED.rests(BEFORE, AFTER) == ["w * h", "w * h / 2", "h * w"]
    assert CYCLED.rests(BEFORE + "w", AFTER) == [" * h", " * h / 2"]
    # Typing the alternative the editor cycled to: its rest alone.
    assert CYCLED.rests(BEFORE + "h ", AFTER) == ["* w"]
