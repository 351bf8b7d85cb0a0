"""EditorClient, the client that `hearth demo`, `hearth doctor` and the
benchmarks drive the real server with."""

from __future__ import annotations

import asyncio

from lsprotocol import types

from lsp_server.editor_client import EditorClient

PIPE_BYTES = 64 * 1024  # what a Linux pipe holds before its writer blocks


async def test_a_server_that_writes_much_on_stderr_keeps_answering() -> None:
    # Each change to a closed document is a warning on stderr: enough of them,
    # with a long name, to fill the pipe twice over if nobody read it.
    uri = "file:///" + "long-name/" * 100 + "closed.py"
    warnings = 2 * PIPE_BYTES // len(uri) + 1
    editor = EditorClient("/nowhere/model.gguf")  # no model: the pipe is under test
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
