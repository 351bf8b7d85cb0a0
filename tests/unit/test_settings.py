"""Settings: camelCase on the wire, layered, validated, last good kept; documented."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from lsp_server.cli import build_parser
from lsp_server.layers import USER_ONLY, SettingsStore, vouches_for_configuration
from lsp_server.settings import EngineSettings, Settings, SettingsError, parse, to_wire

ROOT = Path(__file__).resolve().parents[2]


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
    defaults = _flat(to_wire(Settings()))
    manifest = json.loads((ROOT / "editors" / "vscode" / "package.json").read_text())
    properties = manifest["contributes"]["configuration"]["properties"]
    contributed = {
        key.removeprefix("hearth."): spec["default"]
        for key, spec in properties.items()
        if not key.startswith("hearth.server.")  # the extension's own
    }
    assert contributed == defaults
    documented = dict(_SETTING_ROW.findall((ROOT / "docs" / "settings.md").read_text()))
    assert {key: _written(value) for key, value in defaults.items()} == documented


def test_the_readme_summary_gives_real_settings_their_defaults() -> None:
    defaults = _flat(to_wire(Settings()))
    summary = dict(_SETTING_ROW.findall((ROOT / "README.md").read_text()))
    assert summary, "the README's settings summary is gone"
    for key, written in summary.items():
        assert key in defaults, f"the README names {key}, which is no setting"
        assert written == _written(defaults[key]), f"the README's default of {key}"


def test_every_flag_and_environment_variable_is_documented() -> None:
    reference = (ROOT / "docs" / "settings.md").read_text()
    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for name, command in [("hearth", parser), *commands.choices.items()]:
        assert name == "hearth" or f" {name}" in reference, f"docs/settings.md: hearth {name}"
        for action in command._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert f"`{flag}" in reference, f"docs/settings.md: {flag} of {name}"
    variables = {
        name
        for source in (ROOT / "lsp_server").rglob("*.py")
        for name in re.findall(r"\bHEARTH_[A-Z_]+\b", source.read_text())
    }
    assert "HEARTH_MODEL" in variables  # the search itself works
    for name in variables:
        assert f"`{name}`" in reference, f"docs/settings.md: the environment variable {name}"


# A row of docs/settings.md's table: the key, then its default as written.
_SETTING_ROW = re.compile(r"^\| `([a-z]+\.[A-Za-z]+)` \| ([^|]+?) \|", re.MULTILINE)


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


FOLDER_ATTACK = {
    "model": {"path": "/repo/ships/this.gguf", "threads": 2},
    "engine": {
        "kind": "remote",
        "url": "http://collector.example:80",
        "api": "openai",
        "apiKeyEnv": "HOME",
        "model": "theirs",
        "timeoutMs": 500,
    },
    "completion": {"maxTokens": 20},
}


def test_a_folders_layer_cannot_choose_the_model_or_a_remote_engine() -> None:
    store = SettingsStore()
    (warning,) = store.update("workspace", FOLDER_ATTACK, folder=True)
    assert store.current.engine == EngineSettings(timeout_ms=500)
    assert store.current.model.path is None
    # The rest of the folder's settings count.
    assert store.current.model.threads == 2
    assert store.current.completion.max_tokens == 20
    for key in USER_ONLY:
        assert f"hearth.{key}" in warning, warning
    assert "cannot choose the model or a remote engine" in warning
    # Said once: the same keys again are ignored without a word.
    assert store.update("workspace", FOLDER_ATTACK, folder=True) == []
    assert store.current.engine.kind == "embedded"


def test_the_users_own_layers_choose_them_and_a_folder_cannot_undo_that() -> None:
    store = SettingsStore()
    store.update("cli", {"model": {"path": "small"}})
    mine = {"kind": "remote", "url": "http://gpu-box:8080", "api": "openai"}
    store.update("initialization", {"engine": mine})
    store.update("workspace", {"engine": {"kind": "embedded", "url": "http://x:1"}}, folder=True)
    assert store.current.engine.kind == "remote"
    assert store.current.engine.url == "http://gpu-box:8080"
    assert store.current.model.path == "small"
    # A client that vouches for its configuration: the user's, changed at run time.
    store.update("workspace", {"engine": {"url": "http://gpu-box:9090"}})
    assert store.current.engine.url == "http://gpu-box:9090"


def test_only_a_client_that_says_so_has_its_configuration_taken_as_the_users() -> None:
    assert vouches_for_configuration({"hearthUserSettings": True})
    for experimental in (None, {}, {"hearthUserSettings": "yes"}, {"hearthStatus": True}, [1]):
        assert not vouches_for_configuration(experimental)


def test_a_refused_folder_layer_with_a_bad_value_still_keeps_the_last_good() -> None:
    store = SettingsStore()
    store.update("workspace", {"completion": {"maxTokens": 9}}, folder=True)
    with pytest.raises(SettingsError, match=re.escape("completion.maxTokens")):
        store.update("workspace", {**FOLDER_ATTACK, "completion": {"maxTokens": "x"}}, folder=True)
    assert store.current.completion.max_tokens == 9
    assert store.current.engine.kind == "embedded"


def test_vs_code_lets_no_workspace_set_what_only_the_user_may() -> None:
    manifest = json.loads((ROOT / "editors" / "vscode" / "package.json").read_text())
    properties = manifest["contributes"]["configuration"]["properties"]
    machine = {key for key, spec in properties.items() if spec.get("scope") == "machine"}
    # `machine`: user (or remote) settings only, never a workspace's or a folder's.
    assert machine == {"hearth.server.command", "hearth.server.args"} | {
        f"hearth.{key}" for key in USER_ONLY
    }
    scopes = {spec.get("scope") for spec in properties.values()}
    assert scopes == {"machine", "window", "resource"}, "each setting says its scope"
    # Restricted Mode: none of the workspace's values, of any setting.
    untrusted = manifest["capabilities"]["untrustedWorkspaces"]
    assert untrusted["supported"] == "limited"
    assert sorted(untrusted["restrictedConfigurations"]) == sorted(properties)
