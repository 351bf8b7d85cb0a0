"""The VS Code extension (editors/vscode) in a real VS Code, with the real server and model.

VS Code is code-server (VS Code in the browser) in headless Chromium, driven
by Playwright; the extension is the packaged .vsix, installed as a user
would. `make test` builds both first (scripts/vscode.sh).
The test types into the editor, waits for Monaco's ghost text, accepts it
with Tab, hovers a function, runs the docstring code action, and checks the
file on disk after each; a screenshot of each step goes to
.cache/editor-tests/vscode/.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.conftest import model_spec
from tests.editors.untrusted import Listener, folders_own_server, marker_script
from tests.pace import Pace, guard, wait_for
from tests.samples import BUGGY_STATS, SHIPPING, SHIPPING_NO_COLON, STATS_TEST, project_tests

pytestmark = [pytest.mark.model, pytest.mark.editor]

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache"
CODE_SERVER = CACHE / "code-server" / "node_modules" / ".bin" / "code-server"
NODE_BIN = CACHE / "node" / "bin"
VSIX = ROOT / "editors" / "vscode" / "hearth.vsix"
SCREENSHOTS = CACHE / "editor-tests" / "vscode"
SAMPLE = ROOT / "examples" / "inventory.py"
SAMPLE_LINE = 22  # the empty line in `cheapest`, where `make run` asks too
UNDOCUMENTED = "\n\ndef discount(price, rate):\n    return price * (1 - rate)\n"
CHROMIUM = "/usr/bin/chromium"
MODIFIER = "Control"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"code-server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"code-server did not answer at {url}")


# The editor's own settings for every test: nothing in the way of what is tested.
EDITOR_SETTINGS = {
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "extensions.ignoreRecommendations": True,
    "telemetry.telemetryLevel": "off",
    "update.mode": "none",
    "chat.disableAIFeatures": True,
    "workbench.secondarySideBar.defaultVisibility": "hidden",
}


@contextlib.contextmanager
def code_server(
    home: Path,
    folder: Path,
    settings: Mapping[str, object],
    env: Mapping[str, str] | None = None,
    trust: bool = False,
) -> Iterator[str]:
    """code-server with the packaged extension and the user's `settings`,
    serving `folder`, with `env` in its environment (and Workspace Trust if
    `trust`, else every folder trusted): the URL that opens it."""
    for needed, how in ((CODE_SERVER, "code-server"), (VSIX, "the .vsix"), (CHROMIUM, "chromium")):
        if not Path(needed).exists():
            pytest.fail(f"{how} is missing ({needed}): `make test` installs it (scripts/vscode.sh)")
    user_data, extensions = home / "user-data", home / "extensions"
    (user_data / "User").mkdir(parents=True)
    trusting = {"security.workspace.trust.enabled": trust}
    (user_data / "User" / "settings.json").write_text(
        json.dumps({**EDITOR_SETTINGS, **trusting, **settings}, indent=2)
    )
    env = {
        **os.environ,
        "PATH": f"{NODE_BIN}{os.pathsep}{os.environ['PATH']}",
        "HEARTH_MODEL": model_spec(),
        **(env or {}),
    }
    common = ["--user-data-dir", str(user_data), "--extensions-dir", str(extensions)]
    subprocess.run(
        [str(CODE_SERVER), *common, "--install-extension", str(VSIX)],
        env=env,
        check=True,
        capture_output=True,
    )
    port = free_port()
    server = subprocess.Popen(
        [
            str(CODE_SERVER),
            *common,
            "--auth",
            "none",
            "--bind-addr",
            f"127.0.0.1:{port}",
            "--disable-telemetry",
            "--disable-update-check",
            *([] if trust else ["--disable-workspace-trust"]),
            str(folder),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_until_up(url + "healthz", server)
        yield f"{url}?folder={folder}"
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, pace: Pace) -> Iterator[tuple[str, Path]]:
    """code-server with the packaged extension, serving a folder with the sample."""
    home = tmp_path_factory.mktemp("vscode")
    folder = home / "project"
    folder.mkdir()
    # The sample, and a function without a docstring for the code action.
    (folder / "inventory.py").write_text(SAMPLE.read_text() + UNDOCUMENTED)
    log = home / "hearth.log"
    settings = {
        # The editor's own word suggestions would cover the ghost text.
        "editor.quickSuggestions": {"other": False, "comments": False, "strings": False},
        "editor.suggestOnTriggerCharacters": False,
        "editor.hover.delay": 200,
        # The suggestion's toolbar, with its "2/3" of the alternatives, in the screenshots.
        "editor.inlineSuggest.showToolbar": "always",
        "hearth.server.command": sys.executable,
        "hearth.server.args": ["-m", "lsp_server", "--log-file", str(log)],
        # Limits no busy machine reaches: the test is about the editor.
        "hearth.completion.timeoutMs": int(guard(60) * 1000),
        "hearth.completion.invokedTimeoutMs": int(guard(60) * 1000),
        "hearth.completion.maxTokens": 48,
        "hearth.hover.timeoutMs": int(guard(120) * 1000),
        "hearth.docstrings.timeoutMs": int(guard(120) * 1000),
        "hearth.fixes.timeoutMs": int(guard(120) * 1000),
        "hearth.edits.timeoutMs": int(guard(120) * 1000),
        # Off by default in VS Code (its language services report syntax
        # errors); on here, for the fix of Hearth's own.
        "hearth.diagnostics.syntax": "on",
        "hearth.log.level": "debug",
    }
    try:
        with code_server(home, folder, settings) as url:
            yield url, folder
    finally:
        if log.exists():
            sys.stderr.write(log.read_text()[-4000:])


@contextlib.contextmanager
def browser(url: str, last: str = "last") -> Iterator[Page]:
    """Chromium showing VS Code at `url`, once its workbench is up; the
    screenshot `last` when done."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = chromium.new_page(viewport={"width": 1400, "height": 900})
        page.goto(url)
        page.locator(".monaco-workbench").wait_for(timeout=120_000)
        try:
            yield page
        finally:
            shot(page, last)  # what the editor showed when the test ended, passed or not
            chromium.close()


