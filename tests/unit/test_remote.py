"""The remote engine against a server that misbehaves on purpose: hangs, error
statuses, malformed answers (no real model server can be made to do these on
demand; tests/e2e/test_remote.py runs the real ones)."""

from __future__ import annotations

import http.server
import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from lsp_server.inference import models
from lsp_server.inference.api import ChatMessage, Sampling, Steering
from lsp_server.inference.cancel import CancelToken
from lsp_server.inference.remote.config import RemoteConfig
from lsp_server.inference.remote.engine import RemoteEngine
from lsp_server.inference.remote.http import RemoteError
from lsp_server.layout import FileContext, estimated_tokens

HELLO = [ChatMessage("user", "hi")]


class Peer(http.server.ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 that answers as `mode` says."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.mode = "good"
        self.listed: list[dict[str, Any]] = [{"id": "qwen2.5-coder-0.5b-instruct"}]  # /v1/models
        self.requests = 0
        self.posted: list[tuple[str, dict[str, Any]]] = []  # path and body of each POST
        self.release = threading.Event()  # ends a hang

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(http.server.BaseHTTPRequestHandler):
    server: Peer

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.server.mode == "hang":
            self.server.release.wait(30)
        answers = {
            "/v1/models": {"data": self.server.listed},
            "/health": {"status": "ok"},
            "/props": {
                "model_path": "/models/mystery-7b.Q8_0.gguf",
                "default_generation_settings": {"n_ctx": 4096},
            },
        }
        self._send(200, json.dumps(answers.get(self.path, {})))

    def do_POST(self) -> None:
        self.server.requests += 1
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.posted.append((self.path, body))
        mode = self.server.mode
        if mode in ("hang", "busy"):
            self.server.release.wait(30)
        elif mode == "good" and self.path in ("/infill", "/completion"):
            timings = {"prompt_n": 5, "cache_n": 120, "predicted_n": 2}
            chunks = [
                {"content": "urn ", "stop": False, "timings": timings},
                {"content": "x", "stop": True, "stop_type": "eos", "timings": timings},
            ]
            self._send(200, "".join(f"data: {json.dumps(c)}\n\n" for c in chunks))
        elif mode == "good":
            chunks = [{"choices": [{"delta": {"content": word}}]} for word in ("Hello", "!")]
            chunks.append({"choices": [{"delta": {}, "finish_reason": "stop"}]})
            self._send(
                200, "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
            )
        elif mode == "malformed":
            self._send(200, "data: {not json\n\n")
        else:
            self._send(int(mode), '{"error": {"message": "scripted"}}')

    def _send(self, status: int, body: str) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body.encode())))
        self.end_headers()
        self.wfile.write(body.encode())


@pytest.fixture
def peer() -> Iterator[Peer]:
    server = Peer()
    # A short poll: shutdown() waits up to one poll, 0.5 s by default, per test.
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def engine_on(peer: Peer, outages: list[str | None], timeout_s: float = 10.0) -> RemoteEngine:
    engine = RemoteEngine(RemoteConfig(peer.url, api="openai", timeout_s=timeout_s), outages.append)
    engine.connect()
    return engine


def test_a_model_the_server_sizes_gets_its_nearest_presets_layout(peer: Peer) -> None:
    small, default = models.PRESETS["small"], models.PRESETS["default"]
    assert engine_on(peer, []).layout is default.layout  # the server does not say
    peer.listed = [
        {"id": "qwen2.5-coder-0.5b-instruct", "meta": {"n_params": 494_032_768}},
        {"id": "other-7b", "meta": {"n_params": 7_000_000_000}},
    ]
    assert engine_on(peer, []).layout is small.layout  # the first listed is the one used
    peer.listed[0]["meta"] = {"n_params": "many"}  # not a count: as if unsaid
    assert engine_on(peer, []).layout is default.layout


def test_a_good_answer_is_streamed(peer: Peer) -> None:
    outages: list[str | None] = []
    generation = engine_on(peer, outages).chat(HELLO, Sampling(), CancelToken())
    assert generation.text == "Hello!"
    assert generation.stop_reason == "end"
    assert outages == []


def test_a_hang_times_out_is_told_once_and_backs_off_without_the_network(peer: Peer) -> None:
    outages: list[str | None] = []
    engine = engine_on(peer, outages, timeout_s=0.3)
    peer.mode = "hang"
    started = time.monotonic()
    with pytest.raises(RemoteError, match=r"does not answer: nothing came for 0\.3 s"):
        engine.chat(HELLO, Sampling(), CancelToken())
    assert time.monotonic() - started < 5
    for _ in range(3):
        with pytest.raises(RemoteError, match="does not answer"):
            engine.chat(HELLO, Sampling(), CancelToken())
    assert peer.requests == 1, "during the back-off the server is not asked"
    assert len(outages) == 1
    # It answers again: after the back-off, the next request ends the outage.
    peer.mode = "good"
    peer.release.set()
    time.sleep(1.1)
    assert engine.chat(HELLO, Sampling(), CancelToken()).text == "Hello!"
    assert outages[1:] == [None]


def test_a_busy_server_is_not_an_outage(peer: Peer) -> None:
    """It accepts and answers its health check, but this request waits its turn."""
    outages: list[str | None] = []
    engine = engine_on(peer, outages, timeout_s=0.3)
    peer.mode = "busy"
    with pytest.raises(RemoteError, match=r"is busy: nothing came for 0\.3 s"):
        engine.chat(HELLO, Sampling(), CancelToken())
    assert outages == []
    assert engine.outage is None


