"""Checks of either engine: a sample suggestion from it, then from a real
server asked as an editor asks."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from lsprotocol import types

from lsp_server.doctor.findings import Finding
from lsp_server.editor_client import EditorClient, Suggestion
from lsp_server.inference.api import Engine, EngineUnavailable, Sampling
from lsp_server.inference.cancel import CancelToken

ROUND_TRIP_TIMEOUT_S = 60.0
STDERR_LINES = 5

# The sample suggestion, asked of the engine and then of the server.
SAMPLE_PREFIX = "def fibonacci(n):\n    "
SAMPLE_SUFFIX = "\n"
SAMPLE_URI = "file:///hearth-doctor/fibonacci.py"
SAMPLE_POSITION = types.Position(line=1, character=4)

SERVER_LOG = (
    "the server's log says why: have the editor start it as "
    "`hearth --log-level debug --log-file FILE`"
)


def sample(engine: Engine) -> Finding:
    try:
        result = engine.infill(SAMPLE_PREFIX, SAMPLE_SUFFIX, Sampling(max_tokens=48), CancelToken())
    except EngineUnavailable as error:
        return Finding("FAIL", "no answer", str(error))
    shown = f"{SAMPLE_PREFIX!r} -> {result.text!r}"
    if not result.text.strip():
        return Finding(
            "warn",
            shown,
            "the model wrote nothing: choose a code model, such as the built-in ones",
        )
    return Finding("ok", shown)


def round_trip(model: str | None, settings: dict[str, Any] | None) -> Finding:
    """A fresh server, asked for a suggestion in a small document as an editor
    asks: start, initialize, didOpen, inlineCompletion, shutdown, exit."""
    editor = EditorClient(model, settings)
    started = time.monotonic()
    try:
        suggestion = asyncio.run(_ask(editor, ROUND_TRIP_TIMEOUT_S))
    except _ServerFailed as failure:
        ends = "; its stderr ends with:" if failure.stderr else ""
        return Finding("FAIL", failure.reason + ends, SERVER_LOG, failure.stderr)
    seconds = time.monotonic() - started
    if suggestion is None or not suggestion.text.strip():
        said = "; ".join(editor.messages) or "no message"
        return Finding(
            "warn",
            f"the server answered in {seconds:.1f} s, with no suggestion ({said})",
            SERVER_LOG,
        )
    return Finding("ok", f"a suggestion in {seconds:.1f} s: {suggestion.text!r}")


class _ServerFailed(Exception):
    def __init__(self, reason: str, stderr: tuple[str, ...]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.stderr = stderr


async def _ask(editor: EditorClient, timeout: float) -> Suggestion | None:
    """EditorClient waits for each answer as long as it takes; past `timeout`
    the server is killed, and EditorClient then fails the request that waits
    (and any sent after it) at once, with ServerExited."""
    loop = asyncio.get_running_loop()
    watchdog = loop.call_later(timeout, _kill, editor)
    try:
        async with editor:
            editor.open(SAMPLE_URI, SAMPLE_PREFIX + SAMPLE_SUFFIX, "python")
            return await editor.suggest(SAMPLE_URI, SAMPLE_POSITION)
    except Exception as error:  # whatever ended it (ServerExited, pygls's errors): the finding
        timed_out = loop.time() >= watchdog.when()
        _kill(editor)
        reason = (
            f"no answer within {timeout:g} s" if timed_out else f"the round trip failed: {error}"
        )
        raise _ServerFailed(reason, (await editor.stderr_tail())[-STDERR_LINES:]) from error
    finally:
        watchdog.cancel()


def _kill(editor: EditorClient) -> None:
    process = editor.process
    if process is not None and process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
