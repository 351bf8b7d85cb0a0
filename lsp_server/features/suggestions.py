"""What inline completion answers: the suggestions chosen from a
generation, and their shape on the wire (inline items, or completion
items for clients without inline completion)."""

from __future__ import annotations

from dataclasses import dataclass

from lsprotocol import types

from lsp_server import postprocess
from lsp_server.inference.api import Generation
from lsp_server.text import without_whitespace

NO_SUGGESTION = types.InlineCompletionList(items=[])


@dataclass(frozen=True)
class Suggestion:
    text: str
    range: types.Range  # what it replaces: the cursor, or the closers after it


def fills(
    plan: postprocess.Plan,
    generation: Generation,
    shown: str | None,
    parses: postprocess.ParseCheck | None,
    most: int,
) -> list[postprocess.Fill]:
    """What to show of the generation's text and its alternatives: each
    post-processed, none empty, none the same as one before it but for
    blanks (the first that survives leads, after the rest of the suggestion
    `shown` there, if any), at `most` of them."""
    texts = (generation.text, *generation.alternatives)
    chosen = [postprocess.Fill(shown)] if shown else []
    seen = {without_whitespace(shown)} if shown else set()
    for number, text in enumerate(texts):
        # Only the first text has its lines' scores: alternatives, asked for, show whole.
        scores = generation.line_scores if number == 0 else ()
        fill = plan.finish(Generation(text, generation.stop_reason, line_scores=scores), parses)
        says = without_whitespace(fill.text)
        if says and says not in seen:
            seen.add(says)
            chosen.append(fill)
    return chosen[:most]


def as_inline_list(suggestions: list[Suggestion]) -> types.InlineCompletionList:
    """The suggestions as inline items, best first: editors cycle through them."""
    return types.InlineCompletionList(
        items=[types.InlineCompletionItem(insert_text=s.text, range=s.range) for s in suggestions]
    )


def as_completion_list(suggestions: list[Suggestion]) -> types.CompletionList:
    """The suggestions as completion items, in order, for clients without
    inline completion."""
    return types.CompletionList(
        # Incomplete: the next keystroke asks again rather than filtering a stale item.
        is_incomplete=True,
        items=[_completion_item(suggestion, rank) for rank, suggestion in enumerate(suggestions)],
    )


def _completion_item(suggestion: Suggestion, rank: int) -> types.CompletionItem:
    first_line = suggestion.text.strip().splitlines()[0]
    return types.CompletionItem(
        label=first_line[:60],
        kind=types.CompletionItemKind.Snippet,
        detail="Hearth (local model)",
        documentation=types.MarkupContent(
            kind=types.MarkupKind.Markdown, value=f"```\n{suggestion.text}\n```"
        ),
        filter_text=first_line,
        sort_text=f"{rank:02d}",  # the editor keeps Hearth's order among them
        text_edit=types.TextEdit(range=suggestion.range, new_text=suggestion.text),
        insert_text_format=types.InsertTextFormat.PlainText,
    )
