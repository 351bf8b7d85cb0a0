"""Docs benchmark: hover explanations and docstrings on real, undocumented code.

Functions are drawn with a fixed seed from CPython's standard library, from
the same modules as the quality benchmark, with every function's docstring
removed from the file. For each, Hearth is asked over LSP as an editor asks:
the docstring code action (its edit applied), then a hover on the name, then
the same hover again.

Scores per model: the share of docstring edits after which the file parses
and the docstring is that function's own, with nothing else changed (target
100%); the share documenting every parameter by name (target 100%); the
latency of a docstring and of a first hover (p50, p95), and of a hover
answered from the cache (median).

    python benchmarks/docs.py [--tasks N] [--presets default,small]
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import logging
import random
import statistics
import time
from dataclasses import dataclass, field

from lsprotocol import types
from quality import MODULES, RESULTS, STDLIB  # the sibling benchmark's module set

from lsp_server.editor_client import EditorClient, Suggestion
from lsp_server.inference import models

SEED = 1234


@dataclass(frozen=True)
class Task:
    module: str
    source: str  # the module with its functions' docstrings removed
    name: str
    line: int  # 0-based line of the `def`
    column: int  # of the name
    parameters: tuple[str, ...]


def undocumented(source: str) -> str:
    """`source` without the docstrings of its functions (those with more in their body)."""
    tree = ast.parse(source)
    drop: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        first = node.body[0]
        if ast.get_docstring(node) is not None and len(node.body) > 1:
            assert first.end_lineno is not None
            drop.update(range(first.lineno - 1, first.end_lineno))
    return "\n".join(line for n, line in enumerate(source.split("\n")) if n not in drop)


def make_tasks(count: int) -> list[Task]:
    rng = random.Random(SEED)
    candidates: list[Task] = []
    for module in MODULES:
        path = STDLIB / module
        if not path.exists():
            continue
        source = undocumented(path.read_text())
        lines = source.split("\n")
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.FunctionDef) or node.decorator_list:
                continue
            if node.body[0].lineno == node.lineno or node.end_lineno == node.lineno + 1:
                continue  # one-liners
            args = node.args
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
            every += [a for a in (args.vararg, args.kwarg) if a is not None]
            names = tuple(a.arg for a in every if a.arg not in ("self", "cls"))
            column = lines[node.lineno - 1].index(f"def {node.name}") + 4
            candidates.append(Task(module, source, node.name, node.lineno - 1, column, names))
    return rng.sample(candidates, min(count, len(candidates)))


@dataclass
class Score:
    placed: int = 0  # parses, the docstring is the function's own, nothing else changed
    all_parameters: int = 0
    no_edit: int = 0
    docstring_s: list[float] = field(default_factory=list)
    hover_s: list[float] = field(default_factory=list)
    cached_ms: list[float] = field(default_factory=list)


def judge(task: Task, edits: list[types.TextEdit], into: Score) -> None:
    if len(edits) != 1:
        into.no_edit += 1
        return
    (edit,) = edits
    after = Suggestion(edit.new_text, edit.range).apply(task.source)
    if after.replace(edit.new_text, "", 1) != task.source:
        return  # it changed more than the docstring
    try:
        tree = ast.parse(after)
    except SyntaxError:
        return
    functions = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and node.name == task.name
        and node.lineno - 1 == task.line
    ]
    doc = ast.get_docstring(functions[0]) if functions else None
    if doc is None:
        return
    into.placed += 1
    if all(name in doc for name in task.parameters):
        into.all_parameters += 1


async def run(model: str, tasks: list[Task]) -> Score:
    score = Score()
    settings = {"hover": {"timeoutMs": 300000}, "docstrings": {"timeoutMs": 300000}}
    async with EditorClient(model, settings) as editor:
        for number, task in enumerate(tasks):
            uri = f"file:///docs/{number}/{task.module}"
            editor.open(uri, task.source, "python")
            inside = types.Position(line=task.line + 1, character=8)
            started = time.monotonic()
            edits = await editor.docstring_edit(uri, inside)
            score.docstring_s.append(time.monotonic() - started)
            judge(task, edits, score)
            name = types.Position(line=task.line, character=task.column + 1)
            started = time.monotonic()
            await editor.hover(uri, name)
            score.hover_s.append(time.monotonic() - started)
            started = time.monotonic()
            await editor.hover(uri, name)
            score.cached_ms.append((time.monotonic() - started) * 1000)
            editor.close(uri)
    return score


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def table(rows: list[tuple[str, int, Score]]) -> str:
    out = [
        "| model | functions | parses, placed right | every parameter | no edit "
        "| docstring p50 s | p95 s | hover p50 s | p95 s | cached hover ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for preset, count, s in rows:
        out.append(
            f"| {preset} | {count} | {s.placed}/{count} | {s.all_parameters}/{count} "
            f"| {s.no_edit} | {statistics.median(s.docstring_s):.2f} "
            f"| {percentile(s.docstring_s, 0.95):.2f} | {statistics.median(s.hover_s):.2f} "
            f"| {percentile(s.hover_s, 0.95):.2f} | {statistics.median(s.cached_ms):.1f} |"
        )
    return "\n".join(out)


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=12, help="functions per model")
    parser.add_argument("--presets", default="default,small")
    args = parser.parse_args()
    tasks = make_tasks(args.tasks)
    rows: list[tuple[str, int, Score]] = []
    for preset in args.presets.split(","):
        if not models.preset_installed(models.PRESETS[preset]):
            print(f"(skipping {preset}: pip install 'hearth-lsp[{models.PRESETS[preset].extra}]')")
            continue
        rows.append((preset, len(tasks), asyncio.run(run(preset, tasks))))
    report = (
        f"docs benchmark: {len(tasks)} undocumented functions from {len(MODULES)} stdlib "
        f"modules (seed {SEED}), docstrings removed\n\n" + table(rows)
    )
    print(report)
    if rows:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "docs.md").write_text(report + "\n")


if __name__ == "__main__":
    main()