@pytest.fixture
def page(workspace: tuple[str, Path]) -> Iterator[Page]:
    url, _ = workspace
    with browser(url) as page:
        yield page


def shot(page: Page, name: str) -> None:
    page.screenshot(path=SCREENSHOTS / f"{name}.png")


def open_file(page: Page, name: str, focus: bool = True) -> None:
    page.keyboard.press(f"{MODIFIER}+P")
    page.locator(".quick-input-widget input").fill(name)
    page.locator(".quick-input-list .monaco-list-row").first.wait_for()
    page.keyboard.press("Enter")
    page.locator(f".tab.active[data-resource-name='{name}']").wait_for()
    if focus:
        page.locator(".monaco-editor .view-lines").first.click()


def run_command(page: Page, title: str) -> None:
    """A command from the palette, once the palette lists it (typing before
    the palette is open loses the keys)."""
    page.keyboard.press("F1")
    page.locator(".quick-input-widget input").fill(f">{title}")
    page.locator(".quick-input-list .monaco-list-row", has_text=title).first.wait_for()
    page.keyboard.press("Enter")


def choose_action(page: Page, menu: str, title: str, screenshot: str) -> None:
    """Open the code action `menu` (a command) and choose the action `title`
    from it, with a screenshot of the menu."""
    action = page.locator(".action-widget", has_text=title)
    for attempt in range(3):  # the menu shows what the editor had when it opened
        run_command(page, menu)
        try:
            action.wait_for(timeout=20_000)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
    shot(page, screenshot)
    action.locator(f"text={title}").first.click()


def go_to(page: Page, line: int, column: int) -> None:
    page.keyboard.press(f"{MODIFIER}+G")
    page.keyboard.type(f"{line}:{column}")
    page.keyboard.press("Enter")


