"""Engine micro-benchmark: what the hardware gives, per built-in model.

For each installed preset: load time, cold and warm FIM latency on a real
standard-library file, latency after a one-character edit in the prefix
(what prompt layout costs), prompt and decode rates, and the time from a
cancel to the generation stopping. Medians of several runs; one table.

    python benchmarks/engine.py [--runs N] [--presets default,small]
"""

from __future__ import annotations

import argparse
import inspect
import logging
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import record

from lsp_server.inference import models
from lsp_server.inference.api import Generation, Sampling
from lsp_server.inference.cancel import CancelToken
from lsp_server.inference.llama.engine import EngineConfig, LlamaEngine
from lsp_server.inference.llama.steps import decode_batch

BATCHED = (1, 2, 3, 4)  # tokens in one forward pass
# Counting, a number a line: both built-in models go on as long as allowed.
ENDLESS = "".join(f"{i}\n" for i in range(1, 40))


@dataclass
class Row:
    preset: str
    load_s: float
    prompt_tokens: int
    cold_s: float
    warm_read_s: float
    edit_read_s: float
    edit_evaluated: int
    prompt_tps: float
    decode_tps: float
    cancel_ms: float
    after_cancel: int
    pass_ms: dict[int, float]  # one forward pass with k tokens, after the prompt


def fim_sample() -> tuple[str, str]:
    """About 800 tokens of real code around a cursor in a standard-library function."""
    source = Path(inspect.getfile(statistics)).read_text()
    cursor = source.index("def median_low")
    cursor = source.index("\n", source.index('"""', source.index('"""', cursor) + 3)) + 1
    return source[cursor - 2400 : cursor], source[cursor : cursor + 600]


def median_of(runs: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(runs))


def bench(preset: str, runs: int) -> Row:
    path = models.locate(models.ModelChoice(preset, "benchmark"))
    config = EngineConfig(context_size=4096)
    started = time.monotonic()
    engine = LlamaEngine(path, config)
    load_s = time.monotonic() - started
    prefix, suffix = fim_sample()
    sampling = Sampling(max_tokens=16)

    def infill(text: str, sampling: Sampling = sampling) -> Generation:
        return engine.infill(text, suffix, sampling, CancelToken())

    def timed(call: Callable[[], Generation]) -> tuple[float, Generation]:
        begin = time.monotonic()
        result = call()
        return time.monotonic() - begin, result

    colds, prompt_rates = [], []
    for i in range(runs):
        # A different first line each run, so nothing of the prompt is cached.
        seconds, result = timed(partial(infill, f"# run {i} {time.time()}\n" + prefix))
        colds.append(seconds)
        prompt_rates.append(result.stats.evaluated_tokens / result.stats.prompt_seconds)
    # The same prompt again: only its last token is read; the rest is decoding.
    warm_read = median_of(runs, lambda: infill(prefix).stats.prompt_seconds)
    prompt_tokens = infill(prefix).stats.prompt_tokens
    edits, evaluated = [], 0
    for i in range(runs):
        infill(prefix)
        # One character typed near the end of the prefix, as while typing a line.
        result = infill(prefix + "abcdefghij"[i % 10])
        edits.append(result.stats.prompt_seconds)
        evaluated = result.stats.evaluated_tokens
    passes = batched_passes(engine, infill, prefix, max(runs, 5))
    decode_rates = []
    for _ in range(runs):
        long = engine.infill(ENDLESS, "", Sampling(max_tokens=96), CancelToken())
        decode_rates.append(long.stats.decoded_tokens / long.stats.decode_seconds)
    cancel_delays, after_cancel = [], 0
    for _ in range(runs):
        token = CancelToken()
        fired: list[float] = []
        timer = threading.Timer(
            0.5, lambda t=token, f=fired: (f.append(time.monotonic()), t.cancel())
        )
        timer.start()
        result = engine.infill(ENDLESS, "", Sampling(max_tokens=4000), token)
        cancel_delays.append((time.monotonic() - fired[0]) * 1000)
        after_cancel = max(after_cancel, result.stats.decoded_after_cancel)
    engine.close()
    return Row(
        preset=preset,
        load_s=load_s,
        prompt_tokens=prompt_tokens,
        cold_s=statistics.median(colds),
        warm_read_s=warm_read,
        edit_read_s=statistics.median(edits),
        edit_evaluated=evaluated,
        prompt_tps=statistics.median(prompt_rates),
        decode_tps=statistics.median(decode_rates),
        cancel_ms=statistics.median(cancel_delays),
        after_cancel=after_cancel,
        pass_ms=passes,
    )


