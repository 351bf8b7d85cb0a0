"""What a fix is shown of the places its diagnostic names: the function
around each related location, read from the workspace only, within a
budget, never the code being fixed a second time."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from lsp_server.documents import Document, real_path
from lsp_server.features.regions import region_for
from lsp_server.features.related_code import RELATED_CODE_CHARS, reader, related_code

STATS = "def average(values):\n    return sum(values) / len(values) + 1\n"
TEST = (
    "from stats import average\n\n\n"
    "def test_average():\n"
    "    numbers = [1, 2, 3]\n"
    "    assert average(numbers) == 2\n"
)


def place(uri: str, line: int, message: str) -> types.DiagnosticRelatedInformation:
    at = types.Position(line, 0)
    return types.DiagnosticRelatedInformation(types.Location(uri, types.Range(at, at)), message)


def shown(
    folder: Path,
    *related: types.DiagnosticRelatedInformation,
    opened: tuple[Document, ...] = (),
    from_disk: bool = True,
) -> str:
    uri = (folder / "stats.py").as_uri()
    document = Document(uri, "python", 1, STATS)
    diagnostic = types.Diagnostic(
        range=types.Range(types.Position(1, 0), types.Position(2, 0)),
        message="AssertionError: 3.0 != 2",
        related_information=list(related),
    )
    buffers: dict[Path | None, Document] = {real_path(d.uri): d for d in opened}
    read = reader([folder.resolve()], buffers, from_disk, 100_000)
    return related_code(diagnostic, uri, region_for(document, 1, 1), read, lambda u: Path(u).name)


def test_the_test_that_failed_is_shown_whole_with_the_line_that_called(tmp_path: Path) -> None:
    (tmp_path / "test_stats.py").write_text(TEST)
    test_uri = (tmp_path / "test_stats.py").as_uri()
    text = shown(tmp_path, place(test_uri, 5, "called from test_average (test_stats.py:6)"))
    assert "From test_stats.py, line 6: `assert average(numbers) == 2`" in text
    assert "(called from test_average (test_stats.py:6))" in text
    assert "    numbers = [1, 2, 3]\n    assert average(numbers) == 2\n```" in text
    assert "from stats import average" not in text, "the function around the place, not the file"


def test_without_the_workspaces_files_only_an_open_buffer_is_read(tmp_path: Path) -> None:
    (tmp_path / "test_stats.py").write_text(TEST)
    test_uri = (tmp_path / "test_stats.py").as_uri()
    called = place(test_uri, 5, "called from test_average")
    assert shown(tmp_path, called, from_disk=False) == ""
    edited = Document(test_uri, "python", 3, TEST.replace("== 2", "== 2.0"))
    text = shown(tmp_path, called, opened=(edited,), from_disk=False)
    assert "assert average(numbers) == 2.0\n" in text, "the buffer as the user has it"


def test_a_place_outside_the_workspace_or_in_the_code_being_fixed_is_not_shown(
    tmp_path: Path,
) -> None:
    inside, outside = tmp_path / "project", tmp_path / "elsewhere"
    inside.mkdir()
    outside.mkdir()
    (outside / "secret.py").write_text("def secret():\n    return 'token'\n")
    (inside / "stats.py").write_text(STATS)
    text = shown(
        inside,
        place((outside / "secret.py").as_uri(), 1, "called from secret"),
        place((inside / "stats.py").as_uri(), 1, "the line itself"),
        place((inside / "missing.py").as_uri(), 0, "a file that is not there"),
    )
    assert text == ""


def test_a_long_function_is_shown_by_the_lines_around_the_place(tmp_path: Path) -> None:
    body = "".join(f"    step_{i} = {i} * 'x' * 40\n" for i in range(60))
    (tmp_path / "test_long.py").write_text(f"def test_long():\n{body}    assert False\n")
    uri = (tmp_path / "test_long.py").as_uri()
    text = shown(tmp_path, place(uri, 61, "called from test_long"))
    assert "    assert False\n" in text
    assert "step_57" in text
    assert "step_56" not in text, "three lines each side"
    assert len(text) < RELATED_CODE_CHARS + 400


def test_a_file_over_the_document_limit_is_not_shown(tmp_path: Path) -> None:
    (tmp_path / "test_big.py").write_text("def test_big():\n    assert False\n" + "#" * 5_000)
    document = Document((tmp_path / "stats.py").as_uri(), "python", 1, STATS)
    diagnostic = types.Diagnostic(
        range=types.Range(types.Position(1, 0), types.Position(2, 0)),
        message="AssertionError",
        related_information=[place((tmp_path / "test_big.py").as_uri(), 1, "called from here")],
    )
    read = reader([tmp_path.resolve()], {}, True, 1_000)
    region = region_for(document, 1, 1)
    assert related_code(diagnostic, document.uri, region, read, lambda u: u) == ""
