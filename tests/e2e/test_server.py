"""The server as a whole: position encodings, no model, progress while loading."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.lsp.client import LanguageClient as PyglsClient
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from lsp_server.layers import USER_CONFIGURATION
from tests.e2e.conftest import server_env
from tests.e2e.helpers import configure, open_document, stats, suggest, wait_until

COMMAND = [sys.executable, "-m", "lsp_server"]


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=COMMAND, server_env=server_env(HEARTH_MODEL="/nowhere/model.gguf")
    )
)
async def modelless(lsp_client: LanguageClient) -> Any:
    capabilities = client_capabilities("visual_studio_code")
    await lsp_client.initialize_session(types.InitializeParams(capabilities=capabilities))
    yield
    await lsp_client.shutdown_session()


async def test_missing_model_is_reported_once_and_requests_get_nothing(
    modelless: LanguageClient,
) -> None:
    async def told() -> bool:
        return bool(modelless.messages)

    await wait_until(told)
    (message,) = modelless.messages
    assert message.type == types.MessageType.Error
    assert "/nowhere/model.gguf" in message.message
    assert "does not exist" in message.message
    open_document(modelless, "file:///a.py", "def f():\n    return ")
    for _ in range(2):
        assert await suggest(modelless, "file:///a.py", types.Position(line=1, character=11)) == []
    counters = await stats(modelless)
    assert counters["modelState"] == "failed"
    assert counters["started"] == 0
    assert len(modelless.messages) == 1, "told once, not once per keystroke"


@pytest.mark.model
@pytest.mark.parametrize(
    ("offered", "chosen"),
    [
        (None, types.PositionEncodingKind.Utf16),
        ([types.PositionEncodingKind.Utf8, types.PositionEncodingKind.Utf16], "utf-8"),
        ([types.PositionEncodingKind.Utf32], "utf-32"),
    ],
)
async def test_position_encoding_is_negotiated(
    raw: LanguageClient, offered: list[types.PositionEncodingKind] | None, chosen: str
) -> None:
    general = types.GeneralClientCapabilities(position_encodings=offered) if offered else None
    result = await raw.initialize_session(
        types.InitializeParams(capabilities=types.ClientCapabilities(general=general))
    )
    assert result.capabilities.position_encoding == chosen
    line = "name = '🦊 狐' + "
    open_document(raw, "file:///fox.py", line + "\n")
    units = {"utf-8": len(line.encode()), "utf-16": len(line) + 1, "utf-32": len(line)}[chosen]
    end = types.Position(line=0, character=units)
    for item in await suggest(raw, "file:///fox.py", end):
        assert item.range == types.Range(start=end, end=end)
    # Past the end of the line means the end of the line (LSP): the range says where.
    beyond = types.Position(line=0, character=units + 3)
    items = await suggest(raw, "file:///fox.py", beyond)
    assert items, "the model should continue an open expression"
    assert items[0].range == types.Range(start=end, end=end)


@pytest.mark.model
async def test_model_load_reports_progress(raw: LanguageClient) -> None:
    capabilities = types.ClientCapabilities(
        window=types.WindowClientCapabilities(work_done_progress=True)
    )
    await raw.initialize_session(types.InitializeParams(capabilities=capabilities))

    async def ended() -> bool:
        return any(
            isinstance(report, types.WorkDoneProgressEnd)
            for reports in raw.progress_reports.values()
            for report in reports
        )

    await wait_until(ended)
    (reports,) = raw.progress_reports.values()
    assert isinstance(reports[0], types.WorkDoneProgressBegin)
    assert "model" in reports[0].title
    assert reports[-1].message == "ready"


@pytest.mark.model
@pytest.mark.parametrize("shows_status", [True, False])
async def test_status_follows_loading_and_generating_for_clients_that_show_it(
    raw: LanguageClient, shows_status: bool
) -> None:
    states: list[str] = []

    @raw.feature("hearth/status")
    def on_status(params: Any) -> None:
        states.append(params.state)

    experimental = {"hearthStatus": True} if shows_status else None
    capabilities = types.ClientCapabilities(experimental=experimental)
    await raw.initialize_session(types.InitializeParams(capabilities=capabilities))
    await wait_until(lambda: _state_is(raw, "ready"))
    open_document(raw, "file:///a.py", "def double(x):\n    return ")
    assert await suggest(raw, "file:///a.py", types.Position(line=1, character=11))

    async def idle_again() -> bool:
        return states[-1:] == ["ready"] and "busy" in states

    if not shows_status:
        await asyncio.sleep(0.5)
        assert states == [], "only a client that asked gets hearth/status"
        return
    await wait_until(idle_again)
    assert states[0] == "loading"
    first_ready = states.index("ready")
    assert states[first_ready:] == ["ready", "busy", "ready"], states


@pytest.mark.model
async def test_model_path_change_reloads_and_a_bad_one_keeps_the_old_model(
    raw: LanguageClient, model_path: Path, tmp_path: Path
) -> None:
    await raw.initialize_session(types.InitializeParams(capabilities=_pulls_configuration()))
    await wait_until(lambda: _state_is(raw, "ready"))
    first = (await stats(raw))["modelPath"]

    renamed = tmp_path / "renamed-model.gguf"
    renamed.symlink_to(model_path)
    configure(raw, {"model": {"path": str(renamed)}})
    await wait_until(lambda: _model_path_is(raw, str(renamed)))
    assert first != str(renamed)

    configure(raw, {"model": {"path": str(tmp_path / "gone.gguf")}})

    async def told() -> bool:
        return any("gone.gguf" in m.message for m in raw.messages)

    await wait_until(told)
    counters = await stats(raw)
    assert counters["modelState"] == "ready", "the model loaded before keeps serving"
    assert counters["modelPath"] == str(renamed)

    # A damaged file (cut short, GGUF all the same): llama.cpp refuses it.
    damaged = tmp_path / "damaged.gguf"
    with model_path.open("rb") as whole:
        damaged.write_bytes(whole.read(10 * 1024 * 1024))
    configure(raw, {"model": {"path": str(damaged)}})

    async def refused() -> bool:
        return any("could not load" in m.message for m in raw.messages)

    await wait_until(refused)
    counters = await stats(raw)
    assert counters["modelState"] == "ready", "the model loaded before keeps serving"
    assert counters["modelPath"] == str(renamed)
    open_document(raw, "file:///a.py", "def double(x):\n    return ")
    assert await suggest(raw, "file:///a.py", types.Position(line=1, character=11))


async def test_tcp_transport(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        # No model: the transport is under test.
        [*COMMAND, "--tcp", f"127.0.0.1:{port}"],
        env=server_env(HEARTH_MODEL="/nowhere/model.gguf"),
        stderr=subprocess.DEVNULL,
    )
    try:
        client = PyglsClient("tcp-test", "1")
        for _ in range(100):
            try:
                await client.start_tcp("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.1)
        result = await client.initialize_async(
            types.InitializeParams(capabilities=types.ClientCapabilities())
        )
        assert result.capabilities.inline_completion_provider is not None
        await client.shutdown_async(None)
        client.exit(None)
        assert server.wait(timeout=30) == 0
    finally:
        server.kill()


def _pulls_configuration() -> types.ClientCapabilities:
    # Its configuration is the user's own (as Hearth's VS Code and Neovim clients
    # say): the model may change at run time (docs/settings.md, Whose settings).
    return types.ClientCapabilities(
        workspace=types.WorkspaceClientCapabilities(configuration=True),
        experimental={USER_CONFIGURATION: True},
    )


async def _state_is(client: LanguageClient, state: str) -> bool:
    return bool((await stats(client))["modelState"] == state)


async def _model_path_is(client: LanguageClient, path: str) -> bool:
    counters = await stats(client)
    return bool(counters["modelState"] == "ready" and counters["modelPath"] == path)
