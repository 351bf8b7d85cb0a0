"""RemoteEngine: Hearth's requests to a llama.cpp or OpenAI-compatible server."""

from __future__ import annotations

import contextlib
import http.client
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import PurePath
from typing import Any, ClassVar

from lsp_server.inference import fim, models
from lsp_server.inference.api import (
    ChatMessage,
    Generation,
    GenerationStats,
    IgnoredSteering,
    Sampling,
    Steering,
    StopReason,
    Treatment,
)
from lsp_server.inference.cancel import CancelToken
from lsp_server.inference.remote.config import RemoteConfig
from lsp_server.inference.remote.events import (
    Piece,
    chat_piece,
    completion_piece,
    llamacpp_piece,
    take_timings,
)
from lsp_server.inference.remote.http import Health, OutOfTime, RemoteError, Server, describe_error
from lsp_server.layout import FileContext, LaidOut, PromptLayout, estimated_tokens

log = logging.getLogger(__name__)


class RemoteEngine:
    """Generations on a server over HTTP. Used from the scheduler's worker only."""

    STEERING: ClassVar[Mapping[str, Treatment]] = {
        # infill: it ends the prompt's middle, and the text returned starts
        # with it; blanks only (a cut-off indentation) are left out, for the
        # model to write its own (postprocess reconciles them). chat: chat
        # APIs do not all continue a started answer, so chat ignores it.
        "starts_with": "honoured",
        "stop_when": "honoured",  # asked after each streamed event
        "avoid": "ignored",  # going back to another token needs the logits
        "comment": "ignored",  # it only serves `avoid`
        "alternatives": "ignored",  # branching needs the logits and the KV cache
        "code_first": "ignored",  # choosing among tokens needs the logits
        "draft": "ignored",  # a server verifies no draft it is given over this API
    }
    CONTINUES_ANSWERS: ClassVar[bool] = False  # chat APIs do not all continue a started answer

    def __init__(self, config: RemoteConfig, on_health: Health | None = None) -> None:
        self.config = config
        self._server = Server(config, on_health)
        self._ignored = IgnoredSteering(log, "the remote engine", self.STEERING)
        # The default preset's, unless the server says how big its model is
        # when Hearth connects (`connect`). Fixed from then on: the event loop
        # reads it to choose a prompt's window while the worker generates.
        self.layout = models.layout_for(None)
        self._parameters: int | None = None  # the model's size, as the server lists it
        self._name = config.model or "remote model"
        self._context_size = config.context_size
        self._family: fim.Family | None = None
        self._described = False

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
    def outage(self) -> str | None:
        """What is wrong, while the server does not answer."""
        return self._server.outage

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
            self._server.failed(str(error), tell=False)
            raise
        self._server.answered()
        self.layout = models.layout_for(self._parameters)

    def _describe(self) -> None:
        if self.config.api == "llamacpp":
            self._server.get("/health")  # 503 while it loads its model: an error, retried
            props = self._server.get("/props")
            settings = props.get("default_generation_settings") or {}
            self._context_size = int(settings.get("n_ctx") or props.get("n_ctx") or 0) or (
                self._context_size
            )
            path = str(props.get("model_alias") or props.get("model_path") or "")
            self._name = PurePath(path).name or self._name
            self._family = self._family_setting()
        else:
            listed = self._server.get("/v1/models").get("data") or []
            names = [str(m.get("id")) for m in listed if isinstance(m, dict) and m.get("id")]
            if not self.config.model and not names:
                raise RemoteError(f"{self._server.url('/v1/models')} lists no model")
            self._name = self.config.model or names[0]
            self._family = self._family_setting()
            self._parameters = _parameters(listed, self._name)
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
        steering: Steering = Steering(),
        middle: str = "",
        layout: PromptLayout | None = None,
        context: FileContext | None = None,
    ) -> Generation:
        """As LlamaEngine.infill, in Hearth's prompt layout where the model's
        FIM format is known: with llama.cpp's server on /completion, where
        typing only appends to the prompt, so the server's KV cache holds all
        but the new tokens. (Its /infill puts the middle before the suffix,
        which is then read again on every key; it serves models whose format
        Hearth does not know.) The prompt is cut by its `layout` as the
        embedded engine cuts it (Engine.infill), counted in pieces of text at an
        estimate (`estimated_tokens`): the server's tokenizer is not seen.
        Token healing is the embedded engine's: here a cut-off word or quote
        goes back into the prompt, and a cut-off indentation is left for the
        model to write its own (postprocess reconciles it)."""
        self._ready(cancel)
        self._ignored.note(steering)
        llamacpp = self.config.api == "llamacpp"
        if self._family is None and not llamacpp:
            raise RemoteError(self.problem or "no FIM format")
        if sampling.max_tokens == 0 and not llamacpp:
            # Reading ahead: OpenAI servers take 0 for "no limit" or refuse it.
            return Generation("", "length")
        laid = self._laid_out(prefix, suffix, middle, context, layout, sampling.max_tokens)
        prefix, suffix, context = "".join(laid.prefix), "".join(laid.suffix), laid.context
        given = steering.starts_with if steering.starts_with.strip() else ""
        middle = "".join(laid.middle) + given
        if self._family is None:
            return self._server_infill(
                prefix, suffix, middle, sampling, steering, cancel, context, given
            )
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
            return self._run("/completion", body, sampling, steering, cancel, llamacpp_piece, given)
        body = {
            "model": self._name,
            "prompt": prompt,
            "max_tokens": sampling.max_tokens,
            **self._sampling(sampling, stops=self._family.stops),
        }
        return self._run(
            "/v1/completions", body, sampling, steering, cancel, completion_piece, given
        )

    def _laid_out(
        self,
        prefix: str,
        suffix: str,
        middle: str,
        context: FileContext | None,
        layout: PromptLayout | None,
        max_tokens: int,
    ) -> LaidOut[str]:
        """The prompt's parts as `layout` cuts them (Engine.infill)."""
        family, repo_level = self._family, fim.repo_level_suits(self._name)

        def render(files: FileContext) -> tuple[list[str], list[str]]:
            if family is None:  # llama.cpp's /infill: the server writes other files its way
                head, above = "", "".join(text for _, text in files.files)
            else:
                head, above = fim.text_context(family, files, repo_level=repo_level)
            return estimated_tokens(head), estimated_tokens(above)

        fixed = 3  # the FIM tokens
        asked = layout.prompt_tokens if layout is not None else None
        layout = layout or self.layout
        budget = layout.budget(asked, self._context_size, max_tokens, fixed)
        return layout.cut(prefix, suffix, middle, context, budget, estimated_tokens, render)

    def _server_infill(
        self,
        prefix: str,
        suffix: str,
        middle: str,
        sampling: Sampling,
        steering: Steering,
        cancel: CancelToken,
        context: FileContext | None,
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
        return self._run("/infill", body, sampling, steering, cancel, llamacpp_piece, given)

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
        steering: Steering = Steering(),
        answer_prefix: str = "",
    ) -> Generation:
        """As LlamaEngine.chat. Chat APIs do not all continue a started answer,
        so the model writes it whole; `answer_prefix` is taken off its start,
        and `steering.starts_with` is ignored."""
        self._ready(cancel)
        self._ignored.note(steering, "starts_with")
        body: dict[str, Any] = {
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": sampling.max_tokens,
            **self._sampling(sampling),
        }
        if self.config.api == "openai":
            body["model"] = self._name
        generation = self._run("/v1/chat/completions", body, sampling, steering, cancel, chat_piece)
        text = generation.text.lstrip()
        if answer_prefix and text.startswith(answer_prefix):
            generation.text = text[len(answer_prefix) :]
        return generation

    def close(self) -> None:
        """Nothing is held between requests."""

    # --- requests --------------------------------------------------------------

    def _ready(self, cancel: CancelToken) -> None:
        """Fail at once during an outage's back-off; describe the server once."""
        self._server.backing_off()
        if not self._described and not cancel.cancelled:
            try:
                self._describe()
            except RemoteError as error:
                self._server.failed(str(error))
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
        steering: Steering,
        cancel: CancelToken,
        read: Callable[[dict[str, Any]], Piece],
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
            with contextlib.closing(self._server.stream(path, body, cancel, deadline)) as events:
                for event in events:
                    piece = read(event)
                    if not stats.prompt_seconds:
                        stats.prompt_seconds = time.monotonic() - started
                    if piece.text:
                        written += piece.text
                        stats.decoded_tokens += 1
                    if piece.stats is not None:
                        take_timings(stats, piece.stats)
                    if piece.finish is not None:
                        reason = piece.finish
                        break
                    if steering.stop_when is not None and steering.stop_when(given + written):
                        reason = "stop"
                        break
                    if cancel.cancelled:
                        reason = "cancelled"
                        break
                    if deadline is not None and time.monotonic() >= deadline:
                        reason = "time"
                        break
        except OutOfTime:
            reason = "time"
        except RemoteError as error:
            if cancel.cancelled:
                reason = "cancelled"
            elif not error.outage:
                log.warning("remote engine: %s", error)
                raise
            else:
                self._server.failed(str(error))
                raise
        except (OSError, http.client.HTTPException) as error:
            if cancel.cancelled:
                reason = "cancelled"
            else:
                message = f"the connection to {self.config.url} failed ({describe_error(error)})"
                self._server.failed(message)
                raise RemoteError(message) from error
        if cancel.cancelled:
            reason = "cancelled"
        self._server.answered()
        stats.decode_seconds = time.monotonic() - started - stats.prompt_seconds
        if reason == "cancelled":
            return Generation("", reason, stats)
        return Generation(given + written, reason, stats)


def _parameters(listed: Sequence[object], name: str) -> int | None:
    """The size of model `name` as /v1/models lists it, where the server
    says (llama.cpp's server: `meta.n_params`)."""
    for model in listed:
        if isinstance(model, dict) and model.get("id") == name:
            meta = model.get("meta")
            count = meta.get("n_params") if isinstance(meta, dict) else None
            return count if isinstance(count, int) else None
    return None
