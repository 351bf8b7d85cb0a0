"""Model resolution and preset assembly, on temp files and the real chunk packages."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from lsp_server.inference import models
from lsp_server.inference.llama.engine import EngineConfig, LlamaEngine
from lsp_server.inference.models import ModelChoice, ModelError, Preset
from lsp_server.layout import PromptLayout

SMALL = models.PRESETS["small"]
ABSENT = Preset(
    name="absent",
    extra="model-absent",
    description="a preset whose chunk packages are not installed",
    package="hearth-test-absent-part",
    parts=2,
    version="0.0.0",
    size=10,
    sha256="0" * 64,
    filename="absent.gguf",
    parameters=10,
    layout=PromptLayout(),
)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HEARTH_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_model_gets_the_layout_of_the_preset_nearest_its_size() -> None:
    small, default = models.PRESETS["small"], models.PRESETS["default"]
    assert models.nearest_preset(small.parameters) is small
    assert models.nearest_preset(default.parameters) is default
    assert models.nearest_preset(7_000_000_000) is default  # a bigger model of the user's
    assert models.nearest_preset(135_000_000) is small  # a smaller one
    # Between the two, by ratio: 1.0B is 1.6 times 0.63B and 1.0B is 1.78B / 1.8.
    assert models.nearest_preset(1_000_000_000) is small
    assert models.nearest_preset(1_100_000_000) is default
    for unknown in (None, 0, -1):  # a remote server that does not say
        assert models.nearest_preset(unknown) is default
    assert models.layout_for(small.parameters) is small.layout


def test_precedence_cli_setting_env() -> None:
    env = {"HEARTH_MODEL": "/env.gguf"}
    assert models.choose("/cli.gguf", "/set.gguf", env) == ModelChoice("/cli.gguf", "--model")
    assert models.choose(None, "/set.gguf", env).spec == "/set.gguf"
    assert models.choose(None, None, env) == ModelChoice("/env.gguf", "HEARTH_MODEL")
    # Empty values choose nothing: on to the presets (none installed here, so none is chosen).
    with pytest.raises(ModelError, match="no model is available"):
        models.choose(None, "", {"HEARTH_MODEL": ""}, {"default": ABSENT, "small": ABSENT})


@pytest.mark.model  # assembles the small model from its installed packages
def test_default_preset_falls_back_to_small_when_only_small_is_installed() -> None:
    presets = {"default": ABSENT, "small": SMALL}
    assert models.choose(env={}, presets=presets) == ModelChoice("small", "built-in preset")


def test_no_model_anywhere_names_every_way_to_provide_one() -> None:
    with pytest.raises(ModelError) as error:
        models.choose(env={}, presets={"default": ABSENT, "small": ABSENT})
    message = str(error.value)
    for way in ("hearth-lsp[model]", "--model", "model.path", "HEARTH_MODEL", "small"):
        assert way in message


def test_missing_path_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"does not exist") as error:
        models.locate(ModelChoice(str(tmp_path / "nope.gguf"), "--model"))
    assert "nope.gguf" in str(error.value)
    assert "--model" in str(error.value)


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"is not a file"):
        models.locate(ModelChoice(str(tmp_path), "--model"))


def test_file_that_is_not_gguf_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "weights.bin"
    bogus.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(ModelError, match=r"is not a GGUF model file"):
        models.locate(ModelChoice(str(bogus), "setting model.path"))


def test_gguf_that_llama_cpp_refuses_is_a_model_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\xff" * 64)
    path = models.locate(ModelChoice(str(broken), "--model"))
    with pytest.raises(ModelError, match=r"llama.cpp could not load .*broken.gguf"):
        LlamaEngine(path, EngineConfig())


@pytest.mark.model  # assembles the small model from its installed packages
def test_preset_name_is_accepted_where_a_path_is(cache: Path) -> None:
    path = models.locate(ModelChoice("small", "HEARTH_MODEL"))
    assert path.parent == cache
    assert path.stat().st_size == SMALL.size


@pytest.mark.model  # assembles the small model from its installed packages
def test_assembly_streams_verifies_and_reports_progress(cache: Path) -> None:
    seen: list[tuple[int, int]] = []
    path = models.assemble(SMALL, lambda done, total: seen.append((done, total)))
    assert path.read_bytes()[:4] == b"GGUF"
    assert seen[-1] == (SMALL.size, SMALL.size)
    assert all(a[0] < b[0] for a, b in itertools.pairwise(seen))
    # Done once: the second call finds the verified file and streams nothing.
    seen.clear()
    assert models.assemble(SMALL, lambda done, total: seen.append((done, total))) == path
    assert seen == []
    assert sorted(p.name for p in cache.iterdir()) == [path.name, path.name + ".sha256"]


@pytest.mark.model  # assembles the small model from its installed packages
def test_wrong_hash_leaves_nothing_behind_and_says_how_to_fix(cache: Path) -> None:
    damaged = Preset(**{**SMALL.__dict__, "sha256": "f" * 64, "filename": "damaged.gguf"})
    with pytest.raises(ModelError, match=r"damaged.*--force-reinstall 'hearth-lsp\[model-small\]'"):
        models.assemble(damaged)
    assert list(cache.iterdir()) == []


def test_missing_parts_name_the_extra_to_install(cache: Path) -> None:
    with pytest.raises(ModelError) as error:
        models.assemble(ABSENT)
    assert "hearth-test-absent-part1" in str(error.value)
    assert "pip install 'hearth-lsp[model-absent]'" in str(error.value)


def test_a_file_rewritten_in_place_is_told_from_one_replaced_or_deleted(tmp_path: Path) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF" + bytes(100))
    loaded = models.FileIdentity.of(path)
    assert loaded is not None
    assert not loaded.rewritten_as(models.FileIdentity.of(path))

    os.truncate(path, 10)  # a download started again over it
    assert loaded.rewritten_as(models.FileIdentity.of(path))

    fresh = tmp_path / "fresh.gguf"
    fresh.write_bytes(b"GGUF" + bytes(50))
    loaded = models.FileIdentity.of(path)
    assert loaded is not None
    fresh.replace(path)  # downloaded beside it, then renamed over it: a new inode
    assert models.FileIdentity.of(path) != loaded
    assert not loaded.rewritten_as(models.FileIdentity.of(path))
    path.unlink()
    assert models.FileIdentity.of(path) is None
    assert not loaded.rewritten_as(None)
