"""Where the names a file imports come from: the workspace file that defines them.

Each language resolves its own way; what they give back is the same, a
`Binding` from the name the file uses to the file (and the definition in
it) the name stands for. Names from outside the workspace (the standard
library, installed packages) resolve to nothing: the model knows those.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

Exists = Callable[[Path], bool]  # whether the workspace has this file (the index knows)


@dataclass(frozen=True)
class Binding:
    """A name an import brings into a file."""

    name: str  # as the file uses it: `Formatter`, or `fmt` for `import formatting as fmt`
    path: Path  # the workspace file it comes from
    member: str  # the definition's name in that file; empty when the name is the module


def python(
    file: Path, statements: Iterable[str], roots: Sequence[Path], exists: Exists
) -> list[Binding]:
    """The bindings of a Python file's import statements: absolute and relative
    imports, packages by their `__init__`, `from package import module`."""
    bases = _python_bases(file, roots, exists)
    bindings: list[Binding] = []
    for statement in statements:
        try:
            nodes = ast.parse(statement.strip()).body
        except (SyntaxError, ValueError):
            continue  # half-typed: the next parse will have it
        for node in nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    bindings += _python_import(alias, bases, exists)
            elif isinstance(node, ast.ImportFrom):
                bindings += _python_from(file, node, bases, exists)
    return bindings


def _python_import(alias: ast.alias, bases: Sequence[Path], exists: Exists) -> list[Binding]:
    # `import a.b.c` binds `a`; `import a.b.c as m` binds `m` to a/b/c.
    parts = alias.name.split(".")
    named = parts if alias.asname else parts[:1]
    module = _python_module(bases, named, exists)
    if module is None:
        return []
    return [Binding(alias.asname or parts[0], module, "")]


def _python_from(
    file: Path, node: ast.ImportFrom, bases: Sequence[Path], exists: Exists
) -> list[Binding]:
    parts = node.module.split(".") if node.module else []
    if node.level:
        base = file.parent
        for _ in range(node.level - 1):
            base = base.parent
        search: Sequence[Path] = [base]
    else:
        search = bases
    if parts:
        package = _python_module(search, parts, exists)
        is_package = package is not None and package.stem == "__init__"
        folder = package.parent if package is not None and is_package else None
    else:  # `from . import x`: the folder's __init__, if it has one
        package, folder = _python_package(search[0], exists), search[0]
    bindings = []
    for alias in node.names:
        if alias.name == "*":
            if package is not None:
                bindings.append(Binding("*", package, "*"))
            continue
        # `from package import module` names a module, else a definition.
        if folder is not None:
            submodule = _python_module([folder], [alias.name], exists)
        elif package is None:  # a namespace package: a folder without __init__
            submodule = _python_module(search, [*parts, alias.name], exists)
        else:
            submodule = None
        if submodule is not None:
            bindings.append(Binding(alias.asname or alias.name, submodule, ""))
        elif package is not None:
            bindings.append(Binding(alias.asname or alias.name, package, alias.name))
    return bindings


def _python_module(bases: Iterable[Path], parts: Sequence[str], exists: Exists) -> Path | None:
    """The file of the module `parts` under the first base that has it."""
    for base in bases:
        folder = base.joinpath(*parts)
        for candidate in (
            folder.with_name(folder.name + ".py"),
            folder / "__init__.py",
            folder.with_name(folder.name + ".pyi"),
            folder / "__init__.pyi",
        ):
            if exists(candidate):
                return candidate
    return None


def _python_package(folder: Path, exists: Exists) -> Path | None:
    """`from . import x` in a folder: its __init__, or the folder as a namespace."""
    for name in ("__init__.py", "__init__.pyi"):
        if exists(folder / name):
            return folder / name
    return None


def _python_bases(file: Path, roots: Sequence[Path], exists: Exists) -> list[Path]:
    """Where absolute imports start: the folder above the file's top package
    (so a package in `src/` finds itself), then the workspace folders and
    their `src/`."""
    top = file.parent
    while top.parent != top and exists(top / "__init__.py") and top not in roots:
        top = top.parent
    bases = [top]
    for root in roots:
        bases += [root, root / "src"]
    return list(dict.fromkeys(bases))
