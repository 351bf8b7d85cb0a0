"""Where a failing test's own assertion points: the function it tests.

Most failing tests fail in the test itself: `assert average([1, 2, 3]) ==
2` raises in the test's frame, and no frame of the code under test is
left in the failure. Its innermost workspace frame is then the test, and
a fix there would change what the test expects. When that frame lies in a
test (by its file's name or folder, or its function's) and the failure
is an assertion's, the fix is for the function the failing line calls
instead: defined in the test's own file, or imported from a file of the
workspace that is not a test. The test goes to the model as the code at
the failure's related place (related_code.py), saying what was expected.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from lsp_server import documents
from lsp_server.features.failures import Failure, Frame
from lsp_server.session import RequestContext

# A test's file, by the conventions of the languages Hearth reads: test_x.py,
# x_test.go, x.test.ts, x.spec.js, XTest.java, or any file under tests/.
_TEST_FILE = re.compile(r"(^test_|_test\.|\.test\.|\.spec\.|Tests?\.java$)")
_TEST_FOLDERS = frozenset({"test", "tests", "__tests__", "spec"})
_TEST_FUNCTION = re.compile(r"^(test|Test)")
# What the assertion libraries print: AssertionError, pytest's `assert x ==
# y`, Go's "got 3, want 2", Jest's expect(...), JUnit's AssertionFailedError.
_ASSERTION = re.compile(r"assert|expect|\bwant\b", re.IGNORECASE)
INDEX_WAIT_S = 3.0  # for the index to find the function a test calls: a fix takes longer
_CALLED = re.compile(r"\b([A-Za-z_]\w*)\s*\(")


def in_a_test(frame: Frame, shown: str) -> bool:
    """Whether `frame`, in the file named `shown` from its workspace folder, is a test's."""
    function = (frame.function or "").rsplit(".", 1)[-1]
    return bool(_TEST_FUNCTION.match(function)) or a_test_file(shown)


def a_test_file(shown: str) -> bool:
    """Whether the file named `shown` from its workspace folder is a test's."""
    path = Path(shown)
    return bool(_TEST_FILE.search(path.name)) or not _TEST_FOLDERS.isdisjoint(path.parts[:-1])


async def tested(ctx: RequestContext, failure: Failure, frame: Frame, path: Path) -> Frame | None:
    """The frame of the function under test, when `frame` (the failure's
    innermost in the workspace, in `ctx`'s document, the file `path`) is a
    test's failed assertion; None otherwise, or when the function its line
    calls is not found."""
    workspace = ctx.workspace
    shown = workspace.relative(path.as_uri())
    if not in_a_test(frame, shown) or not _ASSERTION.search(failure.message):
        return None
    index = workspace.index
    if index is not None and not index.ready:  # a workspace still being read
        await asyncio.to_thread(index.wait, INDEX_WAIT_S)
    document = ctx.document
    syntax = document.syntax
    bounds = documents.line_bounds(document.text, frame.line - 1)
    if syntax is None or bounds is None:
        return None
    code = syntax.code_only(*bounds)
    outline = syntax.outline()
    cross_file = workspace.cross_file(document)
    for name in dict.fromkeys(_CALLED.findall(code)):
        if _TEST_FUNCTION.match(name):
            continue
        for definition in outline.definitions:
            if definition.name == name and definition.kind == "function":
                line = outline.source[: definition.start].count(b"\n")
                return Frame(str(path), line + 1, None, name)
        found = cross_file.origin(name) if cross_file is not None else None
        if found is None or found.entry.kind != "function":
            continue
        if not a_test_file(workspace.relative(found.path.as_uri())):
            return Frame(str(found.path), found.entry.line + 1, None, name)
    return None
