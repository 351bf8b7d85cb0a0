"""Protocol fuzzing: random and malformed JSON-RPC, random edits with random
(also invalid) ranges in each position encoding, random positions, astral
characters and lone surrogates, against the real server process.

Properties: the server never dies; a request gets an answer (a result, or an
error of the JSON-RPC kind it deserves: never an internal error); and its
copy of every document equals the text this client computes from the same
edits, by its own reading of the LSP rules. The model is absent on purpose
(a missing file): the protocol is under test here, and every request is
answered without waiting for a generation.

`pytest --slow` runs 4,000 cases a test, over twenty-five times the default.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.e2e.conftest import server_env
from tests.e2e.raw import RawServer

INVALID_PARAMS = -32602
INVALID_REQUEST = -32600
PARSE_ERROR = -32700


@pytest.fixture(scope="module", params=["utf-16", "utf-8", "utf-32"])
def server(request: pytest.FixtureRequest) -> Iterator[RawServer]:
    peer = RawServer(
        server_env(HEARTH_MODEL="/nowhere/fuzz-model.gguf"),
        encoding=request.param,
        options={"completion": {"completionItems": True}},
    )
    yield peer
    assert peer.process.poll() is None, "the server died"
    peer.close()


# --- what the client believes: LSP's rules, written out independently --------

LINE_BREAK = re.compile(r"\r\n|\r|\n")


def units(char: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(char.encode("utf-8", "surrogatepass"))
    if encoding == "utf-16":
        return len(char.encode("utf-16-le", "surrogatepass")) // 2
    return 1


def offset_of(text: str, line: int, character: int, encoding: str) -> int:
    """Where a position falls: a character past the end of its line is the end
    of the line (LSP), a line past the end of the text is its end (Hearth's
    rule for edits), a position inside a character is before it."""
    starts = [0] + [m.end() for m in LINE_BREAK.finditer(text)]
    if line >= len(starts):
        return len(text)
    start = starts[line]
    found = LINE_BREAK.search(text, start)
    end = found.start() if found else len(text)
    counted = 0
    for index in range(start, end):
        counted += units(text[index], encoding)
        if counted > character:
            return index
    return end


def on_the_wire(text: str) -> str:
    """What the server receives for `text`: JSON joins a lone high surrogate
    and a lone low one after it into one character."""
    received: str = json.loads(json.dumps(text))
    return received


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# --- strategies ---------------------------------------------------------------

PIECES = ["a", "b", "x = 1", " ", "\t", "\n", "\r\n", "\r", "é", "€", "😀", "𝄞", "\ud800"]
PIECES += ["\udfff", "\x00", "\u2028", "\x0c", "\ufeff", "def f():", "'"]
texts = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)
# Mostly inside a small document, sometimes far past its end.
numbers = st.one_of(st.integers(0, 6), st.integers(0, 2**31 - 1))


@dataclass(frozen=True)
class Edit:
    start: tuple[int, int]
    end: tuple[int, int]
    text: str
    whole: bool  # a full-document change, no range

    def wire(self) -> dict[str, Any]:
        if self.whole:
            return {"text": self.text}
        (sl, sc), (el, ec) = self.start, self.end
        return {
            "range": {
                "start": {"line": sl, "character": sc},
                "end": {"line": el, "character": ec},
            },
            "text": self.text,
        }

    def apply(self, text: str, encoding: str) -> str:
        new = on_the_wire(self.text)
        if self.whole:
            return new
        start = offset_of(text, *self.start, encoding)
        end = offset_of(text, *self.end, encoding)
        start, end = min(start, end), max(start, end)
        return text[:start] + new + text[end:]


edits = st.builds(
    Edit,
    st.tuples(numbers, numbers),
    st.tuples(numbers, numbers),
    texts,
    st.sampled_from([False] * 7 + [True]),
)
_uris = itertools.count(1)


@given(initial=texts, batches=st.lists(st.lists(edits, min_size=1, max_size=4), max_size=4))
def test_the_servers_text_equals_the_clients_after_any_edits(
    server: RawServer, initial: str, batches: list[list[Edit]]
) -> None:
    uri = f"file:///fuzz/doc{next(_uris)}.py"
    server.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": initial}},
    )
    text = on_the_wire(initial)
    for version, batch in enumerate(batches, start=2):
        server.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [edit.wire() for edit in batch],
            },
        )
        for edit in batch:
            text = edit.apply(text, server.encoding)
    held = server.documents()[uri]
    server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    assert held["characters"] == len(text)
    assert held["sha256"] == digest(text)
    assert held["version"] == len(batches) + 1


# --- positions: anywhere, in any request that takes one ------------------------

POSITIONED = ["textDocument/hover", "textDocument/inlineCompletion", "textDocument/completion"]


def position_params(method: str, uri: str, line: int, character: int) -> dict[str, Any]:
    at = {"line": line, "character": character}
    params: dict[str, Any] = {"textDocument": {"uri": uri}, "position": at}
    if method == "textDocument/inlineCompletion":
        params["context"] = {"triggerKind": 2}
    return params


@given(
    text=texts,
    asks=st.lists(
        st.tuples(
            st.sampled_from([*POSITIONED, "textDocument/codeAction"]),
            numbers | st.integers(-5, -1),
            numbers,
            st.booleans(),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_any_position_gets_an_answer_or_invalid_params(
    server: RawServer, text: str, asks: list[tuple[str, int, int, bool]]
) -> None:
    uri = f"file:///fuzz/doc{next(_uris)}.py"
    server.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}},
    )
    for method, line, character, opened in asks:
        target = uri if opened else f"{uri}.not-open"
        if method == "textDocument/codeAction":
            at = {"line": line, "character": character}
            params: dict[str, Any] = {
                "textDocument": {"uri": target},
                "range": {"start": at, "end": at},
                "context": {"diagnostics": []},
            }
        else:
            params = position_params(method, target, line, character)
        answer = server.request(method, params)
        if "error" in answer:
            assert answer["error"]["code"] == INVALID_PARAMS, answer
        else:
            lines = len(LINE_BREAK.findall(on_the_wire(text))) + 1
            assert opened, f"{method} on a document not open: {answer}"
            assert 0 <= line < lines, f"{method} at {line}:{character}: {answer}"
    server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})


# --- messages: malformed, of the wrong shape, or of no known method -----------

METHODS = [
    *POSITIONED,
    "textDocument/codeAction",
    "codeAction/resolve",
    "textDocument/didOpen",
    "textDocument/didChange",
    "textDocument/didClose",
    "workspace/executeCommand",
    "workspace/didChangeConfiguration",
    "$/cancelRequest",
    "$/setTrace",
    "hearth/unknown",
    "",
]
NOTIFICATIONS = {m for m in METHODS if m.startswith(("textDocument/did", "workspace/did", "$/"))}


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    _containers,
    max_leaves=8,
)
ids = st.integers(-(2**70), 2**70) | st.text(max_size=12) | json_values
messages = st.fixed_dictionaries(
    {},
    optional={
        "jsonrpc": st.sampled_from(["2.0", "2.0", "2.0", "1.0", 2]),
        "id": ids,
        "method": st.sampled_from(METHODS) | st.text(max_size=12) | json_values,
        "params": json_values
        | st.fixed_dictionaries(
            {"textDocument": st.fixed_dictionaries({"uri": st.text(max_size=12)})},
            optional={"position": json_values, "range": json_values, "text": json_values},
        ),
    },
)


@dataclass(frozen=True)
class Raw:
    """A message as bytes, and the answer JSON-RPC says it is due."""

    data: bytes
    answered: bool
    due: Any = None  # the answer's id (None: an error answer with id null)
    code: int | None = None  # the error it must be; None: a result, or any error of its own


def framed(body: bytes, *, extra: bytes = b"") -> bytes:
    return b"Content-Length: %d\r\n%s\r\n" % (len(body), extra) + body


def request_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def envelope_ok(message: dict[str, Any]) -> bool:
    """JSON-RPC 2.0: its version, an id that is a string, a number or null, a
    method that is a string, params that are structured (or absent); or an
    answer (result or error, with an id)."""
    if message.get("jsonrpc") != "2.0":
        return False
    if message.get("id") is not None and not request_id(message["id"]):
        return False
    if "method" not in message:
        return "id" in message and ("result" in message or "error" in message)
    params = message.get("params")
    return isinstance(message["method"], str) and (
        params is None or isinstance(params, dict | list)
    )


@st.composite
def raw_messages(draw: st.DrawFn) -> Raw:
    kind = draw(st.sampled_from(["message", "message", "message", "not json", "headers"]))
    if kind == "not json":
        body = draw(st.binary(min_size=1, max_size=40).filter(_not_json))
        return Raw(framed(body), answered=True, code=PARSE_ERROR)
    if kind == "headers":
        # Header lines that are not Content-Length, then a blank line and a
        # body ending in a line break: the reader skips it all, and is in step
        # again at the next message.
        junk = draw(st.lists(st.text("abcXYZ-: ;=", max_size=20), min_size=1, max_size=3))
        return Raw("".join(f"{j}\r\n" for j in junk).encode() + b"\r\n{}\r\n", answered=False)
    message = draw(messages)
    extra = draw(
        st.sampled_from([b"", b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n"])
    )
    data = framed(json.dumps(message).encode(), extra=extra)
    method, msg_id = message.get("method"), message.get("id")
    if not envelope_ok(message):
        named = msg_id if isinstance(method, str) and request_id(msg_id) else None
        return Raw(data, answered=True, due=named, code=INVALID_REQUEST)
    if isinstance(method, str) and "id" in message:  # a request (its id may be null)
        if method in NOTIFICATIONS:
            return Raw(data, answered=True, due=msg_id, code=INVALID_REQUEST)
        return Raw(data, answered=True, due=msg_id)  # answered, whatever it asks
    return Raw(data, answered=False)  # a notification, or a stray answer: nothing due


def _not_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return True
    return False


@pytest.fixture(scope="module")
def envelope_server(server: RawServer) -> RawServer:
    """The envelope of a message does not depend on the position encoding:
    one server of the three is enough (7 s less of the fast tier)."""
    if server.encoding != "utf-16":
        pytest.skip("JSON-RPC envelopes are checked on the UTF-16 server")
    return server


@given(sent=st.lists(raw_messages(), min_size=1, max_size=3))
def test_malformed_messages_get_the_answers_json_rpc_asks_and_the_server_goes_on(
    envelope_server: RawServer, sent: list[Raw]
) -> None:
    server = envelope_server
    for raw in sent:
        server.write(raw.data)
    # A request after them all: answered, so the server lives and is in step.
    server.documents()
    answers = server.passed
    # Answers of a fixed kind first: with several ids null, the others may come
    # in any order (a handler answers later than the envelope's check).
    for raw in sorted((r for r in sent if r.answered), key=lambda r: r.code is None):
        matching = [
            a
            for a in answers
            if a.get("id") == raw.due
            and (raw.code is None or a.get("error", {}).get("code") == raw.code)
        ]
        assert matching, f"no fitting answer to {raw.data!r}; got {answers}"
        answer = matching[0]
        answers.remove(answer)
        if raw.code is None and "error" in answer:
            assert answer["error"]["code"] != -32603, f"internal error for {raw.data!r}"
    assert not answers, f"answers to nothing sent: {answers}"
