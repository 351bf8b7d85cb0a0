"""Checks of a model in this process: found, loaded, its FIM format and chat
template, its speed here."""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from lsp_server.doctor.findings import Check, Finding
from lsp_server.doctor.round_trip import round_trip, sample
from lsp_server.inference import fim, models
from lsp_server.inference.api import Sampling
from lsp_server.inference.cancel import CancelToken
from lsp_server.inference.llama.engine import EngineConfig, LlamaEngine

SPEED_PROMPT_TOKENS = 256
SPEED_DECODE_TOKENS = 32
SLOW_DECODE = 5.0  # tokens/s: below it, a suggestion of a few lines takes several seconds


class LocalChecks:
    """The model, as the server would run it: found, verified, loaded, measured, asked."""

    needs = "the model"
    # Each set by its check; the checks after it run only when it passed.
    choice: models.ModelChoice
    preset: models.Preset | None
    path: Path
    engine: LlamaEngine

    def __init__(self, spec: str | None, *, llama_cpp: bool) -> None:
        self.spec = spec
        self.llama_cpp = llama_cpp
        self._closing = contextlib.ExitStack()
        # llama.cpp says why a load failed only in its log.
        self._said = _LlamaErrors()
        llama_log = logging.getLogger("llama.cpp")
        llama_log.addHandler(self._said)
        self._closing.callback(llama_log.removeHandler, self._said)

    def checks(self) -> list[Check]:
        return [
            ("model", self.choose),
            ("file", self.find),
            ("load", self.load),
            ("FIM format", self.fim_format),
            ("chat template", self.chat_template),
            # The sample first: the speed is then measured on a model that has run.
            ("sample", lambda: sample(self.engine)),
            ("speed", self.speed),
            ("round trip", lambda: round_trip(self.choice.spec, None)),
        ]

    def close(self) -> None:
        self._closing.close()

    def choose(self) -> Finding:
        try:
            self.choice = models.choose(cli=self.spec)
        except models.ModelError as error:
            return Finding("FAIL", "none found", str(error))
        self.preset = models.PRESETS.get(self.choice.spec)
        kind = f"built-in, {self.preset.description}" if self.preset else "a file of your own"
        return Finding("ok", f"{self.choice.spec} (from {self.choice.source}): {kind}")

    def find(self) -> Finding:
        if self.preset is None:
            return self._inspect(Path(self.choice.spec).expanduser())
        try:
            self.path = models.locate(self.choice, _progress)
        except models.ModelError as error:
            return Finding(
                "FAIL", f"the built-in model '{self.preset.name}' is not usable", str(error)
            )
        return self._verify(self.preset)

    def _verify(self, preset: models.Preset) -> Finding:
        """A built-in model's hash, computed now: the stamp beside the file only
        records that it was right when the file was assembled."""
        started = time.monotonic()
        with self.path.open("rb") as file:
            digest = hashlib.file_digest(file, "sha256").hexdigest()
        found = (
            f"{self.path}, {_megabytes(self.path.stat().st_size)}, "
            f"sha256 {digest[:12]}... (hashed in {time.monotonic() - started:.1f} s)"
        )
        if digest != preset.sha256:
            return Finding(
                "FAIL",
                f"{found}, not the built-in model's {preset.sha256[:12]}...",
                f"delete {self.path}, which has changed since it was assembled: "
                "the next run assembles it again from the installed chunks",
            )
        return Finding("ok", f"{found}, as expected")

    def _inspect(self, path: Path) -> Finding:
        """A file of the user's own: there, readable, and GGUF."""
        fix = (
            f"make {self.choice.source} name a .gguf file, "
            f"or a built-in model: {', '.join(models.PRESETS)}"
        )
        try:
            with path.open("rb") as file:
                magic = file.read(len(models.GGUF_MAGIC))
                size = os.fstat(file.fileno()).st_size
        except FileNotFoundError:
            return Finding("FAIL", f"{path} does not exist", fix)
        except OSError as error:
            return Finding("FAIL", f"cannot read {path}: {error.strerror}", fix)
        if magic != models.GGUF_MAGIC:
            return Finding(
                "FAIL",
                f"{path} is not a GGUF file ({_megabytes(size)}, begins with {magic!r})",
                "Hearth runs llama.cpp models, in GGUF: " + fix,
            )
        self.path = path
        return Finding("ok", f"{path}, {_megabytes(size)}, GGUF")

    def load(self) -> Finding:
        if not self.llama_cpp:
            return Finding("--", "skipped: needs llama-cpp-python")
        started = time.monotonic()
        try:
            self.engine = LlamaEngine(self.path, EngineConfig())
        except models.ModelError as error:
            said = self._said.first or str(error)
            return Finding(
                "FAIL",
                f"llama.cpp cannot load {self.path}: {said}",
                "if the file is incomplete or damaged (a download cut short), get it again; "
                "else choose a model of an architecture this llama-cpp-python supports",
            )
        self._closing.callback(self.engine.close)
        seconds = time.monotonic() - started
        weights = self.engine.parameters
        like = models.nearest_preset(weights).name
        return Finding(
            "ok",
            f"{self.engine.model_name}, {weights / 1e9:.2f}B weights, in {seconds:.2f} s "
            f"(its prompts laid out as the '{like}' preset's)",
        )

    def fim_format(self) -> Finding:
        fmt = self.engine.fim_format
        if fmt is None:
            return Finding(
                "warn",
                "none: suggestions can only continue the code before the cursor",
                "choose a code model with fill-in-the-middle tokens, such as the built-in ones",
            )
        return Finding("ok", f"{fmt.family} (from {fmt.source}): {_spelled(fmt)}")

    def chat_template(self) -> Finding:
        if self.engine.chat_template:
            return Finding("ok", "present: hovers and docstrings use it")
        return Finding(
            "warn",
            "none in the GGUF: hovers and docstrings get a plain prompt, "
            "which models follow poorly",
            "choose an instruct model (its GGUF has tokenizer.chat_template), "
            "such as the built-in ones",
        )

    def speed(self) -> Finding:
        pace = measure_speed(self.engine)
        threads = self.engine.config.threads or os.cpu_count()
        text = (
            f"reads {pace.reads:.0f} tokens/s, writes {pace.writes:.1f} tokens/s "
            f"({pace.read} read, {pace.written} written, {threads} threads)"
        )
        if pace.writes < SLOW_DECODE:
            return Finding(
                "warn",
                text,
                "suggestions will feel slow: try the small model (--model small), set "
                "model.threads to the number of physical cores, or offload to a GPU "
                "(model.gpuLayers, with a llama-cpp-python built for it)",
            )
        return Finding("ok", text)


