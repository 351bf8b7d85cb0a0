"""The tasks of edits.py: instructions on standard-library functions, and
the checks that an edit did what its instruction asked.

Kinds, on functions (3-40 lines) of the modules of stdlib_tests.py, drawn
with a seed, the kinds in turn and the modules in turn, one task a function:
- hints:         "add type hints to the parameters and the return value";
- rename:        "rename the variable `x` to `x_value`" (a local assigned in the body);
- guard:         "raise ValueError if `p` is negative" (a parameter used as a
                 number) or "... is None" (a required one), the two in turn;
- comprehension: "turn the `for` loop that appends to `xs` into a list
                 comprehension" (a loop whose body ends in `xs.append(...)`);
- parameter:     "add a parameter `on_result` with default `None` that ..."
                 (a function that returns a value), else `verbose`, `False`.
A guard is a task only if the module's tests pass with the guard written
by hand (no test passes such a value); every original passes its tests.

The checks, of the new function's syntax tree: every parameter but a
method's first and the return annotated; `x` gone and `x_value` in each
place `x` was; an `if` that mentions the parameter and raises ValueError,
in the body before anything else reads the parameter; the loop gone and
one more list comprehension; the parameter with its default, and used.
Each also gives the lines the request needs: for hints the signature, for
a rename the lines with the new name, for a guard its `if` statement, for
a comprehension the statements holding one (and the old loop and the
list's `= []`, which it may delete), for a parameter the signature and
the statements using it.
"""

from __future__ import annotations

import ast
import dataclasses
import itertools
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

from stdlib_tests import (
    Function,
    Module,
    drawn,
    functions,
    modules,
    number_names,
    quotas,
    run_tests,
    source,
    split_lines,
)

KINDS = ("hints", "rename", "guard", "comprehension", "parameter")
AnyFunction = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class EditTask:
    kind: str
    function: Function
    instruction: str
    name: str  # what it is about: the variable, parameter or list; the new parameter
    new_name: str = ""  # a rename's new name; a guard's test: "negative" or "None"
    default: object = None  # a new parameter's default


def _appending_loop(node: ast.AST) -> str | None:
    """The list a `for` loop builds, if its body (or its one `if`'s) is
    names assigned and then `xs.append(...)`: what a comprehension can say."""
    if not isinstance(node, ast.For) or node.orelse:
        return None
    body = node.body
    if len(body) == 1 and isinstance(body[0], ast.If) and not body[0].orelse:
        body = body[0].body
    *before, last = body
    if not all(
        isinstance(s, ast.Assign) and all(isinstance(t, ast.Name) for t in s.targets)
        for s in before
    ):
        return None
    call = last.value if isinstance(last, ast.Expr) else None
    if (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "append"
        and isinstance(call.func.value, ast.Name)
        and len(call.args) == 1
    ):
        return call.func.value.id
    return None


def _names(node: ast.AST, name: str) -> list[ast.Name]:
    return [n for n in ast.walk(node) if isinstance(n, ast.Name) and n.id == name]


def _task(
    kind: str, function: Function, text: str, rng: random.Random, form: str = ""
) -> EditTask | None:
    """An edit of `kind` for `function`, if it has what the kind needs (a
    guard: of the `form` "negative" or "None")."""
    node = function.node
    nodes = list(ast.walk(node))
    parameters = function.parameters
    if kind == "hints":
        annotated = node.returns or any(a.annotation for a in node.args.args)
        if parameters and not annotated:
            return EditTask(
                kind, function, "add type hints to the parameters and the return value", ""
            )
    elif kind == "rename":
        comprehended = {
            t.id
            for c in nodes
            if isinstance(c, ast.comprehension)
            for t in ast.walk(c.target)
            if isinstance(t, ast.Name)
        }
        scoped = any(isinstance(n, ast.Global | ast.Nonlocal) for n in nodes)
        stored = sorted(
            {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
            - {a.arg for a in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]}
            - comprehended
        )
        usable = [
            name
            for name in stored
            if len(_names(node, name)) >= 2 and not re.search(rf"\b{name}_value\b", text)
        ]
        if usable and not scoped:
            name = rng.choice(usable)
            said = f"rename the variable `{name}` to `{name}_value`"
            return EditTask(kind, function, said, name, f"{name}_value")
    elif kind == "guard":
        numbers = number_names(nodes)
        defaulted = node.args.args[len(node.args.args) - len(node.args.defaults) :]
        required = {a.arg for a in node.args.args} - {a.arg for a in defaulted}
        # A parameter the function compares with None may well be None.
        with_none = {
            n.left.id
            for n in nodes
            if isinstance(n, ast.Compare)
            and isinstance(n.left, ast.Name)
            and any(isinstance(c, ast.Constant) and c.value is None for c in n.comparators)
        }
        choices = []
        for argument in parameters:
            if argument in (node.args.vararg, node.args.kwarg):
                continue
            if argument.arg in numbers:
                choices.append((argument.arg, "negative"))
            elif argument.arg in required and argument.arg not in with_none:
                choices.append((argument.arg, "None"))
        # The two guards in turn (`form`): drawn freely, most would be of None,
        # as most parameters here are not numbers.
        choices = [choice for choice in choices if choice[1] == form]
        if choices:
            name, test = rng.choice(choices)
            said = f"raise ValueError if `{name}` is {test}"
            return EditTask(kind, function, said, name, test)
    elif kind == "comprehension":
        loops = [built for n in nodes if (built := _appending_loop(n)) is not None]
        if loops:
            name = rng.choice(loops)
            said = f"turn the `for` loop that appends to `{name}` into a list comprehension"
            return EditTask(kind, function, said, name)
    elif kind == "parameter" and not node.name.startswith("__"):
        returns = any(isinstance(n, ast.Return) and n.value is not None for n in nodes)
        generator = any(isinstance(n, ast.Yield | ast.YieldFrom) for n in nodes)
        if returns and not generator:
            name, default = "on_result", None
            said = (
                "add a parameter `on_result` with default `None` that, when it is given, is "
                "called with the value the function returns, just before it returns it"
            )
        else:
            name, default = "verbose", False
            said = (
                "add a parameter `verbose` with default `False` that, when true, makes the "
                "function print its arguments first"
            )
        if not re.search(rf"\b{name}\b", text):
            return EditTask(kind, function, said, name, default=default)
    return None


