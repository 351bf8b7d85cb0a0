"""Inline completions end to end: the real server process and model, LSP as editors speak it."""

from __future__ import annotations

import ast
import asyncio

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from lsp_server.editor_client import Suggestion
from tests.conftest import ENDLESS_LINE
from tests.e2e.helpers import (
    answer_of,
    code_action_params,
    configure,
    counter_at_least,
    inline_params,
    insert,
    open_document,
    setting_is,
    stats,
    suggest,
    text_of,
    wait_until,
)
from tests.pace import pause, within

pytestmark = pytest.mark.model

URI = "file:///work/shop.py"
SHOP = '''def total_price(prices: list[float], tax_rate: float) -> float:
    """Return the sum of prices with tax added."""
    subtotal = sum(prices)
    return


print(total_price([1.0, 2.5], 0.2))
'''


async def test_inline_completion_is_advertised(client: LanguageClient) -> None:
    capabilities = client.initialize_result.capabilities  # type: ignore[attr-defined]
    assert capabilities.inline_completion_provider is not None
    assert capabilities.text_document_sync.change == types.TextDocumentSyncKind.Incremental


async def test_suggestion_in_a_function_is_inserted_at_the_cursor_and_parses(
    client: LanguageClient,
) -> None:
    open_document(client, URI, SHOP)
    cursor = types.Position(line=3, character=10)  # after "    return"
    while_typing = await suggest(client, URI, cursor, invoked=False)
    assert len(while_typing) == 1, "while typing the first comes alone"
    # Asked for explicitly (a cycle key), the alternatives come with it.
    items = await suggest(client, URI, cursor)
    assert 2 <= len(items) <= 3, items
    assert text_of(items[0]) == text_of(while_typing[0]), "the one shown stays the first"
    said = {"".join(text_of(item).split()) for item in items}
    assert len(said) == len(items), "each says something else"
    for item in items:
        assert text_of(item).strip(), "empty suggestion"
        assert item.range == types.Range(start=cursor, end=cursor)
        completed = Suggestion(text_of(item), item.range).apply(SHOP)
        ast.parse(completed)
        assert completed.startswith(SHOP[: SHOP.index("return") + 6])


async def test_typing_into_the_suggestion_gets_the_rest_without_the_model(
    client: LanguageClient,
) -> None:
    open_document(client, URI, SHOP)
    cursor = types.Position(line=3, character=10)  # after "    return"
    item = (await suggest(client, URI, cursor))[0]
    text = text_of(item)
    assert len(text.strip()) >= 3, text
    typed = text[:2]
    assert "\n" not in typed
    insert(client, URI, cursor, typed)
    started = (await stats(client))["started"]
    after = types.Position(line=3, character=10 + len(typed))
    # The rest of the first (and of each alternative that starts the same way).
    rest = (await suggest(client, URI, after))[0]
    assert text_of(rest) == text[2:]
    assert rest.range == types.Range(start=after, end=after)
    counters = await stats(client)
    assert counters["started"] == started, "the rest of a shown suggestion needs no model"
    assert counters["typedThrough"] == 1
    # Typed to its end: the line is whole, and what shows there is a next line.
    assert "\n" not in text
    insert(client, URI, after, text[2:])
    end = types.Position(line=3, character=10 + len(text))
    completed = SHOP.replace("    return\n", f"    return{text}\n")
    for item in await suggest(client, URI, end, invoked=False):
        assert text_of(item).startswith("\n"), text_of(item)
        assert item.range == types.Range(start=end, end=end)
        ast.parse(Suggestion(text_of(item), item.range).apply(completed))
    assert (await stats(client))["typedThrough"] == 1


# Whatever the CPU, the model goes on with the list (` values.append(6)`, ...).
VALUES = "values = []\n" + "".join(f"values.append({i})\n" for i in range(6)) + "values.app"


async def test_at_the_end_of_a_line_typed_through_the_next_line_comes_from_its_generation(
    client: LanguageClient,
) -> None:
    open_document(client, URI, VALUES)
    cursor = types.Position(line=7, character=len("values.app"))
    (line,) = await suggest(client, URI, cursor, invoked=False)
    text = text_of(line)
    assert text.strip(), "the rest of the line"
    assert "\n" not in text, "alone"
    counters = await stats(client)
    insert(client, URI, cursor, text)
    end = types.Position(line=7, character=cursor.character + len(text))
    (next_line,) = await suggest(client, URI, end, invoked=False)
    # The model wrote it on after the line: no new generation.
    after = await stats(client)
    assert (after["started"], after["takenOver"]) == (
        counters["started"],
        counters["takenOver"] + 1,
    )
    assert text_of(next_line).startswith("\nvalues"), text_of(next_line)
    assert text_of(next_line).count("\n") == 1, "one line"
    assert next_line.range == types.Range(start=end, end=end)
    ast.parse(Suggestion(text_of(next_line), next_line.range).apply(VALUES + text))


