"""Soak: the latency benchmark's typing, replayed for a long time against one server.

One `hearth` process for the whole run. Each round types the latency
benchmark's functions (benchmarks/latency.py: the same tasks, keys, requests
and cancels); between rounds the model is switched, as a user switches it,
by a new `model.path` (`workspace/didChangeConfiguration`), so that the
presets alternate in the same process. Meanwhile the server is watched:
alive or not (its exit code and the end of its stderr if it dies), its
resident memory and CPU every SAMPLE_S, each request's fate (answered; lost
when the server ended; a pause's request unanswered after the replay's
PAUSE_LIMIT_S; any request waiting over UNANSWERED_S, which ends the run:
the server is then sent SIGTERM, on which it writes where each thread is),
and the errors in its log (its stderr, at the default level). A round begun
before the time is up is finished. At the end a table, printed and appended
to benchmarks/results/soak.md with the date, commit and command.

    python benchmarks/soak.py [--minutes 30] [--presets small,default] [--functions 8]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from latency import replay_tasks
from record import RESULTS
from typist import KEY_S, PAUSE_LIMIT_S, SEED, Run, Task, make_tasks, process_usage

from docs import percentile
from lsp_server.editor_client import EditorClient, RequestCounts
from lsp_server.inference import models

SAMPLE_S = 10.0  # how often the server's memory and CPU are read
UNANSWERED_S = 120.0  # a request waiting this long is unanswered: the server is stuck
LOAD_LIMIT_S = 300.0  # the longest a model switch may take
ERRORS_KEPT = 5  # error lines of the server's log quoted in the report
# What marks an error in the server's log (its format: time, level, logger: message).
ERROR_MARKS = (" ERROR ", " CRITICAL ", "Traceback (most recent call last)", "Fatal Python error")


@dataclass
class Round:
    preset: str
    seconds: float
    pauses: list[float]  # seconds from the line's last key to its suggestion
    rss_bytes: int  # the server's, at the round's end
    anon_bytes: int  # of which not backed by a file (the model's mapping is file-backed)


@dataclass
class Soak:
    """What the watch saw; the report is made of it."""

    started: float = field(default_factory=time.monotonic)
    rounds: list[Round] = field(default_factory=list)
    # Every SAMPLE_S: time, server CPU s, RSS, the machine's load (others' work shows in it).
    samples: list[tuple[float, float, int, float]] = field(default_factory=list)
    start_rss: int = 0  # once the first model is loaded, before any typing
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    warning_count: int = 0
    stuck: int = 0  # requests found waiting over UNANSWERED_S
    ended: str = ""  # how the run ended, if not as planned
    exit_code: int | None = None
    counts: RequestCounts = field(default_factory=RequestCounts)
    left_waiting: int = 0  # requests still unanswered when the run ended
    stderr_bytes: int = 0

    def log_line(self, line: str) -> None:
        """Told each line of the server's stderr as it comes."""
        if any(mark in line for mark in ERROR_MARKS):
            self.error_count += 1
            if len(self.errors) < ERRORS_KEPT:
                self.errors.append(line[:300])
        elif " WARNING " in line:
            self.warning_count += 1


async def loaded(client: EditorClient, preset: str) -> None:
    """Wait until the server serves with `preset` (the model is loaded in the background)."""
    wanted = str(models.locate(models.ModelChoice(preset, "soak")))
    deadline = time.monotonic() + LOAD_LIMIT_S
    while True:
        stats = await client.stats()
        if stats["modelState"] == "ready" and stats["modelPath"] == wanted:
            return
        if stats["modelState"] == "failed":
            raise RuntimeError(f"loading {preset} failed: {stats['modelError']}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{preset} not loaded after {LOAD_LIMIT_S:.0f} s: {stats}")
        await asyncio.sleep(0.5)


def anonymous_bytes(pid: int) -> int:
    """A process's resident memory not backed by a file (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024
    return 0


async def watch(client: EditorClient, pid: int, soak: Soak) -> None:
    """Every SAMPLE_S: the server's CPU and memory, and whether a request is stuck."""
    while client.exited is None:
        with contextlib.suppress(OSError):  # gone between two looks: the client says how
            cpu, rss = process_usage(pid)
            soak.samples.append((time.monotonic() - soak.started, cpu, rss, os.getloadavg()[0]))
        stuck = client.waiting(longer_than=UNANSWERED_S)
        if stuck:
            soak.stuck = stuck
            soak.ended = f"{stuck} request(s) unanswered after {UNANSWERED_S:.0f} s"
            # Hearth writes where each of its threads is on SIGTERM: that is
            # what a stuck server can still tell, in the error that follows.
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            return
        await asyncio.sleep(SAMPLE_S)


