"""`hearth doctor`: what works on this machine, and what to do about what does not.

A list of checks, run in order. Each prints one line: a mark (`ok`, `warn`,
`FAIL`, or `--` when skipped), a label and what it found; a warn or a FAIL
is followed by an indented `fix:` line saying what to do (after the
server's last words on stderr, `| ...`, when the server failed). The checks
of the model (or, with --engine-url, of a remote engine) each need the ones
before them: after a FAIL the rest say what they needed. The last one asks
a real server for a suggestion, as an editor does. The exit code is 1 when
a check failed.

Neovim's :checkhealth reads this output (editors/nvim/lua/hearth/health.lua):
keep its shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib.metadata
import inspect
import logging
import os
import platform
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

from lsprotocol import types

from lsp_server.editor_client import EditorClient, Suggestion
from lsp_server.inference import fim, models
from lsp_server.inference.cancel import CancelToken
from lsp_server.inference.engine import (
    Engine,
    EngineConfig,
    EngineUnavailable,
    LlamaEngine,
    Sampling,
)
from lsp_server.inference.remote import Api, RemoteConfig, RemoteEngine, RemoteError

Status = Literal["ok", "warn", "FAIL", "--"]

DISTRIBUTION = "hearth-lsp"
LABEL_WIDTH = 15  # the longest label, "chat template", and two spaces: health.lua splits there
FIX_INDENT = " " * 6
SPEED_PROMPT_TOKENS = 256
SPEED_DECODE_TOKENS = 32
SLOW_DECODE = 5.0  # tokens/s: below it, a suggestion of a few lines takes several seconds
ROUND_TRIP_TIMEOUT_S = 60.0
STDERR_LINES = 5

# The sample suggestion, asked of the engine and then of the server.
SAMPLE_PREFIX = "def fibonacci(n):\n    "
SAMPLE_SUFFIX = "\n"
SAMPLE_URI = "file:///hearth-doctor/fibonacci.py"
SAMPLE_POSITION = types.Position(line=1, character=4)

SERVER_LOG = (
    "the server's log says why: have the editor start it as "
    "`hearth --log-level debug --log-file FILE`"
)


@dataclass(frozen=True)
class Finding:
    status: Status
    text: str
    fix: str = ""  # what to do, for a warn or a FAIL
    notes: tuple[str, ...] = ()  # shown before the fix: the server's last words


Check = tuple[str, Callable[[], Finding]]
"""A label, and the check."""


class Report:
    """Prints each check's line as it ends, aligned, and remembers a FAIL."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.failed = False

    def show(self, label: str, finding: Finding) -> None:
        self.failed |= finding.status == "FAIL"
        print(f"{finding.status:<6}{label:<{LABEL_WIDTH}}{finding.text}", file=self.out)
        for note in finding.notes:
            print(f"{FIX_INDENT}| {note}", file=self.out)
        if finding.fix:
            print(f"{FIX_INDENT}fix: {finding.fix}", file=self.out)
        self.out.flush()

    def run(self, checks: Sequence[Check], needs: str) -> None:
        """Run `checks` in order, each needing those before it: after a FAIL or
        a skip, the rest are skipped for want of `needs`."""
        for index, (label, check) in enumerate(checks):
            finding = check()
            self.show(label, finding)
            if finding.status in ("FAIL", "--"):
                for rest, _ in checks[index + 1 :]:
                    self.show(rest, Finding("--", f"skipped: needs {needs}"))
                return


def run_doctor(
    model: str | None, engine_url: str | None, engine_api: Api, engine_key_env: str | None
) -> int:
    # The findings say what matters; log lines (llama.cpp's warnings, the remote
    # engine's retries) would only come between them.
    logging.basicConfig(handlers=[logging.NullHandler()])
    report = Report(sys.stdout)
    report.show("python", check_python())
    llama_cpp = check_llama_cpp()
    report.show("llama.cpp", llama_cpp)
    target = (
        RemoteChecks(engine_url, engine_api, engine_key_env)
        if engine_url
        else LocalChecks(model, llama_cpp=llama_cpp.status != "FAIL")
    )
    with contextlib.closing(target):
        report.run(target.checks(), target.needs)
    return 1 if report.failed else 0


# --- this machine -------------------------------------------------------------


def check_python() -> Finding:
    found = f"{platform.python_version()} at {sys.executable}"
    needed = _required_python()
    if needed is None:
        return Finding("ok", found)
    text = f"{found} (Hearth needs {needed[0]}.{needed[1]}+)"
    if sys.version_info[:2] < needed:
        return Finding(
            "FAIL",
            text,
            f"install Python {needed[0]}.{needed[1]} or newer, and Hearth again with it "
            "(in a Hearth checkout: `make clean run PYTHON=python3.N`)",
        )
    return Finding("ok", text)


def _installed() -> importlib.metadata.Distribution | None:
    """Hearth's installed metadata: what pyproject.toml requires."""
    try:
        return importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:  # run from a checkout, not installed
        return None


