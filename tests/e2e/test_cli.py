"""The `hearth` command as a user meets it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import model_spec

ROOT = Path(__file__).resolve().parents[2]


def hearth(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lsp_server", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )


def test_bad_model_path_is_one_actionable_line(tmp_path: Path) -> None:
    result = hearth("--model", str(tmp_path / "missing.gguf"), "doctor")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "missing.gguf" in lines[0]
    assert "does not exist" in lines[0]
    assert "Traceback" not in result.stderr


def test_doctor_names_the_model_and_its_fim_format() -> None:
    result = hearth("--model", model_spec(), "doctor")
    assert result.returncode == 0, result.stderr
    assert "FIM format: qwen2.5-coder (from gguf)" in result.stdout


def test_demo_shows_a_real_suggestion_as_ghost_text() -> None:
    result = hearth("demo", "examples/inventory.py:22:5", "--model", model_spec())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "\x1b[2;3m" in result.stdout, "the suggestion is shown dimmed, as ghost text"
    ghost = result.stdout.split("\x1b[2;3m", 1)[1].split("\x1b[0m", 1)[0]
    assert ghost.strip(), "the suggestion is empty"
    assert "suggestion in" in result.stdout