async def soak_run(presets: list[str], tasks: list[Task], minutes: float, soak: Soak) -> None:
    """Round after round until the time is up, the models in turn, one server."""
    deadline = soak.started + minutes * 60
    client = EditorClient(None, {"model": {"path": presets[0]}})
    client.on_stderr = soak.log_line
    watcher: asyncio.Task[None] | None = None
    try:
        async with client:
            process = client.process
            assert process is not None
            await loaded(client, presets[0])
            soak.start_rss = process_usage(process.pid)[1]
            watcher = asyncio.create_task(watch(client, process.pid, soak))
            number = 0
            while time.monotonic() < deadline and not soak.ended:
                preset = presets[number % len(presets)]
                if number and len(presets) > 1:
                    client.change_settings({"model": {"path": preset}})
                    await loaded(client, preset)
                run, began = Run(), time.monotonic()

                # Documents of their own each round: request ids (made of the
                # document's name) never repeat in this one server.
                def uri(n: int, task: Task, r: int = number) -> str:
                    return f"file:///soak/{r}/{n}/{task.module}"

                await replay_tasks(client, tasks, run, uri)
                done = Round(
                    preset,
                    time.monotonic() - began,
                    [p.seconds for p in run.pauses],
                    process_usage(process.pid)[1],
                    anonymous_bytes(process.pid),
                )
                soak.rounds.append(done)
                say(client, soak, done)
                number += 1
    except RuntimeError as error:  # ServerExited among them
        soak.ended = soak.ended or f"{type(error).__name__}: {str(error).splitlines()[0]}"
        print(f"\n{error}", file=sys.stderr)
    finally:
        if watcher is not None:
            watcher.cancel()
        soak.counts, soak.left_waiting = client.counts, client.waiting()
        soak.stderr_bytes = client.stderr_bytes
        soak.exit_code = client.process.returncode if client.process else None


def say(client: EditorClient, soak: Soak, done: Round) -> None:
    """One line a round, so that a long run shows its progress."""
    counts = client.counts
    print(
        f"[{(time.monotonic() - soak.started) / 60:5.1f} min] round {len(soak.rounds)} "
        f"({done.preset}): {len(done.pauses)} pauses in {done.seconds:.0f} s, "
        f"p50 {statistics.median(done.pauses) * 1000:.0f} ms; RSS {done.rss_bytes / 2**20:.0f} MB; "
        f"requests {counts.sent} sent, {counts.answered} answered; stderr "
        f"{client.stderr_bytes / 1024:.0f} KB, {soak.error_count} errors",
        file=sys.stderr,
        flush=True,
    )


def mb(value: int) -> str:
    return f"{value / 2**20:.0f}"


