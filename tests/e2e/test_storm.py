"""A typing storm: a minute of 50 edits a second over three documents, each
followed by an inline completion request that cancels the one before (as
VS Code does), with hovers and code actions in between; the real model.

Afterwards the server answers a fresh request as usual, and: no request was
left unanswered; every cancelled one got a cancellation or nothing; resident
memory grew by less than 50 MB from the 10th to the 60th second. That no two
generations ever run at once is counted inside the engine, which this
process cannot reach: tests/fast/test_storm.py counts it in a storm with the
fake engine, tests/engine/test_scheduler.py with the real one."""

from __future__ import annotations

import itertools
import queue
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import server_env
from tests.e2e.raw import RawServer
from tests.pace import Deadline

pytestmark = pytest.mark.model

SECONDS = 60
EDITS_PER_SECOND = 50
REQUEST_CANCELLED = -32800
MEMORY_GROWTH_LIMIT = 50 * 1024 * 1024

DOCUMENTS = {
    "file:///storm/prices.py": (
        "def net_price(gross: float, rate: float) -> float:\n"
        "    return gross / (1 + rate)\n\n\n"
        "def total(items: list[float]) -> float:\n    "
    ),
    "file:///storm/names.py": (
        "def initials(name: str) -> str:\n"
        "    return ''.join(part[0] for part in name.split())\n\n\n"
        "def greet(name: str) -> str:\n    "
    ),
    "file:///storm/stack.py": (
        "class Stack:\n"
        "    def __init__(self) -> None:\n"
        "        self.items: list[int] = []\n\n"
        "    def push(self, item: int) -> None:\n        "
    ),
}
TYPED = "result = sum(value for value in items if value > 0)\n    return result\n    "
RUN_LOGGED = re.compile(r"DEBUG lsp_server\.inference\.scheduler: \S+ \S+ v\S+: \d+ ms,")


class Document:
    """One document as the editor has it: typed into at its end, wiped back
    to the start of the typing every so often."""

    def __init__(self, uri: str, text: str) -> None:
        self.uri, self.start, self.text, self.version = uri, text, text, 1
        self.lines = text.count("\n")

    def end(self) -> dict[str, int]:
        return {"line": self.text.count("\n"), "character": len(self.text.rsplit("\n", 1)[-1])}

    def next_change(self, typed: str) -> dict[str, Any]:
        self.version += 1
        at = self.end()
        if len(self.text) - len(self.start) >= len(TYPED) * 2:
            start = {"line": self.lines, "character": len(self.start.rsplit("\n", 1)[-1])}
            self.text = self.start
            return {"range": {"start": start, "end": at}, "text": ""}
        self.text += typed
        return {"range": {"start": at, "end": at}, "text": typed}


def test_a_minute_of_typing_storm(tmp_path: Path) -> None:
    log = tmp_path / "hearth.log"
    server = RawServer(server_env(), args=["--log-level", "debug", "--log-file", str(log)])
    try:
        _storm(server, log)
    finally:
        server.close()


