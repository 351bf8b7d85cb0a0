"""Typed settings, layered and validated.

Layers, later ones win: command-line flags < environment < the client's
`initializationOptions` < `workspace/configuration` (section `hearth`).
On the wire keys are camelCase (`completion.maxTokens`). A layer with an
unknown key is accepted with a warning naming it; a layer with a wrong type
or value is rejected whole, with a message saying what is wrong, and the
last good settings stay in force. The layers, and whose they are, are
kept by layers.py.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

LogLevel = Literal["debug", "info", "warning", "error"]


@dataclass(frozen=True)
class ModelSettings:
    path: str | None = None  # a GGUF file or a preset name; None: $HEARTH_MODEL or a preset
    context_size: int = 2048
    threads: int = 0  # 0: one per core
    batch_size: int = 128
    gpu_layers: int = 0

    def __post_init__(self) -> None:
        _at_least(self, "context_size", 512)
        _at_least(self, "threads", 0)
        _at_least(self, "batch_size", 8)
        _at_least(self, "gpu_layers", -1)


FimFormatName = Literal[
    "auto", "qwen2.5-coder", "codegemma", "starcoder", "deepseek-coder", "codellama"
]


@dataclass(frozen=True)
class EngineSettings:
    """Where generations run: in this process, or on a server the user runs."""

    kind: Literal["embedded", "remote"] = "embedded"
    url: str = "http://127.0.0.1:8080"  # the remote engine (llama.cpp server's default port)
    api: Literal["llamacpp", "openai"] = "llamacpp"
    # The name of an environment variable holding the remote engine's API key
    # (sent as a bearer token); the key itself never goes in a settings file.
    api_key_env: str = ""
    model: str = ""  # openai: the model to ask for; empty: the first the server lists
    # The FIM tokens Hearth writes the prompt with; auto: from the model's name
    # (with llamacpp, a model of a format not known goes through /infill)
    fim_format: FimFormatName = "auto"
    timeout_ms: int = 10000  # to connect, and for each piece of a streamed answer

    def __post_init__(self) -> None:
        if not re.fullmatch(r"https?://[^/\s]+(/\S*)?", self.url):
            raise ValueError(f"url must be an http:// or https:// address, not {self.url!r}")
        if self.api_key_env and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.api_key_env):
            raise ValueError(
                f"apiKeyEnv must name an environment variable, not {self.api_key_env!r} "
                "(the key itself belongs in the environment, not in settings)"
            )
        _at_least(self, "timeout_ms", 100)


MOST_ALTERNATIVES = 5  # each costs its own tokens of generation


@dataclass(frozen=True)
class CompletionSettings:
    enabled: bool = True
    max_tokens: int = 64  # tokens generated per suggestion
    # budget for the whole prompt; None: the model's (its preset's layout)
    prompt_tokens: int | None = None
    # of which at most this much (and at most half) for definitions, imports and
    # other open files; what they leave goes to the code around the cursor
    context_tokens: int = 256
    debounce_ms: int = 30  # wait for more keystrokes before starting the model
    timeout_ms: int = 3000  # wall-clock budget of one suggestion while typing
    invoked_timeout_ms: int = 30000  # ... when the user asked for one explicitly
    # the most suggestions an explicit request (a cycle key) returns, the first
    # and its alternatives; while typing the first comes alone
    alternatives: int = 3
    temperature: float = 0.0
    completion_items: bool = (
        False  # also answer textDocument/completion, for clients without inline
    )
    # read the prompt where the cursor rests (learned from code-action requests)
    # before the user types there
    read_ahead: bool = True

    def __post_init__(self) -> None:
        _at_least(self, "max_tokens", 1)
        if self.prompt_tokens is not None:
            _at_least(self, "prompt_tokens", 64)
        _at_least(self, "context_tokens", 0)
        _at_least(self, "debounce_ms", 0)
        _at_least(self, "timeout_ms", 50)
        _at_least(self, "invoked_timeout_ms", 50)
        _at_least(self, "alternatives", 1)
        if self.alternatives > MOST_ALTERNATIVES:
            raise ValueError(
                f"alternatives must be at most {MOST_ALTERNATIVES}, not {self.alternatives}"
            )
        if not 0.0 <= self.temperature <= 2.0:
            raise ValueError(f"temperature must be between 0 and 2, not {self.temperature}")


@dataclass(frozen=True)
class HoverSettings:
    enabled: bool = True
    max_tokens: int = 120  # tokens of explanation
    prompt_tokens: int = 768  # budget for the definition shown to the model
    # How long a hover waits for the model's explanation; after that it shows
    # what the code says, the sentences written so far and a line saying the
    # rest is coming: the explanation goes on, ready for the next hover.
    timeout_ms: int = 200
    # When the cursor rests, explain what it may hover next in the background.
    read_ahead: bool = True
    cache_bytes: int = 2_000_000  # explanations kept, least recently used dropped first

    def __post_init__(self) -> None:
        _at_least(self, "max_tokens", 16)
        _at_least(self, "prompt_tokens", 128)
        _at_least(self, "timeout_ms", 0)
        _at_least(self, "cache_bytes", 0)


@dataclass(frozen=True)
class DocstringSettings:
    enabled: bool = True
    style: Literal["google", "numpy", "sphinx"] = "google"  # Python's docstring convention
    max_tokens: int = 256  # tokens the model writes for one docstring
    prompt_tokens: int = 768  # budget for the definition shown to the model
    timeout_ms: int = 60000  # how long an edit waits for the model

    def __post_init__(self) -> None:
        _at_least(self, "max_tokens", 16)
        _at_least(self, "prompt_tokens", 128)
        _at_least(self, "timeout_ms", 100)


@dataclass(frozen=True)
class FixSettings:
    enabled: bool = True
    timeout_ms: int = 60000  # how long a fix waits for the model

    def __post_init__(self) -> None:
        _at_least(self, "timeout_ms", 100)


@dataclass(frozen=True)
class EditSettings:
    # An edit by instruction may add code (type hints, a guard, a docstring):
    # its answer is longer than a fix's, and the user waits for it on purpose.
    timeout_ms: int = 120000

    def __post_init__(self) -> None:
        _at_least(self, "timeout_ms", 100)


@dataclass(frozen=True)
class DiagnosticSettings:
    # Syntax errors from tree-sitter, published as diagnostics: "auto" is off in
    # VS Code, whose own language services report them already, on elsewhere.
    syntax: Literal["auto", "on", "off"] = "auto"


@dataclass(frozen=True)
class ContextSettings:
    """What of the workspace, beyond the code around the cursor, a prompt may show."""

    # Index the workspace folders, so that a prompt shows the definitions the
    # code imports from files that are not open (benchmarks/results/crossfile.md:
    # 1.7x the exact members, 1.25x the calls, arguments level).
    workspace: bool = True
    # Files the index leaves out, as .gitignore writes them (`tests/fixtures/`,
    # `*_pb2.py`), besides what .gitignore files, dependencies and builds do.
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class LimitSettings:
    # Larger documents get no suggestions, hovers or docstrings (one log line
    # says so), instead of costing the editor a slow server.
    document_chars: int = 1_000_000

    def __post_init__(self) -> None:
        _at_least(self, "document_chars", 1000)


@dataclass(frozen=True)
class LogSettings:
    level: LogLevel = "info"
    # Code and prompts stay out of the log unless this is on.
    include_code: bool = False


@dataclass(frozen=True)
class Settings:
    model: ModelSettings = field(default_factory=ModelSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
    completion: CompletionSettings = field(default_factory=CompletionSettings)
    hover: HoverSettings = field(default_factory=HoverSettings)
    docstrings: DocstringSettings = field(default_factory=DocstringSettings)
    fixes: FixSettings = field(default_factory=FixSettings)
    edits: EditSettings = field(default_factory=EditSettings)
    diagnostics: DiagnosticSettings = field(default_factory=DiagnosticSettings)
    context: ContextSettings = field(default_factory=ContextSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    log: LogSettings = field(default_factory=LogSettings)

    def __post_init__(self) -> None:
        # A chat prompt and its answer share one context; past it llama.cpp
        # has nowhere to write (suggestions cut their prompt to fit instead).
        for name in ("hover", "docstrings"):
            section = getattr(self, name)
            wanted = section.prompt_tokens + section.max_tokens
            if wanted > self.model.context_size:
                raise ValueError(
                    f"{name}.promptTokens + {name}.maxTokens ({wanted}) must fit in "
                    f"model.contextSize ({self.model.context_size}): lower them, or raise "
                    "model.contextSize"
                )


def _at_least(section: object, name: str, low: int) -> None:
    value = getattr(section, name)
    if value < low:
        raise ValueError(f"{_camel(name)} must be at least {low}, not {value}")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=False)

    def camel_case(cls: type) -> None:
        overrides = {f.name: override(rename=_camel(f.name)) for f in dataclasses.fields(cls)}
        converter.register_structure_hook(
            cls,
            make_dict_structure_fn(cls, converter, **overrides),  # type: ignore[arg-type]
        )
        converter.register_unstructure_hook(
            cls,
            make_dict_unstructure_fn(cls, converter, **overrides),  # type: ignore[arg-type]
        )

    # Registered before the classes, whose generated hooks capture them.
    # cattrs would turn "3" into 3 and 1 into True; a settings file with the
    # wrong type is a mistake to report, not to guess at.
    def strict(kind: type) -> Any:
        def structure(value: Any, _: type) -> Any:
            if type(value) is kind or (kind is float and type(value) is int):
                return value
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__} {value!r}")

        return structure

    for kind in (int, float, bool, str):
        converter.register_structure_hook(kind, strict(kind))

    def strings(value: Any, _: type) -> tuple[str, ...]:
        # cattrs would read "*.py" as the tuple of its characters.
        if isinstance(value, list | tuple) and all(type(item) is str for item in value):
            return tuple(value)
        raise TypeError(f"expected a list of strings, got {value!r}")

    converter.register_structure_hook_func(lambda kind: kind == tuple[str, ...], strings)
    for cls in (
        ModelSettings,
        EngineSettings,
        CompletionSettings,
        HoverSettings,
        DocstringSettings,
        FixSettings,
        EditSettings,
        DiagnosticSettings,
        ContextSettings,
        LimitSettings,
        LogSettings,
        Settings,
    ):
        camel_case(cls)
    return converter


CONVERTER = _make_converter()


class SettingsError(ValueError):
    """A layer of settings was rejected; the message says what to fix."""


def unknown_keys(layer: Mapping[str, Any], cls: type = Settings, prefix: str = "") -> list[str]:
    """Dotted camelCase names in `layer` that no setting has."""
    fields = {_camel(f.name): f for f in dataclasses.fields(cls)}
    found = []
    for key, value in layer.items():
        known = fields.get(key)
        if known is None:
            found.append(prefix + key)
        elif dataclasses.is_dataclass(known.default_factory) and isinstance(value, Mapping):
            found += unknown_keys(value, known.default_factory, f"{prefix}{key}.")
    return found


def merge(base: Mapping[str, Any], layer: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge of camelCase dicts; None in a layer means 'not set here'."""
    merged = dict(base)
    for key, value in layer.items():
        if value is None:
            continue
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def to_wire(settings: Settings) -> dict[str, Any]:
    wire: dict[str, Any] = CONVERTER.unstructure(settings)
    return wire


def parse(wire: Mapping[str, Any]) -> Settings:
    """Structure camelCase settings, raising SettingsError with readable reasons."""
    if not isinstance(wire, Mapping):
        raise SettingsError(f"settings must be an object, not {type(wire).__name__}")
    try:
        return CONVERTER.structure(dict(wire), Settings)
    except cattrs.ClassValidationError as error:
        reasons = cattrs.transform_error(error, path="hearth", format_exception=_describe)
        raise SettingsError("; ".join(_camel_path(r) for r in reasons)) from error
    except (ValueError, TypeError) as error:
        raise SettingsError(str(error)) from error


def _describe(exc: BaseException, kind: type | None) -> str:
    if typing.get_origin(kind) is Literal:
        return f"must be one of {', '.join(map(str, typing.get_args(kind)))}"
    if kind is not None and dataclasses.is_dataclass(kind) and isinstance(exc, TypeError):
        return "expected an object of settings"
    return str(exc)


def _camel_path(reason: str) -> str:
    """cattrs names fields as Python does; the user wrote them in camelCase."""
    message, _, path = reason.partition(" @ ")
    return f"{'.'.join(_camel(part) for part in path.split('.'))}: {message}" if path else message
