"""Limits: a document too long to analyse is left alone, not a frozen server;
its text still follows the editor's edits."""

from __future__ import annotations

import time

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.helpers import (
    code_action_params,
    insert,
    open_document,
    stats,
    suggest,
    wait_until,
)
from tests.e2e.test_hover import PYTHON as SAMPLE
from tests.e2e.test_hover import hover

pytestmark = pytest.mark.model

LIMIT = 2000


async def test_a_document_over_the_limit_gets_nothing_until_it_is_short_again(
    raw: LanguageClient,
) -> None:
    await raw.initialize_session(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            initialization_options={"limits": {"documentChars": LIMIT}},
        )
    )
    await wait_until(lambda: _ready(raw))
    long_text = SAMPLE.text + "\n# filler line\n" * 200
    open_document(raw, SAMPLE.uri, long_text)
    end = types.Position(line=long_text.count("\n"), character=0)
    assert await suggest(raw, SAMPLE.uri, end) == []
    assert await hover(raw, SAMPLE, SAMPLE.call()) is None
    line, character = SAMPLE.definition().line, SAMPLE.definition().character
    assert await raw.text_document_code_action_async(
        code_action_params(SAMPLE.uri, line, character)
    ) in (None, [])
    assert (await stats(raw))["started"] == 0, "the model was never asked"

    # Cut back under the limit (the whole filler), it is analysed again.
    raw.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=SAMPLE.uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(
                        start=types.Position(line=SAMPLE.text.count("\n"), character=0), end=end
                    ),
                    text="",
                )
            ],
        )
    )
    actions = await raw.text_document_code_action_async(
        code_action_params(SAMPLE.uri, line, character)
    )
    assert actions, "a docstring action for the function again"


async def test_edits_deep_in_a_huge_document_stay_fast(raw: LanguageClient) -> None:
    """200,000 lines (8 MB): each edit at its end once cost the server 30 s
    of finding line breaks; now the editor's edits keep pace."""
    await raw.initialize_session(types.InitializeParams(capabilities=types.ClientCapabilities()))
    uri = "file:///work/generated.py"
    lines = 200_000
    open_document(raw, uri, "value = 1  # generated, a line of 40 chars\n" * lines)
    started = time.monotonic()
    at = types.Position(line=lines, character=0)
    for char in "total = value + 1":
        insert(raw, uri, at, char)
        at = types.Position(line=lines, character=at.character + 1)
    assert await suggest(raw, uri, at) == [], "over limits.documentChars"
    assert time.monotonic() - started < 20


async def _ready(client: LanguageClient) -> bool:
    return bool((await stats(client))["modelState"] == "ready")
