"""The real server process, over LSP, with the capabilities of real editors."""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.conftest import model_spec

CLIENTS = ["visual_studio_code", "neovim"]


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


@pytest_lsp.fixture(config=SERVER, params=CLIENTS)
async def client(request: pytest.FixtureRequest, lsp_client: LanguageClient) -> Any:
    """A server initialized as VS Code or Neovim would, with settings for tests:
    short suggestions, and hovers that wait for the model however slow the machine."""
    lsp_client.initialize_result = await lsp_client.initialize_session(  # type: ignore[attr-defined]
        initialize_params(request.param, completion={"maxTokens": 48}, hover={"timeoutMs": 60000})
    )
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=SERVER)
async def raw(lsp_client: LanguageClient) -> Any:
    """A server the test initializes itself, with the capabilities it needs."""
    yield
    await lsp_client.shutdown_session()
