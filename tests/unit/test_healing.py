"""Token healing: which tokens agree with the text the prompt left out."""

from __future__ import annotations

import numpy as np

from lsp_server.inference.healing import TokenPieces, heal_step

VOCAB = [b"", b"in", b"inst", b"instream", b"ream", b"pop", b"i", b" =", b" ", b"=", b"insta"]


def test_tokens_agree_by_starting_with_the_text_or_being_its_start() -> None:
    pieces = TokenPieces(VOCAB)
    assert sorted(pieces.agreeing(b"inst").tolist()) == [1, 2, 3, 6, 10]
    assert sorted(pieces.agreeing(b" ").tolist()) == [7, 8]
    assert pieces.agreeing(b"xyz").size == 0


def test_the_likeliest_agreeing_token_wins_and_the_rest_is_left_to_write() -> None:
    pieces = TokenPieces(VOCAB)
    logits = np.zeros(len(VOCAB), dtype=np.float32)
    logits[5] = 9.0  # "pop" is what the model would say unconstrained
    logits[1] = 2.0
    assert heal_step(pieces, b"inst", logits) == (1, b"st")
    logits[3] = 3.0
    assert heal_step(pieces, b"inst", logits) == (3, b"")
    assert heal_step(pieces, b"xyz", logits) is None
