"""The workspace index, on the real server: definitions in files the editor
never opened reach the prompt, and it follows the disk and the buffers.

What reaches the prompt is read with `hearth.showContext`, which returns
the context a suggestion at a position would show the model: the outcome
does not depend on what the model writes.
"""

from __future__ import annotations

import shutil
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import patient_settings
from tests.e2e.helpers import open_document, stats, wait_until
from tests.pace import guard

pytestmark = pytest.mark.model

FORMATTER = '''\
class HelpFormatter:
    """Formats help pages."""

    def __init__(self, width: int = 78) -> None:
        self.width = width

    def write_usage(self, prog: str, args: str = "") -> None:
        """Write a usage line."""
        print(prog, args)

    def indent(self) -> None:
        self.width -= 2
'''
CLI = """\
from .formatting import HelpFormatter


def show_help(formatter: HelpFormatter) -> None:
    formatter.
"""
CURSOR = types.Position(line=4, character=14)  # after `formatter.`


def _project(root: Path) -> None:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "formatting.py").write_text(FORMATTER)
    (root / "pkg" / "cli.py").write_text(CLI)


async def _start(client: LanguageClient, root: Path, exclude: tuple[str, ...] = ()) -> None:
    context = {"workspace": True, "exclude": list(exclude)}
    await client.initialize_session(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
            initialization_options={**patient_settings(), "context": context},
        )
    )


async def _indexed_with_cli_open(client: LanguageClient, tmp_path: Path) -> tuple[Path, str]:
    """The project indexed, and only pkg/cli.py open: its folder and cli.py's URI."""
    root = tmp_path / "project"
    _project(root)
    await _start(client, root)
    await wait_until(lambda: _index_ready(client))
    cli = (root / "pkg" / "cli.py").as_uri()
    open_document(client, cli, CLI)
    return root, cli


async def _index_ready(client: LanguageClient) -> bool:
    return (await stats(client))["workspaceIndex"].get("ready") is True


async def _context(client: LanguageClient, uri: str, at: types.Position) -> dict[str, Any]:
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="hearth.showContext",
            arguments=[uri, {"line": at.line, "character": at.character}],
        )
    )
    assert isinstance(result, dict), result
    return result


def _shown(context: dict[str, Any]) -> str:
    return "".join(f"<{file['path']}>\n{file['text']}" for file in context["files"])


async def test_a_definition_in_a_file_never_opened_reaches_the_prompt(
    raw: LanguageClient, tmp_path: Path
) -> None:
    _, cli = await _indexed_with_cli_open(raw, tmp_path)

    shown = _shown(await _context(raw, cli, CURSOR))
    assert "<pkg/formatting.py>" in shown
    assert "class HelpFormatter:" in shown
    assert 'def write_usage(self, prog: str, args: str = "") -> None: ...' in shown
    assert "print(prog, args)" not in shown  # bodies elided

    # Turned off, the model sees the open file alone.
    raw.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"hearth": {"context": {"workspace": False}}})
    )
    await wait_until(lambda: _index_off(raw))
    assert (await _context(raw, cli, CURSOR))["files"] == []


async def _model_settled(client: LanguageClient) -> bool:
    return (await stats(client))["modelState"] in ("ready", "failed")


async def _index_off(client: LanguageClient) -> bool:
    index: dict[str, object] = (await stats(client))["workspaceIndex"]
    return index == {"enabled": False}


async def test_the_editor_watches_files_only_while_the_index_is_on(
    raw: LanguageClient, tmp_path: Path
) -> None:
    root = tmp_path / "project"
    _project(root)
    watches = types.DidChangeWatchedFilesClientCapabilities(dynamic_registration=True)
    await raw.initialize_session(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(
                workspace=types.WorkspaceClientCapabilities(did_change_watched_files=watches)
            ),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
            # Turned off from the start: the index is on by default.
            initialization_options={**patient_settings(), "context": {"workspace": False}},
        )
    )
    # The model is loaded after the watch was settled (the `initialized` handler).
    await wait_until(lambda: _model_settled(raw))
    assert await _index_off(raw)
    registered: dict[str, str] = raw.__dict__.setdefault("registered", {})
    assert types.WORKSPACE_DID_CHANGE_WATCHED_FILES not in registered.values()

    def turn(on: bool) -> None:
        raw.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"hearth": {"context": {"workspace": on}}})
        )

    async def watched() -> bool:
        return types.WORKSPACE_DID_CHANGE_WATCHED_FILES in registered.values()

    async def unwatched() -> bool:
        return not await watched()

    turn(True)
    await wait_until(watched)
    await wait_until(lambda: _index_ready(raw))
    turn(False)
    await wait_until(unwatched)
    assert await _index_off(raw)


async def test_the_index_follows_the_disk_and_an_unsaved_buffer_wins(
    raw: LanguageClient, tmp_path: Path
) -> None:
    root, cli = await _indexed_with_cli_open(raw, tmp_path)
    formatting = root / "pkg" / "formatting.py"

    # Changed on disk (a git checkout, another tool), as the editor's watcher says.
    formatting.write_text(FORMATTER.replace("def indent(self)", "def dedent(self)"))
    raw.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=formatting.as_uri(), type=types.FileChangeType.Changed)]
        )
    )
    await wait_until(lambda: _shows(raw, cli, "def dedent(self)"))

    # Open and edited, not saved: the buffer is what the model sees.
    unsaved = FORMATTER.replace("def write_usage(", "def write_heading(")
    open_document(raw, formatting.as_uri(), unsaved)
    await wait_until(lambda: _shows(raw, cli, "def write_heading("))
    assert "def write_usage(" not in _shown(await _context(raw, cli, CURSOR))

    # Deleted: nothing of it is left.
    raw.text_document_did_close(
        types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri=formatting.as_uri()))
    )
    formatting.unlink()
    raw.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=formatting.as_uri(), type=types.FileChangeType.Deleted)]
        )
    )
    await wait_until(lambda: _shows_nothing(raw, cli))


