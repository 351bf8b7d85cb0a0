"""Loading the model in the background, and knowing whether it is there.

The server starts answering at once; the model is found, assembled (for a
preset, the first time) and loaded off the event loop. Requests that need it
wait for the load to end; when it failed they get an empty answer, and the
user is told once what to do.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Literal

from lsp_server.inference import models
from lsp_server.inference.api import Engine
from lsp_server.inference.llama.engine import EngineConfig, LlamaEngine
from lsp_server.inference.models import FileIdentity
from lsp_server.inference.remote.config import RemoteConfig
from lsp_server.inference.remote.engine import RemoteEngine
from lsp_server.inference.remote.http import Health, RemoteError
from lsp_server.inference.scheduler import Scheduler
from lsp_server.settings import EngineSettings, ModelSettings

log = logging.getLogger(__name__)


class ModelState(Enum):
    NOT_STARTED = "not started"
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True)
class LoadRequest:
    """Everything a load depends on: when it changes, the model is reloaded."""

    cli_model: str | None
    settings: ModelSettings
    env_model: str | None
    engine: EngineSettings = field(default_factory=EngineSettings)
    api_key: str | None = field(
        default=None, repr=False
    )  # the remote engine's, from the environment

    @property
    def remote(self) -> bool:
        return self.engine.kind == "remote"

    def remote_config(self) -> RemoteConfig:
        e = self.engine
        return RemoteConfig(
            url=e.url,
            api=e.api,
            api_key=self.api_key,
            model=e.model,
            fim_format=e.fim_format,
            timeout_s=e.timeout_ms / 1000,
            context_size=self.settings.context_size,
        )

    def engine_config(self) -> EngineConfig:
        s = self.settings
        return EngineConfig(
            context_size=s.context_size,
            threads=s.threads,
            batch_size=s.batch_size,
            gpu_layers=s.gpu_layers,
        )


Reporter = Callable[[str, int | None], None]
"""Progress: a message and a percentage (None when unknown)."""

FileEvent = Literal["deleted", "changing", "changed"]
"""What became of the embedded model's file: gone (the loaded model goes on:
its mapping keeps the file alive), being written (an in-place rewrite stops
the engine at once, see LlamaEngine), or written and settled (load it again)."""


class ModelHost:
    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.state = ModelState.NOT_STARTED
        self.error: str | None = None
        self.path: Path | None = None  # the loaded model's file
        # The file last loaded or tried (it may have failed to load), as it was
        # then, and as poll_file last saw it.
        self.watched: Path | None = None
        self._file: FileIdentity | None = None
        self._polled: FileIdentity | None = None
        self._loaded: LoadRequest | None = None
        self._done = asyncio.Event()
        self._lock = asyncio.Lock()
        # Told (on the model's worker thread) when a remote engine stops or starts answering.
        self.on_health: Health | None = None

    @property
    def where(self) -> str | None:
        """The model's file, or the remote engine's address."""
        if self._loaded is not None and self._loaded.remote:
            return self._loaded.engine.url
        return str(self.path) if self.path else None

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait for the current load to end; True when a model is ready."""
        try:
            await asyncio.wait_for(self._done.wait(), timeout)
        except TimeoutError:
            return False
        return self.state is ModelState.READY

    def needs_reload(self, request: LoadRequest) -> bool:
        return request != self._loaded

    async def load(self, request: LoadRequest, report: Reporter, *, again: bool = False) -> None:
        """Load (or reload) the model; errors end in `state` FAILED and `error`.
        `again`: load it even if nothing changed in the request (its file did);
        a failure then leaves no model, not the old one."""
        async with self._lock:
            if again:
                self._loaded = None
            elif request == self._loaded and self.state is ModelState.READY:
                return
            self._done.clear()
            self.state = ModelState.LOADING
            self.error = None
            loop = asyncio.get_running_loop()

            def progress(done: int, total: int) -> None:
                percent = done * 100 // total
                loop.call_soon_threadsafe(report, "assembling the built-in model", percent)

            started = time.monotonic()
            try:
                if request.remote:
                    engine: Engine = await self._connect(request, report)
                else:
                    engine = await self._load_embedded(request, report, progress)
                await asyncio.to_thread(self.scheduler.set_engine, engine)
            except models.ModelError as error:
                await self._fail(str(error))
            except Exception as error:  # a bug, not a user mistake: keep serving
                log.exception("model load failed")
                await self._fail(f"loading the model failed: {error}")
            else:
                self.state, self._loaded = ModelState.READY, request
                log.info(
                    "model %s (%s) ready in %.2f s, FIM %s, its own prompt budget %d tokens",
                    engine.model_name,
                    self.where,
                    time.monotonic() - started,
                    engine.fim_family or "none",
                    engine.layout.prompt_tokens,
                )
            finally:
                self._done.set()

    async def _load_embedded(
        self, request: LoadRequest, report: Reporter, progress: Callable[[int, int], None]
    ) -> LlamaEngine:
        choice = models.choose(
            request.cli_model,
            request.settings.path,
            {models.ENV_VAR: request.env_model} if request.env_model else {},
        )
        report(f"finding model {choice.spec}", 0)
        path = await asyncio.to_thread(models.locate, choice, progress)
        report(f"loading {path.name}", 100)
        self.watched, self._file = path, FileIdentity.of(path)
        self._polled = self._file
        engine = await asyncio.to_thread(LlamaEngine, path, request.engine_config())
        self.path = path
        return engine

    async def _connect(self, request: LoadRequest, report: Reporter) -> RemoteEngine:
        """The remote engine, asked what it runs. One that does not answer is
        used all the same, with `error` saying so: it is tried again as
        requests come, and its coming back is told through `on_health`."""
        engine = RemoteEngine(request.remote_config(), self._health)
        report(f"connecting to {request.engine.url}", 0)
        try:
            await asyncio.to_thread(engine.connect)
        except RemoteError as error:
            self.error = f"{error}; Hearth tries again as you type"
        else:
            self.error = engine.problem
        self.path = self.watched = self._file = self._polled = None
        return engine

    def attach(self, engine: Engine) -> None:
        """Serve with `engine`, made elsewhere, as if it had been loaded: for
        running the server without a model file (the fast tests' fake engine).
        Nothing is watched, and a load asked for later replaces it."""
        self.scheduler.set_engine(engine)
        self.state, self.error = ModelState.READY, None
        self._done.set()

    def poll_file(self) -> FileEvent | None:
        """Look at the embedded model's file; what became of it since the last look."""
        if self.watched is None:
            return None
        now = FileIdentity.of(self.watched)
        previous, self._polled = self._polled, now
        if now == self._file:
            return None
        if now is None:
            return "deleted" if previous is not None else None
        if previous == self._file:
            return "changing"
        # Loaded only once it stayed the same between two looks: a file being
        # copied or downloaded would fail to load, or load half.
        return "changed" if now == previous else None

    def _health(self, outage: str | None) -> None:
        self.error = outage
        if self.on_health is not None:
            self.on_health(outage)

    async def _fail(self, message: str) -> None:
        """Record a failed load. A model loaded before keeps serving, unless
        it was being loaded again (its file changed: it cannot be read)."""
        log.error("model: %s", message)
        self.error = message
        if self._loaded is not None:
            self.state = ModelState.READY
        else:
            self.state = ModelState.FAILED
            await asyncio.to_thread(self.scheduler.set_engine, None)
