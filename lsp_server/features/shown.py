"""The suggestion last shown in each document, so that typing it costs nothing.

When the user types the first characters of the ghost text, the rest of it
is still the suggestion: it is answered at once, without the model. Asked
again at the same place with the same text around it, the same suggestion
comes back the same way.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shown:
    before: str  # the document's text before the cursor when it was shown
    after: str  # ... and after it
    text: str  # the suggestion


class ShownSuggestions:
    def __init__(self) -> None:
        self._shown: dict[str, Shown] = {}
        self.hits = 0

    def remember(self, uri: str, before: str, after: str, text: str) -> None:
        self._shown[uri] = Shown(before, after, text)

    def forget(self, uri: str) -> None:
        self._shown.pop(uri, None)

    def rest(self, uri: str, before: str, after: str) -> str | None:
        """What is left of the shown suggestion once `before` and `after` are
        the text around the cursor: None when the user did not type into it,
        "" when they typed all of it (it ended where the model ended its line
        or block: there is nothing more to suggest there)."""
        shown = self._shown.get(uri)
        if shown is None or after != shown.after or not before.startswith(shown.before):
            return None
        typed = before[len(shown.before) :]
        if not shown.text.startswith(typed):
            return None
        self.hits += 1
        rest = shown.text[len(typed) :]
        return rest if rest.strip() else ""
