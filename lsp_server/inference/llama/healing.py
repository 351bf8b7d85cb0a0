"""Token healing: the first tokens of a completion agree with text the prompt
left out.

The text before the cursor often ends mid-token (`self.inst`). A prompt
ending there asks the model to go on from a token boundary it never saw in
training. So the prompt stops before the partial token, and the model's
first tokens are chosen, greedily, among those that agree with the cut-off
text: `instream` or `inst`, then `ream`, never `pop`.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

_BLANKS = (b" ", b"\t")
# What may not come right after a cut that ends in blanks: more blanks (the
# line would be indented deeper than the cursor), or a line break (an empty
# line, or trailing spaces, is never what the cursor is there for).
_NOT_AFTER_BLANKS = (*_BLANKS, b"\n", b"\r")


class TokenPieces:
    """Every token's bytes, indexed to find those that agree with a text."""

    def __init__(self, pieces: Sequence[bytes]) -> None:
        self._by_id = list(pieces)
        # Special and control tokens have no bytes: they never heal anything.
        ordered = sorted((piece, token) for token, piece in enumerate(pieces) if piece)
        self._sorted = [piece for piece, _ in ordered]
        self._ids = np.array([token for _, token in ordered], dtype=np.int64)
        self._exact: dict[bytes, list[int]] = defaultdict(list)
        for piece, token in ordered:
            self._exact[piece].append(token)
        self.code_led = np.array(
            [token for piece, token in ordered if not piece.startswith(_NOT_AFTER_BLANKS)],
            dtype=np.int64,
        )
        self._code_led_but: dict[tuple[bytes, ...], npt.NDArray[np.int64]] = {}

    def code_led_but(self, not_first: tuple[bytes, ...]) -> npt.NDArray[np.int64]:
        """`code_led`, less the tokens that begin with one of `not_first`
        (worked out once for each: it looks at every token)."""
        if not not_first:
            return self.code_led
        if not_first not in self._code_led_but:
            self._code_led_but[not_first] = np.array(
                [t for t in self.code_led if not self._by_id[t].startswith(not_first)],
                dtype=np.int64,
            )
        return self._code_led_but[not_first]

    def piece(self, token: int) -> bytes:
        return self._by_id[token]

    def agreeing(self, remaining: bytes, closed: bool = False) -> npt.NDArray[np.int64]:
        """Tokens that start with `remaining`, or that `remaining` starts with.
        `closed`: no blank or line break may follow `remaining`."""
        low = bisect.bisect_left(self._sorted, remaining)
        high = low
        while high < len(self._sorted) and self._sorted[high].startswith(remaining):
            high += 1
        longer = self._ids[low:high]
        if closed:
            longer = np.array(
                [
                    t
                    for t in longer
                    if not self._by_id[t][len(remaining) :].startswith(_NOT_AFTER_BLANKS)
                ],
                dtype=np.int64,
            )
        shorter = [t for k in range(1, len(remaining)) for t in self._exact.get(remaining[:k], [])]
        return np.concatenate([longer, np.array(shorter, dtype=np.int64)])


class Healer:
    """The constraint on one generation's first tokens: they agree with the
    cut-off text; when it ends in blanks (the indentation of the cursor's
    line, the space after `=`), code follows: no more blanks, so the model
    writes at the cursor's indentation and not deeper, and no line break."""

    def __init__(self, pieces: TokenPieces, cut: bytes, not_first: tuple[bytes, ...] = ()) -> None:
        self._pieces = pieces
        self._remaining = cut
        self._closed = cut.endswith(_BLANKS)
        # Where code follows the cut, what it may not begin with (a comment).
        self._not_first = not_first if self._closed else ()
        self._next_not_blank = False  # the cut is written, exactly: code must follow

    @property
    def active(self) -> bool:
        return bool(self._remaining) or self._next_not_blank

    def _allowed(self) -> npt.NDArray[np.int64]:
        if self._remaining:
            agreeing = self._pieces.agreeing(self._remaining, self._closed)
            if not self._not_first:
                return agreeing
            length, piece = len(self._remaining), self._pieces.piece
            return agreeing[
                [not piece(int(t))[length:].startswith(self._not_first) for t in agreeing]
            ]
        return self._pieces.code_led_but(self._not_first)

    def past_the_cut(self) -> npt.NDArray[np.int64]:
        """The tokens it may choose now that write more than the cut: the
        model's own text, not another way to spell the user's."""
        allowed = self._allowed()
        length = len(self._remaining)
        if not length:
            return allowed  # code after the cut: every one of them
        return allowed[[len(self._pieces.piece(int(t))) > length for t in allowed]]

    def choose(self, logits: npt.NDArray[np.float32]) -> int | None:
        """The likeliest allowed token, or None (healing given up) when none is."""
        remaining = self._remaining
        allowed = self._allowed()
        if allowed.size == 0:
            self._remaining, self._next_not_blank = b"", False
            return None
        token = int(allowed[int(np.argmax(logits[allowed]))])
        written = len(self._pieces.piece(token))
        self._remaining = remaining[written:]
        self._next_not_blank = bool(remaining) and self._closed and written == len(remaining)
        return token
