"""How sure the model was of each line it wrote.

Each token the model chooses itself is noted with its log-probability; a
line's score is the mean over the tokens that begin in it (its line break
included, its indentation's first token too). Text the model did not choose
(what token healing spells out, a runner-up taken on a detour) is left out.
Post-processing uses the scores to decide how many lines to show where one
line was the likelier ask (postprocess.Plan.finish).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt


def log_probability(logits: npt.NDArray[np.float32], token: int) -> float:
    """The log-probability of `token` under `logits` (a log-softmax, stably)."""
    top = float(np.max(logits))
    return float(logits[token]) - top - math.log(float(np.sum(np.exp(logits - top))))


@dataclass
class Confidence:
    """The log-probabilities of a text's tokens, by where in its bytes they begin."""

    noted: list[tuple[int, float]] = field(default_factory=list)

    def note(self, logits: npt.NDArray[np.float32], token: int, start: int) -> None:
        """`token`, chosen from `logits`, begins at byte `start` of the output."""
        self.noted.append((start, log_probability(logits, token)))

    def forget_from(self, start: int) -> None:
        """The output from byte `start` on was given up (a detour)."""
        self.noted = [(at, lp) for at, lp in self.noted if at < start]

    def lines(self, output: bytes, lead: int) -> tuple[float, ...]:
        """The mean log-probability of each line of `output[lead:]`, 0.0 for a
        line with no token the model chose (it said nothing of its own)."""
        ends = [i for i, byte in enumerate(output) if byte == ord("\n") and i >= lead]
        sums = [0.0] * (len(ends) + 1)
        counts = [0] * (len(ends) + 1)
        for start, lp in self.noted:
            if start < lead:
                continue
            line = sum(1 for end in ends if end < start)
            sums[line] += lp
            counts[line] += 1
        return tuple(s / n if n else 0.0 for s, n in zip(sums, counts, strict=True))
