"""The real server process, over LSP, with the capabilities of real editors."""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import default_feature

from tests.conftest import model_spec
from tests.pace import Pace, guard

CLIENTS = ["visual_studio_code", "neovim"]


# The clients these tests play can watch files, and say so: they accept the
# server's dynamic registration of workspace/didChangeWatchedFiles, as VS Code
# and Neovim do. pytest-lsp 1.0's clients answer the request with an error
# unless given a handler; `default_feature` adds one to every test client
# (tests/e2e/test_server.py fails on the error if this stops taking effect).
# Each client keeps what it was asked to watch, by registration id, in
# `registered` (tests/e2e/test_workspace_index.py reads it).
@default_feature(types.CLIENT_REGISTER_CAPABILITY)
def _accept_registration(client: LanguageClient, params: types.RegistrationParams) -> None:
    registered = client.__dict__.setdefault("registered", {})
    for registration in params.registrations:
        registered[registration.id] = registration.method


@default_feature(types.CLIENT_UNREGISTER_CAPABILITY)
def _accept_unregistration(client: LanguageClient, params: types.UnregistrationParams) -> None:
    registered = client.__dict__.setdefault("registered", {})
    for unregistration in params.unregisterations:
        registered.pop(unregistration.id, None)


def server_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "HEARTH_MODEL": model_spec(), **extra}
    return env


SERVER = ClientServerConfig(
    server_command=[sys.executable, "-m", "lsp_server", "--log-level", "debug"],
    server_env=server_env(),
)


def initialize_params(client: str, **options: Any) -> types.InitializeParams:
    capabilities = client_capabilities(client)
    return types.InitializeParams(
        capabilities=capabilities,
        initialization_options=options or None,
    )


def patient_settings() -> dict[str, Any]:
    """Time limits no machine reaches, however slow: these tests are about what
    the server does, not how fast (the benchmarks measure that)."""
    return {
        "completion": {"invokedTimeoutMs": int(guard(30) * 1000)},
        "hover": {"timeoutMs": int(guard(60) * 1000)},
        "docstrings": {"timeoutMs": int(guard(60) * 1000)},
        "fixes": {"timeoutMs": int(guard(120) * 1000)},
        "edits": {"timeoutMs": int(guard(120) * 1000)},
    }


@pytest_lsp.fixture(config=SERVER, params=CLIENTS)
async def client(request: pytest.FixtureRequest, lsp_client: LanguageClient, pace: Pace) -> Any:
    """A server initialized as VS Code or Neovim would, with settings for tests:
    short suggestions, and limits that wait for the model however slow the machine."""
    options = patient_settings()
    options["completion"]["maxTokens"] = 48
    lsp_client.initialize_result = await lsp_client.initialize_session(  # type: ignore[attr-defined]
        initialize_params(request.param, **options)
    )
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=SERVER)
async def raw(lsp_client: LanguageClient, pace: Pace) -> Any:
    """A server the test initializes itself, with the capabilities it needs."""
    yield
    await lsp_client.shutdown_session()
