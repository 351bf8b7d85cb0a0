"""Token healing: which tokens agree with the text the prompt left out."""

from __future__ import annotations

import numpy as np

from lsp_server.inference.llama.healing import Healer, TokenPieces

VOCAB = [
    b"", b"in", b"inst", b"instream", b"ream", b"pop", b"i", b" =", b" ", b"=", b"insta",
    b"    ", b"        ", b"    return", b"return", b" return", b"       ", b"    \n", b"\n",
    b"#", b"    #", b"##", b'"""',
]  # fmt: skip


def test_tokens_agree_by_starting_with_the_text_or_being_its_start() -> None:
    pieces = TokenPieces(VOCAB)
    assert sorted(pieces.agreeing(b"inst").tolist()) == [1, 2, 3, 6, 10]
    assert sorted(pieces.agreeing(b" =").tolist()) == [7, 8]
    assert pieces.agreeing(b"xyz").size == 0
    # Closed: what follows the text may not be another blank, nor a line break.
    assert sorted(pieces.agreeing(b"    ", closed=True).tolist()) == [8, 11, 13, 20]
    assert sorted(pieces.agreeing(b"    ").tolist()) == [8, 11, 12, 13, 16, 17, 20]


def logits_favouring(*order: int) -> np.ndarray:
    logits = np.zeros(len(VOCAB), dtype=np.float32)
    for rank, token in enumerate(order):
        logits[token] = 10.0 - rank
    return logits


def test_the_likeliest_agreeing_token_wins_until_the_cut_text_is_written() -> None:
    pieces = TokenPieces(VOCAB)
    healer = Healer(pieces, b"inst")
    # "pop" is what the model would say unconstrained; "in" agrees.
    assert healer.choose(logits_favouring(5, 1)) == 1
    assert healer.active, "`st` is still to write"
    assert healer.choose(logits_favouring(5, 1)) is None, "no token agrees with `st`"
    assert not healer.active, "the model then chooses freely"
    healer = Healer(pieces, b"inst")
    assert healer.choose(logits_favouring(5, 3)) == 3
    assert not healer.active


def test_healed_indentation_is_written_exactly_not_deeper() -> None:
    pieces = TokenPieces(VOCAB)
    deeper = logits_favouring(12, 11, 15, 14)  # the model wants to indent 8, then " return"
    healer = Healer(pieces, b"    ")
    assert healer.choose(deeper) == 11, "4 spaces, not 8"
    assert healer.active
    assert healer.choose(deeper) == 14, "then `return`, not ` return`"
    assert not healer.active
    # A token that writes the indentation and the code after it ends healing at once.
    healer = Healer(pieces, b"    ")
    assert healer.choose(logits_favouring(13, 11)) == 13
    assert not healer.active


def test_healed_indentation_is_followed_by_code_not_an_empty_line() -> None:
    pieces = TokenPieces(VOCAB)
    healer = Healer(pieces, b"    ")
    # The model would rather end the line: the cursor is there for code.
    assert healer.choose(logits_favouring(17, 11)) == 11
    assert healer.choose(logits_favouring(18, 14)) == 14, "`return`, not a line break"
    assert not healer.active


def test_code_first_keeps_the_first_token_after_the_indentation_from_a_comment() -> None:
    pieces = TokenPieces(VOCAB)
    comment_first = logits_favouring(20, 19, 21, 22, 11, 14)  # `    #`, `#`, `##`, `"""`
    healer = Healer(pieces, b"    ", not_first=(b"#", b'"""'))
    assert healer.choose(comment_first) == 11, "the indentation alone, not `    #`"
    assert healer.choose(comment_first) == 14, "then code: `return`, no comment, no docstring"
    assert not healer.active
    # Without it, the comment the model prefers.
    assert Healer(pieces, b"    ").choose(comment_first) == 20
    # Only where code follows the cut: after a half-typed word, a `#` may be text.
    assert Healer(pieces, b"in", not_first=(b"#",))._not_first == ()
