"""The only way to the engine: one worker thread, priorities, latest-wins.

A llama.cpp context is not thread-safe and the machine has few cores, so one
generation runs at a time. The asyncio side submits work and awaits a ticket;
it never blocks on the model. Work that became stale (newer work with the
same supersede key, a newer document version, an LSP cancel) is
cancelled: if it has not started it never runs, and if it is running the
engine stops before its next token. More urgent work preempts less urgent
running work, which stops at its next token and runs again afterwards: a
hover never holds up the suggestion the user is typing towards.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import asdict, dataclass
from enum import IntEnum
from functools import partial

from lsp_server.inference.api import Engine, EngineUnavailable, Generation
from lsp_server.inference.cancel import CancelToken

log = logging.getLogger(__name__)

Work = Callable[[Engine, CancelToken], Generation]


class Priority(IntEnum):
    """Lower runs first."""

    INLINE = 0  # the user is looking at the cursor, waiting
    INTERACTIVE = 1  # hover, code action: asked for, but less urgent than typing
    BACKGROUND = 2  # warm-up, speculation


class Cancelled(Exception):
    """The work was cancelled before it produced a result."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class SchedulerStats:
    submitted: int = 0
    started: int = 0
    finished: int = 0
    cancelled: int = 0  # all that ended cancelled, started or not
    never_started: int = 0  # cancelled or superseded while still queued
    superseded: int = 0
    failed: int = 0
    tokens_decoded: int = 0
    tokens_decoded_cancelled: int = 0  # decoded by generations that were then cancelled: waste
    tokens_decoded_after_cancel_max: int = 0
    tokens_decoded_after_cancel_total: int = 0
    prompt_tokens_evaluated: int = 0
    prompt_tokens_reused: int = 0
    preempted: int = 0  # runs stopped for more urgent work, then queued again

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(eq=False)
class _Job:
    work: Work
    token: CancelToken  # of the current run: a preempted job runs again with a new one
    future: asyncio.Future[Generation]
    loop: asyncio.AbstractEventLoop
    priority: int
    order: int  # submission order, among jobs of one priority
    uri: str | None = None
    version: int | None = None
    purpose: str | None = None  # what it is for, in the log
    supersedes: Hashable | None = None  # newer work with the same key cancels this
    withdrawn: str | None = None  # why it was cancelled for good

    def cancel(self, reason: str) -> None:
        if self.withdrawn is None:
            self.withdrawn = reason
        self.token.cancel(reason)

    @property
    def reason(self) -> str:
        """Why it stopped: why it was withdrawn, even if a preemption came first."""
        return self.withdrawn or self.token.reason

    @property
    def entry(self) -> tuple[int, int, _Job]:
        return self.priority, self.order, self


class Ticket:
    """A handle on submitted work: await `result()`, or `cancel()` it."""

    def __init__(self, job: _Job, lock: threading.Condition) -> None:
        self._job = job
        self._lock = lock  # the scheduler's, which guards the job's version

    def cancel(self, reason: str = "cancelled") -> None:
        self._job.cancel(reason)

    def carry(self, version: int) -> None:
        """The work holds for `version` of its document too: an edit to that
        version does not cancel it (the user typed what it is writing)."""
        with self._lock:
            self._job.version = version

    @property
    def cancelled(self) -> bool:
        return self._job.withdrawn is not None

    async def result(self) -> Generation:
        """The generation, or raises Cancelled. Cancelling the awaiting task cancels the work."""
        return await self._job.future

    async def shielded(self) -> Generation:
        """The generation, or raises Cancelled; cancelling the awaiting task leaves the work."""
        return await asyncio.shield(self._job.future)


