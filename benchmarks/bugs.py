"""Bugs put into standard-library functions, each an edit of one line: the
tasks of fixes.py.

A bug is found in the function's syntax tree and made by editing the text
of its line (the tree would not keep the file's formatting). The edited
file is parsed again, and its function must equal the tree with the bug
made in it, else the candidate is dropped. Whether a bug counts (the
module's tests fail with it) is for fixes.py to judge.
"""

from __future__ import annotations

import ast
import copy
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from stdlib_tests import Function, functions, index_numbers, number_names, split_lines

KINDS = (
    "operator", "off_by_one", "wrong_variable",
    "missing_condition", "wrong_constant", "swapped_arguments",
)  # fmt: skip

# The operators swapped for one another, and how each is written.
_PAIRS: list[tuple[type[ast.AST], str, type[ast.AST], str]] = [
    (ast.Lt, "<", ast.LtE, "<="),
    (ast.Gt, ">", ast.GtE, ">="),
    (ast.Eq, "==", ast.NotEq, "!="),
    (ast.Add, "+", ast.Sub, "-"),
    (ast.And, "and", ast.Or, "or"),
]
_SWAPPED_OPS = {a: b for a, _, b, _ in _PAIRS} | {b: a for a, _, b, _ in _PAIRS}
_SYMBOLS = {a: s for a, s, _, _ in _PAIRS} | {b: s for _, _, b, s in _PAIRS}
_CHARACTERS = dict(zip(",;.:-_=/()[]", ";,,;_-:\\[]()", strict=True)) | {" ": "", "\n": " "}


# One candidate: the node's index in ast.walk(function), its 1-based line,
# the edits of that line (start byte, end byte, new text), and the same
# bug made in a copy of the tree.
Made = Callable[[Any], None]
Edit = tuple[int, int, list[tuple[int, int, str]], Made]


@dataclass(frozen=True)
class Bug:
    kind: str
    function: Function
    line: int  # 0-based, in the module
    before: str  # the line as it was
    after: str  # the line with the bug
    original: str = field(repr=False)  # the module without the bug
    _index: int = field(repr=False, compare=False, default=0)  # in ast.walk(function.node)
    _made: Made = field(repr=False, compare=False, default=lambda node: None)

    @property
    def text(self) -> str:
        """The module with the bug."""
        lines = split_lines(self.original)
        return "".join([*lines[: self.line], self.after, *lines[self.line + 1 :]])

    def checked(self) -> bool:
        """Whether the text edit is the bug meant: the edited module's
        function is the function's tree with the bug made in the tree. (Done
        for the bugs drawn only: parsing the module for each bug found took
        most of a minute.)"""
        expected = copy.deepcopy(self.function.node)
        self._made(list(ast.walk(expected))[self._index])
        try:
            again = functions(self.function.module, self.text)
        except SyntaxError:
            return False
        same = [f for f in again if f.first == self.function.first]
        return bool(same) and ast.dump(same[0].node) == ast.dump(expected)


def _span(node: ast.expr) -> tuple[int, int]:
    return node.col_offset, node.end_col_offset or node.col_offset


def _one_line(node: ast.AST) -> bool:
    return getattr(node, "lineno", None) == getattr(node, "end_lineno", -1)


def _gap_edit(line: bytes, start: int, end: int, old: str, new: str) -> list[tuple[int, int, str]]:
    """`old` replaced by `new` between bytes `start` and `end` of `line`,
    where only brackets and spaces are besides it."""
    gap = line[start:end].decode()
    at = gap.find(old)
    return [(start + at, start + at + len(old), new)] if at >= 0 else []


def _segment(line: bytes, node: ast.expr) -> str:
    return line[slice(*_span(node))].decode()


def _set(field: str, value: Callable[[Any], object]) -> Made:
    return lambda node: setattr(node, field, value(node))


def _put(field: str, value: object) -> Made:
    """The node's `field` set to `value` (each candidate is made in a tree once)."""
    return lambda node: setattr(node, field, value)


def _is_text(node: ast.expr) -> bool:
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str | bytes)
    )


def _plus(node: ast.expr, op: ast.operator, amount: int = 1) -> ast.BinOp:
    return ast.BinOp(left=node, op=op, right=ast.Constant(amount))


def _changed_constant(value: object) -> object | None:
    """A wrong constant for `value`: 0 and 1 for each other, another whole
    number one more; a text's first letter in the other case, a character
    of punctuation for a like one (`,` for `;`), else the last one dropped."""
    if type(value) is int:
        return {0: 1, 1: 0}.get(value, value + 1)
    if not isinstance(value, str) or len(value) > 30:
        return None
    if value == "":
        return " "
    if len(value) == 1:
        if value.isalpha():
            return value.swapcase()
        if value.isdigit():
            return str((int(value) + 1) % 10)
        return _CHARACTERS.get(value)
    cased = next((i for i, c in enumerate(value) if c.isalpha()), None)
    if cased is not None:
        return value[:cased] + value[cased].swapcase() + value[cased + 1 :]
    return value[:-1]