def _storm(server: RawServer, log: Path) -> None:
    documents = [Document(uri, text) for uri, text in DOCUMENTS.items()]
    for document in documents:
        server.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": document.uri,
                    "languageId": "python",
                    "version": 1,
                    "text": document.text,
                }
            },
        )
    _wait_for_the_model(server)
    # One hover first: it makes the hovers' llama.cpp context, memory that is
    # there once, whether before or during the storm, and not growth.
    server.request(
        "textDocument/hover",
        {"textDocument": {"uri": documents[0].uri}, "position": {"line": 0, "character": 5}},
    )

    sent: dict[str, str] = {}  # id: method
    cancelled: set[str] = set()
    pending_inline: str | None = None
    typing = {d.uri: itertools.cycle(TYPED) for d in documents}
    memory: dict[int, int] = {}
    began = time.monotonic()
    for tick in range(SECONDS * EDITS_PER_SECOND):
        # Paced at 50 a second; if the server held the pipe up, go on at once.
        time.sleep(max(0.0, began + tick / EDITS_PER_SECOND - time.monotonic()))
        document = documents[tick % len(documents)]
        change = document.next_change(next(typing[document.uri]))
        server.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": document.uri, "version": document.version},
                "contentChanges": [change],
            },
        )
        if pending_inline is not None:
            server.notify("$/cancelRequest", {"id": pending_inline})
            cancelled.add(pending_inline)
        pending_inline = server.ask(
            "textDocument/inlineCompletion",
            {
                "textDocument": {"uri": document.uri},
                "position": document.end(),
                "context": {"triggerKind": 2},
            },
        )
        sent[pending_inline] = "inline"
        if tick % 25 == 0:  # twice a second: a hover over a name, or code actions
            at = {"line": 0, "character": 5}
            if tick % 50 == 0:
                sent[
                    server.ask(
                        "textDocument/hover",
                        {"textDocument": {"uri": document.uri}, "position": at},
                    )
                ] = "hover"
            else:
                sent[
                    server.ask(
                        "textDocument/codeAction",
                        {
                            "textDocument": {"uri": document.uri},
                            "range": {"start": at, "end": at},
                            "context": {"diagnostics": []},
                        },
                    )
                ] = "codeAction"
        second = int(time.monotonic() - began)
        if second in (10, SECONDS - 1) and second not in memory:
            memory[second] = server.resident_bytes()
    elapsed = time.monotonic() - began

    answers = _all_answers(server, set(sent), timeout=90)
    assert set(answers) == set(sent), f"{len(set(sent) - set(answers))} left unanswered"
    for number in cancelled:
        answer = answers[number]
        if "error" in answer:
            assert answer["error"]["code"] == REQUEST_CANCELLED, answer
        else:
            assert not (answer["result"] or {}).get("items"), f"a cancelled request: {answer}"
    for number, method in sent.items():
        assert "error" not in answers[number] or number in cancelled, (method, answers[number])

    # A fresh request, as after any pause: a suggestion.
    uri, text = "file:///storm/double.py", "def double(x):\n    return "
    server.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}},
    )
    fresh = server.request(
        "textDocument/inlineCompletion",
        {
            "textDocument": {"uri": uri},
            "position": {"line": 1, "character": 11},
            "context": {"triggerKind": 1},
        },
    )
    assert fresh["result"]["items"], fresh

    stats = server.stats()
    runs = len(RUN_LOGGED.findall(log.read_text()))
    assert runs, "the debug log records each generation"
    growth = memory[SECONDS - 1] - memory[10]
    print(
        f"\nstorm: {SECONDS * EDITS_PER_SECOND} edits in {elapsed:.1f} s, "
        f"{len(sent)} requests ({sum(m == 'inline' for m in sent.values())} inline, "
        f"{sum(m == 'hover' for m in sent.values())} hovers, "
        f"{sum(m == 'codeAction' for m in sent.values())} code actions), "
        f"{len(cancelled)} cancelled by the client; {runs} generations, "
        f"{stats['cancelled']} cancelled on the server; resident memory "
        f"{memory[10] / 2**20:.0f} MB at 10 s, {memory[SECONDS - 1] / 2**20:.0f} MB "
        f"at {SECONDS - 1} s ({growth / 2**20:+.1f} MB)"
    )
    assert growth < MEMORY_GROWTH_LIMIT
    assert elapsed < SECONDS * 1.5, "the server kept up with the typing"


def _wait_for_the_model(server: RawServer) -> None:
    deadline = time.monotonic() + 60
    while server.stats()["modelState"] != "ready":
        assert time.monotonic() < deadline, "the model did not load"
        time.sleep(0.2)


def _all_answers(server: RawServer, wanted: set[str], timeout: float) -> dict[str, Any]:
    """The answers that come within `timeout` (at the reference pace: a Deadline)."""
    answers: dict[str, Any] = {}
    deadline = Deadline(timeout)
    while not wanted <= set(answers) and not deadline.passed():
        try:
            _, message = server.answers.get(timeout=1)
        except queue.Empty:
            continue
        answers[message["id"]] = message
    return answers
