"""A region written anew: the one path that fixes, edits by instruction and
next-edit suggestions share.

The model is shown what it needs to know first (a problem the region has,
the code it uses), then the region, then what is asked of it, and answers
with the whole region again, changed where the request needs it, in one
fenced block. The old region is the draft (`Steering.draft`): where the model
copies it, the embedded engine reads it in batches instead of writing it a
token a pass, so a rewrite costs about one read of the region plus the
tokens that change (llama/draft.py, benchmarks/rewrite.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from lsp_server.inference.api import ChatMessage, Engine, Generation, Sampling, Steering
from lsp_server.inference.cancel import CancelToken

SYSTEM = (
    "You are Hearth, a coding assistant inside the user's editor. You rewrite code "
    "as asked: all of the code again, changed only where the request needs it, in one "
    "fenced code block, with nothing before or after the block."
)
# With a reason first: one sentence of what must change, then the block.
SYSTEM_REASONED = (
    "You are Hearth, a coding assistant inside the user's editor. You rewrite code "
    "as asked: first one sentence that says what must change, then all of the code "
    "again, changed only where the request needs it, in one fenced code block, with "
    "nothing after the block."
)
REASON_TOKENS = 64  # the answer's budget for its sentence before the code
_OPENING = "```"
_CLOSING = "\n```"


@dataclass(frozen=True)
class Request:
    """What is asked of a region: `after` what to do with it, said after the
    code; `before` what the model should know first, said ahead of it."""

    after: str
    before: str = ""
    # How the answer starts when it is to say what must change before the
    # code ("The mistake is"); "" for the code at once.
    reason: str = ""
    # The same for the second try of an answer that changed nothing: the
    # model that saw no mistake is made to name one before the code.
    reason_when_unchanged: str = ""

    def told(self, more: str) -> Request:
        """The request with `more` said at its end (why a first answer was refused)."""
        return replace(self, after=f"{self.after}\n\n{more}")


def messages(fence: str, region: str, request: Request) -> list[ChatMessage]:
    """The conversation that asks for `region` (code of the language `fence`)
    rewritten as `request` says."""
    code = region if region.endswith("\n") else region + "\n"
    # What to do after the code: asked before it, the small model copied the
    # code unchanged for two of three instructions; after it, for none.
    question = f"```{fence}\n{code}```\n\n{request.after}"
    if request.before:
        question = f"{request.before}\n\n{question}"
    system = SYSTEM_REASONED if request.reason else SYSTEM
    return [ChatMessage("system", system), ChatMessage("user", question)]


def answer_prefix(fence: str, request: Request | None = None) -> str:
    """How the answer begins: the block's opening fence, so that the model
    starts with the code at once; or the start of its sentence of reason."""
    if request is not None and request.reason:
        return request.reason
    return f"```{fence}\n"


def written(text: str) -> bool:
    """For `Steering.stop_when`: the block is closed."""
    return _CLOSING in text


def reasoned_written(text: str) -> bool:
    """For `Steering.stop_when` of an answer with a reason first: the block
    opened after the sentence is closed."""
    opened = text.find(_OPENING)
    return opened >= 0 and _CLOSING in text[opened + len(_OPENING) :]


def reason_of(text: str) -> str:
    """The sentence before the block of an answer with a reason first."""
    opened = text.find(_OPENING)
    return (text[:opened] if opened >= 0 else "").strip()


def code_of(text: str, region: str, reasoned: bool = False) -> str:
    """The rewritten code in the model's answer `text`: the block's content
    (an opening fence written again is left out; with a reason first, what
    comes before the block), ending in a line break where `region` does."""
    if reasoned:
        opened = text.find(_OPENING)
        text = text[opened:] if opened >= 0 else ""
    if text.startswith(_OPENING):
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
    request: Request,
    max_tokens: int,
    *,
    draft: bool = True,
) -> Generation:
    """The model's answer with `region` rewritten (on the scheduler's worker):
    greedy, stopped at the block's end, with the region as its draft (found
    where the code starts, after a reason)."""
    stop = reasoned_written if request.reason else written
    steering = Steering(stop_when=stop, draft=region if draft else "")
    prefix = answer_prefix(fence, request) if engine.CONTINUES_ANSWERS else ""
    return engine.chat(
        messages(fence, region, request),
        Sampling(max_tokens=max_tokens, temperature=0.0),
        cancel,
        steering=steering,
        answer_prefix=prefix,
    )
