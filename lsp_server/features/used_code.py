"""What a fix is shown besides the region it rewrites: the code around the
region that the region stands in and uses.

From the region's own file, as a completion's header takes it
(context/header.py): the signatures of the definitions the region lies in
(a method's class), the imports above it, and the definitions of the file
it uses, nearest first, each in its short form (signature, doc, body
elided). From other files of the workspace, the definitions the file
imports and the region uses (workspace/context.py). All of it within
USED_CODE_CHARS: the model reads every token of it before it writes, so
it is what the region needs, not the whole file.
"""

from __future__ import annotations

from dataclasses import replace

from lsp_server.context.header import header
from lsp_server.context.prompt import names_in
from lsp_server.documents import Document
from lsp_server.features.regions import Region, lines_of
from lsp_server.workspace.context import CrossFile

USED_CODE_CHARS = 2400  # about 700 tokens: a few seconds' read for the default model


def used_code(
    document: Document, region: Region, line: int, cross_file: CrossFile | None, path: str
) -> str:
    """The code `region` uses, for the model: from `document` (named `path`)
    around the region, whose line `line` the request is about, and from what
    `cross_file` finds in other files; "" when there is none."""
    syntax = document.syntax
    if syntax is None or not region.text.strip():
        return ""
    lines = lines_of(document.text)
    start = sum(len(text) for text in lines[: region.first])
    end = start + len(region.text)
    at = start + sum(len(text) for text in lines[region.first : max(line, region.first)])
    names = names_in(document, start, end)
    window = (syntax.byte_offset(start), syntax.byte_offset(end))
    outline = syntax.outline()
    # Imports at the margin only: one nested in a `try`, shown alone and
    # indented, the model copied into its answer.
    source = outline.source
    imports = tuple(span for span in outline.imports if source[span[0] : span[0] + 1].strip())
    outline = replace(outline, imports=imports)
    own = header(outline, window, syntax.byte_offset(at), names, USED_CODE_CHARS)
    fence = document.language or ""
    parts = []
    room = own.room
    if own.chosen:
        parts.append(f"From this file, {path}:\n```{fence}\n{own.text()}```")
    for other, definitions in cross_file.snippets(names) if cross_file is not None else []:
        texts = [text for _, text in sorted(definitions)]
        size = sum(len(text) + 1 for text in texts)
        if size > room:
            continue
        room -= size
        shown = "".join(text + "\n" for text in texts)
        parts.append(f"From {other}:\n```{fence}\n{shown}```")
    if not parts:
        return ""
    return "The code below uses this code, shown for reference:\n\n" + "\n\n".join(parts)
