"""The server as a child process: seeing that it ended, and saying how.

pygls's client waits for the process to exit and for all three of its pipes
to close and be read to the end; a stderr nobody reads, or a child of the
server (the workspace index's worker) holding the pipes, makes that wait
for ever. EditorClient polls instead, and fails what waits with
ServerExited: the exit code or signal, and the end of stderr and the log.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence
from pathlib import Path

TAIL_SHOWN = 20  # lines of stderr (and of the log), in the error that says it ended
EXIT_POLL_S = 0.1  # how often the server's process and output are looked at
# Once its output closed (or it exited), how long the exit code, and the last
# of stderr, may take; a child process holding stderr would hold it for ever.
EXIT_GRACE_S = 2.0
SIGNALS = {number.value: number.name for number in signal.Signals}


class ServerExited(RuntimeError):
    """The server ended (or closed its output): what waits for it, and what is
    sent after, fails with this (a RuntimeError, as pygls's own error)."""

    def __init__(self, message: str, returncode: int | None) -> None:
        super().__init__(message)
        self.returncode = returncode  # None: it closed its output and lives on


async def ended(process: asyncio.subprocess.Process, output: bool) -> None:
    """Return once the server has exited (or, with `output`, closed its stdout)."""
    # Polled, not process.wait(): that waits for the pipes to close as well,
    # which never happens while a child of the server holds them.
    while process.returncode is None and not (
        output and process.stdout is not None and process.stdout.at_eof()
    ):
        await asyncio.sleep(EXIT_POLL_S)


def close_pipes(process: asyncio.subprocess.Process | None) -> None:
    """Close pipes that outlived the server (held by a child) now, not when the
    garbage collector finds them once the loop is closed. asyncio's Process
    keeps its transport private (`_transport`, CPython 3.11-3.13); without it
    (getattr gives None) the pipes close at collection, with a warning."""
    if (transport := getattr(process, "_transport", None)) is not None:
        transport.close()


def exit_message(
    process: asyncio.subprocess.Process, waiting: int, stderr: Sequence[str], log_file: str | None
) -> str:
    """How the server ended, for ServerExited: the exit code or signal, the
    requests left waiting, and the end of its stderr and of its log file."""
    code = process.returncode
    if code is None:
        how = "closed its output (it still runs)"
    elif code < 0:
        how = f"was killed by {SIGNALS.get(-code, f'signal {-code}')} (exit code {code})"
    else:
        how = f"exited with code {code}"
    lines = [f"the Hearth server (pid {process.pid}) {how}; {waiting} request(s) waiting"]
    lines += _tail("its stderr", stderr)
    if log_file:
        lines += _tail(f"its log {log_file}", _last_lines(Path(log_file)))
    return "\n".join(lines)


# Where the story of an end begins, in the server's stderr or log: the head of
# a crash's stack (the crashed thread first) says more than its last lines.
END_MARKERS = ("Fatal Python error", "Traceback (most recent call last)", "Hearth exits")


def _tail(what: str, lines: Sequence[str]) -> list[str]:
    if not lines:
        return [f"{what}: nothing"]
    marked = [i for i, line in enumerate(lines) if any(m in line for m in END_MARKERS)]
    start = marked[-1] if marked else max(0, len(lines) - TAIL_SHOWN)
    shown, more = lines[start : start + TAIL_SHOWN], max(0, len(lines) - start - TAIL_SHOWN)
    return [f"{what} ends with:", *(f"  {line}" for line in shown)] + (
        [f"  ({more} more)"] if more else []
    )


def _last_lines(path: Path, size: int = 16384) -> list[str]:
    """The end of a log file (a crash's stack is there when the log is)."""
    try:
        with path.open("rb") as file:
            file.seek(max(0, path.stat().st_size - size))
            return [line for line in file.read().decode(errors="replace").splitlines() if line]
    except OSError:
        return []
