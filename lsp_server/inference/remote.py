"""An engine on a server the user runs: llama.cpp's server, or any
OpenAI-compatible one (vLLM, Ollama, llama-cpp-python's server).

Same interface as the embedded engine, and the same cancellation: answers
are streamed, and a cancel shuts the connection's socket from the
cancelling thread, so the read in progress ends at once and the server,
seeing the client gone, stops generating (llama.cpp's server and vLLM do;
llama-cpp-python's at its next token). A stop decided here (a finished
line, the time budget) closes the stream the same way.

When the server cannot be reached or answers with an error, the engine
says so once (`on_health`), fails the requests meanwhile at once without
touching the network, and tries again after a back-off that doubles up to
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
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import PurePath
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from lsp_server.inference import fim
from lsp_server.inference.api import (
    ChatMessage,
    EngineUnavailable,
    Generation,
    GenerationStats,
    Sampling,
    StopReason,
)
from lsp_server.inference.cancel import CancelToken

log = logging.getLogger(__name__)

BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 30.0

_T = TypeVar("_T")
Api = Literal["llamacpp", "openai"]
Health = Callable[[str | None], None]
"""Told of an outage (its message) when it begins, and None when it ends."""


@dataclass(frozen=True)
class RemoteConfig:
    url: str
    api: Api = "llamacpp"
    api_key: str | None = field(default=None, repr=False)  # sent as a bearer token; never logged
    model: str = ""  # openai: the model to ask for; empty: the first the server lists
    fim_format: str = "auto"  # a fim.FAMILIES name, or auto (from the model's name)
    timeout_s: float = 10.0  # to connect, and for each piece of a streamed answer
    context_size: int = 2048  # when the server does not say its own


class RemoteError(EngineUnavailable):
    """The remote engine did not answer as it should; the message says what to do.
    `outage`: the server is unreachable or broken, as opposed to refusing one
    request (a prompt too long for it, say) while serving others."""

    def __init__(self, message: str, *, outage: bool = True) -> None:
        super().__init__(message)
        self.outage = outage


class _OutOfTime(Exception):
    """The time budget ran out while waiting for the server."""


@dataclass
class _Piece:
    """One event of a streamed answer: text, and how the answer ended, if it did."""

    text: str = ""
    finish: StopReason | None = None
    stats: dict[str, Any] | None = None  # llama.cpp's timings, on its last event


class RemoteEngine:
    """Generations on a server over HTTP. Used from the scheduler's worker only."""

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
        self._name = config.model or "remote model"
        self._context_size = config.context_size
        self._family: fim.Family | None = None
        self._described = False
        self.outage: str | None = None  # what is wrong, while the server does not answer
        self._failures = 0
        self._retry_at = 0.0

    # --- what the server runs ------------------------------------------------

    @property
    def model_name(self) -> str:
        return self._name

    @property
    def fim_family(self) -> str | None:
        if self._family is not None:
            return self._family.name
        if self.config.api == "llamacpp" and self._described:
            return "llama.cpp /infill"  # the server writes the prompt with the model's tokens
        return None

    @property
    def context_size(self) -> int:
        return self._context_size

    @property
    def problem(self) -> str | None:
        """A setting to fix that outages do not explain (once described)."""
        if self.config.api == "openai" and self._described and self._family is None:
            return (
                f"the FIM format of {self._name} is not known, so it cannot suggest code: "
                "set hearth.engine.fimFormat"
            )
        return None

    def connect(self) -> None:
        """Ask the server what it runs; raises RemoteError (and starts an
        outage, without telling `on_health`) when it does not answer."""
        try:
            self._describe()
        except RemoteError as error:
            self._failed(str(error), tell=False)
            raise
        self._answered()

    def _describe(self) -> None:
        if self.config.api == "llamacpp":
            self._get("/health")  # 503 while it loads its model: an error, retried
            props = self._get("/props")
            settings = props.get("default_generation_settings") or {}
            self._context_size = int(settings.get("n_ctx") or props.get("n_ctx") or 0) or (
                self._context_size
            )
            path = str(props.get("model_alias") or props.get("model_path") or "")
            self._name = PurePath(path).name or self._name
            self._family = self._family_setting()
        else:
            listed = self._get("/v1/models").get("data") or []
            names = [str(m.get("id")) for m in listed if isinstance(m, dict) and m.get("id")]
            if not self.config.model and not names:
                raise RemoteError(f"{self._url('/v1/models')} lists no model")
            self._name = self.config.model or names[0]
            self._family = self._family_setting()
        self._described = True
        log.info(
            "remote engine %s (%s): %s, %d-token context, FIM %s",
            self.config.url,
            self.config.api,
            self._name,
            self._context_size,
            self.fim_family or "unknown",
        )

    def _family_setting(self) -> fim.Family | None:
        if self.config.fim_format == "auto":
            return fim.family_of_model(self._name)
        return fim.family_named(self.config.fim_format)

    # --- the Engine interface --------------------------------------------------

    def infill(
        self,
        prefix: str,
        suffix: str,
        sampling: Sampling,
        cancel: CancelToken,
        *,
        middle: str = "",
        budget: int | None = None,
        context: fim.FileContext | None = None,
    ) -> Generation:
        """As LlamaEngine.infill, in Hearth's prompt layout where the model's
        FIM format is known: with llama.cpp's server on /completion, where
        typing only appends to the prompt, so the server's KV cache holds all
        but the new tokens. (Its /infill puts the middle before the suffix,
        which is then read again on every key; it serves models whose format
        Hearth does not know.) The prompt's size was set by the caller in
        characters. Token healing is the embedded engine's: here a cut-off
        word or quote goes back into the prompt, and a cut-off indentation is
        left for the model to write its own (postprocess reconciles it)."""
        self._ready(cancel)
        given = sampling.starts_with if sampling.starts_with.strip() else ""
        middle += given
        llamacpp = self.config.api == "llamacpp"
        if self._family is None and llamacpp:
            return self._server_infill(prefix, suffix, middle, sampling, cancel, context, given)
        if self._family is None:
            raise RemoteError(self.problem or "no FIM format")
        if sampling.max_tokens == 0 and not llamacpp:
            # Reading ahead: OpenAI servers take 0 for "no limit" or refuse it.
            return Generation("", "length")
        prompt = fim.text_prompt(
            self._family,
            prefix,
            suffix,
            middle,
            context,
            repo_level=fim.repo_level_suits(self._name),
        )
        if llamacpp:
            body = {"prompt": prompt, **self._llamacpp_options(sampling)}
            return self._run("/completion", body, sampling, cancel, _llamacpp_piece, given)
        body = {
            "model": self._name,
            "prompt": prompt,
            "max_tokens": sampling.max_tokens,
            **self._sampling(sampling, stops=self._family.stops),
        }
        return self._run("/v1/completions", body, sampling, cancel, _completion_piece, given)

    def _server_infill(
        self,
        prefix: str,
        suffix: str,
        middle: str,
        sampling: Sampling,
        cancel: CancelToken,
        context: fim.FileContext | None,
        given: str,
    ) -> Generation:
        """llama.cpp's /infill, which writes the prompt with the model's own tokens."""
        files = context.files if context is not None else ()
        header = context.header if context is not None else ""
        body: dict[str, Any] = {
            "input_extra": [{"filename": path, "text": text} for path, text in files],
            "input_prefix": header + prefix,
            "input_suffix": suffix,
            "prompt": middle,
            **self._llamacpp_options(sampling),
        }
        return self._run("/infill", body, sampling, cancel, _llamacpp_piece, given)

    def _llamacpp_options(self, sampling: Sampling) -> dict[str, Any]:
        options: dict[str, Any] = {
            "n_predict": sampling.max_tokens,
            "cache_prompt": True,
            # Prompt tokens read and reused on every event: a stream Hearth
            # ends early never sees the last one.
            "timings_per_token": True,
            **self._sampling(sampling, stops=self._family.stops if self._family else ()),
        }
        if sampling.time_budget:
            # The server's own stop (past it, once a line is written): closing
            # the stream stops it only when it next looks at the connection.
            options["t_max_predict_ms"] = int(sampling.time_budget * 1000)
        return options

    def chat(
        self,
        messages: Sequence[ChatMessage],
        sampling: Sampling,
        cancel: CancelToken,
        *,
        answer_prefix: str = "",
    ) -> Generation:
        """As LlamaEngine.chat. Chat APIs do not all continue a started answer,
        so the model writes it whole; `answer_prefix` is taken off its start."""
        self._ready(cancel)
        body: dict[str, Any] = {
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": sampling.max_tokens,
            **self._sampling(sampling),
        }
        if self.config.api == "openai":
            body["model"] = self._name
        generation = self._run("/v1/chat/completions", body, sampling, cancel, _chat_piece)
        text = generation.text.lstrip()
        if answer_prefix and text.startswith(answer_prefix):
            generation.text = text[len(answer_prefix) :]
        return generation

    def close(self) -> None:
        """Nothing is held between requests."""

    # --- requests --------------------------------------------------------------

    def _ready(self, cancel: CancelToken) -> None:
        """Fail at once during an outage's back-off; describe the server once."""
        if self.outage is not None and time.monotonic() < self._retry_at:
            raise RemoteError(self.outage)
        if not self._described and not cancel.cancelled:
            try:
                self._describe()
            except RemoteError as error:
                self._failed(str(error))
                raise

    def _sampling(self, sampling: Sampling, stops: Sequence[str] = ()) -> dict[str, Any]:
        body: dict[str, Any] = {"temperature": sampling.temperature, "stream": True}
        if sampling.temperature > 0:
            body |= {"top_k": sampling.top_k, "top_p": sampling.top_p, "seed": sampling.seed}
        if sampling.stop or stops:
            body["stop"] = [*sampling.stop, *stops]
        return body

    def _run(
        self,
        path: str,
        body: dict[str, Any],
        sampling: Sampling,
        cancel: CancelToken,
        read: Callable[[dict[str, Any]], _Piece],
        given: str = "",
    ) -> Generation:
        """Stream one answer; `given` starts the text returned (it ended the prompt).
        The callers have made sure of the server (`_ready`)."""
        started = time.monotonic()
        deadline = started + sampling.time_budget if sampling.time_budget else None
        stats = GenerationStats()
        written = ""
        reason: StopReason = "length"
        try:
            with contextlib.closing(self._stream(path, body, cancel, deadline)) as events:
                for event in events:
                    piece = read(event)
                    if not stats.prompt_seconds:
                        stats.prompt_seconds = time.monotonic() - started
                    if piece.text:
                        written += piece.text
                        stats.decoded_tokens += 1
                    if piece.stats is not None:
                        _take_timings(stats, piece.stats)
                    if piece.finish is not None:
                        reason = piece.finish
                        break
                    if sampling.stop_when is not None and sampling.stop_when(given + written):
                        reason = "stop"
                        break
                    if cancel.cancelled:
                        reason = "cancelled"
                        break
                    if deadline is not None and time.monotonic() >= deadline:
                        reason = "time"
                        break
        except _OutOfTime:
            reason = "time"
        except RemoteError as error:
            if cancel.cancelled:
                reason = "cancelled"
            elif not error.outage:
                log.warning("remote engine: %s", error)
                raise
            else:
                self._failed(str(error))
                raise
        except (OSError, http.client.HTTPException) as error:
            if cancel.cancelled:
                reason = "cancelled"
            else:
                message = f"the connection to {self.config.url} failed ({_reason(error)})"
                self._failed(message)
                raise RemoteError(message) from error
        if cancel.cancelled:
            reason = "cancelled"
        self._answered()
        stats.decode_seconds = time.monotonic() - started - stats.prompt_seconds
        if reason == "cancelled":
            return Generation("", reason, stats)
        return Generation(given + written, reason, stats)

    def _stream(
        self, path: str, body: dict[str, Any], cancel: CancelToken, deadline: float | None
    ) -> Generator[dict[str, Any]]:
        """The events of a streamed answer (server-sent events), until it ends
        or the caller stops iterating; the connection is closed either way."""
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
                    raise RemoteError(f"{self._url(path)} ended its answer early")
                data = line.decode("utf-8", errors="replace").strip()
                if not data.startswith("data:"):
                    continue  # blank lines between events, comments, event names
                data = data[len("data:") :].strip()
                if data == "[DONE]":
                    return
                yield _parse_event(data, self._url(path))

    def _wait(
        self,
        connection: http.client.HTTPConnection,
        deadline: float | None,
        path: str,
        read: Callable[[], _T],
    ) -> _T:
        """`read()` from the server, waiting at most until `deadline` (then
        _OutOfTime) and `timeout_s` (then RemoteError)."""
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _OutOfTime
            _set_timeout(connection, min(self.config.timeout_s, left))
        try:
            return read()
        except TimeoutError as error:
            if deadline is not None and time.monotonic() >= deadline - 0.01:
                raise _OutOfTime from error
            # Busy (its other requests first, a long prompt to read) or hung?
            # A busy server still answers a request that needs no model.
            alive = self._alive()
            state = "is busy" if alive else "does not answer"
            raise RemoteError(
                f"{self._url(path)} {state}: nothing came for {self.config.timeout_s:g} s "
                "(hearth.engine.timeoutMs sets how long to wait)",
                outage=not alive,
            ) from error

    def _alive(self) -> bool:
        try:
            self._get("/health" if self.config.api == "llamacpp" else "/v1/models")
        except RemoteError:
            return False
        return True

    def _get(self, path: str) -> dict[str, Any]:
        try:
            with self._connection(CancelToken()) as connection:
                connection.request("GET", self._base + path, headers=self._headers())
                answer = self._response(connection, path).read()
        except (OSError, http.client.HTTPException) as error:
            raise RemoteError(f"{self._url(path)} failed: {_reason(error)}") from error
        return _parse_event(answer.decode("utf-8", errors="replace"), self._url(path))

    @contextlib.contextmanager
    def _connection(self, cancel: CancelToken) -> Iterator[http.client.HTTPConnection]:
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        connection = kind(self._host, self._port, timeout=self.config.timeout_s)
        try:
            connection.connect()
        except OSError as error:
            raise RemoteError(
                f"no engine answers at {self.config.url} ({_reason(error)}): start it, "
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
            f"{self._url(path)} answered {response.status} {response.reason}: {detail[:200]} "
            f"({hint})",
            # The server is up and refuses this request (too long for its window, say).
            outage=response.status not in (400, 413, 422),
        )

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        return headers

    def _url(self, path: str) -> str:
        scheme = "https" if self._https else "http"
        return f"{scheme}://{self._host}:{self._port}{self._base}{path}"

    # --- outages -----------------------------------------------------------------

    def _failed(self, message: str, *, tell: bool = True) -> None:
        self._failures += 1
        backoff = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (self._failures - 1))
        self._retry_at = time.monotonic() + backoff
        began = self.outage is None
        self.outage = message
        log.warning("remote engine: %s (next try in %.0f s)", message, backoff)
        if began and tell and self.on_health is not None:
            self.on_health(message)

    def _answered(self) -> None:
        if self.outage is None:
            return
        self.outage, self._failures = None, 0
        log.info("remote engine at %s answers again", self.config.url)
        if self.on_health is not None:
            self.on_health(None)