def wait_for_hearth(page: Page) -> None:
    """Until the status bar says the model is ready."""
    item = page.locator(".statusbar-item", has_text="Hearth")
    expect(item.locator(".codicon-check")).to_be_visible(timeout=120_000)


def ghost_text(page: Page) -> str:
    """The ghost text on the cursor's line, as the editor draws it."""
    parts = page.locator(".ghost-text-decoration").all_inner_texts()
    return "".join(parts).replace("\u00a0", " ")


def saved(page: Page, path: Path) -> str:
    page.keyboard.press(f"{MODIFIER}+S")
    time.sleep(0.5)
    return path.read_text()


def test_ghost_text_hover_and_docstring_in_vs_code(page: Page, workspace: tuple[str, Path]) -> None:
    _, folder = workspace
    path = folder / "inventory.py"
    open_file(page, "inventory.py")
    wait_for_hearth(page)
    shot(page, "1-opened")

    # Ghost text while typing; VS Code auto-closes the bracket after the cursor.
    go_to(page, SAMPLE_LINE, 5)
    page.keyboard.type("return min(", delay=80)
    ghost = page.locator(".ghost-text-decoration, .ghost-text-decoration-preview").first
    ghost.wait_for(timeout=guard(120) * 1000)
    shot(page, "2-ghost-text")
    first = ghost_text(page)
    # VS Code's key for the next suggestion asks the server again, explicitly,
    # and gets the alternatives too: another one shows.
    page.keyboard.press("Alt+BracketRight")
    deadline = time.monotonic() + guard(120)
    while ghost_text(page) in (first, "") and time.monotonic() < deadline:
        time.sleep(0.2)
    second = ghost_text(page)
    shot(page, "2b-alternative")
    assert second not in (first, ""), (first, second)
    page.keyboard.press("Tab")
    text = saved(page, path)
    shot(page, "3-accepted")
    line = text.splitlines()[SAMPLE_LINE - 1]
    assert line.startswith("    return min("), line
    accepted = "\n".join(text.splitlines()[SAMPLE_LINE - 1 :])
    assert second.split("\n")[0] in accepted, (second, accepted)  # the one shown
    assert len(line) > len("    return min()"), f"nothing was accepted: {line}"
    assert "))" not in line.replace("()", ""), f"the auto-closed bracket is doubled: {line}"
    ast.parse(text)

    # Hover over a function's name: the model's explanation, under Hearth's heading.
    page.keyboard.press("Escape")
    # Monaco draws each token as a span; the first `total_value` is its definition.
    name = page.locator(".view-line span span", has_text=re.compile(r"^total_value$")).first
    name.hover()
    hover = page.locator(".monaco-hover", has_text="Hearth")
    hover.wait_for(timeout=guard(150) * 1000)
    shot(page, "4-hover")
    assert "total_value" in hover.inner_text()
    page.keyboard.press("Escape")

    # The docstring code action on a function without one.
    go_to(page, text.splitlines().index("    return price * (1 - rate)") + 1, 5)
    choose_action(page, "Refactor...", "Generate docstring for discount", "5-code-action")

    def documented() -> str | None:
        current = saved(page, path)
        tree = ast.parse(current)
        found = [
            ast.get_docstring(node)
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name == "discount"
        ]
        return found[0] if found and found[0] else None

    deadline = time.monotonic() + guard(150)
    docstring = documented()
    while docstring is None and time.monotonic() < deadline:
        time.sleep(1)
        docstring = documented()
    shot(page, "6-docstring")
    assert docstring is not None, "no docstring was written"
    assert "price" in docstring, docstring
    assert "rate" in docstring, docstring

    # The toggle command turns suggestions off (the server's setting), and the
    # status bar says so; again, and they are back.
    status = page.locator(".statusbar-item", has_text="Hearth")
    for expected in ("suggestions off", None):
        run_command(page, "Hearth: Toggle inline suggestions")
        if expected:
            expect(status).to_contain_text(expected, timeout=30_000)
            shot(page, "7-suggestions-off")
        else:
            expect(status).not_to_contain_text("suggestions off", timeout=30_000)


