"""The suggestion last shown in a document, so that typing it costs nothing.

When the user types the first characters of the ghost text, the rest of it
is still the suggestion: it is answered at once, without the model. Asked
again at the same place with the same text around it, the same suggestion
comes back the same way. Each document's session keeps its own.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shown:
    before: str  # the document's text before the cursor when it was shown
    after: str  # ... and after it
    text: str  # the suggestion

    def rest(self, before: str, after: str) -> str | None:
        """What is left of the suggestion once `before` and `after` are the
        text around the cursor: None when the user did not type into it, ""
        when they typed all of it (it ended where the model ended its line or
        block: there is nothing more to suggest there)."""
        if after != self.after or not before.startswith(self.before):
            return None
        typed = before[len(self.before) :]
        if not self.text.startswith(typed):
            return None
        rest = self.text[len(typed) :]
        return rest if rest.strip() else ""