@dataclass
class _Scope:
    """What the bug finders need of a function."""

    function: Function
    lines: list[bytes]  # the module's
    rng: random.Random
    nodes: list[ast.AST]  # ast.walk(function.node), indexed as a copy of it is
    candidates: set[int]  # ids of the nodes a bug may be in: the body, no docstring
    text_nodes: set[int]  # ids of the nodes in f-strings and `raise` statements
    local_names: list[str]  # parameters and assigned names, but self and cls
    numbers: set[str]  # locals used as numbers: counted, compared, indexed by
    indices: set[int]  # ids of the whole numbers that index or slice: `[0]`, `[-1]`, `[:2]`

    @classmethod
    def of(cls, function: Function, lines: list[bytes], rng: random.Random) -> _Scope:
        node = function.node
        body = list(node.body)
        if ast.get_docstring(node, clean=False) is not None:
            body = body[1:]
        nodes = list(ast.walk(node))
        arguments = node.args
        parameters = [
            a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
        ]
        stored = [n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]
        return cls(
            function,
            lines,
            rng,
            nodes,
            {id(n) for statement in body for n in ast.walk(statement)},
            {
                id(inner)
                for outer in nodes
                if isinstance(outer, ast.JoinedStr | ast.Raise)
                for inner in ast.walk(outer)
            },
            sorted({*parameters, *stored} - {"self", "cls"}),
            number_names(nodes),
            index_numbers(nodes),
        )

    def line(self, lineno: int) -> bytes:
        return self.lines[lineno - 1]


def _operator(scope: _Scope, index: int, node: ast.AST) -> Iterator[Edit]:
    """`<` and `<=`, `>` and `>=`, `==` and `!=`, `+` and `-` (`+=`, `-=`),
    `and` and `or`, one for the other."""
    op: ast.AST
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        pair, op = (node.left, node.comparators[0]), node.ops[0]
    elif isinstance(node, ast.BinOp | ast.AugAssign):
        left = node.left if isinstance(node, ast.BinOp) else node.target
        right = node.right if isinstance(node, ast.BinOp) else node.value
        if any(_is_text(side) for side in (left, right)):
            return  # text joined: `-` of two strings fails at once, whatever the tests
        pair, op = (left, right), node.op
    elif isinstance(node, ast.BoolOp) and len(node.values) == 2:
        pair, op = (node.values[0], node.values[1]), node.op
    else:
        return
    swapped = _SWAPPED_OPS.get(type(op))
    if swapped is None or not _one_line(node):
        return
    symbol, new_symbol = _SYMBOLS[type(op)], _SYMBOLS[swapped]
    if isinstance(node, ast.AugAssign):
        symbol, new_symbol = symbol + "=", new_symbol + "="
    line = scope.line(node.lineno)
    edit = _gap_edit(line, _span(pair[0])[1], _span(pair[1])[0], symbol, new_symbol)
    field, value = ("ops", [swapped()]) if isinstance(node, ast.Compare) else ("op", swapped())
    yield index, node.lineno, edit, _put(field, value)


def _off_by_one(scope: _Scope, index: int, node: ast.AST) -> Iterator[Edit]:
    """`[i]` to `[i + 1]`, `[:n]` to `[:n + 1]`, `range(n)` to `range(n - 1)`,
    `i < n` to `i < n + 1`: on names that hold numbers."""
    if not _one_line(node):
        return

    def counted(value: ast.expr | None) -> bool:
        return isinstance(value, ast.Name) and value.id in scope.numbers

    def after(value: ast.expr, more: str) -> list[tuple[int, int, str]]:
        end = _span(value)[1]
        return [(end, end, more)]

    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
        if counted(node.slice):
            yield (
                index,
                node.lineno,
                after(node.slice, " + 1"),
                _set("slice", lambda n: _plus(n.slice, ast.Add())),
            )
        elif isinstance(node.slice, ast.Slice) and node.slice.upper and counted(node.slice.upper):

            def upper(n: Any) -> None:
                n.slice.upper = _plus(n.slice.upper, ast.Add())

            yield index, node.lineno, after(node.slice.upper, " + 1"), upper
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "range"
        and 1 <= len(node.args) <= 2
        and not node.keywords
    ):
        stop = len(node.args) - 1
        end = node.args[stop]
        if (
            isinstance(end, ast.BinOp)
            and isinstance(end.op, ast.Add)
            and isinstance(end.right, ast.Constant)
            and end.right.value == 1
        ):  # `range(n + 1)` becomes `range(n)`, as it is most often written wrong

            def dropped(n: Any) -> None:
                n.args[stop] = n.args[stop].left

            line = scope.line(node.lineno)
            yield (
                index,
                node.lineno,
                [(*_span(end), _segment(line, end.left))],
                dropped,
            )
            return

        def shorter(n: Any) -> None:
            n.args[stop] = _plus(n.args[stop], ast.Sub())

        yield index, node.lineno, after(end, " - 1"), shorter
    elif isinstance(node, ast.Constant) and id(node) in scope.indices and type(node.value) is int:
        value = node.value + 1  # `[0]` to `[1]`, `[-1]` to `[-2]`, `[:2]` to `[:3]`
        yield index, node.lineno, [(*_span(node), str(value))], _put("value", value)
    elif (
        isinstance(node, ast.Compare)
        and len(node.ops) == 1
        and isinstance(node.ops[0], ast.Lt | ast.LtE | ast.Gt | ast.GtE)
        and (
            counted(node.comparators[0])
            or (
                isinstance(node.comparators[0], ast.Call)
                and isinstance(node.comparators[0].func, ast.Name)
                and node.comparators[0].func.id == "len"
            )
        )
    ):
        yield (
            index,
            node.lineno,
            after(node.comparators[0], " + 1"),
            _set("comparators", lambda n: [_plus(n.comparators[0], ast.Add())]),
        )


