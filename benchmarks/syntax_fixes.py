"""The syntax-error table of fixes.py: functions broken by one deleted
character, fixed by Hearth from its own diagnostic and by the plain chat
from Python's error.

A task: a block's colon, a closing bracket, or a string's closing quote
deleted in a function (3-40 lines) of the standard-library modules of
stdlib_tests.py, drawn with a seed, the kinds in turn and the modules in
turn, one task a function. Hearth's arm fixes the first diagnostic of
features/syntax_errors.py (what the server publishes), through the region
around it, as any fix; the plain arm is told Python's error message and
its line. Fixed: the module compiles, and its syntax tree is the
original's (the function as it was, everything else untouched).
"""

from __future__ import annotations

import ast
import asyncio
import functools
import io
import itertools
import random
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

import arms
from stdlib_tests import Function, Module, drawn, functions, lines_of, quotas, source, split_lines

from lsp_server.features import syntax_repairs
from lsp_server.features.regions import region_for
from lsp_server.features.syntax_errors import syntax_errors
from lsp_server.inference.llama.engine import LlamaEngine

KINDS = ("colon", "bracket", "quote")
NO_DIAGNOSTIC = "Hearth found no syntax error"


@dataclass(frozen=True)
class SyntaxTask:
    kind: str
    function: Function
    line: int  # 0-based, in the module
    column: int  # of the character deleted
    original: str = field(repr=False)  # the module as it was

    @property
    def deleted(self) -> str:
        return split_lines(self.original)[self.line][self.column]

    @property
    def text(self) -> str:
        """The module with the character deleted."""
        lines = split_lines(self.original)
        line = lines[self.line]
        lines[self.line] = line[: self.column] + line[self.column + 1 :]
        return "".join(lines)

    def breaks(self) -> bool:
        """Whether Python cannot compile the module without the character."""
        try:
            compile(self.text, "<bench>", "exec", dont_inherit=True)
        except SyntaxError:
            return True
        return False


def syntax_breaks(function: Function, text: str, kind: str) -> list[SyntaxTask]:
    """Every way to break `function` by deleting one character of `kind`: a
    colon that opens a block, a closing bracket, or a string's closing quote
    (see SyntaxTask.breaks)."""
    region = lines_of(text, function)
    tokens = list(tokenize.generate_tokens(io.StringIO(region).readline))
    found = []
    for token, following in itertools.pairwise(tokens):
        row, column = token.end[0] - 1, token.end[1] - 1
        if kind == "colon":
            wanted = token.string == ":" and following.type in (tokenize.NEWLINE, tokenize.COMMENT)
        elif kind == "bracket":
            wanted = token.type == tokenize.OP and token.string in ")]}"
        else:
            single = token.start[0] == token.end[0] and not token.string.endswith(('"""', "'''"))
            wanted = token.type == tokenize.STRING and single
        if wanted:
            found.append(SyntaxTask(kind, function, function.first + row, column, text))
    return found


def _breaks(kind: str, module: Module, text: str, rng: random.Random) -> list[SyntaxTask]:
    return [t for f in functions(module, text) for t in syntax_breaks(f, text, kind)]


def make_tasks(count: int, seed: int) -> list[SyntaxTask]:
    """`count` functions broken by one deleted character, the kinds in turn."""
    tasks: list[SyntaxTask] = []
    used: set[tuple[str, int]] = set()
    for kind, quota in quotas(count, KINDS).items():
        made = 0
        for task in drawn(seed, kind, functools.partial(_breaks, kind)):
            key = (task.function.module.path, task.function.first)
            if made < quota and key not in used and task.breaks():
                used.add(key)
                tasks.append(task)
                made += 1
            if made == quota:
                break
    return tasks


def first_diagnostic_in_function(task: SyntaxTask) -> bool | None:
    """Whether Hearth's first diagnostic lies in the broken function; None
    when Hearth finds none."""
    found = syntax_errors(arms.document(task.function.module, task.text), "utf-16")
    if not found:
        return None
    return task.function.first <= found[0].range.start.line <= task.function.last


def run(engine: LlamaEngine, task: SyntaxTask, growth: float) -> tuple[arms.Answer, arms.Answer]:
    document = arms.document(task.function.module, task.text)
    found = syntax_errors(document, "utf-16")
    if found:
        diagnostic = found[0]
        region = region_for(document, diagnostic.range.start.line, diagnostic.range.end.line)
        request = arms.fix_request(document, region, diagnostic, task.function.module.path)
        known = syntax_repairs.repaired(document, region)
        hearths = arms.hearth(engine, document, region, request, growth, known, confined=True)
        ours = asyncio.run(hearths)
    else:
        ours = arms.Answer("", 0, None, None, 0.0, refused=NO_DIAGNOSTIC)
    try:
        compile(task.text, "<bench>", "exec", dont_inherit=True)
        said = "It does not compile."
    except SyntaxError as error:
        at = split_lines(task.text)[(error.lineno or 1) - 1].strip()
        said = f"Python cannot compile it: {error.msg}, at this line: `{at}`"
    said = f"This function has a syntax error. {said}"
    asked = arms.message(said, task.function, task.text, "Reply with the corrected function.")
    theirs = arms.plain(engine, task.text, task.function, asked, growth)
    return ours, theirs


def _same_tree(original: str, answer: arms.Answer) -> bool:
    if answer.module is None or not answer.compiles:
        return False
    return ast.dump(ast.parse(answer.module)) == ast.dump(ast.parse(original))


def bench(
    preset: str, engine: LlamaEngine, tasks: list[SyntaxTask], growth: float, dump: Path | None
) -> list[str]:
    """The table's row for the model."""
    rows: list[tuple[arms.Answer, arms.Answer, bool, bool]] = []
    for task in tasks:
        ours, theirs = run(engine, task, growth)
        original = source(task.function.module)
        ours_fixed, theirs_fixed = _same_tree(original, ours), _same_tree(original, theirs)
        rows.append((ours, theirs, ours_fixed, theirs_fixed))
        arms.dump(
            dump,
            {
                "table": "syntax",
                "preset": preset,
                "kind": task.kind,
                "module": task.function.module.path,
                "function": task.function.name,
                "line": task.line,
                "deleted": task.deleted,
                "hearth": arms.recorded(ours, ours_fixed, breaks=ours.breaks_its_lines),
                "plain": arms.recorded(theirs, theirs_fixed, breaks=theirs.breaks_its_lines),
            },
        )
    no_diagnostic = sum(ours.refused == NO_DIAGNOSTIC for ours, *_ in rows)
    return [
        f"| {preset} | {len(rows)} | {arms.paired([r[2] for r in rows], [r[3] for r in rows])} "
        f"| {sum(r[0].breaks_its_lines for r in rows)} / "
        f"{sum(r[1].breaks_its_lines for r in rows)} | {no_diagnostic} "
        f"| {arms.timing([r[0].seconds for r in rows if r[0].asked])} "
        f"| {arms.timing([r[1].seconds for r in rows])} |"
    ]


HEADER = [
    "| model | tasks | fixed: Hearth / plain | both / Hearth only / plain only / neither "
    "| Hearth / plain | offered, not compiling in its lines: Hearth / plain "
    "| no Hearth diagnostic | Hearth s: p50 / p95 | plain s: p50 / p95 |",
    "|---" * 9 + "|",
]
