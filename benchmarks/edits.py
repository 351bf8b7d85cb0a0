"""Edit benchmark: Hearth's edits by instruction, paired with a plain chat
prompt of the same model.

Tasks (edit_tasks.py): instructions on functions (3-40 lines) of
standard-library modules their own tests cover (stdlib_tests.py: which
modules, and how the tests run on a changed copy): type hints added, a
local renamed, a guard that raises ValueError, a loop made a list
comprehension, a parameter added with a default and used.

Arms (arms.py): Hearth's edit path in-process (the function around the
cursor on its `def` line, instructions.request_for, proposals.propose with
the server's budget of 2x the region's tokens + 64), and the same model's
plain chat, asked with the function and the instruction to "Reply with
the changed function."

An edit passes when it compiles, does what was asked (a check of the new
function's syntax tree, edit_tasks.checked) and the module's tests pass.
Lines changed besides the request: lines of the new function that are not
copies (difflib) and old lines deleted outright, less those the check
says the request needs (for a rename, the lines with the new name; for
hints, the signature; ...).

    python benchmarks/edits.py [--tasks N] [--presets default,small]
        [--kinds hints,rename,guard,comprehension,parameter] [--seed N]
        [--dump FILE] [--check-tasks] [--plain-cache]
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import logging
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import arms
import record
from edit_tasks import KINDS, EditTask, checked, guarded, make_tasks, renamed
from stdlib_tests import function_near, run_tests, source, split_lines

from lsp_server.features import instructions
from lsp_server.features.regions import region_for
from lsp_server.inference import models
from lsp_server.inference.llama.engine import LlamaEngine

GROWTH = 2.0  # the answer's budget over the region's tokens, as instructions.propose asks it


@dataclass
class Judged:
    answer: arms.Answer
    done: bool  # what was asked, by the check of the new function
    tests: bool | None  # the module's tests pass; None: not run (it did not compile or do it)
    outside: int | None  # lines changed besides those the request needs

    @property
    def passed(self) -> bool:
        return self.done and bool(self.tests)


def _changed(old: str, new: str) -> tuple[set[int], set[int]]:
    """Lines of `new` that are not copies of `old`'s, and lines of `old`
    deleted outright (0-based within each)."""
    matcher = difflib.SequenceMatcher(a=split_lines(old), b=split_lines(new), autojunk=False)
    written: set[int] = set()
    deleted: set[int] = set()
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "insert"):
            written.update(range(j1, j2))
        elif tag == "delete":
            deleted.update(range(i1, i2))
    return written, deleted


def judge(task: EditTask, answer: arms.Answer) -> Judged:
    if answer.module is None or answer.new is None or not answer.compiles:
        return Judged(answer, False, None, None)
    function = task.function
    new = function_near(answer.module, function.name, function.node.lineno - 1)
    if new is None:
        return Judged(answer, False, None, None)
    done, needed, may_delete = checked(task, new, function.node)
    written, deleted = _changed(answer.old, answer.new)
    outside = (
        len({answer.first + line for line in written} - needed)
        + len({answer.first + line for line in deleted} - may_delete)
        + answer.added  # the plain arm's imports, as Hearth's above the function count
    )
    tests = run_tests(function.module, answer.module).passed if done else None
    return Judged(answer, done, tests, outside)


def run(engine: LlamaEngine, task: EditTask) -> tuple[Judged, Judged]:
    function = task.function
    text = source(function.module)
    document = arms.document(function.module, text)
    region = region_for(document, function.node.lineno - 1, function.node.lineno - 1)
    request = instructions.request_for(task.instruction)
    ours = asyncio.run(arms.hearth(engine, document, region, request, GROWTH))
    said = task.instruction[0].upper() + task.instruction[1:] + "."
    # The code first and then what to do with it, as one asks in a chat.
    asked = arms.message(said, function, text, "Reply with the changed function.", True)
    theirs = arms.plain(engine, text, function, asked, GROWTH, imports=True)
    return judge(task, ours), judge(task, theirs)


def _row(preset: str, kind: str, rows: list[tuple[EditTask, Judged, Judged]]) -> str:
    ours, theirs = [r[1] for r in rows], [r[2] for r in rows]
    return (
        f"| {preset} | {kind} | {len(rows)} "
        f"| {arms.paired([j.passed for j in ours], [j.passed for j in theirs])} "
        f"| {sum(j.answer.new is not None and not j.answer.compiles for j in ours)} / "
        f"{sum(not j.answer.compiles for j in theirs)} "
        f"| {arms.median([j.outside for j in ours])} / "
        f"{arms.median([j.outside for j in theirs])} "
        f"| {arms.timing([j.answer.seconds for j in ours])} "
        f"| {arms.timing([j.answer.seconds for j in theirs])} |"
    )


def _recorded(judged: Judged) -> dict[str, object]:
    more = {"done": judged.done, "tests": judged.tests, "outside": judged.outside}
    return arms.recorded(judged.answer, judged.passed, **more)


def bench(preset: str, tasks: list[EditTask], dump: Path | None) -> list[str]:
    """The rows of the model's kinds, and of all."""
    engine = arms.load_engine(preset)
    arms.warm_up(engine)
    rows: list[tuple[EditTask, Judged, Judged]] = []
    for task in tasks:
        ours, theirs = run(engine, task)
        rows.append((task, ours, theirs))
        arms.dump(
            dump,
            {
                "preset": preset,
                "kind": task.kind,
                "module": task.function.module.path,
                "function": task.function.name,
                "instruction": task.instruction,
                "hearth": _recorded(ours),
                "plain": _recorded(theirs),
            },
        )
    engine.close()
    kinds = dict.fromkeys(r[0].kind for r in rows)
    lines = [_row(preset, kind, [r for r in rows if r[0].kind == kind]) for kind in kinds]
    return [*lines, _row(preset, "all", rows)]


