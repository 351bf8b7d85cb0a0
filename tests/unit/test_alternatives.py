"""Where alternatives branch off the first text (the engine's use of it on
the real model is in test_engine)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from lsp_server.inference.api import GenerationStats, Sampling, Steering
from lsp_server.inference.cancel import CancelToken
from lsp_server.inference.llama.alternatives import Branches
from lsp_server.inference.llama.decode import Decoder
from lsp_server.inference.llama.steps import Call, Written
from tests.unit.test_detour import logits

PIECES = {1: b"sum", 2: b" sum", 3: b"max", 4: b"<end>", 5: b"(", 6: b"[", 7: b"\n", 8: b"x"}


def branches() -> Branches:
    return Branches(lambda token: PIECES.get(token, b"?"), lambda token: token == 4)


def test_the_runner_up_that_says_another_thing_is_kept() -> None:
    found = branches()
    # ` sum` says what `sum` says, and <end> would write less: `max` is the other way.
    found.note(logits(t1=9.0, t2=8.9, t4=8.5, t3=7.0), 1, position=30, length=0, decoded=0)
    (branch,) = found.seen
    assert (branch.token, branch.position, branch.length, branch.decoded) == (3, 30, 0, 0)
    assert branch.margin == 2.0


def test_picks_are_the_first_lines_least_sure_choices_then_the_rest() -> None:
    found = branches()
    found.note(logits(t1=9.0, t3=5.0), 1, position=10, length=0, decoded=0)  # margin 4
    found.note(logits(t5=9.0, t6=8.0), 5, position=11, length=3, decoded=1)  # margin 1
    found.note(logits(t7=9.0, t8=3.0), 7, position=12, length=4, decoded=2)  # margin 6
    found.note(logits(t8=9.0, t5=8.5), 8, position=13, length=5, decoded=3)  # next line
    text = b"sum(\nx"
    assert [b.position for b in found.picks(text, lead=0, count=2)] == [11, 10]
    # The line break is the first line's too; the next line's choice comes last.
    assert [b.position for b in found.picks(text, lead=0, count=4)] == [11, 10, 12, 13]
    # Choices checked in a batch past where the text stopped are not its; the
    # one right after its end is (another token there instead of the stop).
    assert [b.position for b in found.picks(b"sum", lead=0, count=4)] == [10, 11]


def test_choices_on_a_way_given_up_are_forgotten() -> None:
    found = branches()
    found.note(logits(t1=9.0, t3=5.0), 1, position=10, length=0, decoded=0)
    found.note(logits(t5=9.0, t6=8.0), 5, position=11, length=3, decoded=1)
    found.forget_from(11)
    assert [b.position for b in found.seen] == [10]


def test_alternatives_are_written_from_the_furthest_branch_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each alternative overwrites the KV cache from its branch on: one from a
    # branch further on, written after, would find a gap or another text
    # there (llama_decode returned -1 on the default model, csv.py 397).
    found = branches()
    found.note(logits(t1=9.0, t3=8.0), 1, position=10, length=0, decoded=0)  # margin 1
    found.note(logits(t5=9.0, t6=6.0), 5, position=11, length=3, decoded=1)  # margin 3
    found.note(logits(t8=9.0, t5=7.0), 8, position=12, length=4, decoded=2)  # margin 2
    written_at: list[int] = []

    def write(self: Decoder, llm: Any, call: Any, output: bytearray, *rest: Any, **kw: Any) -> Any:
        written_at.append(llm.n_tokens)
        return Written("end", f"from {llm.n_tokens}")

    monkeypatch.setattr(Decoder, "_write", write)
    decoder = Decoder(None, None, frozenset(), 8, 100, lambda: None)  # type: ignore[arg-type, return-value]
    call = Call(Sampling(), Steering(alternatives=3), CancelToken(), None, GenerationStats(), b"")
    llm = SimpleNamespace(n_tokens=13)
    texts = decoder._alternatives(llm, call, b"sum(x", "end", found)
    assert written_at == [12, 11, 10]
    assert texts == ("from 10", "from 12", "from 11")  # the least sure first