def test_the_quick_fix_menu_fixes_hearths_syntax_error(
    page: Page, workspace: tuple[str, Path]
) -> None:
    _, folder = workspace
    path = folder / "shipping.py"
    path.write_text(SHIPPING_NO_COLON)
    open_file(page, "shipping.py")
    wait_for_hearth(page)
    page.locator(".squiggly-error").first.wait_for(timeout=guard(60) * 1000)  # Hearth's
    shot(page, "8-syntax-error")
    run_command(page, "Go to Next Problem (Error, Warning, Info)")
    page.keyboard.press("Escape")  # the problem's peek; the cursor stays on it
    choose_action(page, "Quick Fix...", "Hearth: fix", "9-quick-fix")
    told = page.locator(".notification-toast", has_text="found no fix")
    deadline = time.monotonic() + guard(150)
    text = saved(page, path)
    while text == SHIPPING_NO_COLON and not told.count() and time.monotonic() < deadline:
        time.sleep(1)
        text = saved(page, path)
    shot(page, "10-fixed")
    if text == SHIPPING_NO_COLON:
        assert told.count(), "neither a fix nor a message that none was found"
        return
    compile(text, "shipping.py", "exec", dont_inherit=True)
    assert text.startswith("import math\n\n\ndef shipping_cost("), text
    assert text.endswith("\n\n\nprint(shipping_cost(2.0, True))\n"), text


def propose_edit(page: Page, instruction: str, screenshot: str) -> bool:
    """Ask for an edit by `instruction` at the cursor; True once its diff
    shows, False when Hearth said it wrote none."""
    run_command(page, "Notifications: Clear All Notifications")  # an earlier one's
    run_command(page, "Hearth: Edit by instruction...")
    box = page.locator(".quick-input-widget input")
    box.wait_for()
    box.fill(instruction)
    page.keyboard.press("Enter")
    diff = page.locator(".monaco-diff-editor")
    told = page.locator(".notification-toast", has_text="no edit was written")
    deadline = time.monotonic() + guard(150)
    while not diff.count() and not told.count() and time.monotonic() < deadline:
        time.sleep(0.5)
    shot(page, screenshot)
    assert diff.count() or told.count(), "neither an edit shown nor a message that none was written"
    return bool(diff.count())


def changed(text: str, before: str) -> str | None:
    return text if text != before else None


def test_an_edit_by_instruction_is_shown_then_accepted_or_rejected(
    page: Page, workspace: tuple[str, Path]
) -> None:
    _, folder = workspace
    path = folder / "pricing.py"
    path.write_text(SHIPPING)
    open_file(page, "pricing.py")
    wait_for_hearth(page)
    go_to(page, 5, 5)
    if propose_edit(page, "rename the variable base to cost", "11-edit-shown"):
        assert saved(page, path) == SHIPPING, "shown, not applied"
        run_command(page, "Hearth: Accept edit")
        page.locator(".monaco-diff-editor").wait_for(state="detached", timeout=30_000)
        text = wait_for(lambda: changed(saved(page, path), SHIPPING), "the edit applied")
        shot(page, "12-edit-accepted")
        compile(text, "pricing.py", "exec", dont_inherit=True)
        assert text.startswith("import math\n\n\ndef shipping_cost("), text
        assert text.endswith("\n\n\nprint(shipping_cost(2.0, True))\n"), text
    before = saved(page, path)
    go_to(page, 5, 5)
    if propose_edit(page, "raise ValueError if weight_kg is negative", "13-edit-shown"):
        run_command(page, "Hearth: Reject edit")
        page.locator(".monaco-diff-editor").wait_for(state="detached", timeout=30_000)
        shot(page, "14-edit-rejected")
        assert saved(page, path) == before, "rejected: the file is as it was"


