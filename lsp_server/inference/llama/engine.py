"""LlamaEngine: one GGUF model in-process, its prompts laid out in tokens.

The FIM prompt is built from the model's own token ids (see fim.py); the
token loop that runs it is decode.py's.
"""

from __future__ import annotations

import ctypes
import functools
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from lsp_server.inference import fim
from lsp_server.inference.api import (
    ChatMessage,
    Generation,
    ModelFileChanged,
    Sampling,
    Steering,
    Treatment,
)
from lsp_server.inference.cancel import CancelToken
from lsp_server.inference.llama import healing, patches
from lsp_server.inference.llama.decode import Decoder
from lsp_server.inference.models import FileIdentity, ModelError, layout_for
from lsp_server.layout import FileContext, PromptLayout


@dataclass(frozen=True)
class EngineConfig:
    context_size: int = 2048
    threads: int = 0  # 0: one per core
    batch_size: int = 128  # prompt tokens per llama_decode call; cancel is checked between calls
    gpu_layers: int = 0


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


class LlamaEngine:
    """One llama.cpp model and context. Not thread-safe: the scheduler's worker owns it."""

    # The token loop sees every token's logits: it can steer all of it.
    STEERING: ClassVar[Mapping[str, Treatment]] = {
        "starts_with": "honoured",  # token healing (healing.py)
        "stop_when": "honoured",  # asked after each token
        "avoid": "honoured",  # the detour (detour.py)
        "comment": "honoured",  # how the detour compares lines
        "alternatives": "honoured",  # branched at the least sure choices (alternatives.py)
        "code_first": "honoured",  # the healer (healing.py)
        "draft": "honoured",  # read ahead in batches, taken where the model agrees (draft.py)
    }
    CONTINUES_ANSWERS: ClassVar[bool] = True  # the answer's start is part of the prompt

    def __init__(self, path: Path, config: EngineConfig) -> None:
        # Imported here so that the CLI answers fast and model-free code paths
        # (settings, documents) never pay for loading the native library.
        llama_cpp = patches.prepare_llama_cpp()

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
        self.layout = layout_for(self.parameters)
        self._decoder = Decoder(
            api=llama_cpp,
            vocab=self._vocab,
            stops=self._fim.stops if self._fim else frozenset(),
            batch_size=config.batch_size,
            context_size=self.context_size,
            pieces=self._token_pieces,
        )

    def _load(self, borrowed: Any = None) -> Any:
        """A llama.cpp context, with the model loaded from the file (its weights
        memory-mapped and used in place), or with the model of `borrowed`, a
        Llama made before: only its context is new."""
        config = self.config
        threads = config.threads or os.cpu_count() or 1
        # Borrowing, the path is only looked for (the file may be gone since).
        path = str(self.path) if borrowed is None or self.path.exists() else os.devnull
        try:
            with patches.weights_in_place() if borrowed is None else patches.model_of(borrowed):
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
    def parameters(self) -> int:
        """The model's weights, as llama.cpp counts them."""
        return int(self._llm._model.n_params())

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
        steering: Steering = Steering(),
        middle: str = "",
        layout: PromptLayout | None = None,
        context: FileContext | None = None,
    ) -> Generation:
        """Write what goes between `prefix` and `suffix`, starting with `middle`.

        The text returned does not repeat `middle`. The prompt fits the
        layout's `prompt_tokens` (Engine.infill) and the context window with
        room for `sampling.max_tokens`, cut in the model's own tokens.
        """
        fixed = len(self._bos) + 3  # the FIM tokens
        asked = layout.prompt_tokens if layout is not None else None
        layout = layout or self.layout
        budget = layout.budget(asked, self.context_size, sampling.max_tokens, fixed)
        laid = layout.cut(prefix, suffix, middle, context, budget, self.tokenize, self._render)
        middle_ids = laid.middle
        lead = self._lead(middle_ids)
        if lead:
            middle_ids = middle_ids[:-1]
        prefix_ids = laid.above + laid.prefix
        if self._fim is None:
            # A model without FIM tokens can still continue the prefix.
            prompt = [*self._bos, *prefix_ids, *middle_ids]
        else:
            prompt = [
                *self._bos,
                *self._fim.prompt(prefix_ids, laid.suffix, middle_ids, context=laid.repo),
            ]
        return self._generate(self._llm, prompt, sampling, cancel, steering=steering, lead=lead)

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

    def _render(self, files: FileContext) -> tuple[list[int], list[int]]:
        """Other files in the prompt (layout.Render): in the model's
        repository-level format where it suits, else as code above the header."""
        if self._fim is not None and self.repo_level:
            return self._fim.repo_context(files, self.tokenize), []
        return [], self.tokenize("".join(text for _, text in files.files))

    def chat(
        self,
        messages: Sequence[ChatMessage],
        sampling: Sampling,
        cancel: CancelToken,
        *,
        steering: Steering = Steering(),
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
        return self._generate(self._chat_llm, prompt, sampling, cancel, steering=steering)

    def tokenize_chat(self, messages: Sequence[ChatMessage]) -> list[int]:
        formatter = self._chat_formatter
        if formatter is None:
            text = "".join(f"{m.role}: {m.content}\n" for m in messages) + "assistant: "
            return [*self._bos, *self.tokenize(text)]
        turns: Any = [{"role": m.role, "content": m.content} for m in messages]
        formatted = formatter(messages=turns)
        ids = self._llm.tokenize(formatted.prompt.encode(), add_bos=False, special=True)
        return [int(t) for t in ids]

    @functools.cached_property
    def _chat_formatter(self) -> Any:
        """The chat template, compiled once: compiling it took 20 ms, and a
        docstring asks a chat turn for each of its lines. None: the GGUF has none."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        if not self._chat_template:
            return None
        token_text = self._llm._model.token_get_text
        return Jinja2ChatFormatter(
            template=self._chat_template,
            eos_token=token_text(self._llm.token_eos()),
            bos_token=token_text(self._llm.token_bos()),
        )

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
        steering: Steering = Steering(),
        lead: bytes = b"",
    ) -> Generation:
        """`lead`: text the caller has and the prompt left out; the output must
        start with it (it is chosen so), and it is not returned."""
        self._ensure_file_intact()
        return self._decoder.run(llm, prompt, sampling, cancel, steering=steering, lead=lead)

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