async def _shows(client: LanguageClient, uri: str, text: str) -> bool:
    return text in _shown(await _context(client, uri, CURSOR))


async def _shows_nothing(client: LanguageClient, uri: str) -> bool:
    files: list[object] = (await _context(client, uri, CURSOR))["files"]
    return files == []


async def test_ignored_files_and_links_out_of_the_workspace_stay_out(
    raw: LanguageClient, tmp_path: Path
) -> None:
    root, outside = tmp_path / "project", tmp_path / "elsewhere"
    _project(root)
    outside.mkdir()
    (outside / "secrets.py").write_text("class Vault:\n    def open_vault(self) -> None: ...\n")
    (root / "pkg" / "secrets.py").symlink_to(outside / "secrets.py")
    (root / "pkg" / "generated.py").write_text("class Generated:\n    def gen(self): ...\n")
    (root / ".gitignore").write_text("generated.py\n")
    (root / "pkg" / "custom.py").write_text("class Custom:\n    def mine(self): ...\n")
    text = (
        "from .secrets import Vault\nfrom .generated import Generated\nfrom .custom import Custom\n"
        "\n\ndef f(v: Vault, g: Generated, c: Custom) -> None:\n    v.\n"
    )
    (root / "pkg" / "user.py").write_text(text)
    await _start(raw, root, exclude=("custom.py",))
    await wait_until(lambda: _index_ready(raw))
    user = (root / "pkg" / "user.py").as_uri()
    open_document(raw, user, text)

    index = (await stats(raw))["workspaceIndex"]
    assert index["linksOutside"] == 1
    context = await _context(raw, user, types.Position(line=6, character=6))
    shown = _shown(context) + context["header"]
    assert "open_vault" not in shown
    assert "def gen(" not in shown
    assert "def mine(" not in shown


def _library() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


async def test_requests_are_answered_while_a_large_workspace_is_indexed(
    raw: LanguageClient, tmp_path: Path
) -> None:
    root = tmp_path / "Lib"
    shutil.copytree(_library(), root, ignore=shutil.ignore_patterns("site-packages", "test*"))
    await _start(raw, root)
    uri = (root / "json" / "user.py").as_uri()
    text = "from .decoder import JSONDecoder\n\n\ndef read(d: JSONDecoder) -> None:\n    d.\n"
    open_document(raw, uri, text)
    answered_during = 0
    began = time.monotonic()
    while not await _index_ready(raw):
        asked = time.monotonic()
        await _context(raw, uri, types.Position(line=4, character=6))
        assert time.monotonic() - asked < guard(2.0), "a request waited for the index"
        answered_during += 1
        assert time.monotonic() - began < 600, "the index took over 10 minutes"
    assert answered_during >= 1, "the index was done before a request: not a large workspace"
    index = (await stats(raw))["workspaceIndex"]
    assert index["files"] > 500, index
    assert "class JSONDecoder" in _shown(await _context(raw, uri, types.Position(4, 6)))
    print(f"indexed {index['files']} files in {index['seconds']} s", file=sys.stderr)


async def test_a_hover_explains_a_class_from_a_file_never_opened(
    raw: LanguageClient, tmp_path: Path
) -> None:
    _, cli = await _indexed_with_cli_open(raw, tmp_path)
    at = types.Position(line=3, character=CLI.splitlines()[3].index("HelpFormatter") + 2)
    hover = await raw.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=cli), position=at)
    )
    assert hover is not None, "no explanation of a class defined in a file not open"
    assert isinstance(hover.contents, types.MarkupContent)
    assert "HelpFormatter" in hover.contents.value.split("\n")[0]


SENDER = """\
import smtplib


def send(message, server):
    connection = smtplib.SMTP(server.host, timeout=10)
    connection.login(server.user, server.password)
    connection.sendmail(message.sender, message.recipients, message.as_bytes())
    connection.quit()
"""
ALERTS = """\
import smtplib


def alert(message, server):
    connection = smtplib.SMTP(server.host, timeout=10)
    connection.login(server.user, server.password)

"""


async def test_code_like_the_cursors_in_a_file_never_opened_reaches_the_prompt(
    raw: LanguageClient, tmp_path: Path
) -> None:
    root = tmp_path / "project"
    (root / "mail").mkdir(parents=True)
    (root / "mail" / "sender.py").write_text(SENDER)
    (root / "mail" / "alerts.py").write_text(ALERTS)
    await _start(raw, root)
    await wait_until(lambda: _index_ready(raw))
    alerts = (root / "mail" / "alerts.py").as_uri()
    open_document(raw, alerts, ALERTS)

    shown = _shown(await _context(raw, alerts, types.Position(line=6, character=4)))
    assert "<mail/sender.py>" in shown
    assert "connection.sendmail(message.sender, message.recipients" in shown