def check_tasks(args: argparse.Namespace, kinds: tuple[str, ...]) -> None:
    """Build the tasks and try the checks, without the model: the original
    does not already do what is asked, and a rename or guard written by
    hand does it and passes the tests."""
    started = time.monotonic()
    tasks = make_tasks(args.tasks, kinds, args.seed)
    built = time.monotonic() - started
    print(f"{len(tasks)} edit tasks of {args.tasks} asked, in {built:.0f} s")
    for label, found in (
        ("kinds", Counter(t.kind for t in tasks)),
        ("modules", Counter(sorted(t.function.module.path for t in tasks))),
    ):
        print(f"  {label}: " + ", ".join(f"{key} {count}" for key, count in found.items()))
    for task in tasks:
        function = task.function
        text = source(function.module)
        assert not checked(task, function.node, function.node)[0], task
        by_hand = {"rename": renamed, "guard": guarded}.get(task.kind)
        if by_hand is not None:
            changed = by_hand(task, text)
            new = function_near(changed, function.name, function.node.lineno - 1)
            assert new is not None, task
            assert checked(task, new, function.node)[0], task
            assert run_tests(function.module, changed).passed, task
    print(f"  checked in {time.monotonic() - started:.0f} s")


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=40, help="instructions")
    parser.add_argument("--presets", default="default,small")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--dump", type=Path, help="write each task's outputs here (JSON lines)")
    parser.add_argument("--check-tasks", action="store_true", help="build the tasks only")
    arms.add_plain_cache_option(parser)
    args = parser.parse_args()
    cache_note = arms.use_plain_cache(args)
    kinds = tuple(args.kinds.split(","))
    if args.check_tasks:
        check_tasks(args, kinds)
        return
    tasks = make_tasks(args.tasks, kinds, args.seed)
    rows = []
    for preset in args.presets.split(","):
        if not models.preset_installed(models.PRESETS[preset]):
            print(f"(skipping {preset}: pip install 'hearth-lsp[{models.PRESETS[preset].extra}]')")
            continue
        rows += bench(preset, tasks, args.dump)
    report = "\n".join(
        [
            f"edit benchmark: {len(tasks)} instructions on standard-library functions (3-40 "
            "lines); Hearth's edit path (the function at the cursor, the request, the draft, "
            "the checks) against the same model's plain chat, greedy; passed: it does what was "
            "asked (a check of the syntax tree) and the module's own tests pass",
            "",
            "| model | kind | tasks | passed: Hearth / plain "
            "| both / Hearth only / plain only / neither | Hearth / plain "
            "| offered, not compiling: Hearth / plain "
            "| lines changed besides the request (median (mean)): Hearth / plain "
            "| Hearth s: p50 / p95 | plain s: p50 / p95 |",
            "|---" * 10 + "|",
            *rows,
        ]
    )
    if cache_note:
        report += "\n" + cache_note
    print(report)
    record.keep("edits.md", report, parser, args, output_only=("dump",))


if __name__ == "__main__":
    main()
