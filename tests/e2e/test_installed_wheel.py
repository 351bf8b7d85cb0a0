"""Hearth as a user installs it: a wheel, in a clean virtual environment outside
the checkout, as `pipx install` or `uv tool install` would make it.

The wheel is built from a copy of the checkout's files (so the build writes
nothing into the checkout) with build isolation, installed with its
`model-small` extra into a new venv under the test's temporary folder, and
then run from there: `hearth doctor`, and a round trip over LSP with the
`hearth` command an editor starts. pip takes llama-cpp-python's wheel from
its cache, where installing the checkout's venv left it, so nothing is
compiled again (were the cache empty, pip would compile it: minutes, not a
failure).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import make_test_lsp_client

from tests.e2e.conftest import patient_settings
from tests.e2e.helpers import open_document, suggest, text_of
from tests.e2e.test_cli import doctor_lines
from tests.pace import guard

pytestmark = pytest.mark.model

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "inventory.py"
# The empty line in `cheapest`, where `make run` asks for its suggestion.
SAMPLE_POSITION = types.Position(line=21, character=4)
# Building llama-cpp-python, should pip's cache not have it, takes minutes.
INSTALL_TIMEOUT = 20 * 60


@dataclass(frozen=True)
class Installed:
    venv: Path
    site_packages: Path
    env: dict[str, str]  # what a user's shell would have: no checkout, no test settings
    home: Path  # a folder outside the checkout to run from

    @property
    def hearth(self) -> Path:
        return self.venv / "bin" / "hearth"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.hearth), *args],
            capture_output=True,
            text=True,
            timeout=guard(timeout),
            cwd=self.home,
            env=self.env,
        )


def run(command: list[str], cwd: Path, timeout: float) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}"


def copy_of_checkout(into: Path) -> Path:
    """The files git would ship (tracked, or new and not ignored), copied: no
    .venv, no caches, no build output of earlier runs."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a file deleted but not yet committed is still listed
            target = into / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return into


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("installed")
    source = copy_of_checkout(base / "source")
    wheels = base / "wheels"
    run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), "."],
        cwd=source,
        timeout=300,
    )
    (wheel,) = wheels.glob("hearth_lsp-*.whl")

    venv = base / "venv"
    # The Python the checkout's venv was made from, not the venv itself.
    run([sys.base_prefix + "/bin/python3", "-m", "venv", str(venv)], cwd=base, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    run([*pip, f"{wheel}[model-small]"], cwd=base, timeout=INSTALL_TIMEOUT)

    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "VIRTUAL_ENV", "HEARTH_MODEL", "HEARTH_TEST_MODEL")
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    # A cache of its own: the model is assembled from the parts this venv
    # installed, not found where the checkout's venv put it.
    env["HEARTH_CACHE_DIR"] = str(base / "cache")
    home = base / "elsewhere"
    home.mkdir()
    (site_packages,) = (venv / "lib").glob("python3.*/site-packages")
    yield Installed(venv, site_packages, env, home)
    shutil.rmtree(base)  # a venv and a model: over a gigabyte


def relative_files(root: Path, pattern: str) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob(pattern)}


def test_the_wheel_carries_every_module_and_grammar_query(installed: Installed) -> None:
    package = installed.site_packages / "lsp_server"
    assert relative_files(package, "*.py") == relative_files(ROOT / "lsp_server", "*.py")
    queries = relative_files(ROOT / "grammars", "*.scm")
    assert queries, "the checkout has grammar queries"
    assert relative_files(package / "grammars", "*.scm") == queries
    imported = subprocess.run(
        [str(installed.python), "-c", "import lsp_server; print(lsp_server.__file__)"],
        capture_output=True,
        text=True,
        cwd=installed.home,
        env=installed.env,
    )
    assert imported.stdout.strip() == str(package / "__init__.py"), imported.stderr


def test_the_installed_doctor_finds_the_small_model_and_passes(installed: Installed) -> None:
    # No --model and no HEARTH_MODEL: the installed presets decide, and only
    # the small one is installed.
    result = installed.run("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    report = doctor_lines(result.stdout)
    for label in ("python", "llama.cpp", "model", "file", "load", "round trip"):
        assert report[label][0] == "ok", result.stdout
    assert report["python"][1].endswith(
        f"at {installed.venv / 'bin' / 'python'} (Hearth needs 3.11+)"
    )
    assert report["model"][1].startswith("small"), result.stdout
    assert str(installed.env["HEARTH_CACHE_DIR"]) in report["file"][1], result.stdout


async def test_the_installed_server_answers_an_inline_completion(
    installed: Installed, tmp_path: Path
) -> None:
    """The `hearth` command on PATH, started as an editor starts it."""
    document = tmp_path / "inventory.py"
    shutil.copy(SAMPLE, document)
    client: LanguageClient = make_test_lsp_client()
    await client.start_io(str(installed.hearth), env=installed.env, cwd=installed.home)
    try:
        await client.initialize_session(
            types.InitializeParams(
                capabilities=client_capabilities("visual_studio_code"),
                initialization_options=patient_settings(),
            )
        )
        uri = document.as_uri()
        open_document(client, uri, document.read_text())
        items = await suggest(client, uri, SAMPLE_POSITION)
        assert items, "no suggestion at the empty line of `cheapest`"
        assert text_of(items[0]).strip(), items
    finally:
        await client.shutdown_session()