@dataclass(frozen=True)
class Speed:
    """How fast a model runs here, as the engine itself accounts for it."""

    reads: float  # prompt tokens read a second
    writes: float  # tokens written a second
    read: int
    written: int


def measure_speed(engine: LlamaEngine) -> Speed:
    """Reading 256 tokens of real code (the doctor's own), then writing 32.
    The test suite scales its waits with this too (tests/pace.py)."""
    code = inspect.getsource(LocalChecks)
    prompt = engine.tokenize(code)[:SPEED_PROMPT_TOKENS]
    stats = engine.generate(prompt, Sampling(max_tokens=SPEED_DECODE_TOKENS), CancelToken()).stats
    return Speed(
        reads=stats.evaluated_tokens / max(stats.prompt_seconds, 1e-6),
        writes=stats.decoded_tokens / max(stats.decode_seconds, 1e-6),
        read=stats.evaluated_tokens,
        written=stats.decoded_tokens,
    )


class _LlamaErrors(logging.Handler):
    """What llama.cpp logged at error level: why a load failed, in its words."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    @property
    def first(self) -> str:
        return self.messages[0] if self.messages else ""


def _progress(done: int, total: int) -> None:
    end = "\n" if done >= total else ""
    print(f"\rassembling model: {done * 100 // total:3d}%", end=end, file=sys.stderr, flush=True)


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def _spelled(fmt: fim.FimFormat) -> str:
    """The format's tokens as its family spells them: the texts fim.detect
    found in the vocabulary. A family not in the table shows its ids."""
    family = next((f for f in fim.FAMILIES if f.name == fmt.family), None)
    if family is None:
        return f"token ids {fmt.prefix} {fmt.suffix} {fmt.middle}"
    optional = ((family.pad, fmt.pad), (family.repo, fmt.repo), (family.file_sep, fmt.file_sep))
    texts = [family.prefix, family.suffix, family.middle]
    texts += [text for text, token in optional if text is not None and token is not None]
    return " ".join(texts)
