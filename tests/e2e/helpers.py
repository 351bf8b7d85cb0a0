"""What an editor does, in a few calls."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from tests.pace import Deadline, within

_versions = itertools.count(2)


def open_document(client: LanguageClient, uri: str, text: str, language: str = "python") -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id=language, version=1, text=text
            )
        )
    )


def insert(client: LanguageClient, uri: str, at: types.Position, text: str) -> int:
    """Send an incremental didChange that inserts `text` at `at`; returns the new version."""
    version = next(_versions)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=at, end=at), text=text
                )
            ],
        )
    )
    return version


def inline_params(
    uri: str, position: types.Position, invoked: bool = True
) -> types.InlineCompletionParams:
    """Invoked by default: the tests check what is suggested, not how fast, so they
    get the patient time budget of a suggestion the user asked for."""
    kind = types.InlineCompletionTriggerKind
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=position,
        context=types.InlineCompletionContext(
            trigger_kind=kind.Invoked if invoked else kind.Automatic
        ),
    )


def code_action_params(uri: str, line: int, character: int) -> types.CodeActionParams:
    """Code actions asked for at one position, as an editor asks with the cursor there."""
    at = types.Position(line=line, character=character)
    return types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(start=at, end=at),
        context=types.CodeActionContext(diagnostics=[]),
    )


async def suggest(
    client: LanguageClient, uri: str, position: types.Position, invoked: bool = True
) -> list[types.InlineCompletionItem]:
    result = await client.text_document_inline_completion_async(
        inline_params(uri, position, invoked)
    )
    if result is None:
        return []
    return list(result.items if isinstance(result, types.InlineCompletionList) else result)


def text_of(item: types.InlineCompletionItem) -> str:
    return item.insert_text if isinstance(item.insert_text, str) else item.insert_text.value


async def stats(client: LanguageClient) -> dict[str, Any]:
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="hearth.stats")
    )
    assert isinstance(result, dict), result
    return result


async def setting_is(client: LanguageClient, section: str, key: str, value: object) -> bool:
    return bool((await stats(client))["settings"][section][key] == value)


async def counter_at_least(client: LanguageClient, name: str, value: int) -> bool:
    return bool((await stats(client))[name] >= value)


def configure(client: LanguageClient, settings: dict[str, Any]) -> None:
    """Change the settings as an editor does: the new values, then a change notification."""
    client.set_configuration(settings, section="hearth")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))


async def wait_until(condition: Any, timeout: float = 30.0) -> None:
    """Poll an async predicate until it holds (a guard against hangs, not a
    timing claim: `timeout` is stretched on a machine slower than the
    reference, and the pace is measured again before it fails)."""
    deadline = Deadline(timeout)
    while not await condition():
        if await deadline.expired():
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.05)


async def answer_of(request: Awaitable[Any], timeout: float = 30.0) -> Any:
    """What a request sent on its own came to: its result, or the error it was
    answered with (a cancelled request may answer either way)."""
    try:
        return await within(request, timeout)
    except JsonRpcException as error:
        return error