LEDGER = "".join(
    f"def rate_{n}(amount: float) -> float:\n    return amount * {n}\n\n\n" for n in range(16)
)
LEDGER += (
    'def ledger(entries: list[float]) -> float:\n    """Sum the entries."""\n    \n\n\nledger([])\n'
)
LEDGER_BODY = types.Position(line=LEDGER.count("\n") - 4, character=4)  # in ledger's empty body


async def prompt_tokens_read(client: LanguageClient, uri: str, at: types.Position) -> int:
    """How many prompt tokens the model read for a suggestion at `at`."""
    before = (await stats(client))["prompt_tokens_evaluated"]
    await suggest(client, uri, at)
    return int((await stats(client))["prompt_tokens_evaluated"] - before)


async def test_typing_down_from_a_suggestion_reads_only_the_new_tokens(
    client: LanguageClient,
) -> None:
    open_document(client, URI, LEDGER)
    assert await prompt_tokens_read(client, URI, LEDGER_BODY) > 300
    typed = "total = 0.0\n    for entry in entries:\n        total += entry\n    "
    insert(client, URI, LEDGER_BODY, typed)
    cursor = types.Position(line=LEDGER_BODY.line + 3, character=4)
    # Three new lines cost their own tokens, not a second read of the code below them.
    assert await prompt_tokens_read(client, URI, cursor) <= 24


async def test_typing_along_a_running_generation_takes_it_over(client: LanguageClient) -> None:
    # Counting: whatever the CPU, the model goes on with ` 40, 41, ...` for
    # hundreds of tokens (seconds on any CPU), so the keys come while it writes,
    # and ` 4` is what it writes next.
    configure(client, {"completion": {"maxTokens": 160}})
    await wait_until(lambda: setting_is(client, "completion", "maxTokens", 160))
    open_document(client, URI, ENDLESS_LINE)
    end = types.Position(line=0, character=len(ENDLESS_LINE))
    started = (await stats(client))["started"]
    running = asyncio.ensure_future(
        client.protocol.send_request_async(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, inline_params(URI, end), msg_id="first"
        )
    )
    await wait_until(lambda: counter_at_least(client, "started", started + 1))
    insert(client, URI, end, " 4")  # typed as the model is writing it
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="first"))
    cursor = types.Position(line=0, character=end.character + 2)
    # Asked as the editor asks while typing (an explicit request wants
    # alternatives, which a generation typing followed has not).
    (rest,) = await suggest(client, URI, cursor, invoked=False)
    # What the model writes after the typed text, from the generation already running.
    assert text_of(rest).startswith("0, 41"), text_of(rest)
    assert rest.range == types.Range(start=cursor, end=cursor)
    outcome = await answer_of(running)
    assert isinstance(outcome, JsonRpcException) or not outcome.items
    counters = await stats(client)
    assert counters["takenOver"] == 1
    assert counters["started"] == started + 1, "one generation for both requests"
    assert counters["typedThrough"] == 0


async def test_the_prompt_where_the_cursor_rests_is_read_ahead(client: LanguageClient) -> None:
    open_document(client, "file:///work/first.py", "x = 1\n")
    await suggest(client, "file:///work/first.py", types.Position(line=1, character=0))
    open_document(client, URI, LEDGER)
    before = (await stats(client))["prompt_tokens_evaluated"]
    await client.text_document_code_action_async(
        code_action_params(URI, LEDGER_BODY.line, LEDGER_BODY.character)
    )
    await wait_until(lambda: counter_at_least(client, "prompt_tokens_evaluated", before + 300))
    await wait_until(lambda: counter_at_least(client, "finished", 2))
    assert await prompt_tokens_read(client, URI, LEDGER_BODY) <= 1


async def test_brackets_the_editor_closed_are_not_doubled(client: LanguageClient) -> None:
    # The user typed `max(` and the editor added `)` after the cursor.
    text = (
        "def tallest(people: list[dict]) -> dict:\n"
        '    """The person with the greatest height."""\n'
        "    return max()\n"
    )
    open_document(client, URI, text)
    cursor = types.Position(line=2, character=len("    return max("))
    items = await suggest(client, URI, cursor)
    assert items, "no suggestion"
    item = items[0]
    assert item.range is not None, "every item says what it replaces"
    completed = Suggestion(text_of(item), item.range).apply(text)
    ast.parse(completed)  # a doubled `)` would not parse
    line = completed.split("\n")[2]
    assert line.count("(") == line.count(")"), line
    if text_of(item).rstrip().endswith(")"):
        assert item.range.end.character == cursor.character + 1, "the range covers the `)`"


async def test_typing_burst_only_the_last_request_gets_a_suggestion(
    client: LanguageClient,
) -> None:
    text = "def average(values: list[float]) -> float:\n    return sum(values) / "
    open_document(client, URI, text)
    typed = "len(value"
    requests = []
    column = len("    return sum(values) / ")
    for i, char in enumerate(typed):
        insert(client, URI, types.Position(line=1, character=column + i), char)
        cursor = types.Position(line=1, character=column + i + 1)
        requests.append(
            asyncio.ensure_future(
                client.text_document_inline_completion_async(
                    inline_params(URI, cursor, invoked=False)
                )
            )
        )
    results = await asyncio.gather(*requests, return_exceptions=True)
    *earlier, last = results
    for result in earlier:
        assert isinstance(result, JsonRpcException) or not result.items  # type: ignore[union-attr]
    assert isinstance(last, types.InlineCompletionList)
    assert last.items
    assert text_of(last.items[0]).strip()
    counters = await stats(client)
    assert counters["tokens_decoded_after_cancel_max"] <= 1
    assert counters["started"] < len(typed), "a burst must not cost one generation per key"


