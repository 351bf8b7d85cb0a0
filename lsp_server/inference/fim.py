"""Fill-in-the-middle formats, read from the model's own vocabulary.

llama.cpp records a model's FIM tokens in its vocab (`llama_vocab_fim_pre`,
`_suf`, `_mid`, `_pad`, `_rep`, `_sep`). Those ids are the truth for the
model at hand, so they come first; the family table below covers GGUFs that
lack them, by looking the families' token texts up in the vocabulary.
We build the token sequence ourselves: `create_completion(suffix=...)` in
llama-cpp-python hard-codes token ids that are wrong for many models.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from lsp_server.layout import FileContext


class Vocabulary(Protocol):
    """What FIM detection needs to know of a model's vocabulary."""

    def special_token(self, text: str) -> int | None:
        """The id of a single special token spelled `text`, if the vocab has one."""

    def declared_fim_tokens(self) -> dict[str, int]:
        """The FIM token ids the GGUF declares, by role (prefix, suffix, middle, ...)."""


@dataclass(frozen=True)
class Family:
    name: str
    prefix: str
    suffix: str
    middle: str
    pad: str | None = None
    repo: str | None = None
    file_sep: str | None = None
    # Texts that end a completion besides the vocab's end-of-generation tokens.
    stops: tuple[str, ...] = ()


FAMILIES: tuple[Family, ...] = (
    Family(
        name="qwen2.5-coder",
        prefix="<|fim_prefix|>",
        suffix="<|fim_suffix|>",
        middle="<|fim_middle|>",
        pad="<|fim_pad|>",
        repo="<|repo_name|>",
        file_sep="<|file_sep|>",
        stops=("<|endoftext|>", "<|im_end|>", "<|fim_pad|>", "<|file_sep|>", "<|repo_name|>"),
    ),
    Family(
        name="codegemma",
        prefix="<|fim_prefix|>",
        suffix="<|fim_suffix|>",
        middle="<|fim_middle|>",
        file_sep="<|file_separator|>",
        stops=("<|file_separator|>", "<eos>", "<end_of_turn>"),
    ),
    Family(
        name="starcoder",
        prefix="<fim_prefix>",
        suffix="<fim_suffix>",
        middle="<fim_middle>",
        pad="<fim_pad>",
        repo="<repo_name>",
        file_sep="<file_sep>",
        stops=("<|endoftext|>", "<file_sep>", "<fim_pad>"),
    ),
    Family(
        name="deepseek-coder",
        prefix="<｜fim▁begin｜>",
        suffix="<｜fim▁hole｜>",
        middle="<｜fim▁end｜>",
        stops=("<｜end▁of▁sentence｜>", "<|EOT|>"),
    ),
    Family(
        name="codellama",
        prefix="▁<PRE>",
        suffix="▁<SUF>",
        middle="▁<MID>",
        stops=("▁<EOT>", "</s>"),
    ),
)


# Substrings of a model's name (lowercased) that tell its family, for a remote
# engine that names its model but does not show its vocabulary.
_NAMED_FAMILIES = (
    (("qwen", "coder"), "qwen2.5-coder"),
    (("codegemma",), "codegemma"),
    (("starcoder",), "starcoder"),
    (("deepseek", "coder"), "deepseek-coder"),
    (("codellama",), "codellama"),
    (("code-llama",), "codellama"),
)


def family_named(name: str) -> Family:
    """The family called `name` (one of FAMILIES' names)."""
    for family in FAMILIES:
        if family.name == name:
            return family
    known = ", ".join(f.name for f in FAMILIES)
    raise ValueError(f"no FIM format is called {name!r}; known: {known}")


def family_of_model(model_name: str) -> Family | None:
    """The FIM family a model's name tells, or None when it tells none."""
    lowered = model_name.lower()
    for parts, name in _NAMED_FAMILIES:
        if all(part in lowered for part in parts):
            return family_named(name)
    return None


def repo_level_suits(model_name: str) -> bool:
    """Whether a model is shown other files in its repository-level format.
    Base models are trained on it; the instruct models we measured do worse
    with it (quality benchmark, 20 single-line tasks: 0.5B 5 vs 7 exact
    without, 1.5B 11 vs 12), so they see other files as code above the
    current one."""
    return "instruct" not in model_name.lower()


