"""EditorClient, the client that `hearth demo`, `hearth doctor` and the
benchmarks drive the real server with. No model: the pipes and the
server's end are under test (the fast tier runs these)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import textwrap
import time

import pytest
from lsprotocol import types

from lsp_server.editor_client import EditorClient
from lsp_server.server_process import EXIT_GRACE_S, ServerExited

PIPE_BYTES = 64 * 1024  # what a Linux pipe holds before its writer blocks
NO_MODEL = "/nowhere/model.gguf"
GUARD_S = 30.0  # against a test that hangs, never a timing claim
# "At once": the client's grace for the last of stderr, and a loaded machine's slack.
PROMPT_S = EXIT_GRACE_S + 3.0


async def test_a_server_that_writes_much_on_stderr_keeps_answering() -> None:
    # Each change to a closed document is a warning on stderr: enough of them,
    # with a long name, to fill the pipe twice over if nobody read it.
    uri = "file:///" + "long-name/" * 100 + "closed.py"
    warnings = 2 * PIPE_BYTES // len(uri) + 1
    editor = EditorClient(NO_MODEL)
    async with editor:
        editor.open(uri, "x = 1\n", "python")
        editor.close(uri)
        for _ in range(warnings):
            editor.insert(uri, types.Position(line=0, character=0), "y")
        # Blocked on a full pipe, the server would never answer.
        stats = await asyncio.wait_for(editor.stats(), 30)
        assert "modelState" in stats
    tail = await editor.stderr_tail()
    assert any(f"didChange for {uri}, which is not open" in line for line in tail)


async def test_a_request_waiting_when_the_server_is_killed_fails_at_once() -> None:
    editor = EditorClient(NO_MODEL)
    async with editor:  # and leaves without asking a dead server to shut down
        process = editor.process
        assert process is not None
        process.send_signal(signal.SIGSTOP)  # it reads no more: the request waits
        waiting = asyncio.ensure_future(editor.stats())
        await asyncio.sleep(0.2)
        process.kill()
        killed = time.monotonic()
        with pytest.raises(ServerExited) as exited:
            await asyncio.wait_for(waiting, GUARD_S)
        assert time.monotonic() - killed < PROMPT_S
        assert exited.value.returncode == -signal.SIGKILL
        message = str(exited.value)
        assert f"pid {process.pid}) was killed by SIGKILL" in message
        assert "1 request(s) waiting" in message
        assert "Hearth 0" in message or "starts" in message  # its stderr's last lines
        # What is sent after fails as soon as it is sent, requests and notifications.
        with pytest.raises(ServerExited):
            await asyncio.wait_for(editor.stats(), 1.0)
        with pytest.raises(ServerExited):
            editor.cancel("anything")
    assert (editor.counts.sent, editor.counts.answered, editor.counts.lost) == (2, 1, 1)


# A stand-in for a server whose child process (as the workspace index's
# worker is) keeps its stdout and stderr open after it died.
LEAVES_A_CHILD = textwrap.dedent(
    """
    import os, subprocess, sys
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    print(f"child {child.pid}; now the server dies", file=sys.stderr, flush=True)
    os._exit(3)
    """
)


async def test_a_server_whose_pipes_outlive_it_is_seen_to_exit() -> None:
    editor = EditorClient(NO_MODEL)
    editor.command = [sys.executable, "-c", LEAVES_A_CHILD]
    started = time.monotonic()
    with pytest.raises(ServerExited) as exited:
        await asyncio.wait_for(editor.__aenter__(), GUARD_S)  # initialize waits
    try:
        assert time.monotonic() - started < PROMPT_S + 2.0  # its start included
        assert exited.value.returncode == 3
        assert "exited with code 3; 1 request(s) waiting" in str(exited.value)
        assert "now the server dies" in str(exited.value)
    finally:
        # Its pid from the message: asking stderr_tail again would wait out
        # the grace for the pipe the child holds, a second time.
        child = re.search(r"child (\d+);", str(exited.value))
        if child is not None:
            os.kill(int(child[1]), signal.SIGKILL)
