"""Settings: camelCase on the wire, layered, validated, last good kept."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lsp_server.settings import Settings, SettingsError, SettingsStore, parse, to_wire


def test_defaults_round_trip_in_camel_case() -> None:
    wire = to_wire(Settings())
    assert wire["completion"]["maxTokens"] == 64
    assert wire["model"]["contextSize"] == 2048
    assert parse(wire) == Settings()


def test_later_layers_win_and_earlier_ones_show_through() -> None:
    store = SettingsStore()
    store.update("cli", {"log": {"level": "debug"}})
    store.update("initialization", {"completion": {"maxTokens": 10, "debounceMs": 5}})
    store.update("workspace", {"completion": {"maxTokens": 20}})
    assert store.current.completion.max_tokens == 20
    assert store.current.completion.debounce_ms == 5
    assert store.current.log.level == "debug"
    store.update("workspace", {})
    assert store.current.completion.max_tokens == 10


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        ({"completion": {"maxTokens": "many"}}, "completion.maxTokens"),
        ({"completion": {"maxTokens": 0}}, "completion: maxTokens must be at least 1"),
        ({"completion": {"temperature": 5.0}}, "temperature must be between 0 and 2"),
        ({"log": {"level": "loud"}}, "log.level"),
        ({"model": {"contextSize": True}}, "model.contextSize"),
        ({"completion": 3}, "completion"),
        (
            {"docstrings": {"maxTokens": 2000}},
            "docstrings.promptTokens + docstrings.maxTokens (2768) must fit in model.contextSize",
        ),
        ({"limits": {"documentChars": 10}}, "documentChars must be at least 1000"),
        ({"hover": {"cacheBytes": -1}}, "cacheBytes must be at least 0"),
    ],
)
def test_bad_values_are_rejected_with_a_message_and_the_last_good_stays(
    layer: dict[str, object], message: str
) -> None:
    store = SettingsStore()
    store.update("initialization", {"completion": {"maxTokens": 7}})
    with pytest.raises(SettingsError, match=re.escape(message)):
        store.update("workspace", layer)
    assert store.current.completion.max_tokens == 7


def test_unknown_keys_are_named_in_a_warning() -> None:
    store = SettingsStore()
    warnings = store.update("workspace", {"completion": {"maxTokns": 3, "maxTokens": 4}, "x": 1})
    assert store.current.completion.max_tokens == 4
    (warning,) = warnings
    assert "hearth.completion.maxTokns" in warning
    assert "hearth.x" in warning


def _flat(wire: dict[str, dict[str, object]]) -> dict[str, object]:
    return {
        f"{section}.{key}": value for section, keys in wire.items() for key, value in keys.items()
    }


def test_every_setting_is_documented_and_contributed_to_vs_code_with_its_default() -> None:
    root = Path(__file__).resolve().parents[2]
    defaults = _flat(to_wire(Settings()))
    manifest = json.loads((root / "editors" / "vscode" / "package.json").read_text())
    properties = manifest["contributes"]["configuration"]["properties"]
    contributed = {
        key.removeprefix("hearth."): spec["default"]
        for key, spec in properties.items()
        if not key.startswith("hearth.server.")  # the extension's own
    }
    assert contributed == defaults
    documented = dict(_SETTING_ROW.findall((root / "docs" / "settings.md").read_text()))
    assert {key: _written(value) for key, value in defaults.items()} == documented


# A row of docs/settings.md's table: the key, then its default as written.
_SETTING_ROW = re.compile(r"^\| `([\w.]+)` \| ([^|]+?) \|", re.MULTILINE)


def _written(value: object) -> str:
    """A default as docs/settings.md writes it: `none` for null, `empty` for
    an empty string, else the JSON value in backticks."""
    if value is None:
        return "none"
    if value == "":
        return "empty"
    return f"`{json.dumps(value).strip(chr(34))}`"


@pytest.mark.parametrize(
    ("engine", "message"),
    [
        ({"url": "gpu-box:8080"}, "url must be an http:// or https:// address"),
        ({"apiKeyEnv": "sk-live-123"}, "must name an environment variable"),
        ({"api": "ollama"}, "hearth.engine.api: must be one of llamacpp, openai"),
        ({"timeoutMs": 5}, "timeoutMs must be at least 100"),
    ],
)
def test_bad_engine_settings_say_what_is_wrong(engine: dict[str, object], message: str) -> None:
    store = SettingsStore()
    with pytest.raises(SettingsError, match=re.escape(message)):
        store.update("workspace", {"engine": {"kind": "remote", **engine}})
    assert store.current.engine.kind == "embedded"
