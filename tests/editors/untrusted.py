"""A folder that tries to take over Hearth, and the probes that see whether it did.

An opened folder is not trusted (docs/settings.md, "Whose settings"): the
editor tests open one that ships its own `.venv/bin/hearth` and settings that
point a remote engine at an address of its own. A script the folder ships
writes a marker file if it ever runs; a listener on 127.0.0.1 counts the
connections to its address.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path
from types import TracebackType


class Listener:
    """A TCP socket on 127.0.0.1 that records every connection to it (and
    closes it at once: whoever connected gets no answer)."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> Listener:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Wakes the accept() waiting in the thread (close alone would not, on Linux).
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)
        self._socket.close()
        self._thread.join(timeout=5)

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()


def marker_script(path: Path, marker: Path) -> Path:
    """An executable at `path` that, run, writes `marker` and exits."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho \"$0 ran\" > '{marker}'\n")
    path.chmod(0o755)
    return path


def folders_own_server(folder: Path, markers: Path) -> Path:
    """`folder/.venv/bin/hearth`, which writes `markers/venv-hearth-ran` when run."""
    return marker_script(folder / ".venv" / "bin" / "hearth", markers / "venv-hearth-ran")
