"""Rewrite benchmark: a region written anew, with the old text as a draft and without.

Tasks: functions of 10-60 lines from the standard library modules every
benchmark draws from, each asked through Hearth's rewrite path
(features/rewriting.py, the chat path of fixes and edits) for:
- copy:   the function unchanged;
- line:   a one-line change, given exactly: a number changed on its line;
- rename: where the function has no such number, a local variable renamed
          (every use: a change of several lines);
- insert: a given guard clause at the top of the body.

Each task runs with the draft and without it, greedy, each reading its
prompt anew (the chat context's cache is emptied first, so that neither
run finds the other's prompt there). Per model and kind: how many outputs
are byte-identical between the two; the answer's time (after the prompt
is read: what the draft speeds up), its median and p95 with and without
the draft, and the median of the per-task speed-up; the whole call's
speed-up, prompt included; tokens written per second, forward passes, the
share of draft tokens the model agreed with; and the limit of the answer:
the region read once at the prompt speed measured here, plus its changed
tokens at the decode speed measured here.

    python benchmarks/rewrite.py [--tasks N] [--presets default,small]
        [--kinds copy,line,rename,insert] [--dump FILE]
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import logging
import random
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import record
from quality import module_sources

from lsp_server.features import rewriting
from lsp_server.features.rewriting import Request
from lsp_server.inference import models
from lsp_server.inference.api import Generation
from lsp_server.inference.cancel import CancelToken
from lsp_server.inference.llama.engine import EngineConfig, LlamaEngine

KINDS = ("copy", "line", "rename", "insert")
MIN_LINES, MAX_LINES = 10, 60


@dataclass(frozen=True)
class Task:
    kind: str
    module: str
    name: str
    region: str  # the function's lines, as in the file
    request: str


def _functions(source: str) -> list[ast.FunctionDef]:
    tree = ast.parse(source)
    found = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and node.end_lineno is not None
        and MIN_LINES <= node.end_lineno - node.lineno + 1 <= MAX_LINES
    ]
    return sorted(found, key=lambda node: node.lineno)


def _small_change(node: ast.FunctionDef, lines: list[str]) -> tuple[str, str] | None:
    """A small change, said exactly, and its kind: a number changed on its
    line ("line"), else a local variable renamed ("rename")."""
    for child in ast.walk(node):
        if (
            isinstance(child, ast.Constant)
            and type(child.value) is int
            and child.value > 1
            and child.lineno == child.end_lineno
        ):
            line = lines[child.lineno - 1].strip()
            return "line", (
                f"Change the number {child.value} to {child.value + 1} in the line "
                f"`{line}`. Change nothing else."
            )
    parameters = {a.arg for a in node.args.args}
    for child in ast.walk(node):
        if isinstance(child, ast.Assign) and len(child.targets) == 1:
            target = child.targets[0]
            if isinstance(target, ast.Name) and target.id not in parameters:
                return "rename", (
                    f"Rename the local variable `{target.id}` to `{target.id}_value`. "
                    "Change nothing else."
                )
    return None


def _guard(node: ast.FunctionDef) -> str | None:
    parameters = [a.arg for a in node.args.args if a.arg not in ("self", "cls")]
    if not parameters:
        return None
    name = parameters[0]
    return (
        f"Add a guard clause at the top of the function body, after its docstring if it "
        f'has one: `if {name} is None: raise ValueError("{name} is required")`, on two '
        "lines. Change nothing else."
    )


def make_tasks(count: int, kinds: tuple[str, ...], seed: int = 7) -> list[Task]:
    """`count` functions, each asked for each kind in `kinds` that it has:
    a copy, a guard clause, and a line change or (without a number) a rename."""
    candidates: list[tuple[str, ast.FunctionDef, list[str]]] = []
    for module, source in module_sources().items():
        lines = source.split("\n")
        for node in _functions(source):
            if _small_change(node, lines) and _guard(node):
                candidates.append((module, node, lines))
    chosen = random.Random(seed).sample(candidates, min(count, len(candidates)))
    tasks = []
    for module, node, lines in sorted(chosen, key=lambda c: (c[0], c[1].lineno)):
        assert node.end_lineno is not None
        first = node.lineno - 1 - len(node.decorator_list)
        region = "\n".join(lines[first : node.end_lineno]) + "\n"
        change, changed = _small_change(node, lines) or ("", "")
        asks = {
            "copy": "Write this function again exactly as it is. Change nothing.",
            change: changed,
            "insert": _guard(node),
        }
        for kind in kinds:
            request = asks.get(kind)
            if request is not None:  # a function gets a line change or a rename
                tasks.append(Task(kind, module, node.name, region, request))
    return tasks


@dataclass
class Run:
    seconds: float  # the whole call
    generation: Generation

    @property
    def answer_seconds(self) -> float:
        return self.generation.stats.decode_seconds

    @property
    def passes(self) -> int:
        stats = self.generation.stats
        # Without a draft, each token written is a pass of its own.
        return stats.passes or stats.decoded_tokens


def run_one(engine: LlamaEngine, task: Task, draft: bool) -> Run:
    if engine._chat_llm is not None:
        engine._chat_llm.n_tokens = 0  # nothing of the last call's prompt to reuse
    started = time.monotonic()
    generation = rewriting.rewrite(
        engine, CancelToken(), "python", task.region, Request(task.request), 1500, draft=draft
    )
    return Run(time.monotonic() - started, generation)


def changed_tokens(engine: LlamaEngine, region: str, text: str) -> int:
    """The tokens of `text` that are not a copy of `region`'s (difflib's blocks)."""
    old, new = engine.tokenize(region), engine.tokenize(text)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    return len(new) - sum(block.size for block in matcher.get_matching_blocks())


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def bench(preset: str, tasks: list[Task], dump: Path | None) -> list[str]:
    path = models.locate(models.ModelChoice(preset, "benchmark"))
    engine = LlamaEngine(path, EngineConfig(context_size=4096))
    run_one(engine, tasks[0], draft=False)  # warm up
    rows = []
    results: dict[str, list[tuple[Task, Run, Run, float]]] = {kind: [] for kind in KINDS}
    for task in tasks:
        plain = run_one(engine, task, draft=False)
        drafted = run_one(engine, task, draft=True)
        # The answer's limit: the region read once, at the prompt speed of the
        # call without the draft (its prompt holds the region, read cold), and
        # the changed tokens at that call's decode speed.
        stats = plain.generation.stats
        reads = stats.evaluated_tokens / max(stats.prompt_seconds, 1e-9)
        writes = stats.decoded_tokens / max(stats.decode_seconds, 1e-9)
        region_tokens = len(engine.tokenize(task.region))
        text = plain.generation.text
        limit = region_tokens / reads + changed_tokens(engine, task.region, text) / writes
        results[task.kind].append((task, plain, drafted, limit))
        if dump is not None:
            with dump.open("a") as out:
                record_of = {
                    "preset": preset,
                    "kind": task.kind,
                    "module": task.module,
                    "function": task.name,
                    "identical": text == drafted.generation.text,
                    "plain_s": round(plain.seconds, 3),
                    "draft_s": round(drafted.seconds, 3),
                    "plain_answer_s": round(plain.answer_seconds, 3),
                    "draft_answer_s": round(drafted.answer_seconds, 3),
                    "limit_s": round(limit, 3),
                    "passes": drafted.passes,
                    "tokens": drafted.generation.stats.decoded_tokens,
                    "accepted": drafted.generation.stats.checked_tokens,
                    "offered": drafted.generation.stats.draft_tokens,
                    "text": drafted.generation.text,
                    "plain_text": text if text != drafted.generation.text else None,
                }
                out.write(json.dumps(record_of) + "\n")
    engine.close()
    for kind, done in results.items():
        if not done:
            continue
        plain_s = [p.answer_seconds for _, p, _, _ in done]
        draft_s = [d.answer_seconds for _, _, d, _ in done]
        speedup = [p.answer_seconds / d.answer_seconds for _, p, d, _ in done]
        call_speedup = [p.seconds / d.seconds for _, p, d, _ in done]
        of_limit = [d.answer_seconds / limit for _, _, d, limit in done]
        same = sum(p.generation.text == d.generation.text for _, p, d, _ in done)
        offered = sum(d.generation.stats.draft_tokens for _, _, d, _ in done)
        accepted = sum(d.generation.stats.checked_tokens for _, _, d, _ in done)
        plain_tps = [
            p.generation.stats.decoded_tokens / max(p.answer_seconds, 1e-9) for _, p, _, _ in done
        ]
        draft_tps = [
            d.generation.stats.decoded_tokens / max(d.answer_seconds, 1e-9) for _, _, d, _ in done
        ]
        rows.append(
            f"| {preset} | {kind} | {len(done)} | {same}/{len(done)} "
            f"| {statistics.median(plain_s):.2f} / {p95(plain_s):.2f} "
            f"| {statistics.median(draft_s):.2f} / {p95(draft_s):.2f} "
            f"| {statistics.median(speedup):.2f}x "
            f"| {statistics.median(call_speedup):.2f}x "
            f"| {statistics.median(plain_tps):.0f} / {statistics.median(draft_tps):.0f} "
            f"| {statistics.median(p.passes for _, p, _, _ in done):.0f} / "
            f"{statistics.median(d.passes for _, _, d, _ in done):.0f} "
            f"| {accepted / max(offered, 1):.0%} "
            f"| {statistics.median(limit for *_, limit in done):.2f} "
            f"| {statistics.median(of_limit):.2f}x |"
        )
    return rows


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=40, help="functions, each asked every kind")
    parser.add_argument("--presets", default="default,small")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--dump", type=Path, help="write each task's outputs here (JSON lines)")
    args = parser.parse_args()
    tasks = make_tasks(args.tasks, tuple(args.kinds.split(",")))
    header = (
        "| model | kind | tasks | identical | answer s, no draft: median / p95 "
        "| answer s, draft: median / p95 | answer speed-up (median) "
        "| whole call speed-up (median) | tok/s: no draft / draft "
        "| passes: no draft / draft | draft accepted | answer limit s (median) "
        "| draft / limit |"
    )
    rows = [header, "|---" * (header.count("|") - 1) + "|"]
    for preset in args.presets.split(","):
        if not models.preset_installed(models.PRESETS[preset]):
            print(f"(skipping {preset}: pip install 'hearth-lsp[{models.PRESETS[preset].extra}]')")
            continue
        rows += bench(preset, tasks, args.dump)
    report = (
        f"rewrite benchmark: {args.tasks} functions of {MIN_LINES}-{MAX_LINES} lines from the "
        "standard library, rewritten through features/rewriting.py, greedy, with the old "
        "function as the draft and without, each prompt read cold; the answer is the time "
        "after the prompt is read, and its limit the region read once at the prompt speed "
        "plus its changed tokens at the decode speed\n\n" + "\n".join(rows)
    )
    print(report)
    record.keep("rewrite.md", report, parser, args, output_only=("dump",))


if __name__ == "__main__":
    main()
