"""Writing with a draft on the real model (llama/draft.py): a greedy rewrite
writes the same bytes with the old text as its draft as without it, in
fewer passes where it copies; the cancel and the time budget still stop it
at the next pass. The bookkeeping alone is tests/unit/test_draft.py."""

from __future__ import annotations

import pytest

from lsp_server.features import rewriting
from lsp_server.inference.api import Generation, Sampling, Steering
from lsp_server.inference.cancel import CancelToken
from lsp_server.inference.llama.engine import LlamaEngine

pytestmark = pytest.mark.model

REGION = '''def summarize(orders, currency="EUR"):
    """Total the orders' amounts by customer, in one currency."""
    totals = {}
    skipped = 0
    for order in orders:
        if order.currency != currency:
            skipped += 1
            continue
        customer = order.customer.strip().lower()
        totals[customer] = totals.get(customer, 0) + order.amount
    if skipped:
        print(f"skipped {skipped} orders in other currencies")
    ranked = sorted(totals.items(), key=lambda item: item[1], reverse=True)
    return ranked[:10]
'''

# Whatever the model makes of them, each asks for a rewrite of another shape:
# none, one line, a block deleted, lines inserted, a name changed at each use
# (the draft then proposes the change ahead: llama/draft.py's replay).
REQUESTS = {
    "unchanged": "Write this function again exactly as it is. Change nothing.",
    "one line": "Change 10 to 20 in the last line. Change nothing else.",
    "a block deleted": "Delete the `if skipped:` block and its print. Change nothing else.",
    "lines inserted": (
        "At the top of the body, after the docstring, add: `if not orders: return []`, "
        "on two lines. Change nothing else."
    ),
    "a rename": "Rename the variable `totals` to `totals_by_customer`. Change nothing else.",
}


def rewritten(engine: LlamaEngine, request: str, draft: str | None) -> Generation:
    """The model's greedy rewrite of REGION, with `draft` as its draft (None: none)."""
    steering = Steering(stop_when=rewriting.written, draft=draft or "")
    return engine.chat(
        rewriting.messages("python", REGION, rewriting.Request(request)),
        Sampling(max_tokens=400, temperature=0.0),
        CancelToken(),
        steering=steering,
        answer_prefix=rewriting.answer_prefix("python"),
    )


@pytest.mark.parametrize("request_kind", REQUESTS)
def test_a_rewrite_writes_the_same_bytes_with_the_draft_as_without(
    engine: LlamaEngine, request_kind: str
) -> None:
    request = REQUESTS[request_kind]
    plain = rewritten(engine, request, None)
    drafted = rewritten(engine, request, REGION)
    assert drafted.text == plain.text, request_kind
    assert drafted.stop_reason == plain.stop_reason
    assert plain.stats.passes == 0, "no draft, no batches"
    assert plain.stats.draft_tokens == 0
    stats = drafted.stats
    assert stats.decoded_tokens == plain.stats.decoded_tokens
    assert stats.checked_tokens <= stats.draft_tokens
    if request_kind == "unchanged" and rewriting.code_of(plain.text, REGION) == REGION:
        # A copy: most tokens come from the draft, many a pass.
        assert stats.checked_tokens > stats.decoded_tokens // 2, stats
        assert stats.passes < stats.decoded_tokens // 2, stats


def test_a_draft_the_text_soon_leaves_changes_nothing(engine: LlamaEngine) -> None:
    """A draft the output diverges from at once (another function's code):
    found again only where the model's last tokens occur in it, if ever."""
    other = "def area(width, height):\n    return width * height\n" * 3
    request = REQUESTS["one line"]
    assert rewritten(engine, request, other).text == rewritten(engine, request, None).text


def test_the_cancel_stops_a_drafted_rewrite_at_its_next_pass(engine: LlamaEngine) -> None:
    cancel = CancelToken()

    def cancel_after_a_few_lines(text: str) -> bool:
        if text.count("\n") >= 3:
            cancel.cancel("test")
        return False

    generation = engine.chat(
        rewriting.messages("python", REGION, rewriting.Request(REQUESTS["unchanged"])),
        Sampling(max_tokens=400, temperature=0.0),
        cancel,
        steering=Steering(stop_when=cancel_after_a_few_lines, draft=REGION),
        answer_prefix=rewriting.answer_prefix("python"),
    )
    assert generation.stop_reason == "cancelled"
    assert generation.stats.decoded_after_cancel <= 1


def test_the_time_budget_stops_a_drafted_rewrite(engine: LlamaEngine) -> None:
    generation = engine.chat(
        rewriting.messages("python", REGION, rewriting.Request(REQUESTS["unchanged"])),
        Sampling(max_tokens=400, temperature=0.0, time_budget=0.05),
        CancelToken(),
        steering=Steering(stop_when=rewriting.written, draft=REGION),
        answer_prefix=rewriting.answer_prefix("python"),
    )
    assert generation.stop_reason == "time"
