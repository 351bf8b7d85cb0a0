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

    def piece(self, token: int) -> bytes:
        return self._by_id[token]

    def agreeing(self, remaining: bytes) -> npt.NDArray[np.int64]:
        """Tokens that start with `remaining`, or that `remaining` starts with."""
        low = bisect.bisect_left(self._sorted, remaining)
        high = low
        while high < len(self._sorted) and self._sorted[high].startswith(remaining):
            high += 1
        shorter = [t for k in range(1, len(remaining)) for t in self._exact.get(remaining[:k], [])]
        return np.concatenate([self._ids[low:high], np.array(shorter, dtype=np.int64)])


def heal_step(
    pieces: TokenPieces, remaining: bytes, logits: npt.NDArray[np.float32]
) -> tuple[int, bytes] | None:
    """The likeliest token agreeing with `remaining`, and what is left of
    `remaining` after it; None when no token agrees."""
    allowed = pieces.agreeing(remaining)
    if allowed.size == 0:
        return None
    token = int(allowed[int(np.argmax(logits[allowed]))])
    return token, remaining[len(pieces.piece(token)) :]
