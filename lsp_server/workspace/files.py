"""Which files of a workspace folder the index reads.

Every file of a language Hearth parses, except what a developer would not
call the project's own code: what `.gitignore` files leave out (each one
applies below its own folder, as git reads them), dependencies and
environments (`node_modules`, a folder with a `pyvenv.cfg`), build output,
vendored copies, caches, binary files, files over the size limit and what
the `context.exclude` globs name. Symbolic links are resolved and one that
leads out of the folder is never followed: the index reads only the
workspace, and with a remote engine what it reads may go into a prompt.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from lsp_server.context import languages

# Folders that hold no code of the project's own, whatever .gitignore says.
SKIPPED_FOLDERS = frozenset(
    {
        ".git", ".hg", ".svn", ".jj",
        "node_modules", "bower_components", "jspm_packages",
        ".venv", "venv", ".tox", ".nox", "__pypackages__", "site-packages",
        "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis",
        "build", "dist", "out", "target", "_build", ".next", ".nuxt", ".gradle",
        "vendor", "third_party", "third-party", "external",
        ".idea", ".vscode", ".cache",
    }
)  # fmt: skip
# A folder with one of these is an environment or a build, not source.
MARKER_FILES = ("pyvenv.cfg", "CACHEDIR.TAG")
MAX_FILE_BYTES = 500_000  # generated or data-like past this; never what the user wrote
_SNIFF_BYTES = 8192  # a NUL in a file's first bytes marks it as binary

_EXTENSIONS: dict[str, str] = {
    ".py": "python", ".pyi": "python",
    ".js": "javascript", ".jsx": "javascript", ".mjs": "javascript", ".cjs": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript",
    ".tsx": "tsx",
    ".rs": "rust",
    ".go": "go",
    ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp", ".hxx": "cpp",
    ".java": "java",
}  # fmt: skip
# Ignore rules with the folder each applies below (paths are matched relative to it).
Rules = list[tuple[Path, pathspec.GitIgnoreSpec]]
assert set(_EXTENSIONS.values()) <= {spec.name for spec in languages.LANGUAGES}


def language_of(path: Path | str) -> str | None:
    """The language a file's name says it is written in, or None."""
    return _EXTENSIONS.get(os.path.splitext(path)[1].lower())


def shown_path(path: Path, roots: Iterable[Path]) -> str:
    """A file's path as a user names it: from the workspace folder that holds
    it, else the file's name."""
    for root in roots:
        if path.is_relative_to(root):
            return path.relative_to(root).as_posix()
    return path.name


def watched_globs() -> list[str]:
    """Globs of the files the index reads, for `workspace/didChangeWatchedFiles`."""
    return [f"**/*{extension}" for extension in sorted(_EXTENSIONS)]


@dataclass
class Skipped:
    """What a walk left out and why, for the log and `hearth.stats`."""

    too_big: int = 0
    binary: int = 0
    outside: int = 0  # symbolic links leading out of the folder
    unreadable: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Walk:
    """The files of one folder the index reads, found by `files()`."""

    root: Path  # resolved
    exclude: Sequence[str] = ()  # the user's globs, relative to the folder
    max_bytes: int = MAX_FILE_BYTES
    skipped: Skipped = field(default_factory=Skipped)

    def files(self) -> Iterator[Path]:
        """Each file to read, resolved, in a stable order (folders depth first)."""
        user = pathspec.GitIgnoreSpec.from_lines(self.exclude)
        yield from self._folder(self.root, [(self.root, user)])

    def admits(self, path: Path) -> bool:
        """Whether a file the editor says changed is one `files()` would yield."""
        try:
            path = path.resolve()
        except OSError:
            return False
        if not path.is_relative_to(self.root) or language_of(path) is None:
            return False
        ignores: Rules = [(self.root, pathspec.GitIgnoreSpec.from_lines(self.exclude))]
        folder = self.root
        for part in path.relative_to(self.root).parts[:-1]:
            ignores += _gitignore(folder)
            folder = folder / part
            if _skipped_folder(folder) or _ignored(ignores, folder, is_folder=True):
                return False
        ignores += _gitignore(folder)
        return not _ignored(ignores, path, is_folder=False) and self._readable_size(path)

    def _folder(self, folder: Path, ignores: Rules) -> Iterator[Path]:
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError as error:
            self.skipped.unreadable.append(f"{folder}: {error.strerror}")
            return
        ignores = ignores + _gitignore(folder)
        folders: list[Path] = []
        for entry in entries:
            path = Path(entry.path)
            if entry.is_symlink():
                # Inside the folder, the walk reaches the file where it really is.
                if not path.resolve().is_relative_to(self.root):
                    self.skipped.outside += 1
                continue
            if entry.is_dir(follow_symlinks=False):
                if not _skipped_folder(path) and not _ignored(ignores, path, is_folder=True):
                    folders.append(path)
            elif (
                language_of(path) is not None
                and not _ignored(ignores, path, is_folder=False)
                and self._readable_size(path)
            ):
                yield path
        for sub in folders:
            yield from self._folder(sub, ignores)

    def _readable_size(self, path: Path) -> bool:
        try:
            size = path.stat().st_size
        except OSError as error:
            self.skipped.unreadable.append(f"{path}: {error.strerror}")
            return False
        if size > self.max_bytes:
            self.skipped.too_big += 1
            return False
        return True


def read_source(path: Path, skipped: Skipped | None = None) -> str | None:
    """A file's text; None for a binary file or one that cannot be read (counted
    in `skipped`). Bytes that are not UTF-8 are replaced, as an editor shows them."""
    try:
        data = path.read_bytes()
    except OSError as error:
        if skipped is not None:
            skipped.unreadable.append(f"{path}: {error.strerror}")
        return None
    if b"\0" in data[:_SNIFF_BYTES]:
        if skipped is not None:
            skipped.binary += 1
        return None
    return data.decode("utf-8", "replace")


def _skipped_folder(folder: Path) -> bool:
    if folder.name in SKIPPED_FOLDERS or folder.name.endswith(".egg-info"):
        return True
    return any((folder / marker).exists() for marker in MARKER_FILES)


def _gitignore(folder: Path) -> Rules:
    """The folder's own .gitignore, which applies to what lies below it."""
    try:
        lines = (folder / ".gitignore").read_text(errors="replace").splitlines()
    except OSError:
        return []
    return [(folder, pathspec.GitIgnoreSpec.from_lines(lines))]


def _ignored(ignores: Rules, path: Path, is_folder: bool) -> bool:
    """Whether the innermost rule about `path` leaves it out (a deeper
    .gitignore can take back with `!pattern` what a higher one left out)."""
    ignored = False
    for base, spec in ignores:
        relative = path.relative_to(base).as_posix() + ("/" if is_folder else "")
        result = spec.check_file(relative)
        if result.include is not None:
            ignored = result.include
    return ignored
