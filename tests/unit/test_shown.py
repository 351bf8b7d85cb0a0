"""Typing into the ghost text: the rest of the suggestion, without the model."""

from __future__ import annotations

from lsp_server.features.shown import ShownSuggestions

BEFORE = "def area(w, h):\n    return "
AFTER = "\n\nprint(area(2, 3))\n"


def shown() -> ShownSuggestions:
    cache = ShownSuggestions()
    cache.remember("file:///a.py", BEFORE, AFTER, "w * h")
    return cache


def test_typing_the_first_characters_leaves_the_rest() -> None:
    cache = shown()
    assert cache.rest("file:///a.py", BEFORE + "w ", AFTER) == "* h"
    assert cache.rest("file:///a.py", BEFORE, AFTER) == "w * h"  # back at the same spot
    assert cache.hits == 2


def test_typing_all_of_it_leaves_nothing_to_suggest() -> None:
    # The model ended its line there: no new suggestion, and no model call.
    cache = shown()
    assert cache.rest("file:///a.py", BEFORE + "w * h", AFTER) == ""
    assert cache.hits == 1


def test_anything_else_is_a_miss() -> None:
    cache = shown()
    assert cache.rest("file:///a.py", BEFORE + "h", AFTER) is None  # typed something else
    assert cache.rest("file:///a.py", BEFORE + "w ", AFTER + "x") is None  # text after changed
    assert cache.rest("file:///a.py", "import os\n" + BEFORE, AFTER) is None  # text before changed
    assert cache.rest("file:///b.py", BEFORE, AFTER) is None
    cache.forget("file:///a.py")
    assert cache.rest("file:///a.py", BEFORE, AFTER) is None
    assert cache.hits == 0
