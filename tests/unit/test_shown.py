"""Typing into the ghost text: the rest of the suggestion, without the model."""

from __future__ import annotations

from lsp_server.features.shown import Shown

BEFORE = "def area(w, h):\n    return "
AFTER = "\n\nprint(area(2, 3))\n"
SHOWN = Shown(BEFORE, AFTER, "w * h")


def test_typing_the_first_characters_leaves_the_rest() -> None:
    assert SHOWN.rest(BEFORE + "w ", AFTER) == "* h"
    assert SHOWN.rest(BEFORE, AFTER) == "w * h"  # back at the same spot


def test_typing_all_of_it_leaves_nothing_to_suggest() -> None:
    # The model ended its line there: no new suggestion, and no model call.
    assert SHOWN.rest(BEFORE + "w * h", AFTER) == ""


def test_anything_else_is_a_miss() -> None:
    assert SHOWN.rest(BEFORE + "h", AFTER) is None  # typed something else
    assert SHOWN.rest(BEFORE + "w ", AFTER + "x") is None  # text after changed
    assert SHOWN.rest("import os\n" + BEFORE, AFTER) is None  # text before changed