async def test_cancel_request_stops_the_generation(client: LanguageClient) -> None:
    configure(client, {"completion": {"maxTokens": 2000, "timeoutMs": 60000}})
    await wait_until(
        lambda: setting_is(client, "completion", "maxTokens", 2000),
    )
    open_document(client, URI, ENDLESS_LINE)
    params = inline_params(URI, types.Position(line=0, character=len(ENDLESS_LINE)))
    future = asyncio.ensure_future(
        client.protocol.send_request_async(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id="long-one"
        )
    )
    await wait_until(lambda: counter_at_least(client, "started", 1))
    # Past the prompt (~120 tokens) and a few tokens written, at the reference
    # pace; the list goes on to 100 at least, well over a hundred tokens.
    # Never stretched: stretched for a machine loaded when the pace was
    # measured, the pause let the generation end once the machine was quiet.
    # On a busier machine the cancel comes while the prompt is read, which it
    # stops as well.
    await asyncio.sleep(pause(read=120, written=10))
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="long-one"))
    outcome = await answer_of(future)
    if isinstance(outcome, JsonRpcException):
        assert outcome.code == types.LSPErrorCodes.RequestCancelled
    else:
        assert not outcome.items, "a cancelled request must not return a suggestion"
    await wait_until(lambda: counter_at_least(client, "cancelled", 1))
    counters = await stats(client)
    assert counters["tokens_decoded_after_cancel_max"] <= 1
    assert counters["tokens_decoded"] < 2000, "stopped long before its limit"


async def test_settings_take_effect_and_bad_values_are_reported(client: LanguageClient) -> None:
    open_document(client, URI, ENDLESS_LINE)
    cursor = types.Position(line=0, character=len(ENDLESS_LINE))
    configure(client, {"completion": {"maxTokens": 5, "debounceMs": 0}})
    await wait_until(lambda: setting_is(client, "completion", "maxTokens", 5))
    before = (await stats(client))["tokens_decoded"]
    await suggest(client, URI, cursor, invoked=False)  # the first alone: no alternatives
    assert (await stats(client))["tokens_decoded"] - before == 5

    configure(client, {"completion": {"maxTokens": "many"}})
    await wait_until(_message_containing(client, "maxTokens"))
    assert await setting_is(client, "completion", "maxTokens", 5), "the last good value stays"


@pytest.mark.parametrize(
    "position",
    [types.Position(line=50, character=0), types.Position(line=2**31 - 1, character=2**31 - 1)],
    ids=["past-the-end", "largest"],
)
async def test_bad_position_is_an_error_and_the_server_goes_on(
    client: LanguageClient, position: types.Position
) -> None:
    open_document(client, URI, SHOP)
    with pytest.raises(JsonRpcException) as error:
        await client.text_document_inline_completion_async(inline_params(URI, position))
    assert error.value.code == types.ErrorCodes.InvalidParams
    assert await suggest(client, URI, types.Position(line=3, character=10))


async def test_unopened_document_is_an_error(client: LanguageClient) -> None:
    with pytest.raises(JsonRpcException, match="not open"):
        await client.text_document_inline_completion_async(
            inline_params("file:///nowhere.py", types.Position(line=0, character=0))
        )
    open_document(client, URI, SHOP)
    assert await suggest(client, URI, types.Position(line=3, character=10)), "still serving"


async def test_empty_huge_and_emoji_documents(client: LanguageClient) -> None:
    open_document(client, URI, SHOP)
    open_document(client, "file:///empty.py", "")
    await suggest(client, "file:///empty.py", types.Position(line=0, character=0))

    huge = "".join(f"value_{i} = {i} * 2  # {'x' * 40}\n" for i in range(90_000))
    assert len(huge) > 5_000_000
    open_document(client, "file:///huge.py", huge)
    items = await within(
        suggest(client, "file:///huge.py", types.Position(line=90_000, character=0)), 120
    )
    for item in items:
        assert item.range is not None
        assert item.range.start == types.Position(line=90_000, character=0)

    line = 'greeting = "héllo 👋 世界 🎉" + '
    open_document(client, "file:///emoji.py", line + "\n")
    # utf-16: each emoji is two code units, so the end of the line is past len(line).
    end = types.Position(line=0, character=len(line) + 2)
    items = await suggest(client, "file:///emoji.py", end)
    for item in items:
        assert item.range == types.Range(start=end, end=end)
    assert await suggest(client, URI, types.Position(line=3, character=10)), "still serving"


def _message_containing(client: LanguageClient, text: str):  # type: ignore[no-untyped-def]
    async def found() -> bool:
        return any(text in m.message for m in client.messages)

    return found