def test_a_failure_selected_in_an_editor_is_fixed_where_it_happened(
    page: Page, workspace: tuple[str, Path]
) -> None:
    _, folder = workspace
    stats = folder / "stats.py"
    stats.write_text(BUGGY_STATS)
    (folder / "test_stats.py").write_text(STATS_TEST)
    failed = project_tests(folder, "test_stats.py")
    assert failed.returncode == 1, failed.stdout
    (folder / "failure.txt").write_text(failed.stdout)
    open_file(page, "test_stats.py")  # a Python file starts Hearth
    wait_for_hearth(page)
    run_command(page, "Notifications: Clear All Notifications")
    # From the explorer: quick open does not list a text file made this late.
    page.locator(".explorer-folders-view .monaco-list-row", has_text="failure.txt").click()
    page.locator(".tab.active[data-resource-name='failure.txt']").wait_for()
    page.locator(".monaco-editor .view-lines").first.click()
    page.keyboard.press(f"{MODIFIER}+A")  # the failure, selected
    run_command(page, "Hearth: Fix failure")
    diff = page.locator(".monaco-diff-editor")
    told = page.locator(".notification-toast", has_text="found no fix")
    deadline = time.monotonic() + guard(150)
    while not diff.count() and not told.count() and time.monotonic() < deadline:
        time.sleep(0.5)
    shot(page, "15-failure-fix-shown")
    assert diff.count(), "the fix is shown (the bug is one both models fix)"
    run_command(page, "Hearth: Accept edit")
    diff.wait_for(state="detached", timeout=30_000)
    text = wait_for(lambda: changed(saved(page, stats), BUGGY_STATS), "the fix applied")
    shot(page, "16-failure-fixed")
    passed = project_tests(folder, "test_stats.py")
    assert passed.returncode == 0, (text, passed.stdout)


@dataclass
class Hostile:
    """A folder with its own `.venv/bin/hearth`, and `.vscode/settings.json`
    that name a program to run, a model file and a remote engine of its own
    (`theirs`); the user's settings choose a remote engine of theirs (`mine`,
    so no model loads) and find `hearth` on PATH (this checkout's, as pipx
    would put it in ~/.local/bin)."""

    folder: Path
    markers: Path  # what the folder ships writes here when it runs
    mine: Listener
    theirs: Listener
    settings: dict[str, object]  # the user's
    env: dict[str, str]  # code-server's

    def ran(self) -> list[str]:
        return sorted(path.name for path in self.markers.iterdir())

    def contacted(self) -> None:
        """Until the server reaches an engine: the user's, not the folder's."""
        wait_for(lambda: self.mine.connections + self.theirs.connections, "the server's engine")
        assert self.theirs.connections == 0, "the folder's engine.url was contacted"
        assert self.mine.connections > 0, "the user's engine.url was not"


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[Hostile]:
    markers = tmp_path / "markers"
    markers.mkdir()
    folder = tmp_path / "project"
    folders_own_server(folder, markers)
    command = marker_script(folder / "tools" / "hearth", markers / "settings-command-ran")
    (folder / "inventory.py").write_text(SAMPLE.read_text())
    # VS Code gives the extension host the PATH of the user's login shell.
    (tmp_path / ".profile").write_text(f'PATH="{Path(sys.executable).parent}:$PATH"\n')
    with Listener() as mine, Listener() as theirs:
        (folder / ".vscode").mkdir()
        (folder / ".vscode" / "settings.json").write_text(
            json.dumps(
                {
                    "hearth.server.command": str(command),
                    "hearth.server.args": ["--model", str(folder / "model.gguf")],
                    "hearth.model.path": str(folder / "model.gguf"),
                    "hearth.engine.kind": "remote",
                    "hearth.engine.url": theirs.url,
                }
            )
        )
        settings: dict[str, object] = {
            "hearth.engine.kind": "remote",
            "hearth.engine.url": mine.url,
        }
        hostile = Hostile(folder, markers, mine, theirs, settings, {"HOME": str(tmp_path)})
        yield hostile
    assert hostile.ran() == [], "a program of the folder ran"


