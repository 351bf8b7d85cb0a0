"""Each engine says, for every field of Steering, whether it honours it or
ignores it, so that a caller (and a reader) knows what a remote engine or
the fake does not do that the embedded engine does."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping

import pytest

from lsp_server.inference.api import Sampling, Steering, Treatment
from lsp_server.inference.cancel import CancelToken
from lsp_server.inference.llama.engine import LlamaEngine
from lsp_server.inference.remote.engine import RemoteEngine
from tests.fast.fake_engine import FakeEngine

EngineClass = type[LlamaEngine] | type[RemoteEngine] | type[FakeEngine]
ENGINES: list[EngineClass] = [LlamaEngine, RemoteEngine, FakeEngine]


@pytest.mark.parametrize("engine", ENGINES, ids=lambda engine: engine.__name__)
def test_every_steering_field_is_declared_once_honoured_or_ignored(engine: EngineClass) -> None:
    declared: Mapping[str, Treatment] = engine.STEERING
    fields = [field.name for field in dataclasses.fields(Steering)]
    # A mapping holds each name at most once: the keys are the fields, no more, no less.
    assert sorted(declared) == sorted(fields)
    assert set(declared.values()) <= {"honoured", "ignored"}


def test_steering_an_engine_ignores_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    engine = FakeEngine("x")
    avoiding = Steering(avoid=("return x",), comment="#")
    with caplog.at_level(logging.DEBUG, logger="tests.fast.fake_engine"):
        for _ in range(3):
            engine.infill("", "", Sampling(), CancelToken(), steering=avoiding)
        engine.infill("", "", Sampling(), CancelToken(), steering=Steering(starts_with="r"))
    told = [record.getMessage() for record in caplog.records]
    assert told == [
        "the fake engine ignores steering.avoid (said once)",
        "the fake engine ignores steering.comment (said once)",
    ]
    assert "return x" not in caplog.text, "the user's code stays out of the log"
