"""The code's shape, kept: small modules, and features that stand alone.

Features get a request's context and what they say to the user through a
Window (session.py, window.py); they never import the server, or reach it
for its parts. No module grows past what a reader takes in at once.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "lsp_server"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_LINES = 450


@pytest.mark.parametrize(
    "module",
    [*MODULES, *sorted((ROOT / "benchmarks").glob("*.py"))],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_no_module_is_over_450_lines(module: Path) -> None:
    lines = len(module.read_text().splitlines())
    assert lines <= MAX_LINES, f"{module.name} has {lines} lines: split it by concern"


def _imported(module: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize(
    "module", sorted((PACKAGE / "features").glob("*.py")), ids=lambda p: p.name
)
def test_features_never_import_the_server(module: Path) -> None:
    assert "lsp_server.server" not in _imported(module)


ARCHITECTURE = ROOT / "docs" / "architecture.md"
_PATH = re.compile(r"`([\w/]+(?:\.py|/))`")


def test_the_architecture_page_names_modules_that_exist() -> None:
    named = set(_PATH.findall(ARCHITECTURE.read_text()))
    names = {module.name for module in MODULES}
    for path in named - {"grammars/", "lsp_server/"}:
        found = (PACKAGE / path).exists() or ("/" not in path and path in names)
        assert found, f"docs/architecture.md names {path}, which is not in lsp_server/"


def test_the_architecture_page_names_every_module() -> None:
    text = ARCHITECTURE.read_text()
    for module in MODULES:
        if module.name == "__init__.py":
            continue
        relative = str(module.relative_to(PACKAGE))
        package = str(module.parent.relative_to(PACKAGE)) + "/"
        assert f"`{relative}`" in text or (package in text and f"`{module.name}`" in text), (
            f"docs/architecture.md does not name {relative}"
        )


def test_the_wheel_carries_every_package() -> None:
    """setuptools is given the packages by name: a new one left out of the list
    works in the checkout (an editable install) and is missing from a wheel."""
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    packages = {
        ".".join(init.parent.relative_to(ROOT).parts) for init in PACKAGE.rglob("__init__.py")
    }
    assert packages <= listed, (
        f"missing from pyproject.toml's packages: {sorted(packages - listed)}"
    )


def _imports_from(modules: list[Path], package: str) -> list[str]:
    return [
        f"{module.relative_to(PACKAGE)} imports {name}"
        for module in modules
        for name in sorted(_imported(module))
        if name == package or name.startswith(f"{package}.")
    ]


def test_the_session_imports_no_feature() -> None:
    """Features keep their per-document state in slots the server gives the
    session: a new feature never means editing session.py."""
    assert _imports_from([PACKAGE / "session.py"], "lsp_server.features") == []


def test_context_and_inference_do_not_import_each_other() -> None:
    """What both need (the prompt's layout, its file context) is in layout.py."""
    context = sorted((PACKAGE / "context").rglob("*.py"))
    inference = sorted((PACKAGE / "inference").rglob("*.py"))
    assert _imports_from(context, "lsp_server.inference") == []
    assert _imports_from(inference, "lsp_server.context") == []


def test_inline_completion_owns_its_parts() -> None:
    """The generation typing follows and the suggestion shown are inline
    completion's alone: no other module reaches into them."""
    parts = {"lsp_server.features.following", "lsp_server.features.shown"}
    owner = PACKAGE / "features" / "inline_completion.py"
    users = [
        str(module.relative_to(PACKAGE))
        for module in MODULES
        if module != owner and _imported(module) & parts
    ]
    assert users == []