def batched_passes(
    engine: LlamaEngine, infill: Callable[[str], Generation], prefix: str, runs: int
) -> dict[int, float]:
    """Milliseconds of one forward pass with k tokens at the end of the
    prompt, for each k in BATCHED: what k candidates decoded together cost
    a step, against k steps of one (the weights are read once a pass).
    Through the engine's own llama.cpp context and decode call."""
    infill(prefix)
    llm = engine._llm  # the engine's Llama, for a bare decode call
    base = llm.n_tokens
    token = engine.tokenize(" value")[0]
    passes = {}
    for k in BATCHED:

        def one_pass(k: int = k) -> float:
            llm.n_tokens = base
            begin = time.monotonic()
            decode_batch(llm, [token] * k, logits_from=0)
            return (time.monotonic() - begin) * 1000

        passes[k] = median_of(runs, one_pass)
    llm.n_tokens = base
    return passes


def table(rows: list[Row]) -> str:
    header = (
        "| model | load s | prompt tok | cold FIM s | same prompt: read ms "
        "| +1 char: read s (tokens) | prompt tok/s | decode tok/s | cancel->stop ms "
        "| tok after cancel |"
    )
    lines = [header, "|---" * (header.count("|") - 1) + "|"]
    for r in rows:
        lines.append(
            f"| {r.preset} | {r.load_s:.2f} | {r.prompt_tokens} | {r.cold_s:.2f} "
            f"| {r.warm_read_s * 1000:.0f} "
            f"| {r.edit_read_s:.2f} ({r.edit_evaluated}) | {r.prompt_tps:.0f} | {r.decode_tps:.1f} "
            f"| {r.cancel_ms:.0f} | {r.after_cancel} |"
        )
    return "\n".join(lines)


def passes_table(rows: list[Row]) -> str:
    """One forward pass with k tokens: its time, and against k passes of one."""
    header = "| model | " + " | ".join(f"{k} tok: ms (vs {k} x 1)" for k in BATCHED) + " |"
    lines = [header, "|---" * (len(BATCHED) + 1) + "|"]
    for r in rows:
        one = r.pass_ms[1]
        cells = [f"{r.pass_ms[k]:.0f} ({r.pass_ms[k] / (k * one):.2f})" for k in BATCHED]
        lines.append(f"| {r.preset} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--presets", default="default,small")
    args = parser.parse_args()
    rows = []
    for name in args.presets.split(","):
        if not models.preset_installed(models.PRESETS[name]):
            print(f"(skipping {name}: pip install 'hearth-lsp[{models.PRESETS[name].extra}]')")
            continue
        rows.append(bench(name, args.runs))
    report = (
        f"engine micro-benchmark, medians of {args.runs} runs; cold FIM: a new ~800-token "
        "prompt and 16 new tokens; +1 char: one character typed at the end of the prefix\n\n"
        + table(rows)
        + "\n\none forward pass with k tokens at the end of the prompt (what k candidates "
        "decoded together cost a step), and its time against k passes of one token:\n\n"
        + passes_table(rows)
    )
    print(report)
    record.keep("engine.md", report, parser, args)


if __name__ == "__main__":
    main()
