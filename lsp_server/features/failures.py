"""Failures the user pasted or selected: where in the workspace they happened.

`hearth.fixFailure` takes the text of a failure (a Python traceback, pytest's
report, a Node.js stack, a Rust or Go panic, a Java stack trace), treats the
error as a diagnostic at the innermost frame that lies in the workspace, and
asks the model to fix the code there. This module only reads text and looks
for files: `parse` finds the frames and the error, `resolver` maps the paths a
failure prints to files under the workspace roots (and never outside them),
and `innermost_in` picks the frame. It runs nothing the failure names.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

MESSAGE_LINES = 20  # past this, an error's text is output, not the error
MAX_FILES = 20_000  # visited when a path is found by its end: a huge tree is not searched whole
# Code the user did not write, or a copy of it: never the frame to fix, never searched.
_NOT_OURS = frozenset(
    {"node_modules", ".venv", "venv", "site-packages", "dist-packages", "__pycache__"}
    | {"target", "build", ".tox", ".nox", ".git"}  # build output, and tools' own folders
)


@dataclass(frozen=True)
class Frame:
    """One place in a failure's stack."""

    path: str  # as written in the failure text
    line: int  # 1-based, as failures print them
    column: int | None  # 1-based where the format gives one
    function: str | None


@dataclass(frozen=True)
class Failure:
    """A failure's stack and its error."""

    frames: tuple[Frame, ...]  # outermost first, as found in the text
    message: str  # the error itself, as printed (at most MESSAGE_LINES lines)
    kind: str  # "python", "pytest", "node", "rust", "go", "java"


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def parse(text: str) -> Failure | None:
    """The failure in `text`, None when it holds no frame Hearth can read."""
    lines = _ANSI.sub("", text).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    # The most distinctive formats first: a pytest location line or a Node `at` line
    # could turn up inside the others' output, never the other way round.
    for read in (_rust, _go, _java, _python, _pytest, _node):
        if (failure := read(lines)) is not None:
            return failure
    return None


def innermost_in(
    failure: Failure, resolve: Callable[[str], Path | None]
) -> tuple[Frame, Path] | None:
    """The innermost frame whose path `resolve` maps to a file of the workspace."""
    for frame in reversed(failure.frames):
        if (path := resolve(frame.path)) is not None:
            return frame, path
    return None


def _joined(lines: Sequence[str]) -> str:
    return "\n".join(line.rstrip() for line in lines[:MESSAGE_LINES]).strip()


# Python: `File "path", line N, in f`; the error is the first unindented line after.
_PY_FRAME = re.compile(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+)(?:, in (?P<fn>.+?))?\s*$')
_PY_ERROR = re.compile(r"^[A-Za-z_][\w.]*(?::.*)?$")
_CHAINED = re.compile(r"^(?:During handling of the above|The above exception was the direct cause)")


def _last_chained(lines: list[str]) -> list[str]:
    """A chained failure prints its first exception first: the last is the one raised."""
    starts = [i + 1 for i, line in enumerate(lines) if _CHAINED.match(line)]
    return lines[starts[-1] :] if starts else lines


def _python(lines: list[str]) -> Failure | None:
    frames: list[Frame] = []
    after = 0
    last = _last_chained(lines)
    for i, line in enumerate(last):
        if m := _PY_FRAME.match(line):
            frames.append(Frame(m["path"], int(m["line"]), None, m["fn"]))
            after = i + 1
    if not frames:
        return None
    message: list[str] = []
    for line in last[after:]:
        if message and not line.strip():
            break  # the error's text ends at a blank line; what follows is other output
        if message or _PY_ERROR.match(line):
            message.append(line)
    return Failure(tuple(frames), _joined(message), "python")


# pytest: `path.py:12: in f` (short), `path.py:12:` (long), `path.py:34: Error[: msg]` (last).
_PYTEST_AT = re.compile(
    r"^(?P<path>(?:[A-Za-z]:)?[^:\s][^:]*\.pyw?):(?P<line>\d+):(?: (?P<rest>.*))?$"
)
_PYTEST_TEST = re.compile(r"^_{3,} .+ _{3,}$")  # a test's header; `_ _ _` parts frames
_DEF = re.compile(r"^\s*(?:async\s+)?def (\w+)")


