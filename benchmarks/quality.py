"""Quality benchmark: fill-in-the-middle tasks cut from CPython's standard library.

Task kinds, drawn with a fixed seed from a fixed set of stdlib modules:
- line:  a line inside a function is masked; the cursor sits after its indentation;
- block: 2-5 consecutive lines inside a function are masked, from the first one's indentation;
- rest:  a line is cut at a random column; the rest of it is masked.

Hearth is asked over LSP exactly as an editor asks (inlineCompletion, first
item applied with its range). The baseline is llama-cpp-python called
directly with a plain prefix-suffix-middle prompt of the same file, cut to
the same token budget, its output cut at the first line break (line, rest)
or the first blank line (block): what a plain FIM client shows.

Scores per system and kind: exact match (the masked lines, and the line
after them, come back as they were), edit similarity of the filled-in text,
the share of suggestions that break the parse (the file parsed with the hole
and does not with the suggestion), and the share of suggestions that
repeat the line after the cursor. A second table pairs the systems task by
task: the exact matches only one of them got, and the sign test's p-value
(below 0.05: more than the luck of the draw). Results go to
benchmarks/results/.

    python benchmarks/quality.py [--tasks N] [--presets default,small]
        [--kinds line,block,rest] [--systems hearth,baseline] [--dump FILE]

`--dump` writes every task's expected and suggested text as JSON lines, to
see what a change moved.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import difflib
import json
import logging
import math
import random
import statistics
import sysconfig
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import record
from lsprotocol import types

from lsp_server.editor_client import EditorClient
from lsp_server.inference import models
from lsp_server.inference.api import Sampling
from lsp_server.inference.cancel import CancelToken
from lsp_server.inference.llama.engine import EngineConfig, LlamaEngine

STDLIB = Path(sysconfig.get_paths()["stdlib"])
MODULES = (
    "textwrap.py",
    "shlex.py",
    "fractions.py",
    "csv.py",
    "calendar.py",
    "difflib.py",
    "heapq.py",
    "bisect.py",
    "ipaddress.py",
    "string.py",
    "operator.py",
    "dataclasses.py",
)
KINDS = ("line", "block", "rest")


@dataclass(frozen=True)
class Task:
    kind: str
    module: str
    source: str  # the original file
    line: int  # first masked line (0-based)
    count: int  # masked lines
    column: int  # where the cursor is on the first masked line

    @property
    def lines(self) -> list[str]:
        return self.source.split("\n")

    def document(self) -> str:
        """The file with the masked text removed."""
        lines = self.lines
        head = lines[self.line][: self.column]
        return "\n".join([*lines[: self.line], head, *lines[self.line + self.count :]])

    def expected(self) -> str:
        lines = self.lines
        masked = [lines[self.line][self.column :], *lines[self.line + 1 : self.line + self.count]]
        return "\n".join(masked)

    def split(self) -> tuple[str, str]:
        """The masked document as the text before and after the cursor."""
        document = self.document()
        before = len("\n".join([*self.lines[: self.line], self.lines[self.line][: self.column]]))
        return document[:before], document[before:]

    def typed_from(self, count: int) -> tuple[str, str, types.Position]:
        """The document before and after the cursor as it was `count` lines
        above the task's cursor, after that line's indentation, and where."""
        line = max(0, self.line - count)
        start = self.lines[line]
        indent = start[: len(start) - len(start.lstrip())] if line < self.line else ""
        before = "".join(text + "\n" for text in self.lines[:line]) + indent
        after = self.document()[len(self.split()[0]) :]
        return before, after, types.Position(line=line, character=len(indent))

    def position(self) -> types.Position:
        return types.Position(line=self.line, character=self.column)


def function_body_lines(source: str) -> list[int]:
    """0-based lines of simple statements inside functions (no docstrings, no blanks)."""
    tree = ast.parse(source)
    lines: list[int] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for statement in node.body:
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
                continue  # the docstring
            if statement.lineno == statement.end_lineno:
                lines.append(statement.lineno - 1)
    return sorted(set(lines))


def module_sources() -> dict[str, str]:
    """The text of each of MODULES this Python has (a build may leave some
    out), in MODULES' order: every benchmark draws its tasks from these."""
    return {name: (STDLIB / name).read_text() for name in MODULES if (STDLIB / name).exists()}


