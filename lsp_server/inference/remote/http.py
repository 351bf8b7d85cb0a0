"""Talking to the server: connections, streamed answers, and outages.

When the server cannot be reached or answers with an error, Server says so
once (`on_health`), fails the requests meanwhile at once without touching
the network, and tries again after a back-off that doubles up to
BACKOFF_MAX_S; the first answer after an outage ends it. Nothing goes over
the wire but the requests to the address the user configured.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import socket
import time
from collections.abc import Callable, Generator, Iterator
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlsplit

from lsp_server.inference.api import EngineUnavailable
from lsp_server.inference.cancel import CancelToken
from lsp_server.inference.remote.config import RemoteConfig

log = logging.getLogger(__name__)

BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 30.0

_T = TypeVar("_T")
Health = Callable[[str | None], None]
"""Told of an outage (its message) when it begins, and None when it ends."""


class RemoteError(EngineUnavailable):
    """The remote engine did not answer as it should; the message says what to do.
    `outage`: the server is unreachable or broken, as opposed to refusing one
    request (a prompt too long for it, say) while serving others."""

    def __init__(self, message: str, *, outage: bool = True) -> None:
        super().__init__(message)
        self.outage = outage


class OutOfTime(Exception):
    """The time budget ran out while waiting for the server."""


class Server:
    """The server at `config.url`, and whether it answers. Used from the
    scheduler's worker only."""

    def __init__(self, config: RemoteConfig, on_health: Health | None = None) -> None:
        self.config = config
        self.on_health = on_health
        parts = urlsplit(config.url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._https else 80)
        base = parts.path.rstrip("/")
        # OpenAI clients are often given the address with its /v1.
        self._base = base.removesuffix("/v1") if config.api == "openai" else base
        self.outage: str | None = None  # what is wrong, while the server does not answer
        self._failures = 0
        self._retry_at = 0.0

    # --- outages -----------------------------------------------------------------

    def backing_off(self) -> None:
        """Fail at once (RemoteError) during an outage's back-off."""
        if self.outage is not None and time.monotonic() < self._retry_at:
            raise RemoteError(self.outage)

    def failed(self, message: str, *, tell: bool = True) -> None:
        self._failures += 1
        backoff = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (self._failures - 1))
        self._retry_at = time.monotonic() + backoff
        began = self.outage is None
        self.outage = message
        log.warning("remote engine: %s (next try in %.0f s)", message, backoff)
        if began and tell and self.on_health is not None:
            self.on_health(message)

    def answered(self) -> None:
        if self.outage is None:
            return
        self.outage, self._failures = None, 0
        log.info("remote engine at %s answers again", self.config.url)
        if self.on_health is not None:
            self.on_health(None)

    # --- requests ------------------------------------------------------------------

    def stream(
        self, path: str, body: dict[str, Any], cancel: CancelToken, deadline: float | None
    ) -> Generator[dict[str, Any]]:
        """The events of a streamed answer (server-sent events), until it ends
        or the caller stops iterating; the connection is closed either way.
        Raises OutOfTime past `deadline`."""
        with self._connection(cancel) as connection:
            connection.request("POST", self._base + path, json.dumps(body), self._headers())
            # A busy server sends even its headers late (llama.cpp's, with one
            # slot, once the request before has stopped).
            response = self._wait(
                connection, deadline, path, partial(self._response, connection, path)
            )
            while True:
                line = self._wait(connection, deadline, path, response.readline)
                if not line:
                    if cancel.cancelled:
                        return
                    raise RemoteError(f"{self.url(path)} ended its answer early")
                data = line.decode("utf-8", errors="replace").strip()
                if not data.startswith("data:"):
                    continue  # blank lines between events, comments, event names
                data = data[len("data:") :].strip()
                if data == "[DONE]":
                    return
                yield _parse_event(data, self.url(path))

    def get(self, path: str) -> dict[str, Any]:
        try:
            with self._connection(CancelToken()) as connection:
                connection.request("GET", self._base + path, headers=self._headers())
                answer = self._response(connection, path).read()
        except (OSError, http.client.HTTPException) as error:
            raise RemoteError(f"{self.url(path)} failed: {describe_error(error)}") from error
        return _parse_event(answer.decode("utf-8", errors="replace"), self.url(path))

    def url(self, path: str) -> str:
        scheme = "https" if self._https else "http"
        return f"{scheme}://{self._host}:{self._port}{self._base}{path}"

    def _wait(
        self,
        connection: http.client.HTTPConnection,
        deadline: float | None,
        path: str,
        read: Callable[[], _T],
    ) -> _T:
        """`read()` from the server, waiting at most until `deadline` (then
        OutOfTime) and `timeout_s` (then RemoteError)."""
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise OutOfTime
            _set_timeout(connection, min(self.config.timeout_s, left))
        try:
            return read()
        except TimeoutError as error:
            if deadline is not None and time.monotonic() >= deadline - 0.01:
                raise OutOfTime from error
            # Busy (its other requests first, a long prompt to read) or hung?
            # A busy server still answers a request that needs no model.
            alive = self._alive()
            state = "is busy" if alive else "does not answer"
            raise RemoteError(
                f"{self.url(path)} {state}: nothing came for {self.config.timeout_s:g} s "
                "(hearth.engine.timeoutMs sets how long to wait)",
                outage=not alive,
            ) from error

    def _alive(self) -> bool:
        try:
            self.get("/health" if self.config.api == "llamacpp" else "/v1/models")
        except RemoteError:
            return False
        return True

    @contextlib.contextmanager
    def _connection(self, cancel: CancelToken) -> Iterator[http.client.HTTPConnection]:
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        connection = kind(self._host, self._port, timeout=self.config.timeout_s)
        try:
            connection.connect()
        except OSError as error:
            raise RemoteError(
                f"no engine answers at {self.config.url} ({describe_error(error)}): start it, "
                "or set hearth.engine.url to where it runs"
            ) from error
        withdraw = cancel.on_cancel(lambda: _shut(connection))
        try:
            yield connection
        finally:
            withdraw()
            connection.close()

    def _response(self, connection: http.client.HTTPConnection, path: str) -> Any:
        response = connection.getresponse()
        if response.status == 200:
            return response
        detail = response.read(400).decode("utf-8", errors="replace").strip()
        hint = {
            401: "check the key in the variable hearth.engine.apiKeyEnv names",
            403: "check the key in the variable hearth.engine.apiKeyEnv names",
            404: (
                "is hearth.engine.api right for this server? llamacpp needs llama.cpp's "
                "server; openai any OpenAI-compatible one"
            ),
            503: "the server is still loading its model",
        }.get(response.status, "see the server's log")
        raise RemoteError(
            f"{self.url(path)} answered {response.status} {response.reason}: {detail[:200]} "
            f"({hint})",
            # The server is up and refuses this request (too long for its window, say).
            outage=response.status not in (400, 413, 422),
        )

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        return headers


def _shut(connection: http.client.HTTPConnection) -> None:
    """End the connection under a blocked read (from another thread)."""
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _set_timeout(connection: http.client.HTTPConnection, seconds: float) -> None:
    if connection.sock is not None:
        connection.sock.settimeout(max(0.01, seconds))


def describe_error(error: BaseException) -> str:
    """What went wrong, in a few words."""
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def _parse_event(data: str, url: str) -> dict[str, Any]:
    """One JSON answer, or one event's data; RemoteError when it is not an
    object, or says the server failed."""
    try:
        event = json.loads(data)
    except json.JSONDecodeError as error:
        raise RemoteError(f"{url} sent a malformed answer: {data[:120]!r}") from error
    if not isinstance(event, dict):
        raise RemoteError(f"{url} sent a malformed answer: {data[:120]!r}")
    if "error" in event:
        problem = event["error"]
        message = problem.get("message", problem) if isinstance(problem, dict) else problem
        raise RemoteError(f"{url} answered with an error: {message}")
    return event
