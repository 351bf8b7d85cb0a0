"""The server's life ends with the editor's: when its process is gone, or when
it closes the server's stdin, without the LSP goodbye."""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import sys
import time
from typing import IO, Any

import pytest

from tests.conftest import ENDLESS_LINE
from tests.e2e.conftest import server_env
from tests.pace import Deadline

pytestmark = pytest.mark.model


def send(stdin: IO[bytes], message: dict[str, Any]) -> None:
    body = json.dumps({"jsonrpc": "2.0", **message}).encode()
    stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    stdin.flush()


def read_message(stdout: IO[bytes]) -> dict[str, Any]:
    length = 0
    while line := stdout.readline().strip():
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    answer: dict[str, Any] = json.loads(stdout.read(length))
    return answer


def start_hearth(editor_pid: int | None) -> subprocess.Popen[bytes]:
    hearth = subprocess.Popen(
        [sys.executable, "-m", "lsp_server"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=server_env(),
    )
    assert hearth.stdin is not None
    assert hearth.stdout is not None
    send(
        hearth.stdin,
        {"id": 1, "method": "initialize", "params": {"processId": editor_pid, "capabilities": {}}},
    )
    while read_message(hearth.stdout).get("id") != 1:
        pass
    send(hearth.stdin, {"method": "initialized", "params": {}})
    return hearth


def test_the_server_exits_when_the_editor_process_is_gone() -> None:
    editor = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    hearth = start_hearth(editor.pid)
    try:
        editor.kill()
        editor.wait()
        # Its stdin stays open: only the editor's absence can end it.
        assert hearth.wait(timeout=60) == 0
        assert hearth.stderr is not None
        assert b"is gone: Hearth exits" in hearth.stderr.read()
    finally:
        hearth.kill()


def test_the_server_exits_when_its_stdin_closes() -> None:
    hearth = start_hearth(None)
    try:
        assert hearth.stdin is not None
        hearth.stdin.close()
        hearth.wait(timeout=60)
    finally:
        hearth.kill()


def ask_endless_suggestion(hearth: subprocess.Popen[bytes]) -> set[int]:
    """Open a document whose suggestion goes on for minutes, ask for it (id 2),
    and return once the model has begun on it: the ids answered meanwhile."""
    assert hearth.stdin is not None
    assert hearth.stdout is not None
    uri = "file:///work/numbers.py"
    send(
        hearth.stdin,
        {
            "method": "textDocument/didOpen",
            "params": {
                "textDocument": {
                    "uri": uri,
                    "languageId": "python",
                    "version": 1,
                    "text": ENDLESS_LINE,
                }
            },
        },
    )
    send(
        hearth.stdin,
        {
            "id": 2,
            "method": "textDocument/inlineCompletion",
            "params": {
                "textDocument": {"uri": uri},
                "position": {"line": 0, "character": len(ENDLESS_LINE)},
                "context": {"triggerKind": 1},
            },
        },
    )
    # Not a pause of so many seconds: stretched for a loaded machine, it let
    # the generation end once the machine was quiet, before the test's act.
    answered: set[int] = set()
    deadline = Deadline(60)
    for asked in itertools.count(100):
        stats = {"command": "hearth.stats"}
        send(hearth.stdin, {"id": asked, "method": "workspace/executeCommand", "params": stats})
        while True:
            message = read_message(hearth.stdout)
            if "id" in message and "method" not in message:
                answered.add(message["id"])
                if message["id"] == asked:
                    break
        if message["result"]["started"] >= 1:
            return answered
        assert not deadline.passed(), "the model never began on the suggestion"
        time.sleep(0.05)
    raise AssertionError("unreachable")


def test_shutdown_and_exit_during_a_generation_end_it_cleanly() -> None:
    hearth = start_hearth(None)
    try:
        assert hearth.stdin is not None
        assert hearth.stdout is not None
        answered = ask_endless_suggestion(hearth)
        send(hearth.stdin, {"id": 3, "method": "shutdown"})
        while not {2, 3} <= answered:
            message = read_message(hearth.stdout)
            if "id" in message and "method" not in message:
                answered.add(message["id"])
        send(hearth.stdin, {"method": "exit"})
        assert hearth.wait(timeout=30) == 0
    finally:
        hearth.kill()


def test_exit_without_shutdown_ends_it_with_code_1() -> None:
    hearth = start_hearth(None)
    try:
        assert hearth.stdin is not None
        assert hearth.stderr is not None
        send(hearth.stdin, {"method": "exit"})
        assert hearth.wait(timeout=30) == 1  # LSP: 0 only after a shutdown
        assert b"the editor sent exit without shutdown" in hearth.stderr.read()
    finally:
        hearth.kill()


def test_sigterm_during_a_generation_ends_the_server() -> None:
    hearth = start_hearth(None)
    try:
        ask_endless_suggestion(hearth)
        hearth.send_signal(signal.SIGTERM)
        assert hearth.wait(timeout=30) == -signal.SIGTERM
    finally:
        hearth.kill()