def _body(node: AnyFunction) -> list[ast.stmt]:
    """The function's statements after its docstring."""
    if ast.get_docstring(node, clean=False) is not None:
        return node.body[1:]
    return node.body


def guarded(task: EditTask, text: str) -> str:
    """The module with the guard written by hand: what the tests must pass."""
    node = task.function.node
    body = _body(node)
    at = body[0].lineno - 1 if body else (node.end_lineno or node.lineno)
    indent = " " * (body[0].col_offset if body else node.body[0].col_offset)
    test = f"{task.name} < 0" if task.new_name == "negative" else f"{task.name} is None"
    lines = split_lines(text)
    guard = [
        f"{indent}if {test}:\n",
        f'{indent}    raise ValueError("{task.name} must not be {task.new_name}")\n',
    ]
    return "".join([*lines[:at], *guard, *lines[at:]])


def renamed(task: EditTask, text: str) -> str:
    """The module with the rename made by hand, to try the check on."""
    lines = split_lines(text)
    for name in sorted(_names(task.function.node, task.name), key=lambda n: -n.col_offset):
        at = name.lineno - 1
        line = lines[at].encode()
        start, end = name.col_offset, name.end_col_offset or name.col_offset
        lines[at] = (line[:start] + task.new_name.encode() + line[end:]).decode()
    return "".join(lines)


def _span(node: ast.AST) -> set[int]:
    """The 0-based lines of a statement."""
    first = getattr(node, "lineno", 1) - 1
    return set(range(first, getattr(node, "end_lineno", first + 1) or first + 1))


def _statements_with(node: AnyFunction, found: list[ast.AST]) -> set[int]:
    """The lines of the smallest statements holding any of `found`."""
    wanted = {id(f) for f in found}
    lines: set[int] = set()
    for statement in ast.walk(node):
        if not isinstance(statement, ast.stmt) or statement is node:
            continue
        inner = [s for s in ast.iter_child_nodes(statement) if isinstance(s, ast.stmt)]
        inside = {id(n) for s in inner for n in ast.walk(s)}
        if any(id(n) in wanted and id(n) not in inside for n in ast.walk(statement)):
            lines |= _span(statement)
    return lines


