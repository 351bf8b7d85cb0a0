"""What a docstring says, and how each language writes it.

The structure comes from the code (grammars/*/parameters.scm): every
parameter, whether a value is returned, the exceptions raised. The prose
(a summary, a description of each) comes from the model. Here the two are
put together in the language's own convention.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tree_sitter import Node, QueryCursor

from lsp_server.context import languages
from lsp_server.context.outline import Definition, Outline

STYLES = ("google", "numpy", "sphinx")  # for Python; the others have one convention each


@dataclass(frozen=True)
class Facts:
    """What the code says a definition documents."""

    parameters: tuple[str, ...]
    returns: bool
    raises: tuple[str, ...]


@dataclass(frozen=True)
class Prose:
    summary: str
    parameters: dict[str, str]
    returns: str
    raises: dict[str, str]


def facts(language: str, root: Node, outline: Outline, definition: Definition) -> Facts:
    """The parameters, return and raises of `definition`, not of definitions nested in it."""
    cursor = QueryCursor(languages.query(language, "parameters"))
    cursor.set_byte_range(definition.start, definition.end)
    found = cursor.captures(root)

    def own(node: Node) -> bool:
        inner = [d for d in outline.definitions if d.contains(node.start_byte)]
        return bool(inner) and inner[-1] == definition

    def names(capture: str) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for node in sorted(found.get(capture, []), key=lambda n: n.start_byte):
            if own(node):
                seen[(node.text or b"").decode("utf-8", "surrogatepass")] = None
        return tuple(seen)

    if definition.kind == "class":
        return Facts((), False, ())
    return Facts(names("parameter"), any(own(n) for n in found.get("returns", [])), names("raises"))


# "The function `fill` takes ...", "This method creates ...", "The `sniff`
# method of the `Sniffer` class analyzes ...": an opener that names what the
# docstring is already attached to, before the verb that says what it does.
_OPENER = re.compile(
    r"^(?:The|This)\s+(?:(?:function|method|constructor|class)\s+)?(?:`[^`]+`\s+)?"
    r"(?:(?:function|method|constructor|class)\s+)?(?:of (?:the )?`[^`]+` class\s+)?"
    r"(?=(?!(?:is|was|has|does)\b)[a-z]+s\b)"
)
# First words that end in "s" and are not a verb in the third person.
_NOT_VERBS = frozenset(
    ["this", "its", "is", "as", "was", "always", "perhaps", "unless", "thus", "sometimes"]
)
_IRREGULAR = {"has": "have", "does": "do", "goes": "go", "caches": "cache"}


def summary(text: str, language: str) -> str:
    """The summary sentence in the language's convention: what the docstring
    is attached to is not named again ("The function `f` returns x" is
    "Returns x"), and Python's says it as a command, as PEP 257 asks
    ("Return x")."""
    text = _OPENER.sub("", text.strip(), count=1)
    verb, space, rest = text.partition(" ")
    if language == "python" and space and verb.isalpha():
        text = _imperative(verb) + space + rest
    return _sentence(text)


def says_returned(summary_line: str) -> bool:
    """Whether a (Python) summary says what is returned: "Return the sum.",
    "Yield each line." (`SUMMARY:` before it, or not)."""
    said = summary_line.removeprefix("SUMMARY:").strip()
    return summary(said, "python").startswith(("Return ", "Yield "))


def _imperative(verb: str) -> str:
    """`Returns` is `Return`, `Applies` `Apply`, `Matches` `Match`; others unchanged."""
    word = verb.lower()
    if word in _IRREGULAR:
        word = _IRREGULAR[word]
    elif word in _NOT_VERBS or not word.endswith("s") or word.endswith(("ss", "us", "is")):
        return verb
    elif word.endswith("ies"):
        word = word[:-3] + "y"
    elif word.endswith(("sses", "shes", "ches", "xes")):
        word = word[:-2]
    else:
        word = word[:-1]
    return word[:1].upper() + word[1:]


def _sentence(text: str) -> str:
    text = text.strip()
    if text and text[-1] not in ".!?":
        text += "."
    return text[:1].upper() + text[1:]


def python_docstring(prose: Prose, facts: Facts, style: str, indent: str) -> list[str]:
    """The lines of a Python docstring (each with `indent`), quotes included."""
    lines = [f'"""{summary(prose.summary, "python")}']
    sections: list[list[str]] = []
    params = [(name, _sentence(prose.parameters[name])) for name in facts.parameters]
    raises = [(name, _sentence(prose.raises[name])) for name in facts.raises]
    returns = _sentence(prose.returns) if facts.returns else ""
    if style == "numpy":
        if params:
            sections.append(["Parameters", "----------", *_pairs(params, "{0}\n    {1}")])
        if returns:
            sections.append(["Returns", "-------", returns])
        if raises:
            sections.append(["Raises", "------", *_pairs(raises, "{0}\n    {1}")])
    elif style == "sphinx":
        body = _pairs(params, ":param {0}: {1}")
        if returns:
            body.append(f":return: {returns}")
        body += _pairs(raises, ":raises {0}: {1}")
        if body:
            sections.append(body)
    else:
        if params:
            sections.append(["Args:", *_pairs(params, "    {0}: {1}")])
        if returns:
            sections.append(["Returns:", f"    {returns}"])
        if raises:
            sections.append(["Raises:", *_pairs(raises, "    {0}: {1}")])
    for section in sections:
        lines += ["", *section]
    if len(lines) == 1:
        return [indent + lines[0] + '"""']
    lines.append('"""')
    return [indent + line if line else "" for line in lines]


