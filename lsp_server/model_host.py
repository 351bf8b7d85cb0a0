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
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from lsp_server.inference import models
from lsp_server.inference.engine import EngineConfig, LlamaEngine
from lsp_server.inference.scheduler import Scheduler
from lsp_server.settings import ModelSettings

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


class ModelHost:
    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.state = ModelState.NOT_STARTED
        self.error: str | None = None
        self.path: Path | None = None
        self._loaded: LoadRequest | None = None
        self._done = asyncio.Event()
        self._lock = asyncio.Lock()

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait for the current load to end; True when a model is ready."""
        try:
            await asyncio.wait_for(self._done.wait(), timeout)
        except TimeoutError:
            return False
        return self.state is ModelState.READY

    def needs_reload(self, request: LoadRequest) -> bool:
        return request != self._loaded

    async def load(self, request: LoadRequest, report: Reporter) -> None:
        """Load (or reload) the model; errors end in `state` FAILED and `error`."""
        async with self._lock:
            if request == self._loaded and self.state is ModelState.READY:
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
                choice = models.choose(
                    request.cli_model,
                    request.settings.path,
                    {models.ENV_VAR: request.env_model} if request.env_model else {},
                )
                report(f"finding model {choice.spec}", 0)
                path = await asyncio.to_thread(models.locate, choice, progress)
                report(f"loading {path.name}", 100)
                engine = await asyncio.to_thread(LlamaEngine, path, request.engine_config())
                await asyncio.to_thread(self.scheduler.set_engine, engine)
            except models.ModelError as error:
                self._fail(str(error))
            except Exception as error:  # a bug, not a user mistake: keep serving
                log.exception("model load failed")
                self._fail(f"loading the model failed: {error}")
            else:
                self.state, self.path, self._loaded = ModelState.READY, path, request
                log.info(
                    "model %s (%s) ready in %.2f s, FIM %s",
                    engine.model_name,
                    path,
                    time.monotonic() - started,
                    engine.fim_format.family if engine.fim_format else "none",
                )
            finally:
                self._done.set()

    def _fail(self, message: str) -> None:
        """Record a failed load. A model loaded before keeps serving."""
        log.error("model: %s", message)
        self.error = message
        self.state = ModelState.READY if self._loaded is not None else ModelState.FAILED