@dataclass(frozen=True)
class FimFormat:
    """The token ids of one model's FIM format (prefix-suffix-middle order)."""

    family: str
    prefix: int
    suffix: int
    middle: int
    pad: int | None
    repo: int | None
    file_sep: int | None
    stops: frozenset[int]
    source: str  # "gguf" when the ids came from the vocab, "family table" otherwise

    def repo_context(self, context: FileContext, tokenize: Callable[[str], list[int]]) -> list[int]:
        """The repository-level part of the prompt: the repo, other files, and the
        current file's path (Qwen2.5-Coder and StarCoder2 were trained on this).
        Empty for models without it."""
        if self.file_sep is None or not context.path:
            return []
        ids: list[int] = []
        if self.repo is not None:
            ids += [self.repo, *tokenize(f"{context.repo or 'workspace'}\n")]
        for path, text in context.files:
            ids += [self.file_sep, *tokenize(f"{path}\n{text.rstrip()}\n")]
        return [*ids, self.file_sep, *tokenize(f"{context.path}\n")]

    def prompt(
        self,
        prefix: Sequence[int],
        suffix: Sequence[int],
        middle: Sequence[int] = (),
        context: Sequence[int] = (),
    ) -> list[int]:
        """`context` <PRE> prefix <SUF> suffix <MID> middle.

        `context` is stable material (other files) placed first so that it
        stays in the KV cache; `middle` is text the completion must start with.
        """
        return [
            *context,
            self.prefix,
            *prefix,
            self.suffix,
            *suffix,
            self.middle,
            *middle,
        ]


def _family_tokens(family: Family, vocab: Vocabulary) -> dict[str, int] | None:
    ids: dict[str, int] = {}
    for role in ("prefix", "suffix", "middle", "pad", "repo", "file_sep"):
        text = getattr(family, role)
        if text is None:
            continue
        token = vocab.special_token(text)
        if token is None:
            if role in ("prefix", "suffix", "middle"):
                return None
            continue
        ids[role] = token
    return ids


def detect(vocab: Vocabulary) -> FimFormat | None:
    """The model's FIM format, or None for a model that cannot fill in the middle."""
    declared = vocab.declared_fim_tokens()
    has_declared = all(role in declared for role in ("prefix", "suffix", "middle"))
    # Families share token spellings (CodeGemma and Qwen both use <|fim_prefix|>),
    # so the family whose tokens the vocab has most of wins.
    matches = [(family, table) for family in FAMILIES if (table := _family_tokens(family, vocab))]
    if matches:
        family, table = max(matches, key=lambda match: len(match[1]))
        if has_declared:  # the GGUF's own ids win where it declares them
            table.update(declared)
        return _format(
            family.name, table, family.stops, vocab, "gguf" if has_declared else "family table"
        )
    if has_declared:
        return _format("unknown", declared, (), vocab, "gguf")
    return None


def _format(
    family: str,
    ids: dict[str, int],
    stop_texts: Sequence[str],
    vocab: Vocabulary,
    source: str,
) -> FimFormat:
    stops = {token for text in stop_texts if (token := vocab.special_token(text)) is not None}
    stops.update(ids[role] for role in ("pad", "repo", "file_sep") if role in ids)
    return FimFormat(
        family=family,
        prefix=ids["prefix"],
        suffix=ids["suffix"],
        middle=ids["middle"],
        pad=ids.get("pad"),
        repo=ids.get("repo"),
        file_sep=ids.get("file_sep"),
        stops=frozenset(stops),
        source=source,
    )


def text_context(family: Family, context: FileContext, *, repo_level: bool) -> tuple[str, str]:
    """Other files in a text prompt: its repository-level part (as
    FimFormat.repo_context writes it), or, without one, their code, which
    goes above the header."""
    if repo_level and family.file_sep and context.path:
        head = f"{family.repo}{context.repo or 'workspace'}\n" if family.repo else ""
        for path, text in context.files:
            head += f"{family.file_sep}{path}\n{text.rstrip()}\n"
        return head + f"{family.file_sep}{context.path}\n", ""
    return "", "".join(text for _, text in context.files)


def text_prompt(
    family: Family,
    prefix: str,
    suffix: str,
    middle: str = "",
    context: FileContext | None = None,
    *,
    repo_level: bool = False,
) -> str:
    """The prompt of FimFormat.prompt (with FimFormat.repo_context) as text, for
    a remote engine that reads the special tokens' spellings as the tokens."""
    head, header = "", ""
    if context is not None:
        head, above = text_context(family, context, repo_level=repo_level)
        header = above + context.header
    pre, suf, mid = (_spelled(token) for token in (family.prefix, family.suffix, family.middle))
    return f"{head}{pre}{header}{prefix}{suf}{suffix}{mid}{middle}"


def _spelled(token: str) -> str:
    """A token's text: SentencePiece writes a leading space as ▁ (CodeLlama's `▁<PRE>`)."""
    return " " + token[1:] if token.startswith("▁") else token
