"""Fix benchmark: Hearth's quick fixes of bugs that make tests fail, paired
with a plain chat prompt of the same model, and of syntax errors.

Tasks: bugs put into functions (3-40 lines) of standard-library modules
that the standard library's own tests cover (stdlib_tests.py says which
modules, and how their tests run on a changed copy), each an edit of one
line (bugs.py), drawn with a seed, the kinds in turn and the modules in
turn, one task a function:
- operator:          `<`/`<=`, `>`/`>=`, `==`/`!=`, `+`/`-`, `and`/`or` swapped;
- off_by_one:        `[i]` to `[i + 1]`, `range(n)` to `range(n - 1)`, ...;
- wrong_variable:    a name read replaced by another local of the function;
- missing_condition: an `if` test's `not`, or one operand of its `and`, dropped;
- wrong_constant:    a number or a short text changed;
- swapped_arguments: two positional arguments of a call swapped.
A bug is a task only if the module's tests fail with it (and pass without
it). What a user would see is the first failing test's block of unittest's
output; the diagnostic is put on the innermost traceback frame in the
function (else on its `def` line), source "unittest".

Arms (arms.py): Hearth's own fix path in-process (the region around the
diagnostic, the code it uses from its module, the request fixes.request_in
makes, proposals.propose with the server's budget
of 1.5x the region's tokens + 64), and the same model's plain chat, asked
with the failure and the function to "Reply with the corrected function."
A fix passes when the module's tests pass with it.

Reported per model: passes of each arm and the pairs; offered fixes that
do not compile (Hearth's must be none: its checks refuse them); lines
changed besides the bug's (median over what was offered); the whole
call's time, p50 / p95; Hearth's time over the time the model took to read
its prompts (the bar: a fix of a function of up to 40 lines in a p50 of at
most 2x the prompt read), over all tasks and over those where a fix was
offered (the time a fix takes to show; a task with none offered took two
tries); and the passes per kind.

Syntax errors, a table of their own (syntax_fixes.py): a block's colon, a
closing bracket, or a string's closing quote deleted in a function. Hearth
fixes the first of its own diagnostics (features/syntax_errors.py); the
plain arm is told Python's error and its line. Fixed: the module compiles
and its syntax tree is the original's.

    python benchmarks/fixes.py [--tasks N] [--syntax N] [--presets default,small]
        [--kinds operator,...] [--seed N] [--dump FILE] [--check-tasks] [--plain-cache]

`--check-tasks` builds the tasks only (no model): each bug's tests fail and
each original's pass, with counts per kind and module.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import random
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import arms
import bugs
import record
import stdlib_tests
import syntax_fixes
from bugs import Bug
from lsprotocol import types
from stdlib_tests import (
    Module,
    drawn,
    failing_line,
    functions,
    modules,
    quotas,
    run_tests,
    source,
    split_lines,
)

from lsp_server.documents import Document
from lsp_server.features import failure_fixes, failures, related_code, syntax_repairs
from lsp_server.features.proposals import NotWritten
from lsp_server.features.regions import region_for
from lsp_server.inference import models
from lsp_server.inference.llama.engine import LlamaEngine

GROWTH = 1.5  # the answer's budget over the region's tokens, as fixes.fix asks it


@dataclass(frozen=True)
class FixTask:
    bug: Bug
    failure: str  # the first failing test's block
    line: int  # 0-based: where the diagnostic is


def _bugs(kind: str, module: Module, text: str, rng: random.Random) -> list[Bug]:
    return [b for f in functions(module, text) for b in bugs.bugs(f, text, kind, rng)]


def make_tasks(count: int, kinds: tuple[str, ...], seed: int) -> tuple[list[FixTask], int]:
    """`count` bugs, the kinds spread evenly, the modules in turn, one a
    function, each failing its module's tests; and how many were tried."""
    originals = {m: run_tests(m, source(m)) for m in modules()}
    broken = [m.path for m, verdict in originals.items() if not verdict.passed]
    if broken:
        raise SystemExit(f"these modules fail their own tests here: {', '.join(broken)}")
    used: set[tuple[str, int]] = set()
    tasks: list[FixTask] = []
    tried = 0
    for kind, quota in quotas(count, kinds).items():
        made = 0
        for bug in drawn(seed, kind, functools.partial(_bugs, kind)):
            if made == quota:
                break
            key = (bug.function.module.path, bug.function.first)
            if key in used or not bug.checked():
                continue
            tried += 1
            verdict = run_tests(bug.function.module, bug.text)
            if verdict.passed or verdict.timed_out:
                continue  # unseen by the tests, or a hang: no failure to show
            used.add(key)
            line = failing_line(verdict.failure, bug.function)
            at = bug.function.node.lineno - 1 if line is None else line
            tasks.append(FixTask(bug, verdict.failure, at))
            made += 1
    return tasks, tried


def _line_range(text: str, line: int) -> types.Range:
    words = split_lines(text)[line].rstrip("\n")
    start = len(words) - len(words.lstrip())
    return types.Range(
        start=types.Position(line=line, character=start),
        end=types.Position(line=line, character=len(words)),
    )


