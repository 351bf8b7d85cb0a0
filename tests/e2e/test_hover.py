"""Hover explanations end to end: the real server and model, in four languages."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from lsp_server.features.hover import WRITING
from tests.e2e.helpers import (
    answer_of,
    code_action_params,
    configure,
    counter_at_least,
    inline_params,
    insert,
    open_document,
    stats,
    wait_until,
)

pytestmark = pytest.mark.model


@dataclass(frozen=True)
class Sample:
    language: str
    uri: str
    text: str
    name: str  # a function defined in `text` and called after its definition
    kind: str = "function"

    def position(self, needle: str, occurrence: int = 1) -> types.Position:
        offset = -1
        for _ in range(occurrence):
            offset = self.text.index(needle, offset + 1)
        line = self.text.count("\n", 0, offset)
        return types.Position(line=line, character=offset - (self.text.rfind("\n", 0, offset) + 1))

    def call(self) -> types.Position:
        """Inside the name, where the function is called."""
        at = self.position(self.name, 2)
        return types.Position(line=at.line, character=at.character + 2)

    def definition(self) -> types.Position:
        return self.position(self.name, 1)


PYTHON = Sample(
    "python",
    "file:///work/shipping.py",
    """def shipping_cost(weight_kg: float, express: bool) -> float:
    base = 4.5 + 1.2 * weight_kg  # per kilogram
    return base * 2 if express else base


label = "order"
print(label, shipping_cost(2.0, True))
""",
    "shipping_cost",
)
SAMPLES = [
    PYTHON,
    Sample(
        "typescript",
        "file:///work/discount.ts",
        """export function applyDiscount(price: number, percent: number): number {
  return price * (1 - percent / 100);
}

const total = applyDiscount(80, 15);
""",
        "applyDiscount",
    ),
    Sample(
        "rust",
        "file:///work/convert.rs",
        """fn celsius_to_fahrenheit(c: f64) -> f64 {
    c * 9.0 / 5.0 + 32.0
}

fn main() {
    println!("{}", celsius_to_fahrenheit(21.5));
}
""",
        "celsius_to_fahrenheit",
    ),
    Sample(
        "go",
        "file:///work/words.go",
        """package main

import (
	"fmt"
	"strings"
)

func wordCount(text string) int {
	return len(strings.Fields(text))
}

