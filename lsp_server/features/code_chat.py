"""How the chat features show a definition to the model.

A hover's explanation and a docstring of the same definition begin alike:
the same system message, then the code, and only then what is asked. The
model's cache keeps what it read last, so the second of the two reads only
its own question: the docstring asked for in a function whose explanation
was read ahead while the cursor rested, or the hover after a docstring.
"""

from __future__ import annotations

import re

from lsp_server.inference.api import ChatMessage

SYSTEM = (
    "You are Hearth, a coding assistant inside the user's editor. "
    "You explain and document code in plain, precise English."
)


def about(fence: str, code: str, *asked: str) -> list[ChatMessage]:
    """The conversation that shows `code` (as code of the language `fence`),
    then says what is `asked` of it, each part its own paragraph."""
    question = "\n\n".join((f"```{fence}\n{code}\n```", *asked))
    return [ChatMessage("system", SYSTEM), ChatMessage("user", question)]


# A sentence ends at . ! or ? after a word: not after the number of a list
# item or a decimal point, nor in "e.g." or "i.e.".
SENTENCE_END = re.compile(r"(?<!\.\w)(?<=[^\d\s])[.!?](?=\s|$)")


def sentences_ended(text: str) -> int:
    """How many sentences of `text` have ended: with text after the mark
    (the model may still be writing "3." of "3.5")."""
    return sum(1 for m in SENTENCE_END.finditer(text) if m.end() < len(text))


def first_sentence(text: str) -> str:
    """The first sentence of the first line with words in `text`."""
    line = next((line.strip() for line in text.split("\n") if line.strip()), "")
    end = SENTENCE_END.search(line)
    return line[: end.end()] if end is not None else line
