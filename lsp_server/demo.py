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

from lsprotocol import types

from lsp_server.editor_client import LANGUAGE_IDS, EditorClient

GHOST = "\x1b[2;3m"  # dim italic, like ghost text
RESET = "\x1b[0m"


def parse_target(target: str) -> tuple[Path, int, int]:
    """FILE:LINE:COL with 1-based line and column, as compilers print them."""
    path, line, column = target.rsplit(":", 2)
    return Path(path), int(line), int(column)


async def demo(target: str, model: str | None) -> int:
    path, line, column = parse_target(target)
    text = path.read_text()
    position = types.Position(line=line - 1, character=column - 1)
    uri = path.resolve().as_uri()
    started = time.monotonic()
    async with EditorClient(model, progress=True) as editor:
        editor.open(uri, text, LANGUAGE_IDS.get(path.suffix, "plaintext"))
        asked = time.monotonic()
        # Asked explicitly: the alternatives come too, which the editor's
        # cycle keys show.
        found = await editor.suggestions(uri, position)
        cold = time.monotonic() - asked
        # Asked again at the same spot, as an editor does: the suggestion already
        # shown comes back without the model.
        asked_again = time.monotonic()
        await editor.suggest(uri, position, invoked=False)
        warm = time.monotonic() - asked_again
        stats = await editor.stats()

    lines = text.splitlines()
    print(f"\n{path}:{line}:{column}  (model: {stats.get('model')})\n")
    for number in range(max(1, line - 6), line):
        print(f"{number:5} | {lines[number - 1]}")
    current = lines[line - 1] if line <= len(lines) else ""
    if not found:
        print(f"{line:5} | {current}")
        print("\nno suggestion", f"({stats.get('modelError') or 'the model had nothing to add'})")
        return 1
    suggestion, alternatives = found[0], found[1:]
    shown = current[: column - 1] + GHOST + suggestion.text + RESET + current[column - 1 :]
    for offset, piece in enumerate(shown.split("\n")):
        print(f"{line + offset:5} | {piece}")
    for number in range(line + 1, min(len(lines), line + 3) + 1):
        print(f"{number:5} | {lines[number - 1]}")
    if alternatives:
        print("\nalternatives (the cycle keys show them: Alt+] and Alt+[ in VS Code and Neovim):")
        for number, other in enumerate(alternatives, start=2):
            first_line, *more = other.text.split("\n")
            print(
                f"  {number}) {GHOST}{first_line}{RESET}"
                + (f"  (+{len(more)} lines)" if more else "")
            )
    print(
        f"\nsuggestion in {cold:.2f} s (model load included; {asked - started:.2f} s to start "
        f"and initialize the server); asked again at the same spot: {warm * 1000:.0f} ms, "
        "without the model"
    )
    return 0


def run_demo(target: str, model: str | None) -> int:
    try:
        parse_target(target)
    except ValueError:
        print(f"hearth demo: expected FILE:LINE:COL, got {target!r}", file=sys.stderr)
        return 2
    return asyncio.run(demo(target, model))