def _wrong_variable(scope: _Scope, index: int, node: ast.AST) -> Iterator[Edit]:
    """A name read replaced by another local of the function."""
    if not (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)):
        return
    others = [name for name in scope.local_names if name != node.id]
    if node.id in scope.local_names and others:
        other = scope.rng.choice(others)
        yield index, node.lineno, [(*_span(node), other)], _put("id", other)


def _missing_condition(scope: _Scope, index: int, node: ast.AST) -> Iterator[Edit]:
    """An `if` (or `elif`) test on one line with its `not` dropped, or one
    operand of its `and` dropped."""
    if not isinstance(node, ast.If) or not _one_line(node.test):
        return
    test = node.test
    line = scope.line(test.lineno)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        start = test.col_offset
        words = line[start:].decode()
        dropped = len(words) - len(words[3:].lstrip())
        yield (
            index,
            test.lineno,
            [(start, start + dropped, "")],
            _set("test", lambda n: n.test.operand),
        )
    elif isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        dropped = scope.rng.randrange(len(test.values))
        kept = [v for i, v in enumerate(test.values) if i != dropped]
        loose = (ast.BoolOp, ast.IfExp, ast.NamedExpr, ast.Lambda)
        parts = [
            f"({_segment(line, v)})" if isinstance(v, loose) else _segment(line, v) for v in kept
        ]

        def without(n: Any) -> None:
            values = [v for i, v in enumerate(n.test.values) if i != dropped]
            n.test = values[0] if len(values) == 1 else ast.BoolOp(ast.And(), values)

        yield index, test.lineno, [(*_span(test), " and ".join(parts))], without


def _wrong_constant(scope: _Scope, index: int, node: ast.AST) -> Iterator[Edit]:
    """A number or a short text changed, but a message's (f-strings,
    `raise`): the tests seldom read those."""
    if not isinstance(node, ast.Constant) or id(node) in scope.text_nodes or not _one_line(node):
        return
    if id(node) in scope.indices:
        return  # an off-by-one
    value = _changed_constant(node.value)
    if value is not None and not isinstance(node.value, bool):
        yield index, node.lineno, [(*_span(node), repr(value))], _put("value", value)


def _swapped_arguments(scope: _Scope, index: int, node: ast.AST) -> Iterator[Edit]:
    """Two neighbouring positional arguments of a call swapped."""
    if not isinstance(node, ast.Call) or len(node.args) < 2 or not _one_line(node):
        return
    if any(isinstance(a, ast.Starred) for a in node.args):
        return
    line = scope.line(node.lineno)
    first = scope.rng.randrange(len(node.args) - 1)
    a, b = node.args[first], node.args[first + 1]
    if _segment(line, a) == _segment(line, b):
        return

    def swap(n: Any) -> None:
        n.args[first], n.args[first + 1] = n.args[first + 1], n.args[first]

    yield index, node.lineno, [(*_span(b), _segment(line, a)), (*_span(a), _segment(line, b))], swap


_FINDERS: dict[str, Callable[[_Scope, int, ast.AST], Iterator[Edit]]] = {
    "operator": _operator,
    "off_by_one": _off_by_one,
    "wrong_variable": _wrong_variable,
    "missing_condition": _missing_condition,
    "wrong_constant": _wrong_constant,
    "swapped_arguments": _swapped_arguments,
}


def _applied(line: bytes, edits: list[tuple[int, int, str]]) -> bytes:
    for start, end, new in sorted(edits, reverse=True):  # from the right: offsets hold
        line = line[:start] + new.encode() + line[end:]
    return line


def bugs(function: Function, text: str, kind: str, rng: random.Random) -> list[Bug]:
    """Every bug of `kind` in `function` of the module `text` (see Bug.checked)."""
    raw = split_lines(text)
    lines = [line.encode() for line in raw]
    found: dict[tuple[int, str], Bug] = {}
    scope = _Scope.of(function, lines, rng)
    edits_found = [
        edit
        for index, node in enumerate(scope.nodes)
        if id(node) in scope.candidates
        for edit in _FINDERS[kind](scope, index, node)
    ]
    for index, lineno, edits, made in edits_found:
        at = lineno - 1
        new_line = _applied(lines[at], edits).decode()
        if edits and new_line != raw[at]:
            bug = Bug(kind, function, at, raw[at], new_line, text, index, made)
            found.setdefault((at, new_line), bug)
    return list(found.values())
