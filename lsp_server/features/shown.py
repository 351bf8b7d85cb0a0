"""The suggestion last shown in a document, so that typing it costs nothing.

When the user types the first characters of the ghost text, the rest of it
is still the suggestion: it is answered at once, without the model. Asked
again at the same place with the same text around it, the same suggestion
comes back the same way. The alternatives shown with it (the editor cycles
through them) are kept alike: typing into one of them answers its rest.
Each document's session keeps its own.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shown:
    before: str  # the document's text before the cursor when it was shown
    after: str  # ... and after it
    text: str  # the suggestion
    others: tuple[str, ...] = ()  # its alternatives, best first
    asked: bool = False  # whether alternatives were asked for (there may be none)

    def rests(self, before: str, after: str) -> list[str] | None:
        """What is left of the suggestion and of each alternative the user
        typed into, once `before` and `after` are the text around the cursor:
        None when the user typed into none of them, [] when they typed all of
        the suggestion (it ended where the model ended its line or block:
        there is nothing more to suggest there)."""
        if after != self.after or not before.startswith(self.before):
            return None
        typed = before[len(self.before) :]
        agree = [text[len(typed) :] for text in (self.text, *self.others) if text.startswith(typed)]
        if not agree:
            return None
        if self.text.startswith(typed) and not agree[0].strip():
            return []
        return [rest for rest in agree if rest.strip()]
