"""Syntax errors whose repair is one token where Python says, made without
the model.

Python's compiler often names the place of the mistake exactly: a colon
missing at the end of `if x`, a bracket missing before the `:` that
follows a call. There, one of a few tokens put in at that place makes the
whole file compile again. When exactly one of them does, that is the fix:
exact and instant, where the model, asked to write the region again, may
add the token elsewhere or change more. When none does, or more than one
(the place does not decide), the fix is left to the model. Compiling runs
nothing of the code.
"""

from __future__ import annotations

from lsp_server import documents
from lsp_server.documents import Document
from lsp_server.features.region_edits import compile_error_line
from lsp_server.features.regions import Region

TOKENS = (":", ")", "]", "}")  # what a deleted or forgotten one-character token can be


def repaired(document: Document, region: Region) -> str | None:
    """The region with the one token put in that makes the Python document
    compile, at the place its first syntax error names; None when there is
    no such place in the region, or not exactly one such token."""
    if document.language != "python":
        return None
    text = document.text
    try:
        compile(text, "<hearth>", "exec", dont_inherit=True)
        return None
    except SyntaxError as error:
        line, column = (error.lineno or 0) - 1, (error.offset or 0) - 1
    except ValueError:  # a null byte
        return None
    bounds = documents.line_bounds(text, line)
    if not region.first <= line <= region.last or bounds is None or column < 0:
        return None
    at = bounds[0] + min(column, bounds[1] - bounds[0])
    while at > bounds[0] and text[at - 1] in " \t":
        at -= 1  # `if x:  # note`, not `if x  :# note`
    compiling = [
        token for token in TOKENS if compile_error_line(text[:at] + token + text[at:]) is None
    ]
    if len(compiling) != 1:
        return None
    start = documents.line_bounds(text, region.first)
    assert start is not None
    offset = at - start[0]
    return region.text[:offset] + compiling[0] + region.text[offset:]