def _pairs(pairs: list[tuple[str, str]], form: str) -> list[str]:
    return [part for name, text in pairs for part in form.format(name, text).split("\n")]


def comment_docstring(
    language: str, name: str, prose: Prose, facts: Facts, indent: str
) -> list[str]:
    """The lines of a doc comment written above a definition."""
    said = summary(prose.summary, language)
    params = [(p, _sentence(prose.parameters[p])) for p in facts.parameters]
    raises = [(r, _sentence(prose.raises[r])) for r in facts.raises]
    returns = _sentence(prose.returns) if facts.returns else ""
    if language == "rust":
        body = [said]
        if params:
            body += ["", "# Arguments", "", *(f"* `{p}` - {text}" for p, text in params)]
        if returns:
            body += ["", "# Returns", "", returns]
        return [f"{indent}///{' ' + line if line else ''}" for line in body]
    if language == "go":
        # Go doc comments begin with the name, then a sentence about it.
        lead = said[:1].lower() + said[1:]
        body = [f"{name} {lead}"]
        if params:
            body += ["", *(f"  - {p}: {text}" for p, text in params)]
        if returns:
            body += ["", f"It returns {lead_lower(returns)}"]
        return [f"{indent}//{' ' + line if line else ''}" for line in body]
    # JSDoc, Javadoc, Doxygen: a /** */ block.
    tags: list[str] = []
    if language in ("c", "cpp"):
        head = [f"@brief {said}"]
        tags += [f"@param {p} {text}" for p, text in params]
        if returns:
            tags.append(f"@return {returns}")
        tags += [f"@throws {r} {text}" for r, text in raises]
    elif language == "java":
        head = [said]
        tags += [f"@param {p} {text}" for p, text in params]
        if returns:
            tags.append(f"@return {returns}")
        tags += [f"@throws {r} {text}" for r, text in raises]
    else:
        head = [said]
        tags += [f"@param {p} {text}" for p, text in params]
        if returns:
            tags.append(f"@returns {returns}")
        tags += [f"@throws {{{r}}} {text}" for r, text in raises]
    body = head + (["", *tags] if tags else [])
    return [
        f"{indent}/**",
        *(f"{indent} *{' ' + line if line else ''}" for line in body),
        f"{indent} */",
    ]


def lead_lower(text: str) -> str:
    return text[:1].lower() + text[1:]
