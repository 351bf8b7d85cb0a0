"""`hearth.fixFailure` end to end: a real pytest run fails, its output goes
to the real server and model as a user pastes it, and the fix proposed
for the file on disk makes the run pass.

The bug (a misspelt name in the function the test calls) is one both
built-in models fix: the failure names it, and the draft is the rest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lsprotocol import converters, types
from pytest_lsp import LanguageClient

from lsp_server.editor_client import Suggestion
from tests.e2e.conftest import patient_settings
from tests.samples import project_tests

pytestmark = pytest.mark.model

STATS = """def average(values):
    total = sum(values)
    return total / len(value)


def spread(values):
    return max(values) - min(values)
"""
TEST = """from stats import average, spread


def test_average():
    assert average([1, 2, 3]) == 2


def test_spread():
    assert spread([1, 5]) == 4
"""


async def fix_failing_run(
    raw: LanguageClient, tmp_path: Path, stats: str, settings: dict[str, Any]
) -> tuple[Path, Any]:
    """A project whose pytest run fails with `stats`, the server started on
    it with `settings`, and `hearth.fixFailure`'s answer to the run's output."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "stats.py").write_text(stats)
    (folder / "test_stats.py").write_text(TEST)
    failed = project_tests(folder)
    assert failed.returncode == 1, failed.stdout
    await raw.initialize_session(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            workspace_folders=[types.WorkspaceFolder(uri=folder.as_uri(), name=folder.name)],
            initialization_options=settings,
        )
    )
    result = await raw.workspace_execute_command_async(
        types.ExecuteCommandParams(command="hearth.fixFailure", arguments=[failed.stdout])
    )
    return folder, result


async def test_a_failing_pytest_run_is_fixed_from_its_output(
    raw: LanguageClient, tmp_path: Path
) -> None:
    settings = {**patient_settings(), "context": {"workspace": False}}
    folder, result = await fix_failing_run(raw, tmp_path, STATS, settings)
    assert isinstance(result, dict), result
    uri = (folder / "stats.py").as_uri()
    assert (result["uri"], result["line"]) == (uri, 2), "the innermost frame of the project"
    assert result["edit"] is not None, [m.message for m in raw.messages]
    edit = converters.get_converter().structure(result["edit"], types.WorkspaceEdit)
    (change,) = edit.document_changes or []
    assert isinstance(change, types.TextDocumentEdit)
    assert change.text_document.version is None, "a file no editor has open: no version"
    text = STATS
    for one in sorted(change.edits, key=lambda e: e.range.start.line, reverse=True):
        assert isinstance(one, types.TextEdit)
        assert one.range.end.line <= 3, "only the function that failed"
        text = Suggestion(one.new_text, one.range).apply(text)
    (folder / "stats.py").write_text(text)
    passed = project_tests(folder)
    assert passed.returncode == 0, (text, passed.stdout)


OFF_BY_ONE = STATS.replace("return total / len(value)", "return total / (len(values) + 1)")


async def test_a_failed_assertion_is_fixed_in_the_function_the_test_calls(
    raw: LanguageClient, tmp_path: Path
) -> None:
    """pytest's report of `assert average([1, 2, 3]) == 2` has no frame but
    the test's: the fix is for `average`, shown the test, never the test.
    Whatever the model writes, where it may write is fixed."""
    folder, result = await fix_failing_run(raw, tmp_path, OFF_BY_ONE, patient_settings())
    assert isinstance(result, dict), result
    stats = (folder / "stats.py").as_uri()
    assert (result["uri"], result["line"]) == (stats, 0), "the function the test calls"
    if result["edit"] is None:  # no fix the checks let through: said, and of stats.py
        assert "stats.py" in result["message"], result
        return
    edit = converters.get_converter().structure(result["edit"], types.WorkspaceEdit)
    (change,) = edit.document_changes or []
    assert isinstance(change, types.TextDocumentEdit)
    assert change.text_document.uri == stats
    assert all(one.range.end.line <= 3 for one in change.edits), "only `average`"
