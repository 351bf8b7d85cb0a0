"""The `hearth` command as a user meets it."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from lsp_server.inference import models
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


def doctor_lines(output: str) -> dict[str, tuple[str, str]]:
    """`hearth doctor`'s report: label -> (mark, finding), from its aligned lines."""
    lines: dict[str, tuple[str, str]] = {}
    for line in output.splitlines():
        found = re.match(r"(ok|warn|FAIL|--) +(\S+(?: \S+)*)  +(.*)$", line)
        if found:
            lines[found[2]] = (found[1], found[3])
    return lines


def fix_after(output: str, label: str) -> str:
    """The `fix:` line under a check's line (after the server's words, if any)."""
    lines = output.splitlines()
    at = next(i for i, line in enumerate(lines) if re.match(rf"\S+ +{re.escape(label)}  ", line))
    return next(line.strip() for line in lines[at + 1 :] if not line.strip().startswith("| "))


@pytest.mark.model
def test_doctor_checks_everything_on_a_healthy_machine() -> None:
    result = hearth("--model", model_spec(), "doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    report = doctor_lines(result.stdout)
    for label in ("python", "llama.cpp", "model", "file", "load", "FIM format", "chat template"):
        assert report[label][0] == "ok", result.stdout
    assert "CPU: " in report["llama.cpp"][1]
    assert "GPU offload: " in report["llama.cpp"][1]
    # A built-in model's prompts are laid out as its own preset's.
    like = model_spec() if model_spec() in models.PRESETS else "(default|small)"
    assert re.search(rf"[\d.]+B weights, .* laid out as the '{like}' preset's", report["load"][1])
    assert report["FIM format"][1].startswith("qwen2.5-coder (from gguf): <|fim_prefix|>")
    # The speed is measured, not asserted: slow is a warning, not a failure.
    mark, speed = report["speed"]
    assert mark in ("ok", "warn"), result.stdout
    rates = re.search(r"reads (\d+) tokens/s, writes ([\d.]+) tokens/s", speed)
    assert rates is not None, speed
    assert float(rates[1]) > 0
    assert float(rates[2]) > 0
    assert report["sample"][0] == "ok", result.stdout
    mark, trip = report["round trip"]
    assert mark == "ok", result.stdout
    suggestion = re.search(r"a suggestion in [\d.]+ s: '(.+)'$", trip)
    assert suggestion is not None, trip
    assert suggestion[1].strip()


def test_doctor_on_a_missing_model_says_what_to_do(tmp_path: Path) -> None:
    result = hearth("--model", str(tmp_path / "missing.gguf"), "doctor")
    assert result.returncode == 1
    mark, finding = doctor_lines(result.stdout)["file"]
    assert mark == "FAIL"
    assert "missing.gguf does not exist" in finding
    assert fix_after(result.stdout, "file").startswith("fix: make --model name a .gguf file")
    assert doctor_lines(result.stdout)["round trip"] == ("--", "skipped: needs the model")
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.model
@pytest.mark.parametrize(
    ("damage", "failed"),
    [("truncated", "load"), ("not gguf", "file")],
)
def test_doctor_on_a_damaged_model_fails_and_says_what_to_do(
    damage: str, failed: str, model_path: Path, tmp_path: Path
) -> None:
    damaged = tmp_path / "damaged.gguf"
    if damage == "truncated":
        # The header and metadata are whole; the tensors are cut off.
        with model_path.open("rb") as model:
            damaged.write_bytes(model.read(10_000_000))
    else:
        damaged.write_text("def not_a_model(): pass\n")
    result = hearth("--model", str(damaged), "doctor")
    assert result.returncode == 1, result.stdout
    report = doctor_lines(result.stdout)
    mark, finding = report[failed]
    assert mark == "FAIL", result.stdout
    assert str(damaged) in finding
    assert fix_after(result.stdout, failed).startswith("fix: ")
    assert report["sample"] == ("--", "skipped: needs the model")
    assert "Traceback" not in result.stdout + result.stderr


def test_doctor_on_a_remote_engine_nobody_runs_fails_and_says_what_to_do() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    result = hearth("doctor", "--engine-url", url)
    assert result.returncode == 1, result.stdout
    report = doctor_lines(result.stdout)
    mark, finding = report["engine"]
    assert mark == "FAIL"
    assert url in finding
    fix = fix_after(result.stdout, "engine")
    assert fix.startswith(f"fix: no engine answers at {url}"), fix
    assert "start it" in fix
    assert report["round trip"] == ("--", "skipped: needs the engine")
    assert "model" not in report, "a remote engine is checked instead of a local model"
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.model
def test_demo_shows_a_real_suggestion_as_ghost_text() -> None:
    result = hearth("demo", "examples/inventory.py:22:5", "--model", model_spec())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "\x1b[2;3m" in result.stdout, "the suggestion is shown dimmed, as ghost text"
    ghost = result.stdout.split("\x1b[2;3m", 1)[1].split("\x1b[0m", 1)[0]
    assert ghost.strip(), "the suggestion is empty"
    assert "suggestion in" in result.stdout
