"""Cross-file benchmark: completions whose answer lies in another file of the project.

Tasks in the CrossCodeEval style, drawn with a fixed seed from the standard
library's multi-module packages, copied into a temporary workspace folder:
- args:   the cursor is after the `(` of a call to a function or class that
          the file imports from a sibling module; the rest of the line is masked;
- member: the cursor is after `obj.`, where `obj` is an instance of a class
          defined in a sibling module (a parameter annotated with it, or a
          name assigned one it constructs); the rest of the line is masked;
- call:   the cursor is at the start of a one-line statement that calls
          something imported from a sibling module; the statement is masked.
The masked file is written to disk too (and saved, as an editor would), so
no system sees the answer in its own file.

Systems, paired task by task:
- hearth:     only the task's file open, the workspace folder given (the index on);
- hearth-off: the same with `context.workspace` off: the file alone;
- baseline:   a plain prefix-suffix-middle prompt of the file (as in quality.py).

The tables give exact matches, edit similarity and the time to the
suggestion per system and kind, and the pairs: the exact matches only one
of two systems got, with the sign test. Results go to benchmarks/results/.

    python benchmarks/crossfile.py [--tasks N] [--presets default,small]
        [--kinds args,member,call] [--systems hearth,hearth-off,baseline] [--dump FILE]
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import json
import logging
import random
import shutil
import sys
import sysconfig
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from lsp_server.editor_client import EditorClient
from lsp_server.inference import models

sys.path.insert(0, str(Path(__file__).parent))
import record
from quality import STDLIB, Score, Task, exclusive, run_baseline, score, sign_test

PACKAGES = (
    "asyncio",
    "email",
    "http",
    "importlib",
    "json",
    "logging",
    "unittest",
    "xml",
    "concurrent",
    "multiprocessing",
    "urllib",
    "sqlite3",
    "tomllib",
    "wsgiref",
)
KINDS = ("args", "member", "call")
SYSTEMS = ("hearth", "hearth-off", "baseline")


@dataclass(frozen=True)
class Imported:
    """A name a file imports from a sibling module that defines it there."""

    name: str
    kind: str  # "class", "function" or "module"


MODULE = Imported("", "module")


def _module_file(package_root: Path, file: Path, node: ast.ImportFrom) -> Path | None:
    """The workspace file an import names (relative, or absolute within the
    copied packages), resolved here independently of Hearth's resolver."""
    if node.level:
        base = file.parent
        for _ in range(node.level - 1):
            base = base.parent
    else:
        base = package_root
    parts = node.module.split(".") if node.module else []
    target = base.joinpath(*parts)
    for candidate in (target.with_name(target.name + ".py"), target / "__init__.py"):
        if parts and candidate.is_file() and candidate != file:
            return candidate
    return None


def _defined(file: Path) -> dict[str, str]:
    try:
        tree = ast.parse(file.read_text())
    except (SyntaxError, UnicodeDecodeError):
        return {}
    defined: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            defined[node.name] = "class"
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            defined[node.name] = "function"
    return defined


def imported_from_siblings(root: Path, file: Path, tree: ast.Module) -> dict[str, Imported]:
    """The classes, functions and modules a file imports from its package."""
    found: dict[str, Imported] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        module = _module_file(root, file, node)
        if module is None:
            continue
        defined = _defined(module)
        for alias in node.names:
            name = alias.asname or alias.name
            if alias.name in defined:
                found[name] = Imported(alias.name, defined[alias.name])
            elif module.name == "__init__.py" and (module.parent / f"{alias.name}.py").is_file():
                found[name] = Imported(alias.name, "module")  # `from . import events`
    return found