func main() {
	fmt.Println(wordCount("a b c"))
}
""",
        "wordCount",
    ),
]


def hover_params(sample: Sample, position: types.Position) -> types.HoverParams:
    return types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=sample.uri), position=position
    )


async def hover(client: LanguageClient, sample: Sample, at: types.Position) -> types.Hover | None:
    return await client.text_document_hover_async(hover_params(sample, at))


def markdown(result: types.Hover | None) -> str:
    assert result is not None, "no hover"
    contents = result.contents
    assert isinstance(contents, types.MarkupContent)
    assert contents.kind == types.MarkupKind.Markdown
    return contents.value


async def test_hover_is_advertised(client: LanguageClient) -> None:
    capabilities = client.initialize_result.capabilities  # type: ignore[attr-defined]
    assert capabilities.hover_provider


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.language)
async def test_hover_on_a_call_explains_the_function_and_a_second_hover_is_cached(
    client: LanguageClient, sample: Sample
) -> None:
    open_document(client, sample.uri, sample.text, sample.language)
    first = await hover(client, sample, sample.call())
    text = markdown(first)
    heading, signature, *rest = text.split("\n\n")
    assert heading == f"#### {sample.kind} `{sample.name}` · Hearth"
    # What the code says first: the signature, as code of the language.
    assert signature.startswith(f"```{sample.language}\n"), signature
    assert sample.name in signature
    # Its length and wording are the model's (tests/unit/test_hover.py holds how
    # they are tidied): here, that an explanation comes, as prose.
    prose = "\n\n".join(rest)
    assert prose.strip(), "no explanation under the signature"
    assert WRITING not in prose, "the tests' time limit waits for the whole explanation"
    assert not prose.startswith("#"), prose
    assert first is not None
    assert first.range is not None
    start = sample.position(sample.name, 2)
    assert first.range.start == start
    assert first.range.end == types.Position(
        line=start.line, character=start.character + len(sample.name)
    )

    started = (await stats(client))["started"]
    # Its own name, somewhere else: the same definition, so the same explanation.
    again = await hover(client, sample, sample.definition())
    assert markdown(again) == text
    after = await stats(client)
    assert after["started"] == started, "a cached explanation must not ask the model"
    assert after["explanations"] >= 1


async def test_no_hover_off_definitions_and_calls_and_no_model_asked(
    client: LanguageClient,
) -> None:
    open_document(client, PYTHON.uri, PYTHON.text)
    before = (await stats(client))["submitted"]
    for position in (
        PYTHON.position("per kilogram"),  # a comment
        PYTHON.position('order"'),  # a string
        PYTHON.position("    base", 1),  # indentation
        PYTHON.position("label,"),  # a variable
        PYTHON.position("print"),  # a call of nothing defined in an open document
    ):
        assert await hover(client, PYTHON, position) is None, position
    assert (await stats(client))["submitted"] == before


async def test_an_edit_inside_the_definition_asks_again(client: LanguageClient) -> None:
    open_document(client, PYTHON.uri, PYTHON.text)
    markdown(await hover(client, PYTHON, PYTHON.call()))
    started = (await stats(client))["started"]
    # `base * 2` becomes `base * 3`.
    insert(client, PYTHON.uri, PYTHON.position("2 if express"), "3 + ")
    markdown(await hover(client, PYTHON, PYTHON.call()))
    assert (await stats(client))["started"] == started + 1


async def test_a_slow_explanation_shows_the_code_at_once_and_goes_on(
    client: LanguageClient,
) -> None:
    await _no_time_to_wait(client)
    at_once = markdown(await hover(client, PYTHON, PYTHON.call()))
    # No wait at all: what the code says, and a line saying the rest is coming.
    assert at_once.split("\n\n")[1].startswith("```python\ndef shipping_cost(")
    assert at_once.endswith(WRITING), at_once
    await wait_until(lambda: counter_at_least(client, "explanations", 1), timeout=120)
    started = (await stats(client))["started"]
    explained = markdown(await hover(client, PYTHON, PYTHON.call()))
    assert WRITING not in explained
    assert explained.startswith(at_once.split(WRITING)[0].split("\n\n")[0])
    _assert_explained(explained)
    assert (await stats(client))["started"] == started


async def test_where_the_cursor_rests_the_calls_on_its_line_are_explained_ahead(
    client: LanguageClient,
) -> None:
    await _no_time_to_wait(client)
    # The editor asks for code actions where the cursor rests: on the line
    # that calls shipping_cost.
    resting = PYTHON.position("print(")
    await client.text_document_code_action_async(
        code_action_params(PYTHON.uri, resting.line, resting.character)
    )
    await wait_until(lambda: counter_at_least(client, "explanations", 1), timeout=120)
    started = (await stats(client))["started"]
    # Hovered now, with no time to wait: the explanation is there at once.
    shown = markdown(await hover(client, PYTHON, PYTHON.call()))
    _assert_explained(shown)
    assert (await stats(client))["started"] == started


async def test_a_cancelled_hover_stops_its_generation(client: LanguageClient) -> None:
    open_document(client, PYTHON.uri, PYTHON.text)
    request = asyncio.ensure_future(
        client.protocol.send_request_async(
            types.TEXT_DOCUMENT_HOVER, hover_params(PYTHON, PYTHON.call()), msg_id="hover-1"
        )
    )
    await wait_until(lambda: counter_at_least(client, "started", 1))
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="hover-1"))
    outcome = await answer_of(request)
    if isinstance(outcome, JsonRpcException):
        assert outcome.code == types.LSPErrorCodes.RequestCancelled
    else:
        assert outcome is None
    await wait_until(lambda: counter_at_least(client, "cancelled", 1))
    counters = await stats(client)
    assert counters["explanations"] == 0
    assert counters["tokens_decoded_after_cancel_max"] <= 1


async def test_typing_preempts_a_running_hover(client: LanguageClient) -> None:
    open_document(client, PYTHON.uri, PYTHON.text)
    explaining = asyncio.ensure_future(hover(client, PYTHON, PYTHON.call()))
    await wait_until(lambda: counter_at_least(client, "started", 1))
    end = PYTHON.position("label =")
    suggestion = await client.text_document_inline_completion_async(inline_params(PYTHON.uri, end))
    assert not explaining.done(), "the suggestion was answered while the hover waits"
    assert suggestion is not None
    assert "shipping_cost" in markdown(await explaining)
    assert (await stats(client))["preempted"] >= 1


def _assert_explained(shown: str) -> None:
    """The model's words under the heading and the signature, all of them."""
    assert WRITING not in shown, shown
    assert len(shown.split("\n\n")) >= 3, shown


async def _no_time_to_wait(client: LanguageClient) -> None:
    """The model loaded, hovers that do not wait for it, and the sample open."""
    configure(client, {"hover": {"timeoutMs": 0}})
    await wait_until(lambda: _hover_timeout_is(client, 0))
    await wait_until(lambda: _model_ready(client), timeout=120)
    open_document(client, PYTHON.uri, PYTHON.text)


async def _model_ready(client: LanguageClient) -> bool:
    return bool((await stats(client))["modelState"] == "ready")


async def _hover_timeout_is(client: LanguageClient, value: int) -> bool:
    return bool((await stats(client))["settings"]["hover"]["timeoutMs"] == value)