def _shut(connection: http.client.HTTPConnection) -> None:
    """End the connection under a blocked read (from another thread)."""
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _set_timeout(connection: http.client.HTTPConnection, seconds: float) -> None:
    if connection.sock is not None:
        connection.sock.settimeout(max(0.01, seconds))


def _reason(error: BaseException) -> str:
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def _parse_event(data: str, url: str) -> dict[str, Any]:
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


_LLAMA_STOPS: dict[str, StopReason] = {"eos": "end", "word": "stop", "limit": "length"}
_OPENAI_STOPS: dict[str, StopReason] = {"stop": "end", "length": "length"}


def _llamacpp_piece(event: dict[str, Any]) -> _Piece:
    """llama.cpp's /completion and /infill events."""
    piece = _Piece(text=str(event.get("content") or ""))
    if event.get("stop"):
        piece.finish = _LLAMA_STOPS.get(str(event.get("stop_type")), "end")
    timings = event.get("timings")
    if isinstance(timings, dict):
        piece.stats = timings
    return piece


def _choice(event: dict[str, Any]) -> dict[str, Any]:
    choices = event.get("choices") or [{}]
    choice = choices[0]
    return choice if isinstance(choice, dict) else {}


def _completion_piece(event: dict[str, Any]) -> _Piece:
    choice = _choice(event)
    finish = choice.get("finish_reason")
    return _Piece(
        text=str(choice.get("text") or ""),
        finish=_OPENAI_STOPS.get(str(finish), "end") if finish else None,
    )


def _chat_piece(event: dict[str, Any]) -> _Piece:
    choice = _choice(event)
    delta = choice.get("delta")
    finish = choice.get("finish_reason")
    return _Piece(
        text=str(delta.get("content") or "") if isinstance(delta, dict) else "",
        finish=_OPENAI_STOPS.get(str(finish), "end") if finish else None,
    )


def _take_timings(stats: GenerationStats, timings: dict[str, Any]) -> None:
    """llama.cpp's account of the request: prompt tokens read and reused, tokens written."""
    stats.evaluated_tokens = int(timings.get("prompt_n") or 0)
    stats.reused_tokens = int(timings.get("cache_n") or 0)
    stats.prompt_tokens = stats.evaluated_tokens + stats.reused_tokens
    stats.decoded_tokens = int(timings.get("predicted_n") or stats.decoded_tokens)
