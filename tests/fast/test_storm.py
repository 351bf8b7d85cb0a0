"""A storm of keys, hovers and docstrings on the in-process server: every
request is answered, and the engine never runs two generations at once.

The engine counts what runs inside it (tests/overlap.py), whichever path
reached it: suggestions, their read-ahead, hovers, explanations read ahead,
docstrings. Its tokens take a little time each, so that work which went
round the scheduler's worker would be caught running beside it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.e2e import test_storm as e2e_storm
from tests.fast.fake_engine import Call, FakeEngine, guarded
from tests.fast.server import hearth

# Two of the e2e storm's documents: the same code, on the fake engine.
DOCUMENTS = {
    uri: e2e_storm.DOCUMENTS[uri] for uri in ("file:///storm/prices.py", "file:///storm/names.py")
}
TYPED = "result = net_price(sum(items), 0.2)\n    return result\n    "
KEYS = 60


def model(call: Call) -> str:
    """A few tokens for each kind of request."""
    if call.kind == "infill":
        return "x * 2\n"
    if "Write the documentation" in call.prefix:
        return " Compute it.\nPARAM gross: the price with tax\nPARAM rate: the tax rate\n"
    return "It computes a price. It is short."


async def answer(request: Any) -> Any:
    try:
        return await guarded(request)
    except JsonRpcException as error:
        return error


async def test_a_storm_of_requests_never_runs_two_generations_at_once() -> None:
    fake = FakeEngine(model, delay=0.0005)
    async with hearth(fake, {"completion": {"debounceMs": 0}}) as editor:
        texts = dict(DOCUMENTS)
        for uri, text in texts.items():
            editor.open(uri, text)
        requests: list[tuple[str, Any]] = []
        previous: dict[str, str] = {}
        for key in range(KEYS):
            uri = list(texts)[key % len(texts)]
            line = texts[uri].count("\n")
            end = types.Position(line=line, character=len(texts[uri].rsplit("\n", 1)[-1]))
            char = TYPED[(key // len(texts)) % len(TYPED)]
            editor.insert(uri, end, char)
            texts[uri] += char
            if uri in previous:  # the editor gives up on the last one, as VS Code does
                editor.cancel(previous[uri])
            previous[uri] = f"inline-{key}"
            line, column = texts[uri].count("\n"), len(texts[uri].rsplit("\n", 1)[-1])
            cursor = types.Position(line=line, character=column)
            requests.append(
                ("inline", editor.inline(uri, cursor, invoked=False, msg_id=f"inline-{key}"))
            )
            if key % 10 == 0:  # the first definition's name, on the first line
                requests.append(("hover", editor.hover(uri, types.Position(line=0, character=6))))
            if key % 15 == 0:
                at = types.Position(line=1, character=6)
                actions = await guarded(editor.code_actions(uri, at))
                requests.append(("docstring", editor.resolve(actions[0])))
            await asyncio.sleep(0.002)
        answers = [(kind, await answer(request)) for kind, request in requests]
        for kind, outcome in answers:
            if isinstance(outcome, JsonRpcException):
                assert outcome.code == types.LSPErrorCodes.RequestCancelled, (kind, outcome)
        hovers = [outcome for kind, outcome in answers if kind == "hover"]
        assert all(isinstance(hover, types.Hover) for hover in hovers), hovers
        # Afterwards, a fresh request gets its suggestion as usual.
        uri = "file:///storm/double.py"
        editor.open(uri, "def double(x):\n    return ")
        fresh = await guarded(editor.inline(uri, types.Position(line=1, character=11)))
        assert fresh.items
        stats = await editor.stats()
    assert fake.overlap.calls == stats["started"] > len(DOCUMENTS)
    assert fake.overlap.most == 1, "two generations at once"