def make_tasks(per_kind: int, seed: int = 1234) -> list[Task]:
    """`per_kind` different tasks of each kind. A draw that comes up again is
    drawn anew: a repeated task would count one result twice (the first 40
    single lines held 5 repeats before)."""
    rng = random.Random(seed)
    sources = module_sources()
    tasks: list[Task] = []
    drawn: set[tuple[str, str, int, int, int]] = set()
    for kind in KINDS:
        made = 0
        while made < per_kind:
            module = rng.choice(sorted(sources))
            source = sources[module]
            lines = source.split("\n")
            candidates = function_body_lines(source)
            line = rng.choice(candidates)
            text = lines[line]
            indent = len(text) - len(text.lstrip())
            if kind == "line":
                task = Task(kind, module, source, line, 1, indent)
            elif kind == "block":
                count = rng.randint(2, 5)
                block = lines[line : line + count]
                if any(not b.strip() for b in block) or len(block) < count:
                    continue
                task = Task(kind, module, source, line, count, indent)
            else:
                if len(text) - indent < 12:
                    continue
                column = rng.randint(indent + 4, len(text) - 4)
                task = Task(kind, module, source, line, 1, column)
            if (key := (kind, module, line, task.count, task.column)) in drawn:
                continue
            drawn.add(key)
            tasks.append(task)
            made += 1
    return tasks


@dataclass
class Score:
    exact: list[bool] = field(default_factory=list)
    any_exact: list[bool] = field(default_factory=list)  # the first or an alternative
    similarity: list[float] = field(default_factory=list)
    broken: list[bool] = field(default_factory=list)
    repeats: list[bool] = field(default_factory=list)
    empty: list[bool] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    written: list[str | None] = field(default_factory=list)
    alternatives: list[list[str]] = field(default_factory=list)  # what each of them wrote


def is_exact(task: Task, filled: str | None) -> bool:
    """Whether the document `filled` (None: no suggestion) has the masked
    lines, and the line after them, as they were."""
    prefix, suffix = task.split()
    after = filled if filled is not None else prefix + suffix
    span = slice(task.line, task.line + task.count + 1)
    result = after.split("\n")[span]
    return [r.rstrip() for r in result] == [o.rstrip() for o in task.lines[span]]


def score(
    task: Task, filled: str | None, seconds: float, into: Score, others: Sequence[str] = ()
) -> None:
    """Score the document after the suggestion `filled` was applied (None: no
    suggestion); `others`: the documents with each of its alternatives."""
    prefix, suffix = task.split()
    original = task.lines
    after = filled if filled is not None else prefix + suffix
    into.exact.append(is_exact(task, filled))
    into.any_exact.append(into.exact[-1] or any(is_exact(task, other) for other in others))
    written = inserted(task, after)
    expected = task.expected()
    into.similarity.append(difflib.SequenceMatcher(None, written, expected).ratio())
    # A suggestion breaks the parse when the file parsed with the hole and does not
    # with the suggestion (with a masked block the rest of the file may not parse).
    into.broken.append(parses(prefix + suffix) and not parses(after))
    next_line = next((line for line in original[task.line + task.count :] if line.strip()), "")
    written_lines = [line.strip() for line in written.split("\n")[1:]]
    into.repeats.append(bool(next_line.strip()) and next_line.strip() in written_lines)
    into.empty.append(filled is None)
    into.seconds.append(seconds)
    into.written.append(None if filled is None else written)
    into.alternatives.append([inserted(task, other) for other in others])


