"""`hearth demo FILE:LINE:COL`: the real server, asked the way an editor asks.

Starts `hearth` as a subprocess, speaks LSP to it over stdio (initialize,
didOpen, inlineCompletion), and prints the file around the cursor with the
suggestion shown as ghost text, with the time it took.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from lsp_server import __version__

LANGUAGES = {
    ".py": "python",
    ".js": "javascript",
    ".ts": "typescript",
    ".tsx": "typescriptreact",
    ".rs": "rust",
    ".go": "go",
    ".c": "c",
    ".h": "c",
    ".cpp": "cpp",
    ".java": "java",
}
GHOST = "\x1b[2;3m"  # dim italic, like ghost text
RESET = "\x1b[0m"


def parse_target(target: str) -> tuple[Path, int, int]:
    """FILE:LINE:COL with 1-based line and column, as compilers print them."""
    path, line, column = target.rsplit(":", 2)
    return Path(path), int(line), int(column)


def _client() -> LanguageClient:
    client = LanguageClient("hearth-demo", __version__)

    @client.feature(types.WINDOW_SHOW_MESSAGE)
    def show_message(params: types.ShowMessageParams) -> None:
        print(f"[server] {params.message}", file=sys.stderr)

    @client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
    def create_progress(params: types.WorkDoneProgressCreateParams) -> None:
        return None

    @client.feature(types.PROGRESS)
    def progress(params: types.ProgressParams) -> None:
        value: Any = params.value
        message = getattr(value, "message", None) or getattr(value, "title", None)
        percent = getattr(value, "percentage", None)
        if message:
            suffix = f" {percent}%" if percent is not None else ""
            print(f"\r[progress] {message}{suffix}\x1b[K", end="", file=sys.stderr, flush=True)
        if isinstance(value, types.WorkDoneProgressEnd):
            print(file=sys.stderr)

    return client


async def demo(target: str, model: str | None) -> int:
    path, line, column = parse_target(target)
    text = path.read_text()
    position = types.Position(line=line - 1, character=column - 1)
    uri = path.resolve().as_uri()
    command = [sys.executable, "-m", "lsp_server", "--stdio"]
    if model:
        command += ["--model", model]
    client = _client()
    await client.start_io(*command)
    started = time.monotonic()
    await client.initialize_async(
        types.InitializeParams(
            process_id=None,
            capabilities=types.ClientCapabilities(
                window=types.WindowClientCapabilities(work_done_progress=True),
                general=types.GeneralClientCapabilities(
                    position_encodings=[types.PositionEncodingKind.Utf16]
                ),
            ),
        )
    )
    client.initialized(types.InitializedParams())
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri,
                language_id=LANGUAGES.get(path.suffix, "plaintext"),
                version=1,
                text=text,
            )
        )
    )
    asked = time.monotonic()
    result = await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=position,
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Invoked
            ),
        )
    )
    answered = time.monotonic()
    cold = answered - asked
    # Ask again as an editor does after a pause: now the model is loaded and warm.
    asked_again = time.monotonic()
    await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=position,
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Automatic
            ),
        )
    )
    warm = time.monotonic() - asked_again
    stats = (
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="hearth.stats")
        )
        or {}
    )
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()

    items = getattr(result, "items", None) or []
    lines = text.splitlines()
    print(f"\n{path}:{line}:{column}  (model: {stats.get('model')})\n")
    for number in range(max(1, line - 6), line):
        print(f"{number:5} | {lines[number - 1]}")
    current = lines[line - 1] if line <= len(lines) else ""
    if not items:
        print(f"{line:5} | {current}")
        print("\nno suggestion", f"({stats.get('modelError') or 'the model had nothing to add'})")
        return 1
    suggestion = items[0].insert_text
    insert_text = suggestion if isinstance(suggestion, str) else suggestion.value
    shown = current[: column - 1] + GHOST + insert_text + RESET + current[column - 1 :]
    for offset, piece in enumerate(shown.split("\n")):
        print(f"{line + offset:5} | {piece}")
    for number in range(line + 1, min(len(lines), line + 3) + 1):
        print(f"{number:5} | {lines[number - 1]}")
    print(
        f"\nsuggestion in {cold:.2f} s (start-up and model load included, "
        f"{asked - started:.2f} s to initialize); asked again: {warm * 1000:.0f} ms"
    )
    return 0


def run_demo(target: str, model: str | None) -> int:
    try:
        parse_target(target)
    except ValueError:
        print(f"hearth demo: expected FILE:LINE:COL, got {target!r}", file=sys.stderr)
        return 2
    return asyncio.run(demo(target, model))
