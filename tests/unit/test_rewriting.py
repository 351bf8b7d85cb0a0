"""How a rewrite's answer is read: the code of its block, with or without a
sentence of reason before it, and when the answer is written."""

from __future__ import annotations

from lsp_server.features import rewriting
from lsp_server.features.rewriting import Request

REGION = "def f(x):\n    return x + 1\n"


def test_the_code_at_once_is_read_up_to_the_closing_fence() -> None:
    answer = "def f(x):\n    return x - 1\n```\nThat is all."
    assert rewriting.written(answer)
    assert rewriting.code_of(answer, REGION) == "def f(x):\n    return x - 1\n"
    again = "```python\ndef f(x):\n    return x\n```"
    assert rewriting.code_of(again, REGION) == "def f(x):\n    return x\n", "a fence written again"


def test_a_reason_first_is_left_out_and_its_fences_read_as_a_block() -> None:
    answer = " that 1 is added.\n\n```python\ndef f(x):\n    return x - 1\n```"
    assert not rewriting.reasoned_written(answer[: answer.find("def")]), "a block just opened"
    assert rewriting.reasoned_written(answer)
    assert rewriting.code_of(answer, REGION, reasoned=True) == "def f(x):\n    return x - 1\n"
    assert rewriting.reason_of(answer) == "that 1 is added."
    assert rewriting.code_of("no block at all", REGION, reasoned=True) == "\n"


def test_the_request_is_laid_out_around_the_code_and_its_answer_begun() -> None:
    request = Request("Correct it.", "A test fails.", "The mistake is")
    system, user = rewriting.messages("python", REGION, request)
    assert system.content == rewriting.SYSTEM_REASONED
    assert user.content == f"A test fails.\n\n```python\n{REGION}```\n\nCorrect it."
    assert rewriting.answer_prefix("python", request) == "The mistake is"
    plain = Request("Add type hints.")
    system, user = rewriting.messages("python", REGION, plain)
    assert system.content == rewriting.SYSTEM
    assert user.content.startswith("```python\n")
    assert rewriting.answer_prefix("python", plain) == "```python\n"
    told = request.told("A first answer was refused.")
    assert told.after == "Correct it.\n\nA first answer was refused."
    assert (told.before, told.reason) == (request.before, request.reason)
