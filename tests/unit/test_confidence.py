"""How sure the model was of each line it wrote."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lsp_server.inference.llama.confidence import Confidence, log_probability


def test_a_tokens_log_probability_is_its_log_softmax() -> None:
    logits = np.array([2.0, 1.0, 0.0], dtype=np.float32)
    expected = 2.0 - math.log(math.exp(2.0) + math.exp(1.0) + 1.0)
    assert log_probability(logits, 0) == pytest.approx(expected, abs=1e-6)
    # Large logits do not overflow.
    assert log_probability(logits * 1000, 0) == pytest.approx(0.0, abs=1e-6)


def test_each_line_scores_the_mean_of_the_tokens_that_begin_in_it() -> None:
    confidence = Confidence()
    sure, unsure = np.array([9.0, 0.0], dtype=np.float32), np.array([0.0, 0.0], dtype=np.float32)
    output = b">>x = 1\n    y\n"  # `>>`: the lead, not the model's
    confidence.note(unsure, 0, 0)  # in the lead: left out
    confidence.note(sure, 0, 2)  # `x = 1`
    confidence.note(unsure, 0, 7)  # `\n    `: begins on the first line
    confidence.note(unsure, 0, 12)  # `y`
    first, second, third = confidence.lines(output, 2)
    assert first == pytest.approx((log_probability(sure, 0) + math.log(0.5)) / 2)
    assert second == pytest.approx(math.log(0.5))
    assert third == 0.0, "nothing the model chose: nothing against it"
    # A detour gives up the text from a byte on, and its tokens with it.
    confidence.forget_from(7)
    (only,) = confidence.lines(b">>x = 1", 2)
    assert only == pytest.approx(log_probability(sure, 0))