def _pytest(lines: list[str]) -> Failure | None:
    # When pytest reports several tests, the first one's report is read.
    at = [i for i, line in enumerate(lines) if _PYTEST_AT.match(line)]
    tests = [i for i, line in enumerate(lines) if _PYTEST_TEST.match(line) and at and i > at[0]]
    report = _last_chained(lines[: tests[0] if tests else None])
    frames: list[Frame] = []
    errors: list[str] = []
    closing, since = "", 0
    for i, line in enumerate(report):
        if line == "E" or line.startswith("E "):
            errors.append(line[1:])
            continue
        m = _PYTEST_AT.match(line)
        rest = (m["rest"] or "").strip() if m else ""
        if m is None or (rest and not rest.startswith("in ") and not _PY_ERROR.match(rest)):
            continue
        if rest.startswith("in "):
            function: str | None = rest[3:].strip()
        else:  # the long form names no function: it shows the source from its `def`
            defs = [d[1] for d in map(_DEF.match, report[since:i]) if d]
            function = defs[0] if defs else None
        frames.append(Frame(m["path"], int(m["line"]), None, function))
        since = i + 1
        if rest and not rest.startswith("in "):
            closing = rest  # the long form's last line, or one of --tb=line's
            break
    if not frames:
        return None
    indent = min((len(e) - len(e.lstrip()) for e in errors if e.strip()), default=0)
    message = _joined([e[indent:] for e in errors]) or closing
    return Failure(tuple(frames), message, "pytest")


# Node.js: `    at f (/abs/a.js:10:5)` or `    at /abs/a.js:3:1`, innermost first.
_NODE_AT = re.compile(
    r"^\s*at (?:(?P<fn>.+?) \()?(?P<path>[^\s()][^()]*?):(?P<line>\d+):(?P<col>\d+)\)?\s*$"
)


def _node(lines: list[str]) -> Failure | None:
    start = next((i for i, line in enumerate(lines) if _NODE_AT.match(line)), None)
    if start is None:
        return None
    frames: list[Frame] = []
    for line in lines[start:]:
        if not line.lstrip().startswith("at "):
            break  # the stack of the error thrown ends; a `[cause]` may follow
        m = _NODE_AT.match(line)
        # node: and <anonymous> frames are Node's own: no file to fix.
        if m and not m["path"].startswith("node:"):
            frames.insert(0, Frame(m["path"], int(m["line"]), int(m["col"]), m["fn"]))
    first = start
    while first > 0 and lines[first - 1].strip():
        first -= 1  # the error's text: the lines just above the stack
    return Failure(tuple(frames), _joined(lines[first:start]), "node")


# Rust: the panic's place, then (with RUST_BACKTRACE) `  3: f` / `at ./src/x.rs:2:5`.
_RUST_NEW = re.compile(
    r"^thread '[^']*' panicked at (?P<path>.+?):(?P<line>\d+):(?P<col>\d+):$", re.MULTILINE
)
_RUST_OLD = re.compile(
    r"^thread '[^']*' panicked at '(?P<msg>.*?)', (?P<path>\S+?):(?P<line>\d+)(?::(?P<col>\d+))?$",
    re.MULTILINE | re.DOTALL,
)
_RUST_FN = re.compile(r"^\s*\d+:\s+(?:0x[0-9a-f]+ - )?(?P<fn>.+?)(?:::h[0-9a-f]{16})?$")
_RUST_END = ("note:", "stack backtrace:")  # what follows a panic's message
_RUST_AT = re.compile(r"^\s+at (?P<path>.+?):(?P<line>\d+)(?::(?P<col>\d+))?$")


