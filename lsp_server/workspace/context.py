"""Definitions from other files of the workspace, for one document's prompt.

The names the code near the cursor uses, and that the document imports
from a workspace file, lead to their definitions there: a class with its
members' signatures, a function's signature and doc. An open document's
buffer wins over what the index read from the disk. A name re-exported by
a package's `__init__` is followed to where it is defined.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from lsp_server.workspace import imports, listing, retrieval
from lsp_server.workspace.files import shown_path
from lsp_server.workspace.retrieval import SimilarCode
from lsp_server.workspace.summary import Entry, FileSummary

REEXPORT_HOPS = 3  # `from .core import X` in an __init__, imported from it in turn
MODULE_LISTING = 40  # definitions of a module listed after `module.` at the cursor
SIMILAR = 2  # windows of code like the cursor's, from other files of the workspace
_RECEIVER = re.compile(r"\b([A-Za-z_]\w*)\.\w*\Z")  # `errors.` or `errors.Hea` at the cursor

Summaries = Callable[[Path], FileSummary | None]  # an open buffer's, else the index's


@dataclass(frozen=True)
class Found:
    path: Path  # the file that defines it
    entry: Entry


class CrossFile:
    """What one document imports from the rest of the workspace."""

    def __init__(
        self,
        path: Path,
        imported: Sequence[str],
        roots: Sequence[Path],
        summaries: Summaries,
        key: object = None,
        similar_code: SimilarCode | None = None,
        source: Callable[[Path], str | None] = lambda path: None,
    ) -> None:
        self.key = key  # changes when what it would find may have: a kept prompt is then stale
        self._path, self._imported = path, imported
        self._roots = roots
        self._summaries = summaries
        self._similar_code, self._source = similar_code, source

    @cached_property
    def _bindings(self) -> list[imports.Binding]:
        # Resolved when a prompt is made, not for each key typed into a kept one.
        return self._resolve(self._path, self._imported)

    def definitions(self, names: Iterable[str]) -> list[Found]:
        """The definitions that `names` (used near the cursor) stand for, in
        the order the document imports them: that order holds while the
        user types, so the prompt's start stays in the model's cache."""
        wanted = set(names)
        found: list[Found] = []
        for binding in self._bindings:
            if binding.member in ("*", ""):
                # A module (`fmt.render(`), or all of one (`*`): the members used.
                found += self._members_used(binding.path, wanted)
            elif binding.name in wanted:
                found += self._defined(binding.path, binding.member, REEXPORT_HOPS)
        return list(dict.fromkeys(found))

    def for_prompt(
        self, names: Iterable[str], above: str, line: str, suffix: str
    ) -> list[tuple[str, list[tuple[int, str]]]]:
        """What a completion's prompt shows of other files, most wanted first,
        as `snippets` gives it: after `module.` at the cursor, that module's
        names; the definitions `names` (used near the cursor) stand for; then
        code like the lines above the cursor (`similar`): how the project does
        what the user is writing (crossfile benchmark, call kind). `above` is
        the text before the cursor's line, `line` that line up to the cursor."""
        receiver = _RECEIVER.search(line)
        if receiver is None:
            shared = self.snippets(names)
        else:
            near = listing.around(above, line[: receiver.start()], suffix)
            shared = self.snippets(names, receiver[1], near)
        return shared + [(p, [(n, text)]) for p, n, text in self.similar(above, SIMILAR)]

    def snippets(
        self, names: Iterable[str], receiver: str = "", near: str = ""
    ) -> list[tuple[str, list[tuple[int, str]]]]:
        """`definitions(names)` by file, for a prompt: each file's path in the
        workspace and its definitions' texts with their lines, files in the
        order the document imports from them, most wanted first.

        With `receiver`, the name before a dot at the cursor (`errors.`):
        when it is a module of the workspace, what it defines comes first, a
        line each, for the model to choose from, those that `near` (the
        code around the cursor) speaks of first (listing.py)."""
        names = set(names)
        by_file: dict[Path, list[tuple[int, str]]] = {}
        listed = set()
        for path, entry in self._module_listing(receiver, names, near):
            by_file.setdefault(path, []).append((entry.line, _first_line(entry.text)))
            listed.add((path, entry.name))
        for found in self.definitions(names):
            if (found.path, found.entry.name) not in listed:
                by_file.setdefault(found.path, []).append((found.entry.line, found.entry.text))
        return [(shown_path(path, self._roots), texts) for path, texts in by_file.items()]

    def similar(self, above: str, count: int) -> list[tuple[str, int, str]]:
        """Up to `count` windows of other files' code like the last lines of
        `above` (the text before the cursor's line), best first: each with
        its file's path in the workspace, its first line and its text."""
        if self._similar_code is None:
            return []
        found = []
        for window in self._similar_code.similar(retrieval.query(above), self._path, count):
            text = self._source(window.path)
            if text is None:
                continue
            shown = retrieval.window(text.split("\n"), window.line).strip("\n")
            found.append((shown_path(window.path, self._roots), window.line, shown))
        return found

    def origin(self, name: str) -> Found | None:
        """Where `name`, as the document uses it, is defined in the workspace:
        a name it imports, or a member of a module it imports (`fmt.render`)."""
        for binding in self._bindings:
            if binding.name == name and binding.member not in ("", "*"):
                found = self._defined(binding.path, binding.member, REEXPORT_HOPS)
                if found:
                    return found[0]
        members = [b for b in self._bindings if b.member in ("", "*")]
        return next(iter(f for b in members for f in self._members_used(b.path, {name})), None)

    def _module_listing(self, receiver: str, used: set[str], near: str) -> list[tuple[Path, Entry]]:
        module = next((b for b in self._bindings if b.name == receiver and not b.member), None)
        summary = self._summaries(module.path) if module is not None and receiver else None
        if module is None or summary is None:
            return []
        # A private name only when the code near the cursor uses it: the
        # standard library calls `utils._sanitize(` across its modules.
        entries = [
            e
            for e in summary.entries
            if not e.owner and (not e.name.startswith("_") or e.name in used)
        ]
        return [(module.path, entry) for entry in listing.ranked(entries, near)[:MODULE_LISTING]]

    def _members_used(self, path: Path, wanted: set[str]) -> list[Found]:
        summary = self._summaries(path)
        if summary is None:
            return []
        return [Found(path, e) for e in summary.entries if not e.owner and e.name in wanted]

    def _defined(self, path: Path, name: str, hops: int) -> list[Found]:
        summary = self._summaries(path)
        if summary is None:
            return []
        here = [Found(path, e) for e in summary.named(name) if not e.owner]
        if here or hops == 0:
            return here[:1]
        for binding in self._resolve(path, summary.imports):
            if binding.name == name and binding.member and binding.member != "*":
                return self._defined(binding.path, binding.member, hops - 1)
        return []

    def _resolve(self, path: Path, statements: Sequence[str]) -> list[imports.Binding]:
        if path.suffix not in (".py", ".pyi"):
            return []  # the other languages' imports: not resolved yet

        def exists(candidate: Path) -> bool:
            return self._summaries(candidate) is not None

        return imports.python(path, statements, self._roots, exists)


def _first_line(text: str) -> str:
    """A definition's first line, its body elided as Python writes it."""
    line = text.split("\n", 1)[0]
    return line + " ..." if line.endswith(":") else line
