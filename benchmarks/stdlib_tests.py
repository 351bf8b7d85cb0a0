"""Standard-library modules with their own tests, for benchmarks that change
code and judge the change by running the tests (fixes.py, edits.py).

A module is used when this Python has its test module: `import
test.test_<name>` must find it (the `test` package, Lib/test, is left out
of some builds; a module whose test module is absent is skipped). The
modules are pure Python, not imported when the interpreter starts (a copy
could not shadow one already loaded), and their tests take a few seconds.
unittest's own machinery imports a few of them (textwrap, ipaddress):
there too the copy is what it imports.

A changed module is tested on a copy, never on the system's files: the
copy (for a package, the whole package with the one file changed) is
written to a temporary directory, which PYTHONPATH puts before the
standard library on sys.path (`-I` and `-E` would drop PYTHONPATH), and
the module's tests run there in a subprocess, as `python -m unittest -q
test.test_<name>` runs them. The same process then checks that the module
it imported is the copy, and stops the run if not. A run that takes longer
than TIMEOUT_S counts as failed. Verdicts are cached under
.cache/bench-fixes/, keyed by a hash of the text tested, so reruns are fast.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TypeVar

STDLIB = Path(sysconfig.get_paths()["stdlib"])
CACHE = Path(__file__).resolve().parent.parent / ".cache" / "bench-fixes"
TIMEOUT_S = 60.0
FAILURE_LINES = 40  # of the first failure shown: a traceback longer than this is cut
MIN_LINES, MAX_LINES = 3, 40  # a function's lines, decorators included
URI_ROOT = "/bench/"  # where the copy is said to be, in failures and document URIs
T = TypeVar("T")


@dataclass(frozen=True)
class Module:
    path: str  # the file, relative to the standard library: "json/decoder.py"
    tests: str  # its test module: "test.test_json"

    @property
    def name(self) -> str:
        """Its import name: "json.decoder"."""
        dotted = self.path.removesuffix(".py").replace("/", ".")
        return dotted.removesuffix(".__init__")

    @property
    def package(self) -> str | None:
        """The package directory it is in, copied whole with it; None for a lone module."""
        return self.path.split("/")[0] if "/" in self.path else None

    @property
    def uri(self) -> str:
        return "file://" + URI_ROOT + self.path


# bisect and heapq are left out: their C twins replace the Python functions,
# so a bug there mostly goes unseen. difflib, pprint, argparse, gettext,
# fnmatch and dis are left out too: unittest uses them to run and report,
# and a bug there would break the runner rather than fail a test.
MODULES = (
    Module("textwrap.py", "test.test_textwrap"),
    Module("shlex.py", "test.test_shlex"),
    Module("csv.py", "test.test_csv"),
    Module("fractions.py", "test.test_fractions"),
    Module("statistics.py", "test.test_statistics"),
    Module("configparser.py", "test.test_configparser"),
    Module("json/decoder.py", "test.test_json"),
    Module("json/encoder.py", "test.test_json"),
    Module("calendar.py", "test.test_calendar"),
    Module("string.py", "test.test_string"),
    Module("colorsys.py", "test.test_colorsys"),
    Module("graphlib.py", "test.test_graphlib"),
    Module("ipaddress.py", "test.test_ipaddress"),
    Module("getopt.py", "test.test_getopt"),
    Module("base64.py", "test.test_base64"),
    Module("quopri.py", "test.test_quopri"),
    # Few of the modules above build a list in a loop: these have some, for
    # edits.py's comprehensions.
    Module("optparse.py", "test.test_optparse"),
    Module("pstats.py", "test.test_pstats"),
    Module("mimetypes.py", "test.test_mimetypes"),
    Module("mailbox.py", "test.test_mailbox"),
)


@cache
def modules() -> tuple[Module, ...]:
    """MODULES that this Python has, with their test modules."""
    found = []
    for module in MODULES:
        if not (STDLIB / module.path).exists():
            continue
        try:
            if importlib.util.find_spec(module.tests) is None:
                continue
        except ImportError:  # no `test` package at all
            continue
        found.append(module)
    return tuple(found)


def source(module: Module) -> str:
    return (STDLIB / module.path).read_text()


@dataclass(frozen=True)
class Function:
    module: Module
    name: str
    first: int  # 0-based, its first decorator or its `def`
    last: int  # 0-based, inclusive
    node: ast.FunctionDef | ast.AsyncFunctionDef
    method: bool = False  # its first parameter is the instance or the class

    @property
    def parameters(self) -> list[ast.arg]:
        """The parameters a caller passes: a method's first one left out."""
        arguments = self.node.args
        found = [*arguments.posonlyargs, *arguments.args]
        found = found[1:] if self.method else found
        found += [*arguments.kwonlyargs]
        return found + [a for a in (arguments.vararg, arguments.kwarg) if a is not None]

    @property
    def line_count(self) -> int:
        return self.last - self.first + 1