def test_a_folder_runs_nothing_it_ships_and_its_settings_send_nothing(hostile: Hostile) -> None:
    """Asked whether to run the folder's own server, the user declines: only
    `hearth` from PATH runs, with the user's engine, and a restart does not
    ask again."""
    home = hostile.folder.parent
    with (
        code_server(home, hostile.folder, hostile.settings, hostile.env) as url,
        browser(url, "untrusted") as page,
    ):
        open_file(page, "inventory.py", focus=False)  # activates the extension
        question = page.locator(".monaco-dialog-box")
        wait_for(lambda: question.is_visible() or hostile.ran(), "the question", timeout=60)
        shot(page, "untrusted-1-asked")
        assert hostile.ran() == [], "a program of the folder ran"
        assert ".venv/bin/hearth" in question.inner_text(), question.inner_text()
        question.get_by_role("button", name="Not for this folder").click()
        hostile.contacted()
        # Asked once: a restart runs `hearth` from PATH again, without a question.
        before = hostile.mine.connections
        run_command(page, "Hearth: Restart server")
        wait_for(lambda: hostile.mine.connections > before, "the server to start again")
        shot(page, "untrusted-2-restarted")
        assert not question.is_visible(), "asked again"
    assert hostile.theirs.connections == 0, "the folder's engine.url was contacted"


def test_in_restricted_mode_nothing_of_the_folder_is_offered(hostile: Hostile) -> None:
    """Workspace Trust on (code-server opens a folder not yet trusted in
    Restricted Mode): no question about the folder's server, which does not
    run; `hearth` from PATH does, with the user's engine."""
    home = hostile.folder.parent
    with (
        code_server(home, hostile.folder, hostile.settings, hostile.env, trust=True) as url,
        browser(url, "restricted") as page,
    ):
        restricted = page.locator(".statusbar-item", has_text="Restricted Mode")
        expect(restricted).to_be_visible(timeout=60_000)
        open_file(page, "inventory.py", focus=False)
        question = page.locator(".monaco-dialog-box")
        engines = hostile.mine, hostile.theirs

        def started() -> bool:
            return bool(question.is_visible() or sum(e.connections for e in engines))

        wait_for(started, "the server's engine, or a question")
        shot(page, "restricted-running")
        assert not question.is_visible(), "asked in Restricted Mode"
        hostile.contacted()


def test_the_extension_runs_a_folders_server_only_when_the_user_said_yes() -> None:
    """serverChoice.ts, the extension's decision, compiled as it ships, run in Node."""
    choice = ROOT / "editors" / "vscode" / "out" / "serverChoice.js"
    if not choice.exists():
        pytest.fail(f"{choice} is missing: `make editors/vscode/hearth.vsix` compiles it")
    a, b = "/a/.venv/bin/hearth", "/b/.venv/bin/hearth"
    cases = [
        # (the user's hearth.server.command, trusted, [(venv, answer)]) -> what runs, asked about
        (("", True, []), ("hearth", None)),
        (("", True, [(a, None)]), ("hearth", a)),
        (("", True, [(a, "never")]), ("hearth", None)),
        (("", True, [(a, "never"), (b, None)]), ("hearth", b)),
        (("", True, [(a, "never"), (b, "run")]), (b, None)),
        (("", False, [(a, "run")]), ("hearth", None)),  # Restricted Mode
        (("", False, [(a, None)]), ("hearth", None)),
        (("/opt/hearth", True, [(a, "run")]), ("/opt/hearth", None)),
    ]
    script = """
        const { chooseServer } = require(process.argv[1]);
        const cases = JSON.parse(process.argv[2]);
        const answers = cases.map(([configured, trusted, venvs]) =>
          chooseServer(configured, trusted,
                       venvs.map(([path, answer]) => ({ path, answer: answer ?? undefined }))));
        console.log(JSON.stringify(answers));
    """
    done = subprocess.run(
        [str(NODE_BIN / "node"), "-e", script, str(choice), json.dumps([c for c, _ in cases])],
        capture_output=True,
        text=True,
        check=True,
    )
    got = [(answer["command"], answer.get("ask")) for answer in json.loads(done.stdout)]
    assert got == [expected for _, expected in cases]
