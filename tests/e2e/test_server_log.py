"""What the server writes in its log. Why it exits: the editor's exit, a
signal with where each thread was, a crash with its stack (faulthandler), in
the log's file when there is one; the client's error quotes it. And not a
line a keystroke. No model (the fast tier runs these)."""

from __future__ import annotations

import asyncio
import resource
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from lsp_server.editor_client import EditorClient
from lsp_server.server_process import ServerExited

NO_MODEL = "/nowhere/model.gguf"
GUARD_S = 30.0  # against a test that hangs, never a timing claim


@pytest.fixture
def no_core_files() -> Iterator[None]:
    """A crash in these tests leaves no core file (the server inherits this)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
    yield
    resource.setrlimit(resource.RLIMIT_CORE, (soft, hard))


async def test_the_log_says_the_editor_asked_for_the_exit(tmp_path: Path) -> None:
    log_file = tmp_path / "hearth.log"
    async with EditorClient(NO_MODEL, log_file=str(log_file)) as editor:
        await editor.stats()
    log = log_file.read_text()
    assert "starts (pid" in log
    assert "Hearth exits: the editor asked it to (shutdown, then exit)" in log


async def signalled(editor: EditorClient, number: signal.Signals) -> ServerExited:
    """Signal the server while a request waits for it; the error that request fails with."""
    process = editor.process
    assert process is not None
    process.send_signal(signal.SIGSTOP)  # the request below waits, the signal is pending
    waiting = asyncio.ensure_future(editor.stats())
    await asyncio.sleep(0.2)
    process.send_signal(number)
    process.send_signal(signal.SIGCONT)
    with pytest.raises(ServerExited) as exited:
        await asyncio.wait_for(asking_on(editor, waiting), GUARD_S)
    return exited.value


async def asking_on(editor: EditorClient, waiting: asyncio.Future[Any]) -> None:
    await waiting
    await editor.stats()  # had the answer come before the signal


@pytest.mark.usefixtures("no_core_files")
async def test_a_crash_leaves_its_stack_in_the_log_file_and_the_error(tmp_path: Path) -> None:
    log_file = tmp_path / "hearth.log"
    async with EditorClient(NO_MODEL, log_file=str(log_file)) as editor:
        exited = await signalled(editor, signal.SIGSEGV)
    assert exited.returncode == -signal.SIGSEGV
    log = log_file.read_text()
    assert "Fatal Python error: Segmentation fault" in log
    assert "most recent call first" in log  # the threads' stacks
    message = str(exited)
    assert "was killed by SIGSEGV" in message
    assert f"its log {log_file} ends with:\n  Fatal Python error: Segmentation fault" in message


async def test_sigterm_is_logged_with_the_threads_on_stderr() -> None:
    async with EditorClient(NO_MODEL) as editor:
        exited = await signalled(editor, signal.SIGTERM)
    assert exited.returncode == -signal.SIGTERM  # it still dies of the signal
    message = str(exited)
    assert "Hearth exits: it received SIGTERM; its threads:" in message
    assert "most recent call first" in message


async def test_cancelling_an_answered_request_is_not_a_warning(tmp_path: Path) -> None:
    # Editors cancel the previous suggestion's request at each key, answered or not.
    log_file = tmp_path / "hearth.log"
    async with EditorClient(NO_MODEL, log_file=str(log_file)) as editor:
        editor.open("file:///a.py", "x = 1\n", "python")
        await editor.suggest("file:///a.py", types.Position(line=0, character=5), False, "1")
        editor.cancel("1")
        await editor.stats()  # read after the cancel
    assert "Cancel notification" not in log_file.read_text()