def functions(module: Module, text: str | None = None) -> list[Function]:
    """The module's functions and methods of MIN_LINES-MAX_LINES lines with
    no function or class inside: the region Hearth rewrites is then the
    function itself, and a bug in it is in that region."""
    tree = ast.parse(text if text is not None else source(module))
    found = []
    parents: list[ast.AST] = [tree]
    while parents:
        parent = parents.pop()
        for node in ast.iter_child_nodes(parent):
            if isinstance(node, ast.ClassDef):
                parents.append(node)
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            nested = any(
                isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                for inner in ast.walk(node)
                if inner is not node
            )
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            last = (node.end_lineno or node.lineno) - 1
            static = any(
                isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list
            )
            method = isinstance(parent, ast.ClassDef) and not static
            if not nested and MIN_LINES <= last - first + 1 <= MAX_LINES:
                found.append(Function(module, node.name, first, last, node, method))
    return sorted(found, key=lambda f: f.first)


def split_lines(text: str) -> list[str]:
    """`text`'s lines, each with its `\\n`, as Python's parser counts them
    (str.splitlines would also break at form feeds and other separators)."""
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


def lines_of(text: str, function: Function) -> str:
    """The function's lines in `text`, each with its line break."""
    return "".join(split_lines(text)[function.first : function.last + 1])


def replaced(text: str, first: int, last: int, new: str) -> str:
    """`text` with its lines `first`..`last` (0-based, inclusive) replaced by `new`."""
    lines = split_lines(text)
    if new and not new.endswith("\n"):
        new += "\n"
    return "".join([*lines[:first], new, *lines[last + 1 :]])


@dataclass(frozen=True)
class Verdict:
    passed: bool
    failure: str  # the first failing test's block, cut to FAILURE_LINES; "" when passed
    seconds: float
    timed_out: bool = False


# Runs the tests as `python -m unittest -q <tests>` does, then checks that
# the module under test came from the copy (exit 3 if it did not).
_DRIVER = """
import sys, unittest
name, tests, root = sys.argv[1:4]
program = unittest.main(module=None, argv=["python -m unittest", "-q", tests], exit=False)
loaded = sys.modules.get(name)
where = getattr(loaded, "__file__", None) or ""
if loaded is not None and not where.startswith(root):
    print(f"bench: {name} came from {where}, not the copy", file=sys.stderr)
    sys.exit(3)
sys.exit(0 if program.result.wasSuccessful() else 1)
"""


class NotTheCopy(RuntimeError):
    """The tests imported the system's module, not the changed copy."""


def run_tests(module: Module, text: str) -> Verdict:
    """The module's tests run with its file's text `text`, cached by the text."""
    key = hashlib.sha256(
        "\0".join([sys.version, module.path, module.tests, text]).encode()
    ).hexdigest()
    cached = CACHE / f"{key}.json"
    if cached.exists():
        return Verdict(**json.loads(cached.read_text()))
    verdict = _run(module, text)
    CACHE.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(verdict.__dict__))
    return verdict