def _required_python() -> tuple[int, int] | None:
    """The oldest Python Hearth allows."""
    installed = _installed()
    requirement = installed.metadata["Requires-Python"] if installed else None
    found = re.search(r">=\s*(\d+)\.(\d+)", requirement or "")
    return (int(found[1]), int(found[2])) if found else None


def _llama_cpp_requirement() -> str:
    """llama-cpp-python with the versions Hearth allows, as pip takes it."""
    installed = _installed()
    requires = (installed.requires or []) if installed else []
    pinned = (r for r in requires if r.startswith("llama-cpp-python") and ";" not in r)
    return next(pinned, "llama-cpp-python")


def check_llama_cpp() -> Finding:
    # A build for another CPU or Python fails as its native library loads.
    try:
        import llama_cpp
    except (ImportError, OSError, RuntimeError) as error:
        return Finding(
            "FAIL",
            f"llama-cpp-python does not load: {error}",
            f"reinstall it: `pip install --force-reinstall --no-cache-dir "
            f"'{_llama_cpp_requirement()}'` (in a Hearth checkout, `make clean run` "
            "rebuilds it for this CPU)",
        )
    features = _features_on(llama_cpp.llama_print_system_info().decode(errors="replace"))
    gpu = "yes" if llama_cpp.llama_supports_gpu_offload() else "no, this build runs on the CPU"
    return Finding(
        "ok", f"llama-cpp-python {llama_cpp.__version__}; {features}; GPU offload: {gpu}"
    )


def _features_on(info: str) -> str:
    """llama.cpp's system info, 'CPU : SSE3 = 1 | AVX512 = 0 | REPACK = 1 | ', as
    the features that are on, by backend: 'CPU: SSE3 REPACK'."""
    backends: dict[str, list[str]] = {}
    backend = ""
    for item in info.split("|"):
        name, _, value = item.partition(" = ")
        if " : " in name:
            backend, name = (part.strip() for part in name.split(" : ", 1))
            backends[backend] = []
        if value.strip() == "1":
            backends.setdefault(backend, []).append(name.strip())
    return "; ".join(f"{name}: {' '.join(on)}" for name, on in backends.items())


# --- a model in this process ----------------------------------------------------


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
        return Finding("ok", f"{self.engine.model_name} in {seconds:.2f} s")

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


# --- a remote engine --------------------------------------------------------------


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


# --- either engine ------------------------------------------------------------------


def sample(engine: Engine) -> Finding:
    try:
        result = engine.infill(SAMPLE_PREFIX, SAMPLE_SUFFIX, Sampling(max_tokens=48), CancelToken())
    except EngineUnavailable as error:
        return Finding("FAIL", "no answer", str(error))
    shown = f"{SAMPLE_PREFIX!r} -> {result.text!r}"
    if not result.text.strip():
        return Finding(
            "warn",
            shown,
            "the model wrote nothing: choose a code model, such as the built-in ones",
        )
    return Finding("ok", shown)


def round_trip(model: str | None, settings: dict[str, Any] | None) -> Finding:
    """A fresh server, asked for a suggestion in a small document as an editor
    asks: start, initialize, didOpen, inlineCompletion, shutdown, exit."""
    editor = EditorClient(model, settings)
    started = time.monotonic()
    try:
        suggestion = asyncio.run(_ask(editor, ROUND_TRIP_TIMEOUT_S))
    except _ServerFailed as failure:
        ends = "; its stderr ends with:" if failure.stderr else ""
        return Finding("FAIL", failure.reason + ends, SERVER_LOG, failure.stderr)
    seconds = time.monotonic() - started
    if suggestion is None or not suggestion.text.strip():
        said = "; ".join(editor.messages) or "no message"
        return Finding(
            "warn",
            f"the server answered in {seconds:.1f} s, with no suggestion ({said})",
            SERVER_LOG,
        )
    return Finding("ok", f"a suggestion in {seconds:.1f} s: {suggestion.text!r}")


class _ServerFailed(Exception):
    def __init__(self, reason: str, stderr: tuple[str, ...]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.stderr = stderr


async def _ask(editor: EditorClient, timeout: float) -> Suggestion | None:
    """EditorClient waits for each answer as long as it takes; past `timeout`
    the server is killed, and pygls then fails the request that waits (and
    any sent after it) at once."""
    loop = asyncio.get_running_loop()
    watchdog = loop.call_later(timeout, _kill, editor)
    try:
        async with editor:
            editor.open(SAMPLE_URI, SAMPLE_PREFIX + SAMPLE_SUFFIX, "python")
            return await editor.suggest(SAMPLE_URI, SAMPLE_POSITION)
    except Exception as error:  # whatever ended it (pygls raises several kinds), it is the finding
        timed_out = loop.time() >= watchdog.when()
        _kill(editor)
        reason = (
            f"no answer within {timeout:g} s" if timed_out else f"the round trip failed: {error}"
        )
        raise _ServerFailed(reason, (await editor.stderr_tail())[-STDERR_LINES:]) from error
    finally:
        watchdog.cancel()


def _kill(editor: EditorClient) -> None:
    process = editor.process
    if process is not None and process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
