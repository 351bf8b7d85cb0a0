"""Faults the server meets while it runs: its model file rewritten or deleted
under it, and a remote engine that stops answering in the middle of a session.
Each ends in a message for the user and a server that goes on serving."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_server.layers import USER_CONFIGURATION
from tests.e2e.conftest import patient_settings
from tests.e2e.helpers import configure, open_document, stats, suggest, wait_until
from tests.e2e.test_hover import PYTHON as HOVER_SAMPLE
from tests.e2e.test_hover import hover, markdown

pytestmark = pytest.mark.model

URI = "file:///work/double.py"
TEXT = "def double(x):\n    return "
END = types.Position(line=1, character=11)


async def ask(raw: LanguageClient, name: str) -> list[types.InlineCompletionItem]:
    """A suggestion in a new document (the same place again would be answered
    from Hearth's cache, without the model)."""
    uri = f"file:///work/{name}.py"
    open_document(raw, uri, f"def {name}(x):\n    return ")
    return await suggest(raw, uri, types.Position(line=1, character=11))


def configurable(status: bool = False) -> types.InitializeParams:
    """An editor that serves workspace/configuration (and shows status)."""
    return types.InitializeParams(
        capabilities=types.ClientCapabilities(
            workspace=types.WorkspaceClientCapabilities(configuration=True),
            # Its configuration is the user's own, as Hearth's VS Code and Neovim
            # clients say: it may choose the model and the engine.
            experimental={USER_CONFIGURATION: True, "hearthStatus": status},
        ),
        initialization_options=patient_settings(),
    )


async def load_copy(raw: LanguageClient, model_path: Path, tmp_path: Path) -> Path:
    """A copy of the model in `tmp_path`, loaded by the server: its file, to harm."""
    copy = tmp_path / "model.gguf"
    shutil.copyfile(model_path, copy)
    await raw.initialize_session(configurable())
    configure(raw, {"model": {"path": str(copy)}})

    async def loaded() -> bool:
        counters = await stats(raw)
        return bool(counters["modelState"] == "ready" and counters["modelPath"] == str(copy))

    await wait_until(loaded, timeout=60)
    return copy


def told(raw: LanguageClient, words: str) -> list[types.ShowMessageParams]:
    return [m for m in raw.messages if words in m.message]


async def test_a_model_file_rewritten_in_place_is_not_read_and_is_loaded_again_once_whole(
    raw: LanguageClient, model_path: Path, tmp_path: Path
) -> None:
    copy = await load_copy(raw, model_path, tmp_path)
    assert await ask(raw, "double")

    # A download started again over the file: truncated, in place. Reading the
    # weights' pages past the new end would kill the server (SIGBUS).
    os.truncate(copy, 10 * 1024 * 1024)
    assert await ask(raw, "triple") == []
    await wait_until(lambda: _holds(told(raw, "changed on disk")), timeout=30)
    # It stays the same: loaded again, and llama.cpp refuses the truncated file.
    await wait_until(lambda: _holds(told(raw, "could not load")), timeout=30)
    (refused,) = told(raw, "could not load")
    assert refused.type == types.MessageType.Error
    assert str(copy) in refused.message
    assert (await stats(raw))["modelState"] == "failed"
    assert await ask(raw, "square") == []

    shutil.copyfile(model_path, copy)  # the download finished: the same file, whole
    await wait_until(lambda: _holds(told(raw, f"loaded {copy} again")), timeout=30)
    assert (await stats(raw))["modelState"] == "ready"
    assert await ask(raw, "half")
    assert len(told(raw, "changed on disk")) == 2, "once per change"


async def test_a_deleted_model_file_is_said_once_and_the_loaded_model_goes_on(
    raw: LanguageClient, model_path: Path, tmp_path: Path
) -> None:
    copy = await load_copy(raw, model_path, tmp_path)
    assert await ask(raw, "double")

    copy.unlink()
    await wait_until(lambda: _holds(told(raw, "was deleted")), timeout=30)
    (deleted,) = told(raw, "was deleted")
    assert deleted.type == types.MessageType.Warning
    assert await ask(raw, "triple")
    # Hovers run in a second context made on first use, from the file the
    # model was loaded from, which only the server still holds open.
    open_document(raw, HOVER_SAMPLE.uri, HOVER_SAMPLE.text)
    assert "shipping" in markdown(await hover(raw, HOVER_SAMPLE, HOVER_SAMPLE.call())).lower()
    assert len(told(raw, "was deleted")) == 1
    assert (await stats(raw))["modelState"] == "ready"


class Hanging(BaseHTTPRequestHandler):
    """An OpenAI-compatible server that lists its model, then stops answering
    anything (a wedged GPU driver, a stopped VM) until the test ends."""

    hung = threading.Event()
    released = threading.Event()

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.hung.is_set():
            self.released.wait(120)
            return
        body = b'{"object": "list", "data": [{"id": "qwen2.5-coder-0.5b-instruct"}]}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.hung.set()
        self.released.wait(120)


@pytest.fixture
def hanging_engine() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hanging)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Hanging.hung.clear()
    Hanging.released.clear()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        Hanging.released.set()
        server.shutdown()
        server.server_close()


async def test_a_remote_engine_that_hangs_is_told_once_and_the_server_goes_on(
    raw: LanguageClient, hanging_engine: str
) -> None:
    statuses: list[str] = []

    @raw.feature("hearth/status")
    def on_status(params: Any) -> None:
        statuses.append(params.state)

    await raw.initialize_session(configurable(status=True))
    engine = {"kind": "remote", "url": hanging_engine, "api": "openai", "timeoutMs": 1000}
    configure(raw, {"engine": engine})

    async def connected() -> bool:
        counters = await stats(raw)
        return bool(counters["engine"] == "remote" and counters["modelState"] == "ready")

    await wait_until(connected)
    assert (await stats(raw))["model"] == "qwen2.5-coder-0.5b-instruct"
    open_document(raw, URI, TEXT)
    started = time.monotonic()
    assert await suggest(raw, URI, END) == []
    assert time.monotonic() - started < 10, "the timeout, and one look at whether it lives"
    for _ in range(2):  # while it backs off (a second at first), keystrokes cost nothing
        started = time.monotonic()
        assert await suggest(raw, URI, END) == []
        assert time.monotonic() - started < 1
    await wait_until(lambda: _holds(told(raw, hanging_engine)))
    (outage,) = told(raw, hanging_engine)
    assert outage.type == types.MessageType.Warning
    assert statuses[-1] == "error"
    assert len(told(raw, hanging_engine)) == 1, "told once, not per keystroke"
    assert (await stats(raw))["engine"] == "remote"


async def _holds(found: list[Any]) -> bool:
    return bool(found)
