"""What the model is asked for a docstring, and how its answer is read.

The model fills in a form, one line for each thing the code says the
docstring documents (SUMMARY, PARAM, RETURNS, RAISES), after the code and
the lines that call it. A description that only repeats its parameter's
name is asked for once more (AGAIN), then left as a TODO.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import fields

from lsp_server.context import symbols
from lsp_server.context.outline import Definition
from lsp_server.documents import Document
from lsp_server.features import code_chat
from lsp_server.features import docstring_style as style
from lsp_server.features.restating import restates_name
from lsp_server.inference.api import (
    ChatMessage,
    Engine,
    Generation,
    GenerationStats,
    Sampling,
    Steering,
)
from lsp_server.inference.cancel import CancelToken

ASK = (
    "Write the documentation of the {kind} `{name}` above. Answer with exactly these "
    "lines filled in, one line each, and nothing else:\n\n{form}"
)
CALLS = "It is called like this:\n\n```{fence}\n{lines}\n```"
# What the summary says, in the mood of the language's convention: PEP 257
# asks for a command ("Return the sum."); Javadoc, rustdoc and godoc
# describe ("Returns the sum.", "Sum returns ...").
SUMMARY = {"python": '<a short sentence that starts with a verb, as a command: "Return ...">'}
SUMMARY_ELSE = '<a short sentence that starts with a verb: "Returns ...", "Builds ...">'
CALL_SITES = 3  # lines that call the definition, shown to the model
# Asked once for lines that were missing or only repeated their names.
AGAIN = (
    "These lines were missing or only repeated the names. Write them, each saying "
    "what it is for, from what the code does with it:\n\n{form}"
)
TODO = "TODO: say what it is for"
TODO_RETURNS = "TODO: say what it returns"
TODO_RAISES = "TODO: say when it is raised"
_ANSWER = re.compile(r"^\W*(SUMMARY|PARAM|RETURNS|RAISES)\b\s*`?([\w.*]*)`?\s*:\s*(.+)$")
LINE_TOKENS = 80  # the most one line of the form may take: a sentence, rarely longer


def first(
    definition: Definition, language: str, code: str, calls: list[str], what: style.Facts
) -> list[ChatMessage]:
    """The messages that ask for the docstring of `definition`."""
    shown_calls = [CALLS.format(fence=language, lines="\n".join(calls))] if calls else []
    form_lines = "\n".join(form(what, language))
    question = ASK.format(kind=definition.kind, name=definition.name, form=form_lines)
    return code_chat.about(language, code, *shown_calls, question)


def again(messages: list[ChatMessage], answer: str, gaps: style.Facts) -> list[ChatMessage]:
    """The conversation that asks once more for the lines of the `gaps`."""
    lines = "\n".join(form(gaps)[1:])  # no summary this time
    asked = ChatMessage("user", AGAIN.format(form=lines))
    return [*messages, ChatMessage("assistant", answer), asked]


def gaps(prose: style.Prose, what: style.Facts) -> style.Facts:
    """What the answer left unsaid: the parameters whose lines only repeat
    their names (or are missing), a missing return, the exceptions not described."""
    return style.Facts(
        tuple(p for p in what.parameters if restates_name(p, prose.parameters[p])),
        what.returns and not prose.returns,
        tuple(r for r in what.raises if not prose.raises.get(r)),
    )


def filled(prose: style.Prose, retold: str, asked: style.Facts) -> style.Prose:
    """`prose` with the lines `retold` for what was `asked` again; what still
    says nothing is a visible TODO, never passed off as documentation."""
    said = {(tag, name): value for tag, name, value in reversed(_filled(retold))}  # first wins
    parameters, raises = dict(prose.parameters), dict(prose.raises)
    for name in asked.parameters:
        text = said.get(("PARAM", name), "")
        parameters[name] = TODO if restates_name(name, text) else text
    for name in asked.raises:
        raises[name] = said.get(("RAISES", name)) or TODO_RAISES
    returns = (said.get(("RETURNS", "")) or TODO_RETURNS) if asked.returns else prose.returns
    return style.Prose(prose.summary, parameters, returns, raises)


def call_sites(document: Document, definition: Definition, others: list[Document]) -> list[str]:
    """Lines that call `definition` by its name (in its document first, then
    in the other open documents of its language), stripped, without repeats."""
    found: dict[str, None] = {}
    language = document.syntax.language if document.syntax is not None else None
    named = re.compile(rf"\b{re.escape(definition.name)}\b")
    for source in [document, *(o for o in others if o.uri != document.uri)]:
        if source.syntax is None or source.syntax.language != language:
            continue
        # Only the lines that name it are parsed for references: a request
        # must not walk every reference of every open file.
        for start, end in _lines_matching(source.text, named):
            for symbol in symbols.references_between(source, start, end):
                inside = source is document and definition.start <= symbol.span[0] < definition.end
                if symbol.name != definition.name or inside:
                    continue
                line = source.text[start:end].strip()
                found.setdefault(line, None)
                if len(found) == CALL_SITES:
                    return list(found)
                break  # the line is shown once, however often it calls
    return list(found)


def _lines_matching(text: str, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    """The (start, end) offsets of the lines of `text` in which `pattern` matches."""
    lines: list[tuple[int, int]] = []
    for match in pattern.finditer(text):
        start = text.rfind("\n", 0, match.start()) + 1
        if lines and lines[-1][0] == start:
            continue
        end = text.find("\n", match.start())
        lines.append((start, end if end >= 0 else len(text)))
    return lines


def form(what: style.Facts, language: str = "") -> list[str]:
    """The lines the model fills in (the summary's hint in the mood of `language`)."""
    lines = [f"SUMMARY: {SUMMARY.get(language, SUMMARY_ELSE)}"]
    # Short hints: each is read once per parameter before anything is written,
    # and the model writes shorter lines after them (benchmarks/results/docs.md).
    lines += [f"PARAM {p}: <what it is for, in a short phrase>" for p in what.parameters]
    if what.returns:
        lines.append("RETURNS: <what it returns>")
    lines += [f"RAISES {r}: <when it is raised>" for r in what.raises]
    return lines


def write_form(
    engine: Engine,
    cancel: CancelToken,
    messages: list[ChatMessage],
    lines: list[str],
    max_tokens: int,
    summary_returns: bool = False,
) -> Generation:
    """The model's answer to `messages`: the form's `lines` filled in, tags and
    all. With `summary_returns`, a summary that says what is returned
    ("Return the sum.") leaves the RETURNS line out."""
    if engine.CONTINUES_ANSWERS:
        return _line_by_line(engine, cancel, messages, lines, max_tokens, summary_returns)
    start = _tag(lines[0]).split(" ")[0]  # SUMMARY:, PARAM or RETURNS:, then the model
    steering = Steering(stop_when=answered(len(lines), start))
    generation = engine.chat(
        messages, Sampling(max_tokens=max_tokens), cancel, steering=steering, answer_prefix=start
    )
    generation.text = start + generation.text
    return generation


def _line_by_line(
    engine: Engine,
    cancel: CancelToken,
    messages: list[ChatMessage],
    lines: list[str],
    max_tokens: int,
    summary_returns: bool,
) -> Generation:
    """Each line's tag given, the model writes one sentence after it: no tags,
    no second sentence, nothing after the form. Each line's prompt is the
    last one's and a few tokens more: the model's cache holds the rest."""
    answer, stats = "", GenerationStats()
    for line in lines:
        if summary_returns and line.startswith("RETURNS") and style.says_returned(answer):
            continue
        begun = f"{answer}\n{_tag(line)}" if answer else _tag(line)
        left = max_tokens - stats.decoded_tokens
        if left <= 0:  # out of budget: the line stays empty, to be asked again
            answer = begun
            continue
        sampling = Sampling(max_tokens=min(LINE_TOKENS, left))
        steering = Steering(stop_when=_line_written)
        generation = engine.chat(messages, sampling, cancel, steering=steering, answer_prefix=begun)
        for part in fields(stats):
            setattr(
                stats, part.name, getattr(stats, part.name) + getattr(generation.stats, part.name)
            )
        if generation.cancelled:
            return Generation(answer, "cancelled", stats)
        answer = f"{begun} {code_chat.first_sentence(generation.text)}"
    return Generation(answer, "end", stats)


def _tag(line: str) -> str:
    """`PARAM x:` of `PARAM x: <what x is for ...>`."""
    return line.split(":", 1)[0] + ":"


def _line_written(text: str) -> bool:
    """For the engine's `stop_when`: the line's first sentence, or the line, has ended."""
    body = text.lstrip()
    return "\n" in body or code_chat.sentences_ended(body) > 0


def answered(wanted: int, start: str) -> Callable[[str], bool]:
    """For the engine's `stop_when` when the model writes the form whole
    (from `start`): `wanted` lines are written, or the model has left the
    form (a line that is none of the form's, such as a code fence). Blank
    lines are not leaving it: models set the summary apart with one."""

    def done(text: str) -> bool:
        *complete, _ = (start + text).split("\n")
        filled = sum(1 for line in complete if _ANSWER.match(line.strip()))
        left = any(line.strip() and not _ANSWER.match(line.strip()) for line in complete[1:])
        return filled >= wanted or (filled > 0 and left)

    return done


def parse_answer(text: str, what: style.Facts) -> style.Prose | None:
    """The model's filled-in lines as prose, only for what the code has: a
    parameter it invents is dropped, one it leaves out is described by name,
    and a return or exception it leaves out is empty."""
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
        params.setdefault(name, f"the {_words(name)}")  # restates it: asked again
    for name in what.raises:
        raises.setdefault(name, "")  # asked again, as a missing return is
    return style.Prose(summary, params, returns, raises)


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
