"""Shared fixtures: the real model the tests run on.

The suite runs on the `small` preset; HEARTH_TEST_MODEL=default (or a GGUF
path) runs it on another model.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from lsp_server.inference import models
from lsp_server.inference.engine import EngineConfig, LlamaEngine

# Counting, one number a line: both built-in models go on for as long as they
# are allowed to (in a list literal, the default model closes it after 100).
ENDLESS = "".join(f"{i}\n" for i in range(1, 40))
# The same on one line, for the server, which wants one line there: a few
# hundred tokens on either model, so minutes here.
ENDLESS_LINE = "numbers = [" + ", ".join(str(i) for i in range(1, 40)) + ","


def decoding_probe(decoding: threading.Event) -> Callable[[str], bool]:
    """A `stop_when` hook that never stops, but signals once a few lines are decoded."""

    def probe(text: str) -> bool:
        if text.count("\n") >= 3:
            decoding.set()
        return False

    return probe


def model_spec() -> str:
    return os.environ.get("HEARTH_TEST_MODEL", "small")


@pytest.fixture(scope="session")
def model_path() -> Path:
    return models.locate(models.ModelChoice(model_spec(), "HEARTH_TEST_MODEL"))


@pytest.fixture(scope="module")
def engine(model_path: Path) -> Iterator[LlamaEngine]:
    engine = LlamaEngine(model_path, EngineConfig(context_size=2048, batch_size=64))
    yield engine
    engine.close()


# Property tests (tests/e2e/test_fuzz.py): a few thousand cases in all by
# default, the same ones each run (a CI run fails for the code, not for the
# draw); with --slow, ten times as many, drawn afresh. No deadline: they talk
# to a real server.
settings.register_profile(
    "default",
    max_examples=400,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "slow", parent=settings.get_profile("default"), max_examples=4000, derandomize=False
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", help="run ten times the fuzzing cases")


def pytest_configure(config: pytest.Config) -> None:
    settings.load_profile("slow" if config.getoption("--slow") else "default")
