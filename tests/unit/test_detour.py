"""Going back from a first line that repeats the code after the hole (the
engine's use of it on the real model is in test_engine)."""

from __future__ import annotations

import numpy as np

from lsp_server.inference.llama.detour import TURNS, Detour
from lsp_server.text import without_end_comment_or_whitespace


def piece(token: int) -> bytes:
    """Each token of the ten a text of its own."""
    return f"t{token}".encode()


def logits(**scores: float) -> np.ndarray:
    """Logits over a ten-token vocabulary, token `t3` at index 3 and so on."""
    values = np.full(10, -10.0, dtype=np.float32)
    for name, score in scores.items():
        values[int(name[1:])] = score
    return values


def test_the_least_sure_choice_on_the_line_is_taken_back() -> None:
    detour = Detour.of(("    for ip in addresses:", "# split them"), piece)
    assert detour is not None
    assert detour.watching("    ")
    detour.note(logits(t1=5.0, t2=4.0, t3=1.0), 1, position=40, length=4)
    assert detour.watching("    for")
    detour.note(logits(t4=9.0, t5=8.8), 4, position=41, length=7)
    assert detour.turn("    for ip in", ended=False) is None, "the line is not written yet"
    turn = detour.turn("    for ip in addresses:\n", ended=False)
    assert turn is not None
    assert (turn.position, turn.length, turn.token) == (41, 7, 5)
    # The way back wrote a near copy (another name): back again, to the next least sure.
    turn = detour.turn("    for addr in addresses:\n", ended=False)
    assert turn is not None
    assert (turn.position, turn.token) == (40, 2)
    assert detour.turn("    nets = []\n", ended=False) is None, "a line of its own is kept"
    assert not detour.watching("    nets = []\n    ")


def test_a_line_that_leaves_the_ones_to_avoid_is_not_watched() -> None:
    detour = Detour.of(("    return total",), piece)
    assert detour is not None
    assert detour.watching("    ret")
    assert not detour.watching("    result = ")
    assert detour.turn("    result = 0\n", ended=False) is None
    assert Detour.of(("", "   "), piece) is None, "blank lines are never avoided"


def test_a_line_to_avoid_with_a_comment_of_its_own_is_turned_from() -> None:
    detour = Detour.of(("    lastelt = heap.pop()",), piece)
    assert detour is not None
    detour.note(logits(t1=5.0, t2=4.0), 1, position=40, length=4)
    assert detour.watching("    lastelt = heap.pop()  # raises")
    turn = detour.turn("    lastelt = heap.pop()  # raises IndexError\n", ended=False)
    assert turn is not None
    assert turn.token == 2


def test_end_comments_are_the_languages_own() -> None:
    # In Python `//` is floor division: `n // 3` is not `n // 2` with a comment.
    assert without_end_comment_or_whitespace("half = n // 2  # the middle", "#") == "half=n//2"
    assert without_end_comment_or_whitespace("half = n // 2", "//") == "half=n"
    assert without_end_comment_or_whitespace("half = n // 2  # the middle") == "half=n", (
        "not known: `#` and `//` both"
    )
    detour = Detour.of(("    half = n // 2",), piece, "#")
    assert detour is not None
    detour.note(logits(t1=5.0, t2=4.0), 1, position=40, length=4)
    assert detour.turn("    half = n // 3\n", ended=False) is None
    in_c = Detour.of(("    half = n // 2",), piece, "//")
    assert in_c is not None
    assert in_c.avoid == {"half=n"}


def test_it_turns_back_a_few_times_at_most() -> None:
    detour = Detour.of(("x = 1",), piece)
    assert detour is not None
    for position in range(10):
        assert detour.watching("x = 1"[: position % 5])
        detour.note(logits(t1=2.0, t2=1.0), 1, position=position, length=position)
    turns = [detour.turn("x = 1\n", ended=True) for _ in range(TURNS + 1)]
    assert all(turn is not None for turn in turns[:TURNS])
    assert turns[TURNS] is None


def test_choices_on_the_way_given_up_are_not_gone_back_to() -> None:
    detour = Detour.of(("y = compute(x)",), piece)
    assert detour is not None
    assert detour.watching("y")
    detour.note(logits(t1=5.0, t2=4.9, t3=3.0), 1, position=7, length=1)
    assert detour.watching("y =")
    detour.note(logits(t4=5.0, t5=4.5), 4, position=8, length=3)
    turn = detour.turn("y = compute(x)\n", ended=False)
    assert turn is not None
    assert (turn.position, turn.token) == (7, 2)
    # Its line is a near copy again: the choice at 8 was made after `y`, not
    # after the token now in its place, so the next turn is at 7 again.
    turn = detour.turn("yy = compute(x)\n", ended=False)
    assert turn is not None
    assert (turn.position, turn.token) == (7, 3)


def test_a_runner_up_that_differs_only_in_blanks_is_not_gone_back_to() -> None:
    texts = {1: b"\n", 2: b" \n", 3: b"  #", 4: b"\n\n", 5: b" =", 6: b"  ", 7: b" +="}
    detour = Detour.of(("height = shape.height",), lambda token: texts.get(token, b"?"))
    assert detour is not None
    assert detour.watching("height")
    # ` =` was chosen over `  ` (blanks, then the same `=`) and ` +=` (another line).
    detour.note(logits(t5=5.0, t6=4.9, t7=2.0), 5, position=5, length=6)
    assert detour.watching("height =")
    # The line break was chosen over ` \n`, `\n\n` (the same line) and `  #` (a comment).
    detour.note(logits(t1=5.0, t2=4.9, t4=4.8, t3=1.0), 1, position=9, length=21)
    assert {choice.token for choice in detour.choices}.isdisjoint({2, 4, 6})
    turn = detour.turn("height = shape.height\n", ended=False)
    assert turn is not None
    assert turn.token == 7, "the least sure choice that writes another line"