def _rust(lines: list[str]) -> Failure | None:
    text = "\n".join(lines)
    found = [m for m in (_RUST_NEW.search(text), _RUST_OLD.search(text)) if m]
    if not found:
        return None
    panic = min(found, key=lambda m: m.start())  # the first thread's panic
    col = int(panic["col"]) if panic["col"] else None
    after = text[panic.end() :].split("\n")[1:]
    ends = [i for i, s in enumerate(after) if not s.strip() or s.startswith(_RUST_END)]
    words = panic.groupdict().get("msg") or _joined(after[: ends[0] if ends else None])
    frames: list[Frame] = []
    function, tracing = None, False
    for line in after:
        if not tracing:
            tracing = line.strip() == "stack backtrace:"
        elif m := _RUST_AT.match(line):
            at_col = int(m["col"]) if m["col"] else None
            frames.insert(0, Frame(m["path"], int(m["line"]), at_col, function))
        elif m := _RUST_FN.match(line):
            function = m["fn"]
        else:
            break
    # The panic's place is the innermost line that matters; a backtrace usually has it.
    place = Frame(panic["path"], int(panic["line"]), col, None)
    if all((f.path.removeprefix("./"), f.line) != (place.path, place.line) for f in frames):
        frames.append(place)
    where = f"{place.path}:{place.line}" + (f":{col}" if col else "")
    return Failure(tuple(frames), f"panicked at {where}: {words}", "rust")


# Go: `goroutine 1 [running]:`, then `main.f(...)` / `\t/abs/main.go:8 +0x1d`, innermost first.
_GO_ROUTINE = re.compile(r"^goroutine \d+ \[.*\]:\s*$")
_GO_PLACE = re.compile(r"^\s+(?P<path>.+?\.go):(?P<line>\d+)(?: \+0x[0-9a-f]+)?\s*$")
_GO_TEST = re.compile(r"^\s+(?P<path>\S+\.go):(?P<line>\d+): (?P<msg>.*)$")


def _go(lines: list[str]) -> Failure | None:
    start = next((i for i, line in enumerate(lines) if _GO_ROUTINE.match(line)), None)
    if start is None:
        return _go_test(lines)
    frames: list[Frame] = []
    for i in range(start + 1, len(lines)):
        if not lines[i].strip():
            break  # the panicking goroutine's stack ends; other goroutines follow
        if (m := _GO_PLACE.match(lines[i])) and i > start + 1:
            frames.append(Frame(m["path"], int(m["line"]), None, _go_function(lines[i - 1])))
    if not frames:
        return None
    panics = [i for i in range(start) if lines[i].startswith(("panic: ", "fatal error: "))]
    message = _joined(lines[panics[0] : start]) if panics else ""
    return Failure(tuple(reversed(frames)), message, "go")


def _go_function(line: str) -> str:
    name = line.strip().removeprefix("created by ").split(" in goroutine ")[0]
    return name[: name.rfind("(")] if name.endswith(")") else name  # drop the arguments


def _go_test(lines: list[str]) -> Failure | None:
    """A failed `go test`: `--- FAIL: TestX`, then `    x_test.go:12: what went wrong`."""
    if not any(line.lstrip().startswith("--- FAIL:") for line in lines):
        return None
    # With -v a test's lines come before its verdict, without it after: the first is the one.
    for m in filter(None, map(_GO_TEST.match, lines)):
        return Failure((Frame(m["path"], int(m["line"]), None, None),), m["msg"], "go")
    return None


# Java: `\tat com.acme.Shop.total(Shop.java:42)`, innermost first; `Caused by:` sections.
_JAVA_AT = re.compile(
    r"^\s*at (?:[^\s/(]*/)*(?P<fn>[\w$.<>]+)\((?P<file>[^():]+):(?P<line>\d+)\)(?: ~?\[.*\])?\s*$"
)
_JAVA_CAUSE = re.compile(r"^Caused by: (?P<msg>.*)$")
_JAVA_MORE = re.compile(r"^\s*\.\.\. (?P<n>\d+) more\s*$")
_JAVA_THREAD = re.compile(r'^Exception in thread "[^"]*" ')


@dataclass
class _Section:
    """The trace, or one `Caused by:` in it."""

    message: str
    frames: list[Frame] = field(default_factory=list)  # innermost first, as printed
    more: int = 0  # "... N more": the enclosing trace's last N frames are this one's too


