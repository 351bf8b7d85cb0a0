"""FIM formats: from the GGUF vocab of the real model, and the family table."""

from __future__ import annotations

import typing

import pytest

from lsp_server.inference import fim
from lsp_server.layout import FileContext
from lsp_server.settings import FimFormatName


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


def test_the_family_is_told_from_a_model_name() -> None:
    def family(model: str) -> str | None:
        found = fim.family_of_model(model)
        return found.name if found is not None else None

    assert family("/models/qwen2.5-coder-7b-instruct-q8_0.gguf") == "qwen2.5-coder"
    assert family("bigcode/starcoder2-15b") == "starcoder"
    assert family("deepseek-coder-6.7b-base") == "deepseek-coder"
    assert family("llama-3.1-8b") is None
    with pytest.raises(ValueError, match="no FIM format is called 'gpt'"):
        fim.family_named("gpt")


def test_the_fim_format_setting_names_exactly_the_families() -> None:
    names = typing.get_args(FimFormatName)
    assert names == ("auto", *(family.name for family in fim.FAMILIES))


def test_text_prompt_puts_other_files_first_and_the_middle_last() -> None:
    qwen = fim.family_named("qwen2.5-coder")
    context = FileContext("shop", "src/cart.py", "import os\n", (("src/tax.py", "RATE = 2\n"),))
    repo = fim.text_prompt(qwen, "def f():\n", "\nx = 1\n", "    re", context, repo_level=True)
    assert repo == (
        "<|repo_name|>shop\n<|file_sep|>src/tax.py\nRATE = 2\n<|file_sep|>src/cart.py\n"
        "<|fim_prefix|>import os\ndef f():\n<|fim_suffix|>\nx = 1\n<|fim_middle|>    re"
    )
    plain = fim.text_prompt(qwen, "def f():\n", "", "", context, repo_level=False)
    assert plain == "<|fim_prefix|>RATE = 2\nimport os\ndef f():\n<|fim_suffix|><|fim_middle|>"
    llama = fim.text_prompt(fim.family_named("codellama"), "a", "b")
    assert llama == " <PRE>a <SUF>b <MID>"