def test_a_cancel_ends_a_blocked_read_at_once(peer: Peer) -> None:
    engine = engine_on(peer, [], timeout_s=30)
    peer.mode = "hang"
    cancel = CancelToken()
    threading.Timer(0.3, cancel.cancel).start()
    started = time.monotonic()
    generation = engine.chat(HELLO, Sampling(), cancel)
    assert generation.cancelled
    assert time.monotonic() - started < 3, "the socket is shut under the read"
    assert engine.outage is None, "a cancel is not an outage"


def test_a_time_budget_ends_the_wait_without_an_outage(peer: Peer) -> None:
    engine = engine_on(peer, [], timeout_s=30)
    peer.mode = "hang"
    generation = engine.chat(HELLO, Sampling(time_budget=0.3), CancelToken())
    assert generation.stop_reason == "time"
    assert engine.outage is None


@pytest.mark.parametrize(
    ("mode", "message", "outage"),
    [
        ("malformed", "sent a malformed answer", True),
        ("500", "answered 500 .*scripted.*see the server's log", True),
        ("404", "is hearth.engine.api right for this server", True),
        ("400", "answered 400", False),
    ],
)
def test_errors_say_what_is_wrong(peer: Peer, mode: str, message: str, outage: bool) -> None:
    outages: list[str | None] = []
    engine = engine_on(peer, outages)
    peer.mode = mode
    with pytest.raises(RemoteError, match=message):
        engine.chat(HELLO, Sampling(), CancelToken())
    # A request the server refuses while it serves others is not an outage.
    assert (len(outages) == 1) is outage


def test_an_unknown_fim_format_is_a_problem_to_fix(peer: Peer) -> None:
    engine = RemoteEngine(RemoteConfig(peer.url, api="openai", model="mystery-model"))
    engine.connect()
    assert engine.problem is not None
    assert "hearth.engine.fimFormat" in engine.problem
    with pytest.raises(RemoteError, match="fimFormat"):
        engine.infill("def f():\n    ", "\n", Sampling(), CancelToken())
    assert peer.requests == 0


def test_a_llamacpp_model_of_a_format_not_known_goes_through_infill(peer: Peer) -> None:
    engine = RemoteEngine(RemoteConfig(peer.url, api="llamacpp"))
    engine.connect()
    assert engine.model_name == "mystery-7b.Q8_0.gguf"
    assert engine.context_size == 4096
    assert engine.fim_family == "llama.cpp /infill"
    context = FileContext("shop", "cart.py", "import os\n", (("tax.py", "RATE = 2\n"),))
    cut = Steering(starts_with="ret")
    generation = engine.infill(
        "def f(x):\n", "\n", Sampling(), CancelToken(), steering=cut, context=context
    )
    assert generation.text == "return x", "the cut-off word starts the text, as it ended the prompt"
    assert (generation.stats.reused_tokens, generation.stats.evaluated_tokens) == (120, 5)
    ((path, body),) = peer.posted
    assert path == "/infill"
    assert body["input_extra"] == [{"filename": "tax.py", "text": "RATE = 2\n"}]
    assert body["input_prefix"] == "import os\ndef f(x):\n"
    assert body["prompt"] == "ret"
    assert body["cache_prompt"] is True


def test_steering_it_ignores_is_said_once_in_the_log(
    peer: Peer, caplog: pytest.LogCaptureFixture
) -> None:
    engine = engine_on(peer, [])
    # Chat APIs do not continue a started answer: chat ignores starts_with too.
    steering = Steering(starts_with="Hel", avoid=("print(x)",))
    with caplog.at_level(logging.DEBUG, logger="lsp_server.inference.remote.engine"):
        for _ in range(2):
            assert engine.chat(HELLO, Sampling(), CancelToken(), steering=steering).text == "Hello!"
    assert [r.getMessage() for r in caplog.records if "steering" in r.getMessage()] == [
        "the remote engine ignores steering.avoid (said once)",
        "the remote engine ignores steering.starts_with (said once)",
    ]


def test_a_llamacpp_model_of_a_known_format_gets_hearths_prompt(peer: Peer) -> None:
    config = RemoteConfig(peer.url, api="llamacpp", fim_format="qwen2.5-coder")
    engine = RemoteEngine(config)
    engine.connect()
    assert engine.fim_family == "qwen2.5-coder"
    engine.infill("def f(x):\n", "\n", Sampling(), CancelToken(), middle="    ")
    ((path, body),) = peer.posted
    assert path == "/completion"
    # Typing goes after the suffix, so each key only appends to what the server cached.
    assert body["prompt"] == "<|fim_prefix|>def f(x):\n<|fim_suffix|>\n<|fim_middle|>    "


def test_a_long_prefix_is_cut_to_the_budget(peer: Peer) -> None:
    config = RemoteConfig(peer.url, api="llamacpp", fim_format="qwen2.5-coder")
    engine = RemoteEngine(config)
    engine.connect()
    prefix = "".join(f"x{i} = {i}\n" for i in range(2000))
    suffix = "print(x1)\n"
    engine.infill(
        prefix,
        suffix,
        Sampling(),
        CancelToken(),
        middle="y = ",
        layout=engine.layout.with_budget(200),
    )
    ((_, body),) = peer.posted
    sent = body["prompt"].removeprefix("<|fim_prefix|>")
    sent_prefix, rest = sent.split("<|fim_suffix|>")
    assert rest == f"{suffix}<|fim_middle|>y = ", "the suffix and the middle whole"
    assert prefix.endswith(sent_prefix), "cut from the left"
    # As the embedded engine cuts: the middle keeps a quarter, the prefix has
    # the rest (counted again from the cut, give or take a piece).
    wanted = 200 - 200 // 4 - len(estimated_tokens(suffix))
    assert abs(len(estimated_tokens(sent_prefix)) - wanted) <= 1
