"""`hearth.fixFailure` on the in-process server with the fake engine's chat.

A failure's text is read for its innermost frame in the workspace (frames
in the standard library or site-packages are passed over); the function
there is rewritten as a fix is, in the editor's buffer if the file is
open (an edit for its version), else in the file on disk (an edit of no
version). Failures with no frame in the workspace, or none at all, get a
message saying so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lsprotocol import converters, types
from pygls.exceptions import JsonRpcException

from tests.fast.fake_engine import Call, FakeEngine, chats, guarded, rewrites
from tests.fast.server import QUIET, Editor, hearth

COMMAND = "hearth.fixFailure"
STATS = """def average(values):
    return sum(values) / len(value)


def spread(values):
    return max(values) - min(values)
"""
FIXED = """def average(values):
    return sum(values) / len(values)
"""
SETTINGS = {**QUIET, "context": {"workspace": False}}


def traceback(folder: Path) -> str:
    return f"""Traceback (most recent call last):
  File "{folder}/test_stats.py", line 5, in test_average
    assert average([1, 2, 3]) == 2
  File "{folder}/stats.py", line 2, in average
    return sum(values) / len(value)
  File "/usr/lib/python3.11/statistics.py", line 10, in nothing
    pass
NameError: name 'value' is not defined
"""


TEST = "from stats import average\n\n\ndef test_average():\n    assert average([1, 2, 3]) == 2\n"
# pytest's report of a failed assertion: no frame but the test's is left.
ASSERTED = """    def test_average():
>       assert average([1, 2, 3]) == 2
E       assert 3.0 == 2
E        +  where 3.0 = average([1, 2, 3])

{folder}/test_stats.py:5: AssertionError
"""
OFF_BY_ONE = "def average(values):\n    return sum(values) / len(values) + 1\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "stats.py").write_text(STATS)
    (tmp_path / "test_stats.py").write_text(TEST)
    return tmp_path


def answering() -> Any:
    return rewrites("This problem is reported", FIXED)


def fix_calls(fake: FakeEngine) -> list[Call]:
    return chats(fake, "This problem is reported")


def only_edit(result: dict[str, Any], uri: str, version: int | None) -> types.TextEdit:
    edit = converters.get_converter().structure(result["edit"], types.WorkspaceEdit)
    (change,) = edit.document_changes or []
    assert isinstance(change, types.TextDocumentEdit)
    assert (change.text_document.uri, change.text_document.version) == (uri, version)
    (one,) = change.edits
    assert isinstance(one, types.TextEdit)
    return one


async def fixed(editor: Editor, text: str) -> Any:
    return await guarded(editor.execute(COMMAND, text))


async def test_a_traceback_is_fixed_in_the_open_buffer_at_its_innermost_workspace_frame(
    folder: Path,
) -> None:
    fake = FakeEngine(answering())
    async with hearth(fake, SETTINGS, folder=folder) as editor:
        uri = (folder / "stats.py").as_uri()
        editor.open(uri, STATS)
        editor.open((folder / "test_stats.py").as_uri(), TEST)
        result = await fixed(editor, traceback(folder))
        edit = only_edit(result, uri, 1)
        assert edit.range.start.line == 1
        assert edit.new_text == "    return sum(values) / len(values)\n"
        assert (result["uri"], result["line"], result["lines"]) == (uri, 1, [0, 1])
        (call,) = fix_calls(fake)
        assert "NameError: name 'value' is not defined (python)" in call.prefix
        assert "called from test_average (test_stats.py:5)" in call.prefix
        # The test that failed, from its buffer: what the function should return.
        assert "From test_stats.py, line 5: `assert average([1, 2, 3]) == 2`" in call.prefix
        assert "def test_average():\n    assert average([1, 2, 3]) == 2\n" in call.prefix
        assert "def spread" not in call.prefix, "the function alone is rewritten"
        assert types.WORKSPACE_APPLY_EDIT not in editor.asked, "proposed, not applied"


async def test_a_tests_own_failed_assertion_is_fixed_in_the_function_it_tests(
    folder: Path,
) -> None:
    (folder / "stats.py").write_text(OFF_BY_ONE)
    fake = FakeEngine(answering())
    settings = {**SETTINGS, "context": {"workspace": True}}
    async with hearth(fake, settings, folder=folder) as editor:
        editor.server.index_workspace()  # as `initialized` starts it
        result = await fixed(editor, ASSERTED.format(folder=folder))
        stats = (folder / "stats.py").as_uri()
        assert (result["uri"], result["line"]) == (stats, 0), "the function, not the test"
        edit = only_edit(result, stats, None)
        assert edit.new_text == "    return sum(values) / len(values)\n"
        (call,) = fix_calls(fake)
        assert "return sum(values) / len(values) + 1" in call.prefix
        # The test, read from disk (the workspace is read): what was expected.
        assert "def test_average():\n    assert average([1, 2, 3]) == 2\n" in call.prefix


async def test_a_file_the_editor_has_not_opened_is_fixed_as_it_is_on_disk(folder: Path) -> None:
    async with hearth(FakeEngine(answering()), SETTINGS, folder=folder) as editor:
        result = await fixed(editor, traceback(folder))
        edit = only_edit(result, (folder / "stats.py").as_uri(), None)
        assert edit.new_text == "    return sum(values) / len(values)\n"
        assert (folder / "stats.py").read_text() == STATS, "nothing is written to disk"


async def test_a_failure_outside_the_workspace_or_with_no_frame_is_said_so(
    folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "stats.py").write_text(STATS)
    fake = FakeEngine(answering())
    async with hearth(fake, SETTINGS, folder=folder) as editor:
        outside = await fixed(editor, traceback(elsewhere).replace(str(folder), "/nowhere"))
        assert outside["edit"] is None
        assert "none of the failure's frames is a file of the workspace" in outside["message"]
        prose = await fixed(editor, "it broke somewhere, sorry")
        assert "no stack frame Hearth can read" in prose["message"]
        assert fix_calls(fake) == []
        assert sum("Hearth: found nothing to fix" in shown for shown in editor.shown) == 2


@pytest.mark.parametrize("arguments", [(), ("",), (42,), ({"text": None},), ("a", "b")])
async def test_a_call_without_a_failures_text_is_answered_with_what_is_wrong(
    folder: Path, arguments: tuple[Any, ...]
) -> None:
    async with hearth(FakeEngine(answering()), SETTINGS, folder=folder) as editor:
        with pytest.raises(JsonRpcException, match="takes the text of a failure"):
            await guarded(editor.execute(COMMAND, *arguments))
        result = await guarded(editor.execute(COMMAND, {"text": traceback(folder)}))
        assert result["edit"] is not None, "and the server goes on serving"