def _instances(function: ast.AST, imported: dict[str, Imported]) -> set[str]:
    """Names in `function` that hold an instance of an imported class, or a
    module of the package (`events.get_event_loop()`)."""
    names = {name for name, what in imported.items() if what.kind == "module"}
    classes = {name for name, what in imported.items() if what.kind == "class"}
    if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
        for arg in [*function.args.args, *function.args.kwonlyargs]:
            annotation = arg.annotation
            if isinstance(annotation, ast.Name) and annotation.id in classes:
                names.add(arg.arg)
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            called = node.value.func
            if isinstance(called, ast.Name) and called.id in classes:
                names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def tasks_in(root: Path, file: Path) -> list[Task]:
    source = file.read_text()
    if not source.isascii():
        return []  # ast's columns are bytes; these are characters
    tree = ast.parse(source)
    imported = imported_from_siblings(root, file, tree)
    if not imported:
        return []
    lines = source.split("\n")
    module = file.relative_to(root).as_posix()
    tasks: list[Task] = []

    def rest_of_line(kind: str, line: int, column: int) -> None:
        text = lines[line]
        if len(text[column:].strip()) >= 2 and text[:column].strip():
            tasks.append(Task(kind, module, source, line, 1, column))

    for node in ast.walk(tree):
        one_line = getattr(node, "lineno", 0) == getattr(node, "end_lineno", -1)
        if isinstance(node, ast.Call) and one_line:
            called = node.func
            end = called.end_col_offset or 0
            if (
                isinstance(called, ast.Name)
                and imported.get(called.id, MODULE).kind != "module"
                and lines[node.lineno - 1][end : end + 1] == "("
            ):
                rest_of_line("args", node.lineno - 1, end + 1)
        if isinstance(node, ast.Expr | ast.Assign | ast.Return) and one_line:
            value = node.value
            if (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Name)
                and imported.get(value.func.id, MODULE).kind != "module"
            ):
                line = node.lineno - 1
                indent = len(lines[line]) - len(lines[line].lstrip())
                tasks.append(Task("call", module, source, line, 1, indent))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            instances = _instances(node, imported)
            for inner in ast.walk(node):
                if (
                    isinstance(inner, ast.Attribute)
                    and isinstance(inner.value, ast.Name)
                    and inner.value.id in instances
                    and inner.lineno == inner.end_lineno
                    and isinstance(inner.ctx, ast.Load)
                ):
                    rest_of_line("member", inner.lineno - 1, (inner.value.end_col_offset or 0) + 1)
    return [t for t in tasks if t.kind != "member" or lines[t.line][t.column - 1] == "."]


def make_tasks(root: Path, per_kind: int, seed: int = 1234) -> list[Task]:
    """`per_kind` tasks of each kind, at most one per line, spread over files."""
    rng = random.Random(seed)
    candidates: dict[str, list[Task]] = defaultdict(list)
    for file in sorted(root.rglob("*.py")):
        for task in tasks_in(root, file):
            candidates[task.kind].append(task)
    tasks: list[Task] = []
    for kind in KINDS:
        pool = candidates[kind]
        rng.shuffle(pool)
        seen: set[tuple[str, int]] = set()
        per_file: dict[str, int] = defaultdict(int)
        for task in pool:
            if len(seen) == per_kind:
                break
            if (task.module, task.line) in seen or per_file[task.module] >= 4:
                continue  # one line once; no file more than four times
            seen.add((task.module, task.line))
            per_file[task.module] += 1
            tasks.append(task)
    return tasks


# Installed with Hearth, and far less seen in training than the standard library.
THIRD_PARTY = ("pygls", "cattrs", "lsprotocol", "pathspec", "pytest_lsp", "platformdirs")


def copy_packages(into: Path, packages: tuple[str, ...] = PACKAGES, source: Path = STDLIB) -> Path:
    root = into / "Lib"
    for package in packages:
        if (source / package).is_dir():
            shutil.copytree(
                source / package,
                root / package,
                ignore=shutil.ignore_patterns("test*", "__pycache__"),
            )
    return root


async def run_hearth(
    model: str, root: Path, tasks: list[Task], index: bool, context_tokens: int | None = None
) -> dict[str, Score]:
    scores: dict[str, Score] = defaultdict(Score)
    completion: dict[str, object] = {"maxTokens": 96, "debounceMs": 0, "invokedTimeoutMs": 120_000}
    if context_tokens is not None:
        completion["contextTokens"] = context_tokens
    settings = {"completion": completion, "context": {"workspace": index}}
    async with EditorClient(model, settings, folders=[root]) as editor:
        began = time.monotonic()
        while index and not (await editor.stats())["workspaceIndex"].get("ready"):
            await asyncio.sleep(0.2)
        if index:
            stats = (await editor.stats())["workspaceIndex"]
            print(f"  indexed {stats['files']} files in {time.monotonic() - began:.1f} s")
        for task in tasks:
            path = root / task.module
            uri = path.as_uri()
            document = task.document()
            path.write_text(document)  # the answer is on disk nowhere
            editor.open(uri, document, "python")
            editor.save(uri)
            started = time.monotonic()
            found = await editor.suggestions(uri, task.position())
            seconds = time.monotonic() - started
            filled = found[0].apply(document) if found else None
            others = [other.apply(document) for other in found[1:]]
            score(task, filled, seconds, scores[task.kind], others)
            editor.close(uri)
            path.write_text(task.source)
            editor.save(uri)
    return scores