class Scheduler:
    def __init__(self, engine: Engine | None = None) -> None:
        self._engine = engine
        self._queue: list[tuple[int, int, _Job]] = []
        self._active: set[_Job] = set()  # queued or running, for cancel by document
        self._current: _Job | None = None  # the running job
        self._lock = threading.Condition()
        self._sequence = itertools.count()
        self._closing = False
        self.stats = SchedulerStats()
        self._running = 0
        # Called from the worker thread, True when it takes up work after being
        # idle, False when it has none left: an editor's "generating" status.
        self.on_busy: Callable[[bool], None] | None = None
        self._busy = False
        self._thread = threading.Thread(target=self._run, name="hearth-model", daemon=True)
        self._thread.start()

    @property
    def engine(self) -> Engine | None:
        return self._engine

    def set_engine(self, engine: Engine | None) -> None:
        """Swap the engine (a model reload). The old one is closed once it is not running."""
        with self._lock:
            old, self._engine = self._engine, engine
            for job in self._active:
                job.cancel("model changed")
            while self._running:
                self._lock.wait()
        if old is not None and old is not engine:
            old.close()

    def submit(
        self,
        work: Work,
        *,
        priority: Priority = Priority.INLINE,
        uri: str | None = None,
        version: int | None = None,
        purpose: str | None = None,
        supersedes: Hashable | None = None,
    ) -> Ticket:
        """Queue `work`, for `version` of the document `uri` if given (a newer
        version cancels it). With a `supersedes` key, it cancels earlier work
        submitted with the same key."""
        loop = asyncio.get_running_loop()
        job = _Job(
            work=work,
            token=CancelToken(),
            future=loop.create_future(),
            loop=loop,
            priority=int(priority),
            order=next(self._sequence),
            uri=uri,
            version=version,
            purpose=purpose,
            supersedes=supersedes,
        )
        with self._lock:
            if self._closing:
                raise EngineUnavailable("the server is shutting down")
            if supersedes is not None:
                for other in self._active:
                    # One already withdrawn, still stopping, is not superseded again.
                    if other.supersedes == supersedes and other.withdrawn is None:
                        other.cancel("superseded")
                        self.stats.superseded += 1
            self.stats.submitted += 1
            self._active.add(job)
            heapq.heappush(self._queue, job.entry)
            running = self._current
            if running is not None and running.priority > job.priority:
                running.token.cancel("preempted")
            self._lock.notify_all()
        job.future.add_done_callback(partial(_on_done, job))
        return Ticket(job, self._lock)

    def cancel_document(self, uri: str, before_version: int) -> int:
        """Cancel all work for versions of `uri` older than `before_version`."""
        count = 0
        with self._lock:
            for job in self._active:
                if job.uri == uri and job.version is not None and job.version < before_version:
                    job.cancel("document changed")
                    count += 1
        return count

    def close_document(self, uri: str) -> int:
        """Cancel all work for `uri`, whatever its version: it was closed."""
        count = 0
        with self._lock:
            for job in self._active:
                if job.uri == uri:
                    job.cancel("document closed")
                    count += 1
        return count

    def cancel_all(self, reason: str = "cancelled") -> None:
        with self._lock:
            for job in self._active:
                job.cancel(reason)

    def close(self, timeout: float = 10.0) -> None:
        """Stop the worker: running work stops at its next token, queued work never runs."""
        with self._lock:
            self._closing = True
            for job in self._active:
                job.cancel("shutdown")
            self._lock.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        engine, self._engine = self._engine, None
        # Freeing a llama.cpp context under a running generation would crash the
        # process; if the worker is somehow still busy, the OS frees it at exit.
        if engine is not None and not self._thread.is_alive():
            engine.close()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _next_job(self) -> _Job | None:
        with self._lock:
            while True:
                while self._queue and self._queue[0][2].token.cancelled:
                    job = heapq.heappop(self._queue)[2]
                    self.stats.never_started += 1
                    self._finish(job, None, Cancelled(job.reason))
                if self._queue:
                    job = heapq.heappop(self._queue)[2]
                    self._set_busy(True)
                    self._current = job
                    self._running += 1
                    self.stats.started += 1
                    return job
                if self._closing:
                    return None
                self._set_busy(False)
                self._lock.wait()

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            if self.on_busy is not None:
                self.on_busy(busy)

    def _run(self) -> None:
        while (job := self._next_job()) is not None:
            result: Generation | None = None
            error: BaseException | None = None
            try:
                engine = self._engine
                if engine is None:
                    raise EngineUnavailable("no model is loaded")
                started = time.monotonic()
                result = job.work(engine, job.token)
                _log_run(job, result, time.monotonic() - started)
            except EngineUnavailable as exc:
                log.info("%s %s: %s", job.purpose, job.uri, exc)  # told to the user elsewhere
                error = exc
            except Exception as exc:
                log.exception("generation failed")
                error = exc
            with self._lock:
                self._running -= 1
                self._current = None
                if result is not None:
                    self._account(result)
                    if result.cancelled and job.withdrawn is None:
                        # Preempted: it runs again once the more urgent work is done.
                        self.stats.preempted += 1
                        job.token = CancelToken()
                        heapq.heappush(self._queue, job.entry)
                        self._lock.notify_all()
                        continue
                    if result.cancelled:
                        error, result = Cancelled(job.reason), None
                elif error is None:
                    error = Cancelled(job.reason)
                if isinstance(error, Cancelled):
                    pass
                elif error is not None:
                    self.stats.failed += 1
                else:
                    self.stats.finished += 1
                self._finish(job, result, error)
                self._lock.notify_all()

    def _account(self, result: Generation) -> None:
        s, g = self.stats, result.stats
        s.tokens_decoded += g.decoded_tokens
        s.tokens_decoded_after_cancel_total += g.decoded_after_cancel
        s.tokens_decoded_after_cancel_max = max(
            s.tokens_decoded_after_cancel_max, g.decoded_after_cancel
        )
        s.prompt_tokens_evaluated += g.evaluated_tokens
        s.prompt_tokens_reused += g.reused_tokens
        if result.cancelled:
            s.tokens_decoded_cancelled += g.decoded_tokens

    def _finish(self, job: _Job, result: Generation | None, error: BaseException | None) -> None:
        """Called with the lock held."""
        self._active.discard(job)
        if isinstance(error, Cancelled):
            self.stats.cancelled += 1
        # A closed loop raises RuntimeError: nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            job.loop.call_soon_threadsafe(_resolve, job.future, result, error)


def _log_run(job: _Job, result: Generation, seconds: float) -> None:
    g = result.stats
    log.debug(
        "%s %s v%s: %.0f ms, %s; prompt %d tokens (%d reused, %d read in %.0f ms), "
        "%d decoded (%d checked in a batch) in %.0f ms, %d alternatives",
        job.purpose,
        job.uri,
        job.version,
        seconds * 1000,
        job.reason if result.cancelled else result.stop_reason,
        g.prompt_tokens,
        g.reused_tokens,
        g.evaluated_tokens,
        g.prompt_seconds * 1000,
        g.decoded_tokens,
        g.checked_tokens,
        g.decode_seconds * 1000,
        len(result.alternatives),
    )


def _on_done(job: _Job, future: asyncio.Future[Generation]) -> None:
    """An awaiting task that was cancelled cancels the work; unread errors are read."""
    if future.cancelled():
        job.cancel("request cancelled")
    else:
        future.exception()


def _resolve(
    future: asyncio.Future[Generation], result: Generation | None, error: BaseException | None
) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        assert result is not None
        future.set_result(result)