def inserted(task: Task, filled: str) -> str:
    """What the document `filled` has in the hole."""
    prefix, suffix = task.split()
    put = filled[len(prefix) :]
    return put[: len(put) - len(suffix)] if put.endswith(suffix) else put


def parses(source: str) -> bool:
    try:
        ast.parse(source)
    except SyntaxError:
        return False
    return True


async def run_hearth(model: str, tasks: list[Task], typed: int = 0) -> dict[str, Score]:
    """Each task asked of Hearth over LSP. With `typed`, the user first asks
    at the start of the line that many lines above the cursor, then types
    those lines (the prompt made there is kept: its middle holds them)."""
    scores = {kind: Score() for kind in KINDS}
    # Quality, not speed: a generous time limit, so that a busy machine
    # cannot change what is suggested.
    completion = {"maxTokens": 96, "debounceMs": 0, "invokedTimeoutMs": 120_000}
    settings = {"completion": completion}
    async with EditorClient(model, settings) as editor:
        for number, task in enumerate(tasks):
            uri = f"file:///quality/{number}/{task.module}"
            document = task.document()
            if typed:
                before, after, at = task.typed_from(typed)
                editor.open(uri, before + after, "python")
                await editor.suggest(uri, at)
                editor.insert(uri, at, document[len(before) : len(document) - len(after)])
            else:
                editor.open(uri, document, "python")
            started = time.monotonic()
            found = await editor.suggestions(uri, task.position())
            seconds = time.monotonic() - started
            filled = found[0].apply(document) if found else None
            others = [other.apply(document) for other in found[1:]]
            score(task, filled, seconds, scores[task.kind], others)
            editor.close(uri)
    return scores


def run_baseline(model: str, tasks: list[Task]) -> dict[str, Score]:
    scores: dict[str, Score] = defaultdict(Score)  # by kind: crossfile.py's kinds too
    path = models.locate(models.ModelChoice(model, "benchmark"))
    engine = LlamaEngine(path, EngineConfig())
    layout = models.PRESETS[model].layout  # Hearth's budget, for the same model
    for task in tasks:
        prefix, suffix = task.split()
        # Generation stops where the output is cut anyway.
        sampling = Sampling(max_tokens=96, stop=("\n\n",) if task.kind == "block" else ("\n",))
        started = time.monotonic()
        result = engine.infill(
            prefix,
            suffix,
            sampling,
            CancelToken(),
            layout=engine.layout.with_budget(layout.prompt_tokens),
        )
        seconds = time.monotonic() - started
        text = result.text
        text = text.split("\n\n")[0] if task.kind == "block" else text.split("\n")[0]
        text = text.rstrip()
        filled = prefix + text + suffix if text.strip() else None
        score(task, filled, seconds, scores[task.kind])
    engine.close()
    return scores


def _each(score: Score) -> list[dict[str, object]]:
    """One task's results at a time, for --dump."""
    return [
        {"written": w, "exact": e, "broken": b, "repeats": r, "seconds": round(t, 2)}
        | ({"alternatives": o, "any_exact": a} if o else {})
        for w, e, b, r, t, o, a in zip(
            score.written,
            score.exact,
            score.broken,
            score.repeats,
            score.seconds,
            score.alternatives,
            score.any_exact,
            strict=True,
        )
    ]


def table(rows: list[tuple[str, str, str, Score]]) -> str:
    out = [
        "| model | system | kind | tasks | exact | any alternative exact | edit sim "
        "| no suggestion | breaks parse | repeats next line | median s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for model, system, kind, s in rows:
        n = len(s.exact)
        cycled = f"{sum(s.any_exact)}/{n}" if system == "hearth" else "-"
        out.append(
            f"| {model} | {system} | {kind} | {n} | {sum(s.exact)}/{n} | {cycled} "
            f"| {statistics.mean(s.similarity):.2f} | {sum(s.empty)} "
            f"| {100 * sum(s.broken) / n:.0f}% | {sum(s.repeats)} "
            f"| {statistics.median(s.seconds):.2f} |"
        )
    return "\n".join(out)


def sign_test(wins: int, losses: int) -> float:
    """Two-sided p-value of the sign test: how likely so uneven a split of
    the tasks only one system got right is when both are as good."""
    n, k = wins + losses, min(wins, losses)
    if n == 0:
        return 1.0
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / (1 << n))


