"""Whether a description says no more than the name it describes.

`price: The price.`, `rate: the rate value`, `items: A list of items.`: a
reader learns nothing the signature did not say. Such a description is not
documentation; the docstring action asks again, or leaves a visible TODO,
and the docs benchmark counts how often it happens.

A description restates its name when, once the name's own words (split at
underscores and case changes, plural or not) and words that carry no
meaning here (articles, prepositions, generic words like "value", type
names like "list") are taken out, nothing is left.
"""

from __future__ import annotations

from lsp_server.text import words

# Words that say nothing about what a particular parameter is for.
_EMPTY_WORDS = """
a an the this that these those its it is are be been being to of for in on at by with
from as or and any some given specified provided passed supplied input inputs
argument arguments arg args parameter parameters param params value values
object objects instance instances item variable variables data thing things
type types optional default defaults none
str string strings int integer integers float floats number numbers bool boolean
booleans list lists dict dicts dictionary dictionaries tuple tuples set sets
sequence sequences array arrays collection iterable callable function functions
"""
_EMPTY = frozenset(_EMPTY_WORDS.split())
# Short forms in names, and the words a description spells them with.
_SPELLED = {
    "max": "maximum", "min": "minimum", "num": "number", "len": "length", "idx": "index",
    "src": "source", "dst": "destination", "dest": "destination", "msg": "message",
    "cfg": "configuration", "config": "configuration", "ctx": "context", "buf": "buffer",
    "fn": "function", "func": "function", "cb": "callback", "dir": "directory",
    "err": "error", "exc": "exception", "obj": "object", "val": "value", "var": "variable",
    "char": "character", "chars": "characters", "pos": "position", "ref": "reference",
}  # fmt: skip


def _forms(word: str) -> set[str]:
    """The word and what it is without a plural ending: `items` and `item`,
    `classes` and `class`, `entries` and `entry`, `names` and `name`."""
    forms = {word}
    if len(word) > 3 and word.endswith("s"):
        forms.add(word[:-1])
        if word.endswith("es"):
            forms.add(word[:-2])
        if word.endswith("ies"):
            forms.add(word[:-3] + "y")
    return forms


def restates_name(name: str, description: str) -> bool:
    """Whether `description` of the parameter (or value) `name` only repeats the name."""
    own = set().union(*(_forms(w) | _forms(_SPELLED.get(w, w)) for w in words(name)))
    left = [w for w in words(description) if w not in _EMPTY and not _forms(w) & own]
    return not left