def _callers(task: FixTask) -> Sequence[types.DiagnosticRelatedInformation] | None:
    """The related information hearth.fixFailure gives the failure: its
    frames in the workspace outside the innermost in the module
    (failure_fixes.py), the workspace being the module's package and the
    standard library's tests. A failure with no frame in the module (an
    assertion of the test) is related to the test's frame."""
    failure = failures.parse(task.failure)
    if failure is None:
        return None
    where = stdlib_tests.URI_ROOT + task.bug.function.module.path
    inner = [frame for frame in failure.frames if frame.path == where]
    frame = inner[-1] if inner else failures.Frame(where, task.line + 1, None, None)
    if not inner:
        failure = replace(failure, frames=(*failure.frames, frame))
    callers = failure_fixes.callers_of(failure, frame, _resolved)
    return failure_fixes.diagnostic_of(failure, frame, callers).related_information


def _resolved(path: str) -> Path | None:
    """A frame's file in the benchmark's workspace: the module's package
    (as the failure names its copy) or a test of the standard library."""
    found = Path(path)
    if path.startswith(stdlib_tests.URI_ROOT):
        return found
    return found if found.is_relative_to(stdlib_tests.STDLIB / "test") else None


def _read(document: Document, uri: str) -> Document | None:
    """The benchmark's reader of related places: the buggy module is the
    document, its package's other files and the tests are read from the
    standard library."""
    if uri == document.uri:
        return document
    path = uri.removeprefix("file://")
    if path.startswith(stdlib_tests.URI_ROOT):
        path = str(stdlib_tests.STDLIB / path.removeprefix(stdlib_tests.URI_ROOT))
    try:
        return related_code.read_document(Path(path), 1_000_000)
    except NotWritten:
        return None


def run(engine: LlamaEngine, task: FixTask) -> tuple[arms.Answer, arms.Answer]:
    bug = task.bug
    document = arms.document(bug.function.module, bug.text)
    region = region_for(document, task.line, task.line)
    diagnostic = types.Diagnostic(
        range=_line_range(bug.text, task.line),
        message=task.failure,
        severity=types.DiagnosticSeverity.Error,
        source="unittest",
    )
    diagnostic.related_information = _callers(task)
    read = functools.partial(_read, document)
    request = arms.fix_request(document, region, diagnostic, bug.function.module.path, read)
    known = syntax_repairs.repaired(document, region)  # none: these bugs compile
    ours = asyncio.run(arms.hearth(engine, document, region, request, GROWTH, known, confined=True))
    said = f"The tests of this function fail:\n{task.failure}"
    asked = arms.message(said, bug.function, bug.text, "Reply with the corrected function.")
    theirs = arms.plain(engine, bug.text, bug.function, asked, GROWTH)
    return ours, theirs


def _passes(module: Module, answer: arms.Answer) -> bool:
    return answer.module is not None and answer.compiles and run_tests(module, answer.module).passed


def bench(
    preset: str, engine: LlamaEngine, tasks: list[FixTask], dump: Path | None
) -> tuple[list[str], list[str]]:
    """The fix table's row for the model, and the rows of its kinds."""
    rows: list[tuple[FixTask, arms.Answer, arms.Answer, bool, bool]] = []
    for task in tasks:
        ours, theirs = run(engine, task)
        bug = task.bug
        module = bug.function.module
        ours_passed, theirs_passed = _passes(module, ours), _passes(module, theirs)
        rows.append((task, ours, theirs, ours_passed, theirs_passed))
        arms.dump(
            dump,
            {
                "table": "fixes",
                "preset": preset,
                "kind": bug.kind,
                "module": module.path,
                "function": bug.function.name,
                "line": bug.line,
                "before": bug.before,
                "after": bug.after,
                "failure": task.failure,
                "diagnostic_line": task.line,
                "hearth": arms.recorded(ours, ours_passed, outside=arms.outside(ours, {bug.line})),
                "plain": arms.recorded(
                    theirs, theirs_passed, outside=arms.outside(theirs, {bug.line})
                ),
            },
        )
    # Every function here is of at most 40 lines: each counts for the bar,
    # which is the time a fix takes to show: also over the fixes offered.
    ratio = f"{_ratio([r[1] for r in rows])} / {_ratio([r[1] for r in rows if r[1].new])}"
    main = (
        f"| {preset} | {len(rows)} | {arms.paired([r[3] for r in rows], [r[4] for r in rows])} "
        f"| {sum(r[1].new is not None and not r[1].compiles for r in rows)} / "
        f"{sum(not r[2].compiles for r in rows)} "
        f"| {arms.median([arms.outside(r[1], {r[0].bug.line}) for r in rows])} / "
        f"{arms.median([arms.outside(r[2], {r[0].bug.line}) for r in rows])} "
        f"| {arms.timing([r[1].seconds for r in rows])} "
        f"| {arms.timing([r[2].seconds for r in rows])} | {ratio} |"
    )
    kinds = []
    for kind in dict.fromkeys(r[0].bug.kind for r in rows):
        of_kind = [r for r in rows if r[0].bug.kind == kind]
        kinds.append(
            f"| {preset} | {kind} | {len(of_kind)} | {sum(r[3] for r in of_kind)} / "
            f"{sum(r[4] for r in of_kind)} |"
        )
    return [main], kinds


