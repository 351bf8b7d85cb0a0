"""An opened folder is not trusted: over LSP, the real server takes the model
and the engine only from the user's own settings (docs/settings.md, "Whose
settings").

A client's `workspace/configuration` may be a folder's (eglot answers it from
a project's .dir-locals.el): unless the client vouches for it, the server
ignores `model.path` and `engine.*` there, and says so once. No model is
loaded: the user's own settings choose a remote engine, here a listener that
records connections, as does the address the folder asks for.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_server.layers import USER_CONFIGURATION
from tests.e2e.conftest import SERVER
from tests.e2e.helpers import configure, stats, wait_until
from tests.editors.untrusted import Listener


# The user's settings choose a remote engine: no model loads, and the test is
# in the fast tier.
@pytest_lsp.fixture(config=SERVER)
async def editor(lsp_client: LanguageClient) -> Any:
    yield
    await lsp_client.shutdown_session()


@pytest.fixture
def mine() -> Iterator[Listener]:
    with Listener() as listener:
        yield listener


@pytest.fixture
def theirs() -> Iterator[Listener]:
    with Listener() as listener:
        yield listener


def remote(url: str) -> dict[str, Any]:
    return {"kind": "remote", "url": url, "api": "llamacpp", "timeoutMs": 500}


async def start(client: LanguageClient, mine: Listener, vouches: bool) -> None:
    """Initialize as an editor whose user chose a remote engine at `mine`."""
    capabilities = types.ClientCapabilities(
        workspace=types.WorkspaceClientCapabilities(configuration=True),
        experimental={USER_CONFIGURATION: True} if vouches else None,
    )
    await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities, initialization_options={"engine": remote(mine.url)}
        )
    )


async def engine_url(client: LanguageClient) -> str:
    url: str = (await stats(client))["settings"]["engine"]["url"]
    return url


async def test_a_folders_configuration_cannot_choose_the_engine_or_the_model(
    editor: LanguageClient, mine: Listener, theirs: Listener
) -> None:
    client = editor
    folder = {
        "engine": remote(theirs.url),
        "model": {"path": "/their/repo/model.gguf"},
        "completion": {"maxTokens": 17},
    }
    client.set_configuration(folder, section="hearth")
    await start(client, mine, vouches=False)

    async def connected() -> bool:
        return mine.connections + theirs.connections > 0

    await wait_until(connected)
    assert theirs.connections == 0, "the folder's address was contacted"
    current = (await stats(client))["settings"]
    assert current["completion"]["maxTokens"] == 17, "the folder's other settings count"
    assert current["engine"]["url"] == mine.url
    assert current["model"]["path"] is None
    told = [m.message for m in client.messages if "a folder's settings" in m.message]
    assert len(told) == 1, told
    for key in ("engine.url", "engine.kind", "model.path"):
        assert f"hearth.{key}" in told[0], told

    # Asked again, the folder is refused again, without another message.
    configure(client, {**folder, "completion": {"maxTokens": 18}})

    async def applied() -> bool:
        return bool((await stats(client))["settings"]["completion"]["maxTokens"] == 18)

    await wait_until(applied)
    assert await engine_url(client) == mine.url
    assert theirs.connections == 0, "the folder's address was contacted"
    assert len([m for m in client.messages if "a folder's settings" in m.message]) == 1


async def test_a_client_that_vouches_for_its_configuration_changes_the_engine_at_run_time(
    editor: LanguageClient, mine: Listener, theirs: Listener
) -> None:
    client = editor
    await start(client, mine, vouches=True)
    # `theirs` is this user's second server here: their own settings, changed.
    configure(client, {"engine": remote(theirs.url)})

    async def moved() -> bool:
        return await engine_url(client) == theirs.url and theirs.connections > 0

    await wait_until(moved)
    assert not [m for m in client.messages if "a folder's settings" in m.message]
