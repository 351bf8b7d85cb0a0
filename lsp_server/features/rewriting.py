"""A region written anew: the one path that fixes, edits by instruction and
next-edit suggestions share.

The model is shown the region, then what is asked of it, and answers with
the whole region again, changed where the request needs it, in one fenced
block. The old region is the draft (`Steering.draft`): where the model
copies it, the embedded engine reads it in batches instead of writing it a
token a pass, so a rewrite costs about one read of the region plus the
tokens that change (llama/draft.py, benchmarks/rewrite.py).
"""

from __future__ import annotations

from lsp_server.inference.api import ChatMessage, Engine, Generation, Sampling, Steering
from lsp_server.inference.cancel import CancelToken

SYSTEM = (
    "You are Hearth, a coding assistant inside the user's editor. You rewrite code "
    "as asked: all of the code again, changed only where the request needs it, in one "
    "fenced code block, with nothing before or after the block."
)
_CLOSING = "\n```"


def messages(fence: str, region: str, request: str) -> list[ChatMessage]:
    """The conversation that asks for `region` (code of the language `fence`)
    rewritten as `request` says."""
    code = region if region.endswith("\n") else region + "\n"
    # The request after the code: asked before it, the small model copied
    # the code unchanged for two of three instructions; after it, for none.
    question = f"```{fence}\n{code}```\n\n{request}"
    return [ChatMessage("system", SYSTEM), ChatMessage("user", question)]


def answer_prefix(fence: str) -> str:
    """How the answer begins: the block's opening fence, so that the model
    starts with the code at once."""
    return f"```{fence}\n"


def written(text: str) -> bool:
    """For `Steering.stop_when`: the block is closed."""
    return _CLOSING in text


def code_of(text: str, region: str) -> str:
    """The rewritten code in the model's answer `text`: the block's content
    (an opening fence written again is left out), ending in a line break
    where `region` does."""
    if text.startswith("```"):
        text = text[text.find("\n") + 1 :]
    end = text.find(_CLOSING)
    code = text[:end] if end >= 0 else text
    code = code.rstrip("\n")
    return code + "\n" if region.endswith("\n") else code


def rewrite(
    engine: Engine,
    cancel: CancelToken,
    fence: str,
    region: str,
    request: str,
    max_tokens: int,
    *,
    draft: bool = True,
) -> Generation:
    """The model's answer with `region` rewritten (on the scheduler's worker):
    greedy, stopped at the block's end, with the region as its draft."""
    steering = Steering(stop_when=written, draft=region if draft else "")
    prefix = answer_prefix(fence) if engine.CONTINUES_ANSWERS else ""
    return engine.chat(
        messages(fence, region, request),
        Sampling(max_tokens=max_tokens, temperature=0.0),
        cancel,
        steering=steering,
        answer_prefix=prefix,
    )