def table(rows: list[tuple[str, str, str, Score]]) -> str:
    out = [
        "| model | system | kind | tasks | exact | any alternative exact | edit sim "
        "| no suggestion | median s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for model, system, kind, s in rows:
        n = len(s.exact)
        similarity = sum(s.similarity) / n
        median = sorted(s.seconds)[n // 2]
        cycled = f"{sum(s.any_exact)}/{n}" if system.startswith("hearth") else "-"
        out.append(
            f"| {model} | {system} | {kind} | {n} | {sum(s.exact)}/{n} | {cycled} "
            f"| {similarity:.2f} "
            f"| {sum(s.empty)} | {median:.2f} |"
        )
    return "\n".join(out)


def paired(rows: list[tuple[str, str, str, Score]]) -> str:
    exact = {(model, system, kind): s.exact for model, system, kind, s in rows}
    out = [
        "| model | kind | pair | exact only by first | exact only by second | sign test p |",
        "|---|---|---|---|---|---|",
    ]
    for first, second in (("hearth", "hearth-off"), ("hearth", "baseline")):
        for (model, system, kind), ours in exact.items():
            theirs = exact.get((model, second, kind))
            if system != first or theirs is None:
                continue
            wins, losses = exclusive(ours, theirs)
            p = sign_test(wins, losses)
            out.append(f"| {model} | {kind} | {first} / {second} | {wins} | {losses} | {p:.2f} |")
    return "\n".join(out) if len(out) > 2 else ""


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=60, help="tasks per kind")
    parser.add_argument("--presets", default="default,small")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--dump", type=Path, help="write each task's suggestions here (JSON lines)")
    parser.add_argument("--context-tokens", type=int, help="Hearth's completion.contextTokens")
    parser.add_argument(
        "--third-party",
        action="store_true",
        help=f"tasks from installed packages ({', '.join(THIRD_PARTY)}), not the stdlib",
    )
    args = parser.parse_args()
    budget = args.context_tokens
    rows: list[tuple[str, str, str, Score]] = []
    with tempfile.TemporaryDirectory(prefix="hearth-crossfile-") as folder:
        if args.third_party:
            site = Path(sysconfig.get_paths()["purelib"])
            root = copy_packages(Path(folder), THIRD_PARTY, site)
        else:
            root = copy_packages(Path(folder))
        kinds = args.kinds.split(",")
        tasks = [task for task in make_tasks(root, args.tasks) if task.kind in kinds]
        runners = {
            "hearth": lambda preset: asyncio.run(run_hearth(preset, root, tasks, True, budget)),
            "hearth-off": lambda preset: asyncio.run(
                run_hearth(preset, root, tasks, False, budget)
            ),
            "baseline": lambda preset: run_baseline(preset, tasks),
        }
        for preset in args.presets.split(","):
            if not models.preset_installed(models.PRESETS[preset]):
                print(f"{preset}: not installed, skipped")
                continue
            for system in args.systems.split(","):
                print(f"{preset} / {system}: {len(tasks)} tasks")
                scores = runners[system](preset)
                for kind in kinds:
                    rows.append((preset, system, kind, scores[kind]))
                if args.dump:
                    _dump(args.dump, preset, system, tasks, scores)
    title = (
        f"cross-file benchmark: {args.tasks} tasks per kind from {len(PACKAGES)} stdlib packages "
        "(seed 1234), only the task's file open"
    )
    report = "\n\n".join(part for part in (title, table(rows), paired(rows)) if part)
    print(report)
    record.keep("crossfile.md", report, parser, args, output_only=("dump",))


def _dump(
    path: Path, preset: str, system: str, tasks: list[Task], scores: dict[str, Score]
) -> None:
    position: dict[str, int] = defaultdict(int)
    with path.open("a") as out:
        for task in tasks:
            s = scores[task.kind]
            i = position[task.kind]
            position[task.kind] += 1
            record = {
                "preset": preset,
                "system": system,
                "kind": task.kind,
                "module": task.module,
                "line": task.line + 1,
                "expected": task.expected(),
                "written": s.written[i],
                "exact": s.exact[i],
                "seconds": round(s.seconds[i], 2),
            }
            out.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