def _run(module: Module, text: str) -> Verdict:
    with tempfile.TemporaryDirectory(prefix="bench-tests-") as directory:
        root = os.path.realpath(directory)
        if module.package is not None:
            shutil.copytree(
                STDLIB / module.package,
                Path(root) / module.package,
                ignore=shutil.ignore_patterns("__pycache__"),
            )
        (Path(root) / module.path).write_text(text)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        # No bytecode written: the test modules' would go into the system's tree.
        env.update(PYTHONPATH=root, PYTHONDONTWRITEBYTECODE="1")
        command = [sys.executable, "-s", "-c", _DRIVER, module.name, module.tests, root + "/"]
        started = time.monotonic()
        # A session of its own, so that a hang's children are stopped with it.
        process = subprocess.Popen(
            command,
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            output, _ = process.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            said = f"the tests did not finish within {TIMEOUT_S:.0f} s"
            return Verdict(False, said, time.monotonic() - started, timed_out=True)
        seconds = time.monotonic() - started
        if process.returncode == 3:
            raise NotTheCopy(output.strip().splitlines()[-1])
        output = output.replace(root + "/", URI_ROOT)
        if process.returncode == 0:
            return Verdict(True, "", seconds)
        return Verdict(False, first_failure(output), seconds)


_RULE = re.compile(r"^(=+|-+)$")


def first_failure(output: str) -> str:
    """The first FAIL:/ERROR: block of unittest's output: its title and its
    traceback, the middle cut when it is longer than FAILURE_LINES."""
    lines = output.splitlines()
    start = next(
        (i for i, line in enumerate(lines) if line.startswith(("FAIL: ", "ERROR: "))), None
    )
    if start is None:  # the run broke before unittest reported: its last lines
        return "\n".join(lines[-FAILURE_LINES:])
    block = [lines[start]]
    for line in lines[start + 2 :]:  # past the title's rule
        if _RULE.match(line):
            break
        block.append(line)
    while block and not block[-1].strip():
        block.pop()
    if len(block) > FAILURE_LINES:
        head = FAILURE_LINES // 4
        block = [*block[:head], "    ...", *block[head - FAILURE_LINES + 1 :]]
    return "\n".join(block)


_FRAME = re.compile(r'^\s*File "([^"]+)", line (\d+), in (\S+)')


def failing_line(failure: str, function: Function) -> int | None:
    """The 0-based line of the innermost traceback frame in `function`'s
    file and inside its lines, None if there is none."""
    where = URI_ROOT + function.module.path
    found = None
    for line in failure.splitlines():
        frame = _FRAME.match(line)
        if frame and frame.group(1) == where:
            at = int(frame.group(2)) - 1
            if function.first <= at <= function.last:
                found = at
    return found


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def function_near(text: str, name: str, line: int) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The function `name` of the module `text` that starts nearest its
    0-based `line` (a changed module may hold several of that name: the
    `__init__` of each class); None if `text` does not parse or has none."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    found = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name
    ]
    return min(found, key=lambda node: abs(node.lineno - 1 - line), default=None)


def quotas(count: int, kinds: tuple[str, ...]) -> dict[str, int]:
    """`count` tasks shared out evenly over `kinds`, the first ones taking the rest."""
    return {kind: count // len(kinds) + (i < count % len(kinds)) for i, kind in enumerate(kinds)}


def drawn(
    seed: int, kind: str, found: Callable[[Module, str, random.Random], list[T]]
) -> Iterator[T]:
    """What `found` finds of `kind` in each module (given its text and a
    random source of its own), the modules in turn in an order drawn with
    `seed` and `kind`, each module's finds in a drawn order: a benchmark
    takes what it needs from the start, so tasks spread over the modules."""
    order = list(modules())
    # An order of each kind's own: a benchmark takes a few tasks of each
    # kind, and with one order for all, the same modules would come first.
    random.Random(f"{seed}:{kind}").shuffle(order)
    queues = []
    for module in order:
        rng = random.Random(f"{seed}:{kind}:{module.path}")
        finds = found(module, source(module), rng)
        rng.shuffle(finds)
        queues.append(finds)
    while any(queues):
        for queue in queues:
            if queue:
                yield queue.pop(0)


def number_names(nodes: list[ast.AST]) -> set[str]:
    """Names that hold numbers, as far as their uses show: a `range` loop's
    variable, a name counted up or down, or set from len() or a number, or
    added to or compared with a number. An off-by-one put on another name
    (a key, a text) would be a type error, not the bug meant."""

    def numeric(node: ast.AST) -> bool:
        return (isinstance(node, ast.Constant) and type(node.value) is int) or (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("len", "range", "int", "enumerate")
        )

    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.For) and isinstance(node.target, ast.Name) and numeric(node.iter):
            found.add(node.target.id)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            if numeric(node.value):
                found.add(node.target.id)
        elif isinstance(node, ast.Assign) and numeric(node.value):
            found |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.BinOp | ast.Compare):
            sides = (
                [node.left, node.right]
                if isinstance(node, ast.BinOp)
                else [node.left, *node.comparators]
            )
            if any(numeric(side) for side in sides):
                found |= {side.id for side in sides if isinstance(side, ast.Name)}
    return found


def index_numbers(nodes: list[ast.AST]) -> set[int]:
    """The whole numbers that are an index or a slice's bound: `[0]`, `[-1]`, `[1:]`."""
    found = set()
    for node in nodes:
        if not isinstance(node, ast.Subscript):
            continue
        bounds = (
            [node.slice.lower, node.slice.upper]
            if isinstance(node.slice, ast.Slice)
            else [node.slice]
        )
        for bound in bounds:
            if isinstance(bound, ast.UnaryOp) and isinstance(bound.op, ast.USub):
                bound = bound.operand
            if isinstance(bound, ast.Constant) and type(bound.value) is int:
                found.add(id(bound))
    return found
