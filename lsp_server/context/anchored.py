"""A document's last prompt, kept while the user types on from it.

The prompt is made for a cursor at the start of its line, the anchor; what
the user types after it (along the line, and on new lines below it) only
extends the prompt's middle while the text before the anchor and after the
cursor stay as they were. The model then reads just the new tokens: a
prompt made afresh would put the new line before the suffix, which the
model would then read again at every line, and could change its header
under the user's fingers (a half-typed statement can end a class early in
the parse tree). When the middle outgrows its share of the budget, its
first lines move to the prefix (the anchor slides down) once or twice;
after that, or when anything else changes, the prompt is made afresh for
the cursor's line.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from lsp_server.context import window
from lsp_server.context.prompt import Prompt, PromptRequest, assemble
from lsp_server.layout import PromptLayout


@dataclass(frozen=True)
class _Kept:
    before: str  # the text before the anchor (the start of the line it was made on)
    rest: tuple[object, ...]  # all else it was made from, but the text after the anchor
    prompt: Prompt
    slid: int = 0  # characters moved from the middle to the prefix since it was made


def _surroundings(request: PromptRequest) -> tuple[object, ...]:
    """All a prompt is made from but the text before the cursor."""
    document, cross_file = request.document, request.cross_file
    versions = tuple(
        (other.uri, other.version) for other in request.others if other.uri != document.uri
    )
    shared = cross_file.key if cross_file is not None else None
    return (request.suffix, versions, request.context_tokens, request.roots, request.layout, shared)


class AnchoredPrompt:
    """A document's last prompt, and the prompts typing on from it extends."""

    def __init__(self) -> None:
        self._kept: _Kept | None = None

    def assemble(self, request: PromptRequest) -> Prompt:
        """As `prompt.assemble`, from the kept prompt if it still holds."""
        rest = _surroundings(request)
        kept = self._extended(request.prefix, rest, request.layout)
        if kept is not None:
            return kept
        prompt = assemble(request)
        before = request.prefix[: len(request.prefix) - len(prompt.middle)]
        self._kept = _Kept(before, rest, prompt)
        return prompt

    def _extended(
        self, prefix: str, rest: tuple[object, ...], layout: PromptLayout
    ) -> Prompt | None:
        kept = self._kept
        if kept is None or kept.rest != rest or not prefix.startswith(kept.before):
            return None
        room = layout.middle_chars()
        if len(prefix) - len(kept.before) <= room:
            return replace(kept.prompt, middle=prefix[len(kept.before) :])
        if kept.slid > room:
            return None  # slid far enough: made afresh, with a header for the code now there
        # The middle outgrew its share: its first lines join the prefix. The
        # header stays as it was, so the model reads only from there on again.
        line_start = prefix.rfind("\n") + 1
        anchor = window.anchor(prefix, len(kept.before), line_start, room // 2, layout.middle_lines)
        moved = prefix[len(kept.before) : anchor]
        prompt = replace(kept.prompt, prefix=kept.prompt.prefix + moved, middle=prefix[anchor:])
        self._kept = _Kept(prefix[:anchor], rest, prompt, kept.slid + len(moved))
        return prompt

    def forget(self) -> None:
        self._kept = None
