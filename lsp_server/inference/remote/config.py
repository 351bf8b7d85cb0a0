"""Where a remote engine runs and how to talk to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Api = Literal["llamacpp", "openai"]


@dataclass(frozen=True)
class RemoteConfig:
    url: str
    api: Api = "llamacpp"
    api_key: str | None = field(default=None, repr=False)  # sent as a bearer token; never logged
    model: str = ""  # openai: the model to ask for; empty: the first the server lists
    fim_format: str = "auto"  # a fim.FAMILIES name, or auto (from the model's name)
    timeout_s: float = 10.0  # to connect, and for each piece of a streamed answer
    context_size: int = 2048  # when the server does not say its own
