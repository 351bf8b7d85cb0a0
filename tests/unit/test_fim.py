"""FIM formats: from the GGUF vocab of the real model, and the family table."""

from __future__ import annotations

import pytest

from lsp_server.inference import fim
from lsp_server.inference.engine import LlamaEngine


class TableVocabulary:
    """A vocabulary given as a table of special tokens, as another model's GGUF would hold."""

    def __init__(self, tokens: list[str], declared: dict[str, int] | None = None) -> None:
        self.ids = {text: 1000 + i for i, text in enumerate(tokens)}
        self.declared = declared or {}

    def special_token(self, text: str) -> int | None:
        return self.ids.get(text)

    def declared_fim_tokens(self) -> dict[str, int]:
        return self.declared


def vocabulary_of(family: fim.Family) -> TableVocabulary:
    texts = [family.prefix, family.suffix, family.middle, family.pad, family.repo, family.file_sep]
    return TableVocabulary([t for t in (*texts, *family.stops) if t] + ["<unrelated>"])


@pytest.mark.parametrize("family", fim.FAMILIES, ids=lambda f: f.name)
def test_each_family_is_recognised_from_its_tokens(family: fim.Family) -> None:
    vocab = vocabulary_of(family)
    found = fim.detect(vocab)
    assert found is not None
    assert found.family == family.name
    assert found.source == "family table"
    assert (found.prefix, found.suffix, found.middle) == (
        vocab.ids[family.prefix],
        vocab.ids[family.suffix],
        vocab.ids[family.middle],
    )
    for stop in family.stops:
        assert vocab.ids[stop] in found.stops
    assert vocab.ids["<unrelated>"] not in found.stops


def test_prompt_is_context_prefix_suffix_middle() -> None:
    found = fim.detect(vocabulary_of(fim.FAMILIES[0]))
    assert found is not None
    assert found.prompt([1, 2], [3], [4], context=[9]) == [
        9,
        found.prefix,
        1,
        2,
        found.suffix,
        3,
        found.middle,
        4,
    ]


def test_declared_ids_win_over_the_table() -> None:
    family = fim.FAMILIES[0]
    vocab = vocabulary_of(family)
    vocab.declared = {"prefix": 7, "suffix": 8, "middle": 9}
    found = fim.detect(vocab)
    assert found is not None
    assert (found.prefix, found.suffix, found.middle, found.source) == (7, 8, 9, "gguf")


def test_unknown_family_with_declared_tokens_still_works() -> None:
    found = fim.detect(TableVocabulary(["<x>"], {"prefix": 1, "suffix": 2, "middle": 3}))
    assert found is not None
    assert found.family == "unknown"


def test_model_without_fim_tokens_has_no_format() -> None:
    assert fim.detect(TableVocabulary(["<s>", "</s>"])) is None


def test_real_model_declares_its_fim_tokens(engine: LlamaEngine) -> None:
    found = engine.fim_format
    assert found is not None
    assert found.family == "qwen2.5-coder"
    assert found.source == "gguf"
    assert found.repo is not None
    assert found.file_sep is not None
    assert found.file_sep in found.stops
    # User code that spells a control token is read as text, never as the token.
    assert len(engine.tokenize("<|fim_prefix|>")) > 1