def report(soak: Soak, presets: list[str], tasks: list[Task]) -> tuple[str, bool]:
    """The table (and the server's first errors); whether the run was clean."""
    rounds = soak.rounds
    per_model = {p: [r for r in rounds if r.preset == p] for p in presets}
    counts = soak.counts
    unanswered = counts.sent - counts.answered
    minutes = (time.monotonic() - soak.started) / 60
    cpu = soak.samples[-1][1] - soak.samples[0][1] if len(soak.samples) > 1 else 0.0
    span = soak.samples[-1][0] - soak.samples[0][0] if len(soak.samples) > 1 else 0.0
    rss = [s[2] for s in soak.samples] + [r.rss_bytes for r in rounds] + [soak.start_rss]
    lines = sum(len(t.body) for t in tasks)
    keys = sum(1 + len(line.lstrip()) for t in tasks for line in t.body)  # Enter+indent is one
    server = (
        f"alive to the end; exit code {soak.exit_code} after shutdown and exit"
        if not soak.ended
        else f"{soak.ended}; exit code {soak.exit_code}"
    )
    rows = [
        (
            "duration",
            f"{minutes:.1f} min, {len(rounds)} rounds of {len(tasks)} functions "
            f"({lines} lines, {keys} keys)",
        ),
        ("rounds per model", ", ".join(f"{p} {len(r)}" for p, r in per_model.items())),
        (
            "full 2-model latency runs' worth",
            f"{min(len(r) for r in per_model.values())} "
            "(`latency.py --systems hearth`: one round per model, a server each)",
        ),
        ("requests sent / answered", f"{counts.sent} / {counts.answered}"),
        (
            "unanswered",
            f"{unanswered} (lost when the server ended {counts.lost}, a pause's "
            f"after {PAUSE_LIMIT_S:.0f} s {counts.abandoned}, waiting at the end "
            f"{soak.left_waiting}; found waiting over {UNANSWERED_S:.0f} s {soak.stuck})",
        ),
        ("server", server),
        ("RSS MB at start (first model loaded)", mb(soak.start_rss)),
        *(
            (f"RSS MB after the first {p} round", mb(r[0].rss_bytes) if r else "n/a")
            for p, r in per_model.items()
        ),
        (
            "RSS MB at the end / max",
            f"{mb(rounds[-1].rss_bytes) if rounds else 'n/a'} / {mb(max(rss))}",
        ),
        (
            "RSS growth after warm-up (first to last round of a model)",
            ", ".join(
                f"{p} {(r[-1].rss_bytes - r[0].rss_bytes) / 2**20:+.0f} MB, anonymous "
                f"{(r[-1].anon_bytes - r[0].anon_bytes) / 2**20:+.0f} MB (rounds "
                f"{rounds.index(r[0]) + 1} to {rounds.index(r[-1]) + 1})"
                for p, r in per_model.items()
                if r
            ),
        ),
        ("RSS MB after each round", ", ".join(mb(r.rss_bytes) for r in rounds)),
        ("server CPU", f"{cpu / max(span / 60, 1e-9):.0f} s/min ({cpu:.0f} s)"),
        (
            "pause latency p50 / p95 ms",
            ", ".join(
                f"{p} {statistics.median(a) * 1000:.0f} / {percentile(a, 0.95) * 1000:.0f}"
                for p, r in per_model.items()
                if (a := [s for x in r for s in x.pauses])
            ),
        ),
        (
            "machine load (1-minute average) over the run, mean / max",
            f"{statistics.fmean(s[3] for s in soak.samples):.1f} / "
            f"{max(s[3] for s in soak.samples):.1f} on {os.cpu_count()} cores"
            if soak.samples
            else "n/a",
        ),
        ("server stderr (its log)", f"{soak.stderr_bytes / 1024:.0f} KB"),
        ("errors in the server log", f"{soak.error_count} (warnings {soak.warning_count})"),
    ]
    table = "| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)
    if soak.errors:
        table += "\n\nFirst errors in the server's log:\n\n" + "\n".join(
            f"    {line}" for line in soak.errors
        )
    return table, not soak.ended and unanswered == 0


def commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
        return done.stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no")
    return git("rev-parse", "--short", "HEAD") + (" + uncommitted changes" if dirty else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=30.0, help="how long to type")
    parser.add_argument("--presets", default="small,default", help="the models, in turn")
    parser.add_argument("--functions", type=int, default=8, help="functions typed a round")
    args = parser.parse_args()
    presets = args.presets.split(",")
    for preset in presets:
        if not models.preset_installed(models.PRESETS[preset]):
            extra = models.PRESETS[preset].extra
            parser.error(f"{preset} is not installed: pip install 'hearth-lsp[{extra}]'")
    tasks = make_tasks(args.functions)
    soak = Soak()
    asyncio.run(soak_run(presets, tasks, args.minutes, soak))
    table, clean = report(soak, presets, tasks)
    heading = (
        f"## {time.strftime('%Y-%m-%d %H:%M')}, at {commit()}\n\n"
        f"`python benchmarks/soak.py {' '.join(sys.argv[1:])}`".replace("soak.py `", "soak.py`")
        + f": seed {SEED}, {KEY_S * 1000:.0f} ms a key\n\n"
    )
    print("\n" + heading + table)
    RESULTS.mkdir(exist_ok=True)
    results = RESULTS / "soak.md"
    if not results.exists():
        results.write_text(HEADER)
    with results.open("a") as out:
        out.write("\n" + heading + table + "\n")
    return 0 if clean else 1


HEADER = """# Soak

`benchmarks/soak.py`: the latency benchmark's typing, round after round, the
models in turn, against one server process, watched the whole time. Each run
is appended here (newest last).
"""


if __name__ == "__main__":
    sys.exit(main())
