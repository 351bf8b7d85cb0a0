"""The model engine: llama-cpp-python in-process, stoppable at any token.

We drive llama.cpp token by token instead of calling `create_completion`,
for three reasons: the cancel flag is checked before every decode step
(prompt chunks included), the FIM prompt is built from the model's own
token ids (see fim.py), and each call reports how much of its prompt was
reused from the KV cache, which is what prompt layout is judged by.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lsp_server.inference import fim, healing
from lsp_server.inference.api import (
    ChatMessage,
    Generation,
    GenerationStats,
    ModelFileChanged,
    Sampling,
    StopReason,
)
from lsp_server.inference.cancel import CancelToken
from lsp_server.inference.detour import Detour
from lsp_server.inference.models import FileIdentity, ModelError

log = logging.getLogger(__name__)
llama_log = logging.getLogger("llama.cpp")

# The shortest run of cached tokens worth shifting into place: shorter ones
# are cheaper to read again than to have out of context.
SHIFT_MIN_TOKENS = 32


@dataclass(frozen=True)
class EngineConfig:
    context_size: int = 2048
    threads: int = 0  # 0: one per core
    batch_size: int = 128  # prompt tokens per llama_decode call; cancel is checked between calls
    gpu_layers: int = 0


@dataclass(frozen=True)
class _Read:
    """How reading a prompt ended: stopped early, or read, with the draft's
    tokens the healer confirmed (in the KV cache) and, where it chose another,
    that token (not evaluated yet)."""

    stopped: StopReason | None = None
    checked: Sequence[int] = ()
    diverged: int | None = None


class _LlamaVocabulary:
    """fim.Vocabulary over a loaded llama.cpp model."""

    def __init__(self, llm: Any) -> None:
        import llama_cpp

        self._llm = llm
        self._vocab = llm._model.vocab
        self._api = llama_cpp

    def special_token(self, text: str) -> int | None:
        ids = self._llm.tokenize(text.encode(), add_bos=False, special=True)
        if len(ids) != 1:
            return None
        token = int(ids[0])
        return token if self._llm._model.token_get_text(token) == text else None

    def declared_fim_tokens(self) -> dict[str, int]:
        api, vocab = self._api, self._vocab
        declared = {
            "prefix": api.llama_vocab_fim_pre(vocab),
            "suffix": api.llama_vocab_fim_suf(vocab),
            "middle": api.llama_vocab_fim_mid(vocab),
            "pad": api.llama_vocab_fim_pad(vocab),
            "repo": api.llama_vocab_fim_rep(vocab),
            "file_sep": api.llama_vocab_fim_sep(vocab),
        }
        return {role: int(token) for role, token in declared.items() if token >= 0}


class _NoRedirect:
    """Stands in for llama-cpp-python's `suppress_stdout_stderr`, which silences
    llama.cpp by pointing file descriptors 1 and 2 at /dev/null while a model
    loads. In a language server stdout is the LSP channel, written from the
    event loop thread at the same time: every message sent during a load was
    lost (seen here: a response vanished and the client waited forever)."""

    def __init__(self, disable: bool = True) -> None:
        pass

    def __enter__(self) -> _NoRedirect:
        return self

    def __exit__(self, *_: object) -> None:
        pass


# ggml_log_level: NONE, DEBUG, INFO, WARN, ERROR, CONT (continues the previous line).
_LLAMA_LEVELS = {
    0: logging.DEBUG,
    1: logging.DEBUG,
    2: logging.DEBUG,
    3: logging.WARNING,
    4: logging.ERROR,
}
_log_callback: Any = None  # kept referenced: llama.cpp holds a pointer to it
_last_level = logging.DEBUG


def _prepare_llama_cpp() -> Any:
    """Import llama_cpp with its output routed to our log instead of file descriptors."""
    global _log_callback
    import llama_cpp
    import llama_cpp._internals
    import llama_cpp.llama
    import llama_cpp.llama_chat_format

    if _log_callback is None:
        for module in (llama_cpp.llama, llama_cpp._internals, llama_cpp.llama_chat_format):
            module.suppress_stdout_stderr = _NoRedirect  # type: ignore[attr-defined]

        @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
        def to_log(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
            global _last_level
            _last_level = _LLAMA_LEVELS.get(level, _last_level)
            message = text.decode("utf-8", errors="replace").rstrip()
            if message:
                llama_log.log(_last_level, "%s", message)

        _log_callback = to_log
        llama_cpp.llama_log_set(to_log, ctypes.c_void_p(0))
    return llama_cpp


class LlamaEngine:
    """One llama.cpp model and context. Not thread-safe: the scheduler's worker owns it."""

    def __init__(self, path: Path, config: EngineConfig) -> None:
        # Imported here so that the CLI answers fast and model-free code paths
        # (settings, documents) never pay for loading the native library.
        llama_cpp = _prepare_llama_cpp()

        self._api = llama_cpp
        self.path = path
        self.config = config
        self.file = FileIdentity.of(path)
        self._llm = self._load()
        # Chat (hover, docstrings) runs in a context of its own, made on first
        # use: its prompts would otherwise evict the completion prompt from the
        # KV cache, and the next keystroke would pay to read it all again.
        self._chat_llm: Any = None
        self._vocab = self._llm._model.vocab
        self._fim = fim.detect(_LlamaVocabulary(self._llm))
        self._bos: list[int] = (
            [int(self._llm.token_bos())] if llama_cpp.llama_vocab_get_add_bos(self._vocab) else []
        )
        metadata: dict[str, str] = self._llm.metadata
        self._name = metadata.get("general.name") or path.stem
        self._chat_template = metadata.get("tokenizer.chat_template")
        # Every token's bytes, for token healing: most of a second to build,
        # so it is built meanwhile, not when the user waits for a suggestion.
        self._pieces: healing.TokenPieces | None = None
        self._pieces_built = threading.Thread(target=self._build_pieces, daemon=True)
        self._pieces_built.start()

    def _load(self, borrowed: Any = None) -> Any:
        """A llama.cpp context, with the model loaded from the file (its weights
        memory-mapped and used in place), or with the model of `borrowed`, a
        Llama made before: only its context is new."""
        config = self.config
        threads = config.threads or os.cpu_count() or 1
        # Borrowing, the path is only looked for (the file may be gone since).
        path = str(self.path) if borrowed is None or self.path.exists() else os.devnull
        try:
            with _weights_in_place() if borrowed is None else _model_of(borrowed):
                return self._api.Llama(
                    model_path=path,
                    n_ctx=config.context_size,
                    n_batch=config.batch_size,
                    n_ubatch=config.batch_size,
                    n_threads=threads,
                    n_threads_batch=threads,
                    n_gpu_layers=config.gpu_layers,
                    use_mmap=True,
                    verbose=False,
                )
        except (ValueError, RuntimeError, OSError) as error:
            raise ModelError(
                f"llama.cpp could not load {self.path}: {error}; the file may be damaged, "
                "or of a model architecture this llama-cpp-python does not support"
            ) from error

    @property
    def model_name(self) -> str:
        return self._name

    @property
    def fim_format(self) -> fim.FimFormat | None:
        return self._fim

    @property
    def fim_family(self) -> str | None:
        return self._fim.family if self._fim is not None else None

    @property
    def chat_template(self) -> str | None:
        """The GGUF's chat template (Jinja), None when it has none."""
        return self._chat_template

    @property
    def context_size(self) -> int:
        return int(self._llm.n_ctx())

    def tokenize(self, text: str) -> list[int]:
        """Plain text to ids. Special-token spellings in user code stay plain text."""
        if not text:
            return []
        return [int(t) for t in self._llm.tokenize(text.encode(), add_bos=False, special=False)]

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

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
        """Write what goes between `prefix` and `suffix`, starting with `middle`.

        The text returned does not repeat `middle`. The prompt fits `budget`
        tokens and the context window with room for `sampling.max_tokens`.
        `context` (other files, then the header) comes first, as material
        that changes least; it takes at most half the budget, other files
        giving way before the header. Prefix and suffix share the rest, cut
        the prefix from the left and the suffix from the right.
        """
        # The prompt keeps at least half the window, however many tokens are asked for;
        # generation then ends at the window's edge (stop reason "length").
        reserved = min(sampling.max_tokens, self.context_size // 2)
        room = self.context_size - reserved - len(self._bos) - 3
        budget = min(budget, room) if budget else room
        # A middle has a fixed share of the budget, not its length: typing
        # must not move where the prefix is cut, or the whole prompt is re-read.
        middle_ids = self.tokenize(middle)
        middle_room = budget // fim.MIDDLE_SHARE if middle else 0
        budget -= middle_room
        if len(middle_ids) > middle_room:
            # A very long line: cut from the left with the prefix, not kept whole.
            prefix, middle_ids = prefix + middle, []
        lead = self._lead(middle_ids)
        if lead:
            middle_ids = middle_ids[:-1]
        repo_ids, header_ids = self._context_ids(context, budget // 2)
        budget -= len(repo_ids) + len(header_ids)
        # A cheap cut by characters first, so a huge file is never tokenized whole.
        prefix, suffix = prefix[-budget * 8 :], suffix[: budget * 8]
        prefix_ids, suffix_ids = self.tokenize(prefix), self.tokenize(suffix)
        suffix_ids = suffix_ids[: max(budget // 4, budget - len(prefix_ids))]
        prefix_ids = prefix_ids[max(0, len(prefix_ids) - (budget - len(suffix_ids))) :]
        prefix_ids = header_ids + prefix_ids
        if self._fim is None:
            # A model without FIM tokens can still continue the prefix.
            prompt = [*self._bos, *prefix_ids, *middle_ids]
        else:
            prompt = [
                *self._bos,
                *self._fim.prompt(prefix_ids, suffix_ids, middle_ids, context=repo_ids),
            ]
        return self._generate(self._llm, prompt, sampling, cancel, lead=lead)

    def _lead(self, middle_ids: Sequence[int]) -> bytes:
        """The middle's last token, which the prompt leaves out for the model
        to write again (token healing at the token level): a middle ending in
        `self.` or `,` asks the model to go on from a boundary it rarely saw in
        training, where `.append` or `,line` are single tokens (measured on the
        1.5B model: it then writes `self. a`). Not a piece that ends a line:
        the model starts a fresh line well."""
        if not middle_ids:
            return b""
        piece = bytes(self._llm.detokenize([middle_ids[-1]]))
        return b"" if b"\n" in piece else piece

    @property
    def repo_level(self) -> bool:
        """Whether prompts use the model's repository-level format (fim.repo_level_suits)."""
        return (
            self._fim is not None
            and self._fim.file_sep is not None
            and fim.repo_level_suits(self._name)
        )

    def _context_ids(
        self, context: fim.FileContext | None, budget: int
    ) -> tuple[list[int], list[int]]:
        """The repository part and the header of `context`, within `budget` tokens:
        the header first, then as many of the other files as fit."""
        if context is None:
            return [], []
        header_ids = self.tokenize(context.header)
        if len(header_ids) > budget:
            # Cut at a line boundary from the left: the header's end joins the prefix.
            header_ids = self.tokenize(_last_lines_within(context.header, header_ids, budget))
        files = list(context.files)
        while True:
            if self._fim is not None and self.repo_level:
                shown = fim.FileContext(context.repo, context.path, files=tuple(files))
                repo_ids, above = self._fim.repo_context(shown, self.tokenize), []
            else:
                repo_ids, above = [], self.tokenize("".join(text for _, text in files))
            if not files or len(repo_ids) + len(above) + len(header_ids) <= budget:
                return repo_ids, above + header_ids
            files.pop()  # the last file is the least wanted

    def chat(
        self,
        messages: Sequence[ChatMessage],
        sampling: Sampling,
        cancel: CancelToken,
        *,
        answer_prefix: str = "",
    ) -> Generation:
        """Generate an assistant turn with the model's own chat template (from the GGUF).
        The turn begins with `answer_prefix` (not repeated in the result): a small
        model keeps to an answer format it has already started."""
        prompt = self.tokenize_chat(messages) + self.tokenize(answer_prefix)
        if len(prompt) + sampling.max_tokens > self.context_size:
            raise ValueError(
                f"chat prompt of {len(prompt)} tokens leaves no room for "
                f"{sampling.max_tokens} new tokens in a {self.context_size}-token context"
            )
        if self._chat_llm is None:
            self._ensure_file_intact()
            self._chat_llm = self._load(borrowed=self._llm)
        return self._generate(self._chat_llm, prompt, sampling, cancel)

    def tokenize_chat(self, messages: Sequence[ChatMessage]) -> list[int]:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        if not self._chat_template:
            text = "".join(f"{m.role}: {m.content}\n" for m in messages) + "assistant: "
            return [*self._bos, *self.tokenize(text)]
        token_text = self._llm._model.token_get_text
        formatter = Jinja2ChatFormatter(
            template=self._chat_template,
            eos_token=token_text(self._llm.token_eos()),
            bos_token=token_text(self._llm.token_bos()),
        )
        turns: Any = [{"role": m.role, "content": m.content} for m in messages]
        formatted = formatter(messages=turns)
        ids = self._llm.tokenize(formatted.prompt.encode(), add_bos=False, special=True)
        return [int(t) for t in ids]

    def generate(
        self, prompt: Sequence[int], sampling: Sampling, cancel: CancelToken
    ) -> Generation:
        """Run the model on `prompt` token by token until a stop, a limit or a cancel."""
        return self._generate(self._llm, prompt, sampling, cancel)

    def _generate(
        self,
        llm: Any,
        prompt: Sequence[int],
        sampling: Sampling,
        cancel: CancelToken,
        *,
        lead: bytes = b"",
    ) -> Generation:
        """`lead`: text the caller has and the prompt left out; the output must
        start with it (it is chosen so), and it is not returned."""
        self._ensure_file_intact()
        started = time.monotonic()
        deadline = started + sampling.time_budget if sampling.time_budget else None
        stats = GenerationStats(prompt_tokens=len(prompt))
        cut = lead + sampling.starts_with.encode()
        healer = self._healer(cut) if cut and sampling.max_tokens else None

        reused = _reuse_cache(llm, prompt, shift=self._api.llama_memory_can_shift(llm._ctx.memory))
        stats.reused_tokens = reused
        llm.n_tokens = reused  # eval() drops the KV cache from here on
        read = self._read(llm, list(prompt[reused:]), healer, cut, cancel, deadline, stats)
        prompt_done = time.monotonic()
        stats.prompt_seconds = prompt_done - started
        if read.stopped is not None:
            return Generation("", read.stopped, stats)
        if sampling.max_tokens == 0:
            return Generation("", "length", stats)  # read ahead: the prompt is now cached

        # The sampler is llama-cpp-python's own; we set it as generate() does.
        llm._sampler = llm._init_sampler(
            top_k=sampling.top_k,
            top_p=sampling.top_p,
            temp=sampling.temperature,
            repeat_penalty=1.0,
        )
        llm.set_seed(sampling.seed)
        is_end = self._api.llama_vocab_is_eog
        stops = self._fim.stops if self._fim else frozenset()
        output = bytearray()
        text = bytearray()  # the output after `lead`
        reason: StopReason = "length"
        checked = list(read.checked)  # chosen and already in the KV cache
        pending = read.diverged  # chosen, not evaluated yet
        # The detour compares runner-ups by their text.
        detour = (
            Detour.of(sampling.avoid, self._token_pieces().piece, sampling.comment)
            if sampling.avoid
            else None
        )
        try:
            while True:
                evaluated = bool(checked)
                if checked:
                    token = checked.pop(0)
                elif pending is not None:
                    token, pending = pending, None
                else:
                    token = self._choose(llm, healer, detour, text, len(output))
                ended = is_end(self._vocab, token) or token in stops
                if not ended:
                    output += llm.detokenize([token])
                    stats.decoded_tokens += 1
                    text = output[len(lead) :]
                if detour and (turn := detour.turn(_text(text), ended)):
                    # The line repeats the code after the hole: the runner-up
                    # of its least sure token is written and read in its place.
                    llm.n_tokens = turn.position
                    del output[turn.length :]
                    pending = turn.token
                    continue
                if ended:
                    reason = "end"
                    break
                if sampling.stop and _cut_at_stop(text, sampling.stop):
                    reason = "stop"
                    break
                if sampling.stop_when is not None and sampling.stop_when(_text(text)):
                    reason = "stop"
                    break
                if stats.decoded_tokens >= sampling.max_tokens or llm.n_tokens >= self.context_size:
                    reason = "length"
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    reason = "time"
                    break
                if cancel.cancelled:
                    reason = "cancelled"
                    break
                if evaluated:
                    continue
                step_started = time.monotonic()
                llm.eval([token])
                if cancel.set_before(step_started):
                    stats.decoded_after_cancel += 1
        finally:
            llm._sampler = None
        stats.decode_seconds = time.monotonic() - prompt_done
        if reason == "cancelled":
            return Generation("", reason, stats)
        return Generation(_text(text), reason, stats)

    def _read(
        self,
        llm: Any,
        rest: list[int],
        healer: healing.Healer | None,
        cut: bytes,
        cancel: CancelToken,
        deadline: float | None,
        stats: GenerationStats,
    ) -> _Read:
        """Evaluate the prompt's uncached tokens `rest`, in batches, checking
        the cancel and the deadline between them.

        With a `healer`, the cut's own tokens go into the last batch too, as
        a draft: the healer checks each against the logits before it, so the
        text the user typed is written again in one forward pass instead of
        one a token. Where the healer chooses otherwise, the draft ends and
        its choice is returned to be written.
        """
        # Not the cut's last token: the healer mostly prefers one that goes on
        # past the cut (`]` + a line break is one token, `]\n`), and a token
        # checked in vain costs a third of a forward pass.
        draft = (
            [int(t) for t in llm.tokenize(cut, add_bos=False, special=False)][:-1] if healer else []
        )
        sequence = rest + draft
        base = llm.n_tokens
        batch_size = self.config.batch_size
        for start in range(0, len(sequence), batch_size):
            # What was read stays in the KV cache: a request stopped here
            # leaves the next one less to read.
            if cancel.cancelled:
                return _Read(stopped="cancelled")
            if deadline is not None and time.monotonic() >= deadline:
                return _Read(stopped="time")
            chunk = sequence[start : start + batch_size]
            # Logits from the last prompt token on (each chooses the next token).
            first_out = max(start, len(rest) - 1) if draft else start + len(chunk) - 1
            chunk_started = time.monotonic()
            _decode(llm, chunk, logits_from=first_out - start)
            stats.evaluated_tokens += max(0, min(len(chunk), len(rest) - start))
            if cancel.set_before(chunk_started):
                stats.prompt_tokens_after_cancel += len(chunk)
            for position in range(first_out, start + len(chunk)):
                drafted = position + 1 - len(rest)  # the draft's token the logits choose
                if not draft or drafted >= len(draft):
                    break
                assert healer is not None
                token = self._heal(llm, healer, position - start)
                if token == draft[drafted]:
                    continue
                # The draft ends here: the cache keeps the tokens before it.
                llm.n_tokens = base + position + 1
                if token is None:
                    # Healing given up: this token is read again alone, so that
                    # its logits are the last ones, which the model samples from.
                    llm.n_tokens -= 1
                    _decode(llm, [sequence[position]], logits_from=0)
                return _Read(checked=draft[:drafted], diverged=token)
        return _Read(checked=draft)

    def _healer(self, cut: bytes) -> healing.Healer:
        return healing.Healer(self._token_pieces(), cut)

    def _token_pieces(self) -> healing.TokenPieces:
        """Every token's text, once the thread started at load has read them."""
        self._pieces_built.join()
        assert self._pieces is not None
        return self._pieces

    def _build_pieces(self) -> None:
        buffer = ctypes.create_string_buffer(256)

        def piece(token: int) -> bytes:
            length = self._api.llama_token_to_piece(
                self._vocab, token, buffer, len(buffer), 0, False
            )
            return buffer.raw[: max(0, length)]

        self._pieces = healing.TokenPieces([piece(t) for t in range(self._llm.n_vocab())])

    def _choose(
        self,
        llm: Any,
        healer: healing.Healer | None,
        detour: Detour | None,
        text: bytes | bytearray,
        length: int,
    ) -> int:
        """The next token: the healer's while it heals, else the sampler's. A
        choice of the model's own text on a line the detour watches is noted."""
        logits = self._logits(llm, -1)
        watching = detour is not None and detour.watching(_text(text))
        among = None
        token = None
        if healer is not None and healer.active:
            among = healer.past_the_cut() if watching else None
            token = healer.choose(logits)
        if token is None:  # not healing, or healing given up: the model chooses freely
            token, among = int(llm.sample()), None
        elif among is None or token not in among:
            return token  # the user's text spelled out, no choice of the model's
        if detour is not None and watching:
            detour.note(logits, token, llm.n_tokens, length, among)
        return token

    def _heal(self, llm: Any, healer: healing.Healer, row: int) -> int | None:
        """The healer's choice from the logits of the last batch's token `row` (-1: its last)."""
        return healer.choose(self._logits(llm, row))

    def _logits(self, llm: Any, row: int) -> np.ndarray:
        """The logits of the last batch's token `row` (-1: its last), in place."""
        return np.ctypeslib.as_array(
            self._api.llama_get_logits_ith(llm._ctx.ctx, row), shape=(llm.n_vocab(),)
        )

    def _ensure_file_intact(self) -> None:
        """Refuse to touch weights whose file was rewritten since it was loaded
        (a model downloaded again over it, say): reading a truncated mapping
        would kill the server. Checked before each generation; a rewrite
        during one is not caught."""
        if self.file is not None and self.file.rewritten_as(FileIdentity.of(self.path)):
            raise ModelFileChanged(
                f"the model file {self.path} changed on disk while loaded: "
                "Hearth loads it again once it is complete"
            )

    def close(self) -> None:
        self._pieces_built.join()  # it reads the vocabulary that closing frees
        if self._chat_llm is not None:
            self._chat_llm.close()
        self._llm.close()


_LOADING = threading.Lock()


@contextlib.contextmanager
def _weights_in_place() -> Iterator[None]:
    """Models load with llama.cpp's weight repacking off (`use_extra_bufts`,
    which llama-cpp-python does not expose). Repacking copies the weights into
    the layout of llama.cpp's CPU kernels: the default model then took 1.93 GB
    instead of 1.34 GB, and again per context, since the copy is not shared;
    measured on two cores it read prompts slower (60 vs 80 tokens/s) and wrote
    at most 10% faster."""
    from llama_cpp import llama_cpp as api

    default = api.llama_model_default_params

    def in_place() -> Any:
        params = default()
        params.use_extra_bufts = False
        return params

    with _LOADING:  # the patch is process-wide: one load at a time
        api.llama_model_default_params = in_place
        try:
            yield
        finally:
            api.llama_model_default_params = default


class _Borrowed:
    """Another Llama's model, which that Llama frees: closing this does nothing."""

    def __init__(self, model: Any) -> None:
        self._model = model

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def close(self) -> None:
        pass


@contextlib.contextmanager
def _model_of(llm: Any) -> Iterator[None]:
    """The next Llama made takes `llm`'s model instead of loading the file
    again. Loading it again would map the weights a second time: the same
    memory, but counted twice in the resident size (a 1.2 GB process for the
    small model), and a file deleted since could not be loaded at all."""
    from llama_cpp import _internals

    load = _internals.LlamaModel

    def borrow(**_: Any) -> _Borrowed:
        return _Borrowed(llm._model)

    with _LOADING:  # the patch is process-wide: one load at a time
        _internals.LlamaModel = borrow  # type: ignore[assignment,misc]
        try:
            yield
        finally:
            _internals.LlamaModel = load  # type: ignore[misc]


def _text(output: bytes | bytearray) -> str:
    """Output so far as text (a character cut off mid-way left out)."""
    return output.decode("utf-8", errors="ignore")


def _decode(llm: Any, tokens: Sequence[int], *, logits_from: int) -> None:
    """`llm.eval` of one batch, keeping the logits of `tokens[logits_from:]`
    (eval keeps only the last token's)."""
    llm._ctx.kv_cache_seq_rm(-1, llm.n_tokens, -1)
    past = llm.n_tokens
    llm._batch.set_batch(batch=tokens, n_past=past, logits_all=False)
    for index in range(logits_from, len(tokens)):
        llm._batch.batch.logits[index] = True
    llm._ctx.decode(llm._batch)
    llm.input_ids[past : past + len(tokens)] = tokens
    llm.n_tokens += len(tokens)


def _reuse_cache(llm: Any, prompt: Sequence[int], *, shift: bool) -> int:
    """Make the KV cache hold as much of `prompt` as it can; how many leading
    prompt tokens it then holds.

    Beyond the common prefix, spans of the cache that the new prompt leaves
    out are dropped, and what follows them is shifted left, as llama.cpp's
    server does with `--cache-reuse`: when the window's first lines scroll
    out of the prompt, or a piece of context goes, the rest stays cached.
    (The shifted tokens keep what they saw of the dropped ones; llama.vim
    lives with that too.) Insertions cannot be reused: a sequence's
    positions must stay consecutive. At least one token is always left to
    evaluate, because sampling needs the logits of the last prompt token.
    Without `shift` (a model whose cache cannot move), just the common prefix.
    """
    cached = llm.input_ids[: llm.n_tokens].tolist()
    end = min(len(cached), len(prompt))
    head_p = 0
    while head_p < end and cached[head_p] == prompt[head_p]:
        head_p += 1
    head_c = head_p
    while shift and head_c < len(cached) and head_p < len(prompt):
        same = 0
        while (
            head_c + same < len(cached)
            and head_p + same < len(prompt)
            and cached[head_c + same] == prompt[head_p + same]
        ):
            same += 1
        if same < SHIFT_MIN_TOKENS:
            head_c += 1
            continue
        llm._ctx.kv_cache_seq_rm(0, head_p, head_c)
        llm._ctx.kv_cache_seq_shift(0, head_c, head_c + same, head_p - head_c)
        llm.input_ids[head_p : head_p + same] = cached[head_c : head_c + same]
        head_p += same
        head_c += same
    return min(head_p, len(prompt) - 1)


def _last_lines_within(text: str, ids: Sequence[int], budget: int) -> str:
    """The last whole lines of `text` that fit `budget` tokens, estimated from `ids`."""
    keep = len(text) * budget // max(1, len(ids))
    cut = text[-keep:] if keep else ""
    return cut[cut.find("\n") + 1 :] if "\n" in cut else ""


def _cut_at_stop(output: bytearray, stops: Sequence[str]) -> bool:
    """Truncate `output` at the first stop string in it; True if one was found."""
    positions = [i for stop in stops if (i := output.find(stop.encode())) >= 0]
    if not positions:
        return False
    del output[min(positions) :]
    return True
