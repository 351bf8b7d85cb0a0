"""Hearth over pipes, spoken to byte by byte: for tests that send what no
LSP client library would (malformed messages), or more than one would keep
up with (storms)."""

from __future__ import annotations

import itertools
import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

ANSWER_TIMEOUT_S = 30


class RawServer:
    """The server process; its answers (not its notifications) read by a
    thread into `answers`, each with the time it arrived."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        args: Sequence[str] = (),
        encoding: str = "utf-16",
        options: Any = None,
    ) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "lsp_server", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=dict(env),
        )
        self.answers: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
        self.passed: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        threading.Thread(target=self._read, daemon=True).start()
        capabilities = {"general": {"positionEncodings": [encoding]}}
        result = self.request(
            "initialize",
            {"processId": None, "capabilities": capabilities, "initializationOptions": options},
        )
        self.encoding = result["result"]["capabilities"].get("positionEncoding", "utf-16")
        assert self.encoding == encoding
        self.notify("initialized", {})

    def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        while True:
            length = None
            while (line := stdout.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if line == b"" or length is None:
                return
            message = json.loads(stdout.read(length))
            if "method" not in message:
                self.answers.put((time.monotonic(), message))

    def write(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def send(self, message: Any) -> None:
        body = json.dumps(message).encode()
        self.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def notify(self, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def ask(self, method: str, params: Any) -> str:
        """Send a request; its id."""
        number = f"req-{next(self._ids)}"
        self.send({"jsonrpc": "2.0", "id": number, "method": method, "params": params})
        return number

    def request(self, method: str, params: Any) -> dict[str, Any]:
        """Send a request, and wait for its answer; answers to others on the way
        are kept in `passed`."""
        return self.answer(self.ask(method, params))

    def answer(self, number: Any) -> dict[str, Any]:
        self.passed = []
        while True:
            try:
                _, message = self.answers.get(timeout=ANSWER_TIMEOUT_S)
            except queue.Empty:
                alive = self.process.poll() is None
                raise AssertionError(f"no answer to {number!r} (server alive: {alive})") from None
            if message.get("id") == number:
                return message
            self.passed.append(message)

    def stats(self) -> dict[str, Any]:
        answer = self.request("workspace/executeCommand", {"command": "hearth.stats"})
        result: dict[str, Any] = answer["result"]
        return result

    def documents(self) -> dict[str, dict[str, Any]]:
        return {d["uri"]: d for d in self.stats()["documents"]}

    def resident_bytes(self) -> int:
        """The process's resident memory now, as the kernel counts it."""
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS in /proc")

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