def exclusive(ours: list[bool], theirs: list[bool]) -> tuple[int, int]:
    """Of tasks paired one to one: how many only we got right, and only they did."""
    wins = sum(a and not b for a, b in zip(ours, theirs, strict=True))
    losses = sum(b and not a for a, b in zip(ours, theirs, strict=True))
    return wins, losses


def paired(rows: list[tuple[str, str, str, Score]]) -> str:
    """Hearth against the baseline on the same tasks: the exact matches only
    one of them got, and whether the split is more than chance."""
    exact = {(model, system, kind): s.exact for model, system, kind, s in rows}
    out = [
        "| model | kind | exact only by hearth | exact only by baseline | sign test p |",
        "|---|---|---|---|---|",
    ]
    for (model, system, kind), hearth in exact.items():
        baseline = exact.get((model, "baseline", kind))
        if system != "hearth" or baseline is None:
            continue
        wins, losses = exclusive(hearth, baseline)
        out.append(f"| {model} | {kind} | {wins} | {losses} | {sign_test(wins, losses):.2f} |")
    return "\n".join(out) if len(out) > 2 else ""


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=40, help="tasks per kind")
    parser.add_argument("--presets", default="default,small")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--systems", default="hearth,baseline")
    parser.add_argument("--dump", type=Path, help="write each task's suggestions here (JSON lines)")
    parser.add_argument(
        "--typed", type=int, default=0, help="lines typed since the prompt was made (Hearth)"
    )
    args = parser.parse_args()
    kinds = args.kinds.split(",")
    tasks = [task for task in make_tasks(args.tasks) if task.kind in kinds]
    runners = {
        "hearth": lambda preset: asyncio.run(run_hearth(preset, tasks, args.typed)),
        "baseline": lambda preset: run_baseline(preset, tasks),
    }
    rows: list[tuple[str, str, str, Score]] = []
    scores: dict[str, dict[str, Score]] = {}
    for preset in args.presets.split(","):
        if not models.preset_installed(models.PRESETS[preset]):
            print(f"(skipping {preset}: pip install 'hearth-lsp[{models.PRESETS[preset].extra}]')")
            continue
        scores = {system: runners[system](preset) for system in args.systems.split(",")}
        for kind in kinds:
            rows.extend((preset, system, kind, scores[system][kind]) for system in scores)
        if args.dump:
            with args.dump.open("a") as out:
                for system, by_kind in scores.items():
                    for kind in kinds:
                        of_kind = [task for task in tasks if task.kind == kind]
                        for task, s in zip(of_kind, _each(by_kind[kind]), strict=True):
                            entry = {"preset": preset, "system": system, "kind": kind}
                            entry |= {"module": task.module, "line": task.line + 1}
                            out.write(json.dumps(entry | {"expected": task.expected()} | s) + "\n")
    budgets = ", ".join(
        f"{preset} {models.PRESETS[preset].layout.prompt_tokens}"
        for preset in args.presets.split(",")
    )
    report = (
        f"quality benchmark: {args.tasks} tasks per kind from {len(MODULES)} stdlib modules "
        f"(seed 1234), prompt budget {budgets} tokens\n\n" + table(rows)
    )
    if comparison := paired(rows):
        report += "\n\n" + comparison
    print(report)
    record.keep("quality.md", report, parser, args, output_only=("dump",))


if __name__ == "__main__":
    main()
