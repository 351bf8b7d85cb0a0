"""Shared fixtures: the real model the tests run on.

The suite runs on the `small` preset; HEARTH_TEST_MODEL=default (or a GGUF
path) runs it on another model.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from lsp_server.inference import models
from lsp_server.inference.engine import EngineConfig, LlamaEngine


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
