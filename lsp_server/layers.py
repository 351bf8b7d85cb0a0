"""The settings' layers and whose they are: the store that merges them.

Layers, later ones win: command-line flags < environment < the client's
`initializationOptions` < `workspace/configuration` (section `hearth`).

An opened folder is not trusted: the settings that choose the model file or
send code off the machine (`USER_ONLY`) come only from the user's own layers.
`workspace/configuration` is a folder's layer unless the client vouches for
it (`vouches_for_configuration`): eglot, for one, answers it from a
project's .dir-locals.el without asking. docs/settings.md, "Whose settings".
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from lsp_server.settings import Settings, merge, parse, unknown_keys

log = logging.getLogger(__name__)


# What runs and where the code goes: a folder's settings may not choose these
# (a GGUF file the repository ships; a remote engine at its address).
USER_ONLY = (
    "model.path",
    "engine.kind",
    "engine.url",
    "engine.api",
    "engine.apiKeyEnv",
    "engine.model",
)
# A client that sets this experimental capability says that its answers to
# `workspace/configuration` hold the user's own values of USER_ONLY, never a
# folder's: Hearth's VS Code extension (those settings are machine-scoped) and
# its Neovim plugin (the settings of `setup`).
USER_CONFIGURATION = "hearthUserSettings"


def vouches_for_configuration(experimental: object) -> bool:
    """Whether a client's `experimental` capabilities say its configuration is the user's."""
    return isinstance(experimental, Mapping) and experimental.get(USER_CONFIGURATION) is True


def without_user_only(layer: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """`layer` less the USER_ONLY keys it sets, and those keys (dotted)."""
    kept = {key: dict(v) if isinstance(v, Mapping) else v for key, v in layer.items()}
    dropped = []
    for dotted in USER_ONLY:
        section, key = dotted.split(".")
        values = kept.get(section)
        if isinstance(values, dict) and values.pop(key, None) is not None:
            dropped.append(dotted)
    return kept, dropped


class SettingsStore:
    """The layers as received, and the settings in force."""

    LAYERS = ("cli", "env", "initialization", "workspace")

    def __init__(self) -> None:
        self._layers: dict[str, dict[str, Any]] = {name: {} for name in self.LAYERS}
        self.current = Settings()
        self._refused: set[str] = set()  # USER_ONLY keys a folder set, told once

    def update(
        self, layer: str, values: Mapping[str, Any] | None, folder: bool = False
    ) -> list[str]:
        """Replace one layer; a `folder`'s loses its USER_ONLY keys. Returns
        warnings; raises SettingsError and keeps the old settings."""
        values = dict(values or {})
        refused: list[str] = []
        if folder:
            values, refused = without_user_only(values)
        candidate_layers = {**self._layers, layer: values}
        wire: dict[str, Any] = {}
        for name in self.LAYERS:
            wire = merge(wire, candidate_layers[name])
        settings = parse(wire)  # raises before anything changes
        self._layers = candidate_layers
        self.current = settings
        warnings = []
        unknown = unknown_keys(values)
        if unknown:
            warnings.append(
                f"unknown settings ignored ({layer}): {', '.join('hearth.' + k for k in unknown)}"
            )
        new = [key for key in refused if key not in self._refused]
        if new:
            self._refused.update(new)
            names = ", ".join("hearth." + key for key in new)
            warnings.append(
                f"{names} ignored: a folder's settings ({layer}) cannot choose the model or a "
                "remote engine; set them in your own settings (docs/settings.md, Whose settings)"
            )
            log.warning("%s", warnings[-1])
        return warnings


def env_layer(environ: Mapping[str, str]) -> dict[str, Any]:
    """Settings from the environment. ($HEARTH_MODEL is read by model resolution,
    which ranks it below the `model.path` setting.)"""
    layer: dict[str, Any] = {}
    if environ.get("HEARTH_LOG_LEVEL"):
        layer["log"] = {"level": environ["HEARTH_LOG_LEVEL"].lower()}
    return layer
