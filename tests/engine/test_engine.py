"""The llama.cpp engine on the real model: FIM, chat, KV reuse, healing,
the detour, alternatives, prompt cuts. The stop reasons, limits, cancel and
time budget it shares with the fake engine are in tests/contract/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from lsp_server.inference import models
from lsp_server.inference.api import ChatMessage, Sampling, Steering
from lsp_server.inference.cancel import CancelToken
from lsp_server.inference.llama.cache import SHIFT_MIN_TOKENS
from lsp_server.inference.llama.engine import EngineConfig, LlamaEngine
from lsp_server.layout import FileContext
from lsp_server.postprocess import Plan
from tests.conftest import ENDLESS, model_spec

pytestmark = pytest.mark.model

PREFIX = '''def is_even(number: int) -> bool:
    """Return True when number is divisible by two."""
    return number % 2 == 0


def average(values: list[float]) -> float:
    """Return the arithmetic mean of values."""
'''
SUFFIX = """


print(average([1.0, 2.0, 3.0]))
"""


def test_fim_completes_an_obvious_function_with_valid_python(engine: LlamaEngine) -> None:
    # An instruct model goes on past the hole; the blank line ends the function
    # (any body the model may choose for it fits in 128 tokens).
    sampling = Sampling(max_tokens=128, stop=("\n\n",))
    result = engine.infill(PREFIX, SUFFIX, sampling, CancelToken())
    assert result.text.strip(), "the model wrote nothing"
    assert result.stop_reason in ("end", "stop")
    source = PREFIX + result.text + SUFFIX
    tree = ast.parse(source)  # raises if the completion broke the file
    average = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "average")
    assert len(average.body) >= 2, "the body should continue past the docstring"


def read_ahead(engine: LlamaEngine, prefix: str, suffix: str) -> None:
    """Read a prompt into the KV cache without writing (as the server reads ahead).
    A generation after it reads the prompt's last token alone, as every repeat
    of it does: the same computation each time, so the same text on any CPU
    (a token read in a batch can round otherwise than read alone, and flip a
    near-tie)."""
    engine.infill(prefix, suffix, Sampling(max_tokens=0), CancelToken())


def test_repeated_prompt_is_served_from_the_kv_cache(engine: LlamaEngine) -> None:
    sampling = Sampling(max_tokens=8)
    read_ahead(engine, PREFIX, SUFFIX)
    first = engine.infill(PREFIX, SUFFIX, sampling, CancelToken())
    second = engine.infill(PREFIX, SUFFIX, sampling, CancelToken())
    assert second.text == first.text
    assert second.stats.prompt_tokens == first.stats.prompt_tokens
    for served in (first, second):
        assert served.stats.evaluated_tokens == 1
        assert served.stats.reused_tokens == served.stats.prompt_tokens - 1


def test_middle_start_is_appended_and_not_repeated(engine: LlamaEngine) -> None:
    result = engine.infill(
        PREFIX, SUFFIX, Sampling(max_tokens=24, stop=("\n",)), CancelToken(), middle="    return"
    )
    assert not result.text.startswith("    return")
    ast.parse(PREFIX + "    return" + result.text + SUFFIX)


def test_prompt_longer_than_the_context_is_cut_to_fit(model_path: Path) -> None:
    engine = LlamaEngine(model_path, EngineConfig(context_size=512))
    prefix = "".join(f"value_{i} = {i}\n" for i in range(5000))
    suffix = "".join(f"print(value_{i})\n" for i in range(5000))
    result = engine.infill(prefix, suffix, Sampling(max_tokens=16), CancelToken())
    assert 400 < result.stats.prompt_tokens <= engine.context_size - 16
    assert result.stop_reason != "cancelled"
    budgeted = engine.infill(
        prefix,
        suffix,
        Sampling(max_tokens=16),
        CancelToken(),
        layout=engine.layout.with_budget(200),
    )
    assert budgeted.stats.prompt_tokens <= 200 + 3  # the three FIM markers
    engine.close()


def test_chat_uses_the_models_template(engine: LlamaEngine) -> None:
    prompt = engine.tokenize_chat([ChatMessage("user", "hi")])
    text = engine._llm.detokenize(prompt, special=True).decode()
    assert "<|im_start|>user" in text
    result = engine.chat(
        [
            ChatMessage("system", "You are a terse assistant."),
            ChatMessage("user", "In one sentence: what does Python's len() return?"),
        ],
        Sampling(max_tokens=40),
        CancelToken(),
    )
    assert result.text.strip()
    assert "<|im_end|>" not in result.text


def test_chat_leaves_the_completion_prompt_in_the_cache(engine: LlamaEngine) -> None:
    prefix = "".join(f"price_{i} = lookup({i}, rate={i * 2})\n" for i in range(20))
    read_ahead(engine, prefix, "\n")
    first = engine.infill(prefix, "\n", Sampling(max_tokens=4), CancelToken())
    engine.chat([ChatMessage("user", "Say hello.")], Sampling(max_tokens=8), CancelToken())
    again = engine.infill(prefix, "\n", Sampling(max_tokens=4), CancelToken())
    # Everything but the last prompt token, whose logits sampling needs anew.
    assert again.stats.reused_tokens == first.stats.prompt_tokens - 1
    assert again.text == first.text


def test_time_budget_stops_prompt_reading_and_keeps_what_was_read(engine: LlamaEngine) -> None:
    prefix = "".join(f"total_{i} = compute({i}, factor={i * 3})\n" for i in range(40))
    # A third of the time reading it all takes here, now: a first batch is
    # read, not all. Timed now, not from the session's pace: the machine's
    # load changes, and a budget from a loaded start let it all be read.
    forget(engine)
    reading = engine.infill(prefix, "", Sampling(max_tokens=0), CancelToken()).stats.prompt_seconds
    forget(engine)
    sampling = Sampling(max_tokens=4, time_budget=reading / 3)
    first = engine.infill(prefix, "", sampling, CancelToken())
    assert first.stop_reason == "time"
    assert first.text == ""
    assert 0 < first.stats.evaluated_tokens < first.stats.prompt_tokens
    # The next request picks up where the first stopped reading.
    second = engine.infill(prefix, "", Sampling(max_tokens=4), CancelToken())
    assert second.stats.reused_tokens >= first.stats.evaluated_tokens


def forget(engine: LlamaEngine) -> None:
    """Leave the KV cache with another prompt: the next one is read from its start."""
    engine.generate(engine.tokenize("x = 1\n"), Sampling(max_tokens=1), CancelToken())


def test_more_tokens_than_the_window_holds_end_at_its_edge(model_path: Path) -> None:
    engine = LlamaEngine(model_path, EngineConfig(context_size=512))
    result = engine.infill(ENDLESS, "", Sampling(max_tokens=5000), CancelToken())
    assert result.stop_reason == "length"
    assert result.stats.prompt_tokens > 100, "the prompt keeps its room"
    assert result.stats.prompt_tokens + result.stats.decoded_tokens <= 512 + 1
    engine.close()


def test_healing_makes_the_first_tokens_agree_with_the_cut_text(engine: LlamaEngine) -> None:
    prefix = "class Reader:\n    def close(self):\n        self."
    suffix = "\n\n    def open(self):\n        self.instream = open(self.path)\n"
    # Left to itself after `self.`, the model names something else first;
    # healed with the half-typed `inst`, it must start with it.
    inst = Steering(starts_with="inst")
    result = engine.infill(prefix, suffix, Sampling(max_tokens=8), CancelToken(), steering=inst)
    assert result.text.startswith("inst"), result.text
    spaced = engine.infill(
        "total = price",
        "\n",
        Sampling(max_tokens=4),
        CancelToken(),
        steering=Steering(starts_with=" "),
    )
    assert spaced.text.startswith(" "), spaced.text
    # The indentation of an empty line is written exactly: the loop above has
    # ended, the cursor is back at the function's level.
    loop = "def total(items):\n    result = 0\n    for item in items:\n        result += item\n"
    indent = Steering(starts_with="    ")
    indented = engine.infill(loop, "\n", Sampling(max_tokens=6), CancelToken(), steering=indent)
    assert indented.text.startswith("    "), indented.text
    assert indented.text[4:5] not in (" ", "\t"), indented.text


def test_a_middle_ending_mid_token_is_healed_at_its_last_token(engine: LlamaEngine) -> None:
    # `self.` ends a token here, where code has `.first` and `.read` as single
    # tokens: left in the prompt, both models went on with ` first` and ` read()`.
    pair = "class Pair:\n    def __init__(self, first, second):\n        self.first = first\n"
    swapped = engine.infill(
        pair + "        self.second = second\n\n    def swap(self):\n",
        "\n",
        Sampling(max_tokens=8, stop=("\n",)),
        CancelToken(),
        middle="        return Pair(self.second, self.",
    )
    # The name goes on right after the dot, whichever name the model chose.
    assert re.match(r"[A-Za-z_]", swapped.text), swapped.text
    read = engine.infill(
        "def read(path):\n    with open(path) as handle:\n",
        "\n",
        Sampling(max_tokens=8, stop=("\n",)),
        CancelToken(),
        middle="        return handle.",
    )
    assert re.match(r"[A-Za-z_]", read.text), read.text


def test_context_comes_first_and_within_half_the_budget(engine: LlamaEngine) -> None:
    context = FileContext(
        repo="shop",
        path="cart.py",
        header="import os\n" * 300,
        files=(("rates.py", "RATE = 2\n" * 300), ("tax.py", "def tax(x):\n    return x\n")),
    )
    sampling = Sampling(max_tokens=1)
    bare = engine.infill(
        PREFIX, SUFFIX, sampling, CancelToken(), layout=engine.layout.with_budget(300)
    )
    full = engine.infill(
        PREFIX,
        SUFFIX,
        sampling,
        CancelToken(),
        layout=engine.layout.with_budget(300),
        context=context,
    )
    assert full.stats.prompt_tokens <= 300 + 8  # the budget, plus the FIM markers
    assert full.stats.prompt_tokens > bare.stats.prompt_tokens, "the header took its half"
    # The same context again: everything before the window is still cached.
    again = engine.infill(
        PREFIX + "x",
        SUFFIX,
        sampling,
        CancelToken(),
        layout=engine.layout.with_budget(300),
        context=context,
    )
    assert again.stats.reused_tokens >= 150


def test_typing_in_the_middle_reads_only_the_new_tokens(engine: LlamaEngine) -> None:
    # More prefix than the budget holds: where it is cut must not move as the middle grows.
    prefix = "".join(f"weight_{i} = measure({i}, unit='kg')\n" for i in range(80))
    sampling = Sampling(max_tokens=2)
    typed = "total = weight_1 + weight_2"
    first = engine.infill(
        prefix,
        SUFFIX,
        sampling,
        CancelToken(),
        middle=typed[:8],
        layout=engine.layout.with_budget(400),
    )
    for end in range(9, len(typed) + 1):
        step = engine.infill(
            prefix,
            SUFFIX,
            sampling,
            CancelToken(),
            middle=typed[:end],
            layout=engine.layout.with_budget(400),
        )
        assert step.stats.evaluated_tokens <= 3, f"{typed[:end]!r}: {step.stats}"
    assert step.stats.prompt_tokens - first.stats.prompt_tokens <= 8


def test_a_span_left_out_of_the_prompt_keeps_what_follows_cached(engine: LlamaEngine) -> None:
    head = engine.tokenize("import math\n\n\n")
    gone = engine.tokenize("".join(f"RATE_{i} = {i} * math.pi\n" for i in range(12)))
    # Counting: the shifted tokens keep what they saw of the span dropped, and
    # may round otherwise than a fresh read; counting goes on the same whatever.
    kept = engine.tokenize(ENDLESS)
    assert len(kept) >= SHIFT_MIN_TOKENS, "long enough to be worth moving"
    sampling = Sampling(max_tokens=12, stop=("\n\n",))
    engine.generate([*head, *gone, *kept], sampling, CancelToken())
    shifted = engine.generate([*head, *kept], sampling, CancelToken())
    # The lines after the dropped span moved into place instead of being read again.
    assert shifted.stats.evaluated_tokens == 1
    assert shifted.stats.reused_tokens == len(head) + len(kept) - 1
    engine.generate(engine.tokenize("x = 1\n"), Sampling(max_tokens=1), CancelToken())
    fresh = engine.generate([*head, *kept], sampling, CancelToken())
    assert fresh.stats.reused_tokens == 0
    assert shifted.text == fresh.text, "a shifted cache writes what a fresh read does"


def test_text_put_in_before_cached_tokens_is_read_again_from_there(engine: LlamaEngine) -> None:
    head = engine.tokenize("import math\n\n\n")
    added = engine.tokenize("".join(f"RATE_{i} = {i} * math.pi\n" for i in range(12)))
    kept = engine.tokenize(PREFIX)
    sampling = Sampling(max_tokens=1)
    engine.generate([*head, *kept], sampling, CancelToken())
    grown = engine.generate([*head, *added, *kept], sampling, CancelToken())
    # Positions in the cache stay consecutive: nothing after the insertion is reused.
    assert grown.stats.reused_tokens == len(head)


def test_a_first_line_to_avoid_is_written_another_way(engine: LlamaEngine) -> None:
    # An empty line between statements, as post-processing asks for it: the
    # indentation healed, the hole ending with its line break.
    prefix = "def area(shape):\n    width = shape.width\n"
    suffix = "    return width * height\n\n\nprint(area(box))\n"
    sampling = Sampling(max_tokens=24, stop=("\n",))
    indent = Steering(starts_with="    ")
    read_ahead(engine, prefix, suffix)
    first = engine.infill(prefix, suffix, sampling, CancelToken(), steering=indent)
    line = first.text.split("\n")[0]
    assert line.strip(), first.text
    # Told that this very line is the code below the hole, the model writes another.
    avoiding = Steering(starts_with="    ", avoid=(line,))
    second = engine.infill(prefix, suffix, sampling, CancelToken(), steering=avoiding)
    other = second.text.split("\n")[0]
    assert other.startswith("    "), second.text
    assert other.strip(), second.text
    assert "".join(other.split()) != "".join(line.split()), (line, other)
    # It went back to a choice on the line, not to the start: the prompt stays
    # cached and the tokens written again are few.
    assert second.stats.decoded_tokens <= first.stats.decoded_tokens + 24
    assert second.stats.evaluated_tokens <= 1, second.stats
    # The model's own first line is left alone when it is not one to avoid.
    other_avoided = Steering(starts_with="    ", avoid=("pass",))
    again = engine.infill(prefix, suffix, sampling, CancelToken(), steering=other_avoided)
    assert again.text == first.text


def test_code_first_keeps_the_first_token_after_the_indentation_from_a_start(
    engine: LlamaEngine,
) -> None:
    # Comments before every statement: the model is likely to write another.
    prefix = "def area(shape):\n    # the width\n    width = shape.width\n"
    suffix = "    return width * height\n\n\nprint(area(box))\n"
    sampling = Sampling(max_tokens=12, stop=("\n",))
    read_ahead(engine, prefix, suffix)
    free = engine.infill(
        prefix, suffix, sampling, CancelToken(), steering=Steering(starts_with="    ")
    )
    begins = free.text[4:5]
    assert begins.strip(), free.text
    # Whatever it began with, told that the line may not begin so, it writes another start.
    told = Steering(starts_with="    ", code_first=(begins, "#"))
    kept = engine.infill(prefix, suffix, sampling, CancelToken(), steering=told)
    assert kept.text.startswith("    "), kept.text
    assert kept.text[4:5].strip(), kept.text
    assert kept.text[4:5] not in (begins, "#"), (free.text, kept.text)
    # How sure it was of each line: a log-probability, at most 0, for each.
    assert len(free.line_scores) >= len(free.text.split("\n")), free
    assert all(score <= 0.0 for score in free.line_scores), free.line_scores


def test_alternatives_branch_off_the_first_text_and_leave_it_as_it_was(
    engine: LlamaEngine,
) -> None:
    sampling = Sampling(max_tokens=24, stop=("\n",))
    read_ahead(engine, PREFIX, SUFFIX)
    alone = engine.infill(PREFIX, SUFFIX, sampling, CancelToken())
    assert not alone.alternatives  # none asked for
    # Another prompt between: the first text is written token by token again,
    # as the first time (not checked in a batch: see the next test).
    engine.infill(PREFIX + "\n", SUFFIX, Sampling(max_tokens=1), CancelToken())
    read_ahead(engine, PREFIX, SUFFIX)
    asked = engine.infill(
        PREFIX, SUFFIX, sampling, CancelToken(), steering=Steering(alternatives=2)
    )
    # Asking for alternatives does not change the first text.
    assert asked.text == alone.text
    assert len(asked.alternatives) == 2, asked
    said = {"".join(text.split()) for text in (asked.text, *asked.alternatives)}
    assert len(said) > 1, asked  # each takes a runner-up that says another thing
    for other in asked.alternatives:
        assert "\n" not in other  # the same stops hold
    # They branch off the first text in the cache: the prompt is not read
    # again, and each writes at most its own tokens.
    assert asked.stats.evaluated_tokens <= 1, asked.stats
    assert asked.stats.decoded_tokens <= 3 * alone.stats.decoded_tokens + 2 * 24


def test_alternatives_asked_again_check_the_first_text_in_one_batch(engine: LlamaEngine) -> None:
    # The cycle key: the same prompt again, now with alternatives. What it
    # wrote the first time is read as a draft in one batch, each token
    # checked against the model's choice, instead of written again one a pass.
    sampling = Sampling(max_tokens=24, stop=("\n",))
    read_ahead(engine, PREFIX, SUFFIX)
    shown = engine.infill(PREFIX, SUFFIX, sampling, CancelToken())
    again = engine.infill(
        PREFIX, SUFFIX, sampling, CancelToken(), steering=Steering(alternatives=2)
    )
    assert 0 < again.stats.checked_tokens <= shown.stats.decoded_tokens, again.stats
    if again.stats.checked_tokens == shown.stats.decoded_tokens:  # no near tie flipped
        assert again.text == shown.text
        # Checked in a batch, its lines are scored as when written one a pass.
        lines = len(shown.text.split("\n"))
        assert again.line_scores[:lines] == pytest.approx(shown.line_scores[:lines], abs=0.05)
    assert len(again.alternatives) == 2, again
    assert shown.stats.checked_tokens == 0  # without alternatives: written anew


def test_each_alternative_reads_the_first_texts_tokens_before_its_branch(
    engine: LlamaEngine,
) -> None:
    # Each alternative overwrites the cache from its branch on; one written
    # later, from a branch further on, must still find the first text's
    # tokens there (llama.cpp refuses a gap, and another text there would
    # change what the model writes).
    sampling = Sampling(max_tokens=24, stop=("\n",))
    read_ahead(engine, PREFIX, SUFFIX)
    one = engine.infill(PREFIX, SUFFIX, sampling, CancelToken(), steering=Steering(alternatives=1))
    four = engine.infill(PREFIX, SUFFIX, sampling, CancelToken(), steering=Steering(alternatives=4))
    assert len(four.alternatives) == 4, four
    assert four.text == one.text
    assert four.alternatives[0] == one.alternatives[0]  # the least sure choice's, both times


def test_alternatives_stop_at_the_cancel(engine: LlamaEngine) -> None:
    token = CancelToken()
    first_done = False
    steps_after_cancel = 0

    def cancel_in_the_first_alternative(text: str) -> bool:
        nonlocal first_done, steps_after_cancel
        if first_done:  # writing an alternative: the user typed on
            token.cancel("test")
            steps_after_cancel += 1
            return False
        first_done = "\n" in text
        return first_done

    steering = Steering(alternatives=2, stop_when=cancel_in_the_first_alternative)
    result = engine.infill(PREFIX, SUFFIX, Sampling(max_tokens=48), token, steering=steering)
    assert first_done
    assert result.text
    assert result.alternatives == ()
    assert steps_after_cancel == 1  # no token written after the one that saw it
    assert result.stats.decoded_after_cancel == 0


def test_a_line_begun_is_not_finished_as_the_line_below(engine: LlamaEngine) -> None:
    # The cursor after `    h`: the model writes the half word again (healing).
    typed = "def area(shape):\n    width = shape.width\n    h"
    suffix = "\n    return width * height\n"
    plan = Plan.at(typed, suffix)
    sampling = Sampling(max_tokens=24, stop=("\n",))
    healed = Steering(starts_with=plan.starts_with)
    first = engine.infill(
        plan.prompt_prefix, plan.prompt_suffix, sampling, CancelToken(), steering=healed
    )
    line = first.text.split("\n")[0]
    assert line.startswith("h"), first.text
    assert len(line) > 1, first.text
    # Were that line the one below the cursor, what post-processing asks to
    # avoid turns the same prompt's first line another way, still after `h`.
    below = Plan.at(typed, f"\n    {line}{suffix}")
    avoiding = Steering(starts_with=plan.starts_with, avoid=below.avoid)
    second = engine.infill(
        plan.prompt_prefix, plan.prompt_suffix, sampling, CancelToken(), steering=avoiding
    )
    other = second.text.split("\n")[0]
    assert other.startswith("h"), second.text
    assert "".join(other.split()) != "".join(line.split()), (line, other)


def test_a_built_in_model_is_the_size_its_preset_says_and_gets_its_layout(
    engine: LlamaEngine,
) -> None:
    preset = models.PRESETS.get(model_spec())
    if preset is None:
        pytest.skip(f"HEARTH_TEST_MODEL is a model file, not a preset: {model_spec()}")
    assert engine.parameters == preset.parameters
    assert engine.layout is preset.layout


def test_real_model_declares_its_fim_tokens(engine: LlamaEngine) -> None:
    found = engine.fim_format
    assert found is not None
    assert found.family == "qwen2.5-coder"
    assert found.source == "gguf"
    assert found.repo is not None
    assert found.file_sep is not None
    assert found.file_sep in found.stops
    # User code that spells a control token is read as text, never as the token.
    assert len(engine.tokenize("<|fim_prefix|>")) > 1