def _ratio(answers: list[arms.Answer]) -> str:
    """The median of the answers' time over the time they took to read their prompts."""
    ratios = [a.seconds / a.prompt_seconds for a in answers if a.prompt_seconds > 0]
    return f"{statistics.median(ratios):.2f}x" if ratios else "-"


def _counts(label: str, found: Counter[str]) -> None:
    print(f"  {label}: " + ", ".join(f"{key} {count}" for key, count in found.items()))


def check_tasks(args: argparse.Namespace, kinds: tuple[str, ...]) -> None:
    """Build the tasks and say what they are, without the model."""
    started = time.monotonic()
    tasks, tried = make_tasks(args.tasks, kinds, args.seed)
    for task in tasks:  # each checked again (cached): the bug fails, the original passes
        module = task.bug.function.module
        assert not run_tests(module, task.bug.text).passed
        assert run_tests(module, source(module)).passed
    took = time.monotonic() - started
    print(f"{len(tasks)} fix tasks of {args.tasks} asked, {tried} bugs tested, in {took:.0f} s")
    _counts("kinds", Counter(t.bug.kind for t in tasks))
    _counts("modules", Counter(sorted(t.bug.function.module.path for t in tasks)))
    in_function = sum(t.line != t.bug.function.node.lineno - 1 for t in tasks)
    on_bug = sum(t.line == t.bug.line for t in tasks)
    print(f"  diagnostic on a traceback line in the function: {in_function}, on the bug: {on_bug}")
    started = time.monotonic()
    syntax = syntax_fixes.make_tasks(args.syntax, args.seed)
    where = Counter(syntax_fixes.first_diagnostic_in_function(t) for t in syntax)
    took = time.monotonic() - started
    print(
        f"{len(syntax)} syntax tasks of {args.syntax} asked, in {took:.0f} s; Hearth's first "
        f"diagnostic in the function: {where[True]}, elsewhere: {where[False]}, none: {where[None]}"
    )
    _counts("kinds", Counter(t.kind for t in syntax))
    _counts("modules", Counter(sorted(t.function.module.path for t in syntax)))


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=60, help="bugs that fail tests")
    parser.add_argument("--syntax", type=int, default=40, help="syntax errors")
    parser.add_argument("--presets", default="default,small")
    parser.add_argument("--kinds", default=",".join(bugs.KINDS))
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--dump", type=Path, help="write each task's outputs here (JSON lines)")
    parser.add_argument("--check-tasks", action="store_true", help="build the tasks only")
    arms.add_plain_cache_option(parser)
    args = parser.parse_args()
    cache_note = arms.use_plain_cache(args)
    kinds = tuple(args.kinds.split(","))
    if args.check_tasks:
        check_tasks(args, kinds)
        return
    tasks, _ = make_tasks(args.tasks, kinds, args.seed)
    syntax = syntax_fixes.make_tasks(args.syntax, args.seed)
    fix_rows, kind_rows, syntax_rows = [], [], []
    for preset in args.presets.split(","):
        if not models.preset_installed(models.PRESETS[preset]):
            print(f"(skipping {preset}: pip install 'hearth-lsp[{models.PRESETS[preset].extra}]')")
            continue
        engine = arms.load_engine(preset)
        arms.warm_up(engine)
        rows, by_kind = bench(preset, engine, tasks, args.dump)
        fix_rows += rows
        kind_rows += by_kind
        syntax_rows += syntax_fixes.bench(preset, engine, syntax, GROWTH, args.dump)
        engine.close()
    report = "\n".join(
        [
            f"fix benchmark: {len(tasks)} bugs put into standard-library functions (3-40 "
            "lines), each failing the module's own tests; Hearth's fix path (the region, "
            "the diagnostic, the draft, the checks) against the same model's plain chat, "
            "greedy; passed: the module's tests pass with the fix",
            "",
            "| model | tasks | passed: Hearth / plain | both / Hearth only / plain only / neither "
            "| Hearth / plain | offered, not compiling: Hearth / plain "
            "| lines changed besides the bug (median (mean)): Hearth / plain "
            "| Hearth s: p50 / p95 | plain s: p50 / p95 "
            "| Hearth s / prompt read s (p50): all / fixes offered |",
            "|---" * 10 + "|",
            *fix_rows,
            "",
            "| model | kind | tasks | passed: Hearth / plain |",
            "|---" * 4 + "|",
            *kind_rows,
        ]
    )
    if syntax:
        report += "\n".join(
            [
                "",
                "",
                f"syntax errors: {len(syntax)} functions with a colon, a closing bracket or a "
                "closing quote deleted; Hearth fixes its own first diagnostic, the plain chat "
                "is told Python's error; fixed: the module compiles to the original's syntax "
                "tree",
                "",
                *syntax_fixes.HEADER,
                *syntax_rows,
            ]
        )
    if cache_note:
        report += "\n" + cache_note
    print(report)
    record.keep("fixes.md", report, parser, args, output_only=("dump",))


if __name__ == "__main__":
    main()
