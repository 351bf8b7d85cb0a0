"""Checks of a remote engine: it answers, and says its model's FIM format."""

from __future__ import annotations

import os

from lsp_server.doctor.findings import Check, Finding
from lsp_server.doctor.round_trip import round_trip, sample
from lsp_server.inference.remote.config import Api, RemoteConfig
from lsp_server.inference.remote.engine import RemoteEngine
from lsp_server.inference.remote.http import RemoteError


class RemoteChecks:
    """A server the user runs (--engine-url), in place of a model in this process."""

    needs = "the engine"
    engine: RemoteEngine  # set by the engine check

    def __init__(self, url: str, api: Api, key_env: str | None) -> None:
        key = os.environ.get(key_env) if key_env else None
        self.config = RemoteConfig(url, api, api_key=key)
        # The same engine for the server, which reads the key from the same variable.
        self.settings = {"engine": {"kind": "remote", "url": url, "api": api}}
        if key_env:
            self.settings["engine"]["apiKeyEnv"] = key_env

    def checks(self) -> list[Check]:
        return [
            ("engine", self.connect),
            ("FIM format", self.fim_format),
            ("sample", lambda: sample(self.engine)),
            ("round trip", lambda: round_trip(None, self.settings)),
        ]

    def close(self) -> None:
        """Nothing is held between requests."""

    def connect(self) -> Finding:
        engine = RemoteEngine(self.config)
        try:
            engine.connect()
        except RemoteError as error:
            return Finding(
                "FAIL", f"{self.config.url} ({self.config.api}) is not usable", str(error)
            )
        self.engine = engine
        return Finding(
            "ok",
            f"{engine.model_name} at {self.config.url} ({self.config.api}), "
            f"{engine.context_size}-token context",
        )

    def fim_format(self) -> Finding:
        if self.engine.problem:
            return Finding("FAIL", f"not known for {self.engine.model_name}", self.engine.problem)
        return Finding("ok", str(self.engine.fim_family))