def _java(lines: list[str]) -> Failure | None:
    sections: list[_Section] = []
    header, suppressed = "", False
    for line in lines:
        if m := _JAVA_CAUSE.match(line):
            sections.append(_Section(m["msg"]))
            suppressed = False
        elif line.lstrip().startswith("Suppressed: "):
            suppressed = True  # another exception's trace, nested in this one: not the cause
        elif (m := _JAVA_AT.match(line)) and not suppressed:
            if not sections:
                sections.append(_Section(_JAVA_THREAD.sub("", header)))
            # Frames name only the file: its package makes it a path, `com/acme/Shop.java`.
            package = m["fn"].rsplit(".", 1)[0].rpartition(".")[0].replace(".", "/")
            path = f"{package}/{m['file']}" if package else m["file"]
            sections[-1].frames.append(Frame(path, int(m["line"]), None, m["fn"]))
        elif (m := _JAVA_MORE.match(line)) and sections and not suppressed:
            sections[-1].more = int(m["n"])
        elif line.strip() and not sections:
            header = line.strip()
    if not sections or not sections[0].frames:
        return None
    # The deepest cause was thrown first; its own frames plus the ones it shares are its stack.
    stack = sections[0].frames
    for cause in sections[1:]:
        stack = cause.frames + (stack[-cause.more :] if cause.more else [])
    return Failure(tuple(reversed(stack)), sections[-1].message.strip(), "java")


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")  # two letters at least: C: is a drive
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


def resolver(roots: Sequence[Path], cwd: Path | None = None) -> Callable[[str], Path | None]:
    """Maps a path from a failure to an existing file under one of `roots`, or None.

    Absolute paths must lie inside a root; relative ones are tried against each
    root and `cwd`, then as the end of a path under a root (Java frames give
    only the package and the file). Symlinks and `..` are resolved before the
    containment check, so nothing outside the roots is ever returned."""
    given = [Path(root).absolute() for root in roots]
    bases = [root.resolve() for root in given]
    index = functools.cache(lambda: _walk(bases))  # walked once, at the first search

    def inside(path: Path) -> Path | None:
        try:
            real = path.resolve()
            for root, base in zip(given, bases, strict=True):
                if real.is_relative_to(base):
                    within = real.relative_to(base)
                    if not _NOT_OURS.intersection(within.parts) and real.is_file():
                        return root / within  # spelled from the root as given, as editors have it
        except (OSError, RuntimeError, ValueError):  # a symlink loop, a name the system refuses
            pass
        return None

    def by_end(parts: tuple[str, ...]) -> Path | None:
        candidates = sorted(index().get(parts[-1], ()), key=lambda p: (len(p.parts), str(p)))
        for candidate in candidates:
            if candidate.parts[-len(parts) :] == parts and (found := inside(candidate)):
                return found
        return None

    def resolve(written: str) -> Path | None:
        name = written.strip()
        if name.startswith("file://"):
            name = unquote(urlparse(name).path)
        elif name.startswith("<") or _SCHEME.match(name):
            return None  # <string>, <frozen ...>, node:internal/...: no file
        if os.sep == "/":
            name = name.replace("\\", "/")
        path = Path(name)
        if path.is_absolute():
            return inside(path)
        if _DRIVE.match(written.strip()):
            return None  # another system's absolute path
        for base in [*bases, *([cwd] if cwd is not None else [])]:
            if found := inside(base / path):
                return found
        parts = tuple(part for part in path.parts if part != ".")
        return by_end(parts) if parts and ".." not in parts else None

    return resolve


def _walk(bases: Sequence[Path]) -> dict[str, list[Path]]:
    """The files under `bases` by name, skipping other people's code, bounded."""
    names: dict[str, list[Path]] = {}
    seen = 0
    for base in bases:
        # followlinks=False: a linked folder may lead out of the workspace.
        for folder, dirs, files in os.walk(base):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _NOT_OURS)
            for file in files:
                names.setdefault(file, []).append(Path(folder, file))
                seen += 1
                if seen >= MAX_FILES:
                    return names
    return names
