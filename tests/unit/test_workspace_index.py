"""The workspace index: summaries of files, Python's imports resolved, the cache."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from lsp_server.workspace import imports, index
from lsp_server.workspace.context import CrossFile
from lsp_server.workspace.files import read_source
from lsp_server.workspace.index import WorkspaceIndex
from lsp_server.workspace.summary import FileSummary, summarise
from tests.unit.test_retrieval import SENDER

CORE = '''\
"""Commands."""
import os


class Command:
    """A command the user runs.

    More about it.
    """

    def __init__(self, name: str, params: list[str] | None = None) -> None:
        self.name = name
        self.params = params or []

    def invoke(self, ctx: "Context") -> int:
        """Run it."""
        return helper(ctx)

    def _private(self) -> None:
        pass


def helper(ctx):
    def local():
        return 1
    return local()
'''


def _package(root: Path) -> None:
    files = {
        "pkg/__init__.py": "from .core import Command\n",
        "pkg/core.py": CORE,
        "pkg/formatting.py": (
            "class HelpFormatter:\n    def write_usage(self, prog, args=''):\n        pass\n"
        ),
        "pkg/sub/__init__.py": "",
        "pkg/sub/deep.py": "from ..core import helper\nfrom .. import formatting\n",
        "pkg/cli.py": (
            "from .core import Command, helper as run\n"
            "from . import formatting\n"
            "import pkg.formatting as fmt\n"
            "import pkg.sub.deep\n"
            "from pkg import core\n"
            "from pkg.sub import deep\n"
            "from os import path\n"
            "import json\n"
            "from .formatting import *\n"
        ),
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_a_summary_keeps_what_the_model_is_shown_of_each_definition() -> None:
    summary = summarise("python", CORE)
    names = [(e.kind, e.owner, e.name) for e in summary.entries]
    assert names == [
        ("class", "", "Command"),
        ("method", "Command", "__init__"),
        ("method", "Command", "invoke"),
        ("method", "Command", "_private"),
        ("function", "", "helper"),
    ]  # `local` is helper's own: no other file sees it
    (command,) = summary.named("Command")
    assert command.doc == "A command the user runs."
    assert "def __init__(self, name: str, params: list[str] | None = None) -> None:" in command.text
    assert 'def invoke(self, ctx: "Context") -> int:' in command.text
    assert "self.params = params" not in command.text  # bodies elided
    assert (command.line, command.end_line) == (4, 19)
    assert summary.members("Command")[1].text == 'def invoke(self, ctx: "Context") -> int:'
    assert summary.imports == ("import os",)


def test_python_imports_resolve_to_the_files_that_define_them(tmp_path: Path) -> None:
    _package(tmp_path)
    root = tmp_path.resolve()
    cli = root / "pkg" / "cli.py"
    statements = summarise("python", cli.read_text()).imports

    def exists(path: Path) -> bool:
        return path.is_file()

    found = imports.python(cli, statements, [root], exists)
    bindings = {(b.name, b.path.relative_to(root).as_posix(), b.member) for b in found}
    assert bindings == {
        ("Command", "pkg/core.py", "Command"),
        ("run", "pkg/core.py", "helper"),
        ("formatting", "pkg/formatting.py", ""),
        ("fmt", "pkg/formatting.py", ""),
        ("pkg", "pkg/__init__.py", ""),  # `import pkg.sub.deep` binds `pkg`
        ("core", "pkg/core.py", ""),
        ("deep", "pkg/sub/deep.py", ""),
        ("*", "pkg/formatting.py", "*"),
    }  # os, json: not the workspace's
    deep = root / "pkg" / "sub" / "deep.py"
    found = imports.python(deep, summarise("python", deep.read_text()).imports, [root], exists)
    assert {(b.name, b.path.name, b.member) for b in found} == {
        ("helper", "core.py", "helper"),
        ("formatting", "formatting.py", ""),
    }


def test_half_typed_imports_resolve_to_nothing_and_raise_nothing(tmp_path: Path) -> None:
    _package(tmp_path)
    cli = tmp_path.resolve() / "pkg" / "cli.py"
    half_typed = ["from .core import (", "from . import"]
    assert imports.python(cli, half_typed, [tmp_path], Path.is_file) == []


def _indexed(root: Path, cache: Path) -> WorkspaceIndex:
    index = WorkspaceIndex([root], cache_dir=cache)
    index.start()
    assert index.wait(120)
    return index


def test_the_index_reads_the_workspace_and_a_restart_reads_what_changed(tmp_path: Path) -> None:
    root, cache = tmp_path / "project", tmp_path / "cache"
    _package(root)
    (root / "notes.txt").write_text("not code\n")
    first = _indexed(root, cache)
    pkg = root.resolve() / "pkg"
    assert sorted(p.relative_to(pkg).as_posix() for p in first.paths()) == [
        "__init__.py",
        "cli.py",
        "core.py",
        "formatting.py",
        "sub/__init__.py",
        "sub/deep.py",
    ]
    summary = first.summary(pkg / "core.py")
    assert summary is not None
    assert [e.name for e in summary.named("Command")] == ["Command"]
    assert (first.counts.parsed, first.counts.from_cache) == (6, 0)

    changed = pkg / "formatting.py"
    changed.write_text("def render(text):\n    return text\n")
    os.utime(changed, ns=(time.time_ns(), time.time_ns() + 10**9))  # a coarse clock still sees it
    (pkg / "sub" / "deep.py").unlink()
    second = _indexed(root, cache)
    assert (second.counts.parsed, second.counts.from_cache) == (1, 4)
    summary = second.summary(changed)
    assert summary is not None
    assert [e.name for e in summary.entries] == ["render"]
    assert not second.has(pkg / "sub" / "deep.py")


def test_refresh_follows_the_disk(tmp_path: Path) -> None:
    _package(tmp_path)
    index = _indexed(tmp_path, tmp_path / "cache")
    core = tmp_path.resolve() / "pkg" / "core.py"
    core.write_text("def renamed():\n    pass\n")
    index.refresh(core)
    summary = index.summary(core)
    assert summary is not None
    assert [e.name for e in summary.entries] == ["renamed"]
    new = tmp_path.resolve() / "pkg" / "new.py"
    new.write_text("class Fresh:\n    pass\n")
    index.refresh(new)
    assert index.has(new)
    new.unlink()
    index.refresh(new)
    assert not index.has(new)


def test_past_its_limit_the_index_keeps_what_fits_and_counts_the_rest(tmp_path: Path) -> None:
    _package(tmp_path)
    index = WorkspaceIndex([tmp_path], max_files=4)
    index.start()
    assert index.wait(120)
    assert (len(index.paths()), index.counts.left_out) == (4, 2)


def test_the_names_used_lead_to_their_definitions_in_other_files(tmp_path: Path) -> None:
    _package(tmp_path)
    index = _indexed(tmp_path, tmp_path / "cache")
    root = tmp_path.resolve()
    cli = root / "pkg" / "cli.py"
    statements = summarise("python", cli.read_text()).imports
    cross = CrossFile(cli, statements, [root], index.summary)
    found = cross.snippets({"Command", "write_usage", "HelpFormatter", "run", "unknown"})
    # Files in the order cli.py imports them; `run` is `helper` as cli.py calls it;
    # `HelpFormatter` through `from . import formatting` and the `*` import.
    assert [(path, [text.split("\n")[0] for _, text in texts]) for path, texts in found] == [
        ("pkg/core.py", ["class Command:", "def helper(ctx):"]),
        ("pkg/formatting.py", ["class HelpFormatter:"]),
    ]
    run = cross.origin("run")  # what a hover on `run(...)` explains
    assert run is not None
    assert (run.path.name, run.entry.name) == ("core.py", "helper")
    assert cross.origin("nowhere") is None
    # `from pkg import Command`: re-exported by pkg/__init__.py, defined in core.py.
    user = root / "user.py"
    user.write_text("from pkg import Command\n")
    index.refresh(user)
    cross = CrossFile(user, ["from pkg import Command"], [root], index.summary)
    assert [path for path, _ in cross.snippets({"Command"})] == ["pkg/core.py"]


def test_an_open_buffer_wins_over_the_disk(tmp_path: Path) -> None:
    _package(tmp_path)
    index = _indexed(tmp_path, tmp_path / "cache")
    root = tmp_path.resolve()
    core = root / "pkg" / "core.py"
    unsaved = summarise("python", "class Command:\n    def edited(self) -> None: ...\n")

    def summaries(path: Path) -> FileSummary | None:
        return unsaved if path == core else index.summary(path)

    cli = root / "pkg" / "cli.py"
    cross = CrossFile(cli, ["from .core import Command"], [root], summaries)
    ((_, [(_, text)]),) = cross.snippets({"Command"})
    assert "def edited(self)" in text


def test_a_modules_top_level_names_are_kept_for_module_dot() -> None:
    source = (
        "import os\nLOGGER = make_logger('"
        + "x" * 200
        + "')\nDEFAULT: int = 3\n\n\ndef f():\n    x = 1\n"
    )
    summary = summarise("python", source)
    assert [(e.kind, e.name) for e in summary.entries] == [
        ("constant", "LOGGER"),
        ("constant", "DEFAULT"),
        ("function", "f"),
    ]  # not `x`, local to f
    assert summary.named("DEFAULT")[0].text == "DEFAULT: int = 3"
    assert summary.named("LOGGER")[0].text.endswith(" ...")  # a long one is cut


def test_code_like_the_cursors_comes_from_other_files_and_follows_the_disk(
    tmp_path: Path,
) -> None:
    root, cache = tmp_path / "project", tmp_path / "cache"
    (root / "mail").mkdir(parents=True)
    sender = root / "mail" / "sender.py"
    sender.write_text("import smtplib\n\n\n" + SENDER)
    user = root / "mail" / "alerts.py"
    user.write_text(SENDER.replace("send(", "alert("))  # the document: never its own code
    index = _indexed(root, cache)
    real = root.resolve()

    def similar(buffers: dict[Path, str]) -> list[tuple[str, int, str]]:
        def source(path: Path) -> str | None:
            return buffers.get(path) or read_source(path)

        cross = CrossFile(
            real / "mail/alerts.py", [], [real], index.summary, None, index.similar_code, source
        )
        return cross.similar(SENDER.replace("send(", "alert("), 2)

    assert similar({}) == [("mail/sender.py", 0, "import smtplib\n\n\n" + SENDER.rstrip())]
    # An open buffer's lines are what is shown of it.
    edited = "import smtplib  # edited\n\n\n" + SENDER
    assert similar({real / "mail/sender.py": edited})[0][2].startswith("import smtplib  # edited")

    # A restart finds it too, the summaries from the cache.
    again = _indexed(root, cache)
    assert again.counts.from_cache == 2
    assert again.similar_code.stats() == index.similar_code.stats()
    assert index.similar_code.stats()["files"] == 2

    sender.write_text("import os\n")
    index.refresh(sender.resolve())
    assert similar({}) == []


# A stand-in for the server: it starts the index's worker as the index does,
# says the worker's pid, and waits to be killed.
STARTS_A_WORKER = textwrap.dedent(
    """
    import multiprocessing, os, time
    from concurrent.futures import ProcessPoolExecutor
    from lsp_server.workspace import index
    if __name__ == "__main__":
        spawn = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(1, mp_context=spawn, initializer=index._worker_start)
        print(pool.submit(os.getpid).result(), flush=True)
        time.sleep(120)
    """
)


def _running(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting to be reaped has ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def test_the_index_worker_ends_when_the_server_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "server.py"
    script.write_text(STARTS_A_WORKER)
    root = Path(__file__).resolve().parents[2]
    server = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert server.stdout is not None
    worker = int(server.stdout.readline())
    try:
        server.kill()  # as an editor's hard stop: no shutdown, no atexit
        server.wait()
        give_up = time.monotonic() + 10 * index.ORPHAN_CHECK_S
        while _running(worker) and time.monotonic() < give_up:
            time.sleep(0.1)
        assert not _running(worker)
    finally:
        if _running(worker):
            os.kill(worker, 9)