def _constant(node: ast.expr) -> object:
    """The value of a constant, `-1` included; the node itself otherwise."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = node.operand
        if isinstance(inner, ast.Constant) and type(inner.value) is int:
            return -inner.value
    return node.value if isinstance(node, ast.Constant) else node


def _tests(test: ast.expr, name: str, form: str) -> bool:
    """Whether an `if` test compares `name` with 0 or -1 (`form` "negative")
    or with None (`form` "None"), as a guard of that form does."""
    wanted = (0, -1) if form == "negative" else (None,)
    for compare in ast.walk(test):
        if isinstance(compare, ast.Compare):
            sides = [compare.left, *compare.comparators]
            values = [_constant(side) for side in sides]
            if any(isinstance(s, ast.Name) and s.id == name for s in sides) and any(
                type(v) is not bool and v in wanted for v in values
            ):
                return True
    return False


def _signature(node: AnyFunction) -> set[int]:
    first = node.lineno - 1
    return set(range(first, max(first + 1, node.body[0].lineno - 1)))


def checked(task: EditTask, new: AnyFunction, old: AnyFunction) -> tuple[bool, set[int], set[int]]:
    """Whether `new` does what `task` asks, and the lines the request
    needs: of the new module, and of the old one (lines it may delete)."""
    name = task.name
    if task.kind == "hints":
        parameters = dataclasses.replace(task.function, node=new).parameters
        done = new.returns is not None and all(a.annotation for a in parameters)
        return done, _signature(new), set()
    if task.kind == "rename":
        olds = [a for a in ast.walk(new) if isinstance(a, ast.arg) and a.arg == name]
        uses = _names(new, task.new_name)
        done = not _names(new, name) and not olds and len(uses) == len(_names(old, name))
        return done, {n.lineno - 1 for n in uses}, set()
    if task.kind == "guard":
        # A guard: an `if` that mentions the parameter and raises ValueError,
        # in the body itself (not in a loop or a branch), before anything
        # else reads the parameter.
        guard = None
        for statement in _body(new):
            raises = any(
                isinstance(r, ast.Raise)
                and r.exc is not None
                and "ValueError" in {n.id for n in ast.walk(r.exc) if isinstance(n, ast.Name)}
                for r in ast.walk(statement)
            )
            if (
                isinstance(statement, ast.If)
                and _tests(statement.test, name, task.new_name)
                and raises
            ):
                guard = statement
                break
            if _names(statement, name):
                break
        return guard is not None, _span(guard) if guard is not None else set(), set()
    if task.kind == "comprehension":
        loops = [n for n in ast.walk(new) if _appending_loop(n) == name]
        comprehensions = [n for n in ast.walk(new) if isinstance(n, ast.ListComp)]
        had = [n for n in ast.walk(old) if isinstance(n, ast.ListComp)]
        done = not loops and len(comprehensions) > len(had)
        emptied = [
            s
            for s in ast.walk(old)
            if isinstance(s, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == name for t in s.targets)
            and isinstance(s.value, ast.List)
            and not s.value.elts
        ]
        old_loops = [n for n in ast.walk(old) if _appending_loop(n) == name]
        deleted = set().union(*(_span(s) for s in [*emptied, *old_loops]))
        return done, _statements_with(new, list(comprehensions)), deleted
    arguments = new.args
    positional = [*arguments.posonlyargs, *arguments.args]
    defaults: list[tuple[ast.arg, ast.expr | None]] = [
        *zip(
            positional[len(positional) - len(arguments.defaults) :], arguments.defaults, strict=True
        ),
        *zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True),
    ]
    given = [d for a, d in defaults if a.arg == name]
    try:
        right = bool(given) and given[0] is not None and ast.literal_eval(given[0]) == task.default
    except ValueError:
        right = False
    uses = [n for n in _names(new, name) if isinstance(n.ctx, ast.Load)]
    return right and bool(uses), _signature(new) | _statements_with(new, list(uses)), set()


def _candidates(module: Module, text: str, rng: random.Random) -> list[Function]:
    return functions(module, text)


def make_tasks(count: int, kinds: tuple[str, ...], seed: int) -> list[EditTask]:
    """`count` edits, the kinds spread evenly (a kind with too few functions
    for its share leaves the rest to the others), the modules in turn, one
    a function; a guard only where the tests pass with it written by hand."""
    for module in modules():
        if not run_tests(module, source(module)).passed:
            raise SystemExit(f"{module.path} fails its own tests here")
    used: set[tuple[str, int]] = set()
    guards = 0

    def tasks_of(kind: str) -> Iterator[EditTask]:
        nonlocal guards
        for function in drawn(seed, kind, _candidates):
            key = (function.module.path, function.first)
            if key in used:
                continue
            text = source(function.module)
            form = ("negative", "None")[guards % 2]
            task = _task(kind, function, text, random.Random(f"{seed}:{key}"), form)
            if task is None or checked(task, function.node, function.node)[0]:
                continue  # not for this function, or done already
            if kind == "guard":
                if not run_tests(function.module, guarded(task, text)).passed:
                    continue  # the tests pass such a value: the guard would fail them
                guards += 1
            used.add(key)
            yield task

    streams = {kind: tasks_of(kind) for kind in kinds}
    tasks = [
        task
        for kind, quota in quotas(count, kinds).items()
        for task in itertools.islice(streams[kind], quota)
    ]
    while len(tasks) < count and streams:
        for kind in list(streams):
            more = next(streams[kind], None)
            if more is None:
                del streams[kind]
            elif len(tasks) < count:
                tasks.append(more)
    return tasks
