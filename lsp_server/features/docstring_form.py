"""What the model is asked for a docstring, and how its answer is read.

The model fills in a form, one line for each thing the code says the
docstring documents (SUMMARY, PARAM, RETURNS, RAISES), after the code and
the lines that call it. A description that only repeats its parameter's
name is asked for once more (AGAIN), then left as a TODO.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lsp_server.context import symbols
from lsp_server.context.outline import Definition
from lsp_server.documents import Document
from lsp_server.features import code_chat
from lsp_server.features import docstring_style as style
from lsp_server.inference.api import ChatMessage

ASK = (
    "Write the documentation of the {kind} `{name}` above. Answer with exactly these "
    "lines filled in, one line each, and nothing else:\n\n{form}"
)
CALLS = "It is called like this:\n\n```{fence}\n{lines}\n```"
CALL_SITES = 3  # lines that call the definition, shown to the model
# Asked once when descriptions only repeat their parameter's name.
AGAIN = (
    "These lines only repeat the names. Write them again, each saying what the "
    "parameter is for, from what the code does with it:\n\n{form}"
)
TODO = "TODO: say what it is for"
_ANSWER = re.compile(r"^\W*(SUMMARY|PARAM|RETURNS|RAISES)\b\s*`?([\w.*]*)`?\s*:\s*(.+)$")
ANSWER_START = "SUMMARY:"


def first(
    definition: Definition, language: str, code: str, calls: list[str], what: style.Facts
) -> list[ChatMessage]:
    """The messages that ask for the docstring of `definition`."""
    shown_calls = [CALLS.format(fence=language, lines="\n".join(calls))] if calls else []
    question = ASK.format(kind=definition.kind, name=definition.name, form="\n".join(form(what)))
    return code_chat.about(language, code, *shown_calls, question)


def again(messages: list[ChatMessage], answer: str, vague: style.Facts) -> list[ChatMessage]:
    """The conversation that asks once more for the `vague` parameters' lines."""
    lines = "\n".join(form(vague)[1:])  # no summary this time
    asked = ChatMessage("user", AGAIN.format(form=lines))
    return [*messages, ChatMessage("assistant", answer), asked]


def call_sites(document: Document, definition: Definition, others: list[Document]) -> list[str]:
    """Lines that call `definition` by its name (in its document first, then
    in the other open documents of its language), stripped, without repeats."""
    found: dict[str, None] = {}
    language = document.syntax.language if document.syntax is not None else None
    for source in [document, *(o for o in others if o.uri != document.uri)]:
        if source.syntax is None or source.syntax.language != language:
            continue
        outline = source.syntax.outline()
        for symbol in symbols.references_between(source, 0, len(source.text)):
            inside = source is document and definition.start <= symbol.span[0] < definition.end
            if symbol.name != definition.name or inside:
                continue
            start = outline.source.rfind(b"\n", 0, symbol.span[0]) + 1
            end = outline.source.find(b"\n", symbol.span[0])
            line = outline.text(start, end if end >= 0 else len(outline.source)).strip()
            found.setdefault(line, None)
            if len(found) == CALL_SITES:
                return list(found)
    return list(found)


def form(what: style.Facts) -> list[str]:
    """The lines the model fills in."""
    lines = ["SUMMARY: <one sentence: what it does>"]
    lines += [f"PARAM {p}: <what {p} is for, from how the code uses it>" for p in what.parameters]
    if what.returns:
        lines.append("RETURNS: <what it returns>")
    lines += [f"RAISES {r}: <when it is raised>" for r in what.raises]
    return lines


def answered(what: style.Facts, start: str = ANSWER_START) -> Callable[[str], bool]:
    """For the engine's `stop_when`: every line of the form is written, or the
    model has left the form (a line that is none of the form's, such as a
    code fence). Blank lines are not leaving it: models set the summary
    apart from the PARAM lines with one."""
    wanted = len(form(what)) - (start != ANSWER_START)  # asked again: no summary

    def done(text: str) -> bool:
        *complete, _ = (start + text).split("\n")
        filled = sum(1 for line in complete if _ANSWER.match(line.strip()))
        left = any(line.strip() and not _ANSWER.match(line.strip()) for line in complete[1:])
        return filled >= wanted or (filled > 0 and left)

    return done


def parse_answer(text: str, what: style.Facts) -> style.Prose | None:
    """The model's filled-in lines as prose, only for what the code has: a
    parameter it invents is dropped, one it leaves out is described by name."""
    summary, returns = "", ""
    params = described(text, what.parameters)
    raises: dict[str, str] = {}
    for tag, name, value in _filled(text):
        if tag == "SUMMARY" and not summary:
            summary = value
        elif tag == "RETURNS" and not returns:
            returns = value
        elif tag == "RAISES" and name in what.raises:
            raises.setdefault(name, value)
    if not summary:
        return None
    for name in what.parameters:
        params.setdefault(name, f"the {_words(name)}")
    for name in what.raises:
        raises.setdefault(name, "on failure")
    return style.Prose(summary, params, returns or "the result", raises)


def described(text: str, parameters: tuple[str, ...]) -> dict[str, str]:
    """The PARAM lines of an answer, for the `parameters` the code has."""
    found: dict[str, str] = {}
    for tag, name, value in _filled(text):
        if tag == "PARAM" and name in parameters:
            found.setdefault(name, value)
    return found


def _filled(text: str) -> list[tuple[str, str, str]]:
    """The form's lines in an answer: (tag, name, value)."""
    lines = []
    for line in text.splitlines():
        match = _ANSWER.match(line.strip())
        if match is not None:
            tag, name, value = match.groups()
            lines.append((tag, name, value.strip().strip("<>").strip()))
    return lines


def _words(name: str) -> str:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name.strip("*_"))
    return spaced.replace("_", " ").lower() or name
