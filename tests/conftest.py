"""Shared fixtures: the real model the tests run on, and its pace here.

The suite runs on the `small` preset; HEARTH_TEST_MODEL=default (or a GGUF
path) runs it on another model. Tests that need the model are marked
`model` (and those that drive a real editor, `editor` too); the rest are the
fast tier (`make test-fast`), which never loads a model.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from lsp_server.doctor import measure_speed
from lsp_server.inference import models
from lsp_server.inference.api import Sampling
from lsp_server.inference.cancel import CancelToken
from lsp_server.inference.llama.engine import EngineConfig, LlamaEngine
from tests import pace as pacing

# Counting, one number a line: both built-in models go on for as long as they
# are allowed to (in a list literal, the default model closes it after 100).
ENDLESS = "".join(f"{i}\n" for i in range(1, 40))
# The same on one line, for the server, which wants one line there: a few
# hundred tokens on either model, so minutes here.
ENDLESS_LINE = "numbers = [" + ", ".join(str(i) for i in range(1, 40)) + ","


def model_spec() -> str:
    return os.environ.get("HEARTH_TEST_MODEL", "small")


@pytest.fixture(scope="session")
def model_path() -> Path:
    return models.locate(models.ModelChoice(model_spec(), "HEARTH_TEST_MODEL"))


@pytest.fixture(scope="session")
def pace(model_path: Path) -> pacing.Pace:
    """The model's speed here, measured before the first model test as
    `hearth doctor` measures it; from then on the guards of every wait scale
    with it, and one about to fail measures it again (tests/pace.py)."""
    measured = measure_pace(model_path)
    pacing.set_measured(measured, functools.partial(measure_pace, model_path))
    return measured


def measure_pace(model_path: Path) -> pacing.Pace:
    """The model's speed here now, on an engine of its own (a few seconds)."""
    engine = LlamaEngine(model_path, EngineConfig())
    try:
        # A first generation warms the model up: the speed is then a running model's.
        engine.infill("def fibonacci(n):\n    ", "\n", Sampling(max_tokens=8), CancelToken())
        speed = measure_speed(engine)
    finally:
        engine.close()
    return pacing.Pace(reads=speed.reads, writes=speed.writes)


@pytest.fixture(scope="module")
def engine(model_path: Path, pace: pacing.Pace) -> Iterator[LlamaEngine]:
    # `pace`: measured before the first model test, so that its guards are scaled.
    engine = LlamaEngine(model_path, EngineConfig(context_size=2048, batch_size=64))
    yield engine
    engine.close()


# Property tests (tests/e2e/test_fuzz.py): about 1,000 cases in all by
# default (150 a test and encoding: the fast tier has a minute), the same ones
# each run (a CI run fails for the code, not for the draw); with --slow, 4,000
# a test, drawn afresh. No deadline: they talk to a real server.
settings.register_profile(
    "default",
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "slow", parent=settings.get_profile("default"), max_examples=4000, derandomize=False
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--slow", action="store_true", help="run 4,000 fuzzing cases a test (150 by default)"
    )


def pytest_configure(config: pytest.Config) -> None:
    settings.load_profile("slow" if config.getoption("--slow") else "default")


# The fixtures that load the model, or start a server that does.
MODEL_FIXTURES = frozenset({"model_path", "pace", "engine", "client", "raw"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that loads the model must say so: the fast tier deselects by the
    marker, and an unmarked model test would make it slow, or fail where no
    model is installed."""
    unmarked = [
        f"{item.nodeid} (uses {', '.join(sorted(uses))})"
        for item in items
        if (uses := _model_fixtures_of(item)) and item.get_closest_marker("model") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "these tests load the model but are not marked @pytest.mark.model:\n  "
            + "\n  ".join(unmarked)
        )


def _model_fixtures_of(item: pytest.Item) -> set[str]:
    """The model fixtures `item` uses (a parameter that only shares a name is none)."""
    callspec = getattr(item, "callspec", None)
    parameters = set(callspec.params) if callspec is not None else set()
    return set(MODEL_FIXTURES.intersection(getattr(item, "fixturenames", ()))) - parameters


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The model's pace, when the session measured it: what its guards were
    scaled by in the end (the slowest measured)."""
    pace = pacing.measured_pace()
    if pace is not None:
        terminalreporter.write_line(
            f"model {model_spec()}: reads {pace.reads:.0f} tokens/s, writes "
            f"{pace.writes:.1f} tokens/s here; guards of waits x{pace.slowness():.2f}"
        )
    for again in pacing.measured_again():  # by a guard about to fail
        terminalreporter.write_line(
            f"measured again: reads {again.reads:.0f} tokens/s, writes {again.writes:.1f}"
        )
