"""One generation per run of typing, not one per key.

At a human pace keys come 80 ms apart, and a suggestion takes a few forward
passes of 30-40 ms each on two cores: the generation a key starts is rarely
done when the next key comes. When that key only adds text at the cursor
(no line break) and the model's text agrees with it, the generation goes on
instead of starting again: the next request takes it over, and its answer is
what the model writes after the typed text. The last key of a line then
often finds the line already written (`pas` -> `s` and a line break, so
after `pass` there is nothing to add), at once. The first key that disagrees
with the model's text ends the generation (its stop test sees what was
typed), and the next request starts a fresh one.

At the end of a line the model writes the rest of the line and then the
next line: the request is answered as soon as the line is written, while
the model writes on. Typing the line through then finds the next line
written (or being written), for the end of the line, where the user
pauses (latency benchmark: 24 of 43 pauses).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from lsp_server.inference.api import Generation
from lsp_server.inference.scheduler import Ticket
from lsp_server.postprocess import Plan, unheal


class _Early:
    """The answer to a request, given from the worker thread as soon as its
    suggestion is written whole, before the generation ends."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.future: asyncio.Future[Generation] = self._loop.create_future()
        self._given = False

    def give(self, generation: Generation) -> None:
        if not self._given:  # once: the stop test sees every token after
            self._given = True
            self._loop.call_soon_threadsafe(self._set, generation)

    def _set(self, generation: Generation) -> None:
        if not self.future.done():
            self.future.set_result(generation)


@dataclass(frozen=True)
class _Typing:
    typed: str  # added at the cursor since the generation started
    plan: Plan  # the newest request's: it decides when the model is done
    at: int  # where in `typed` that request's cursor is
    early: _Early | None = None  # that request's answer, before the generation ends


class Followed:
    """One inline generation, and the typing since it started."""

    def __init__(self, before: str, after: str, plan: Plan, early: bool = True) -> None:
        self.before, self.after = before, after  # the text around its cursor
        self._first = plan
        # Whether a request is answered when its suggestion is whole (not when
        # alternatives are asked: they are written after the first text ends).
        self._answers_early = early
        # Replaced whole, never changed: the worker thread reads it.
        self._typing = _Typing("", plan, 0)
        self.edits = 0  # edits it was carried through
        self.ticket: Ticket | None = None

    def typed_in(self, text: str) -> str | None:
        """What the document's `text` has at the cursor since: None when it
        changed elsewhere, or a line break was typed."""
        before, after = self.before, self.after
        end = len(text) - len(after)
        if end < len(before) or not text.startswith(before) or not text.endswith(after):
            return None
        typed = text[len(before) : end]
        return None if "\n" in typed or "\r" in typed else typed

    def follow(self, typed: str) -> None:
        """The text at the cursor is now `typed` (longer, or shorter after a backspace)."""
        typing = self._typing
        if len(typed) < typing.at:  # backspaced past the newest request's cursor
            typing = _Typing(typed, self._first, 0)
        self._typing = _Typing(typed, typing.plan, typing.at, typing.early)
        self.edits += 1

    def take_over(self, plan: Plan) -> None:
        """A request at the end of the typed text now awaits it, with `plan`."""
        typing = self._typing
        self._typing = _Typing(typing.typed, plan, len(typing.typed))

    def awaited(self) -> asyncio.Future[Generation] | None:
        """The newest request's early answer (see `_Early`), None when only
        the generation's end answers it."""
        if not self._answers_early:
            return None
        typing = self._typing
        early = _Early()
        self._typing = _Typing(typing.typed, typing.plan, typing.at, early)
        return early.future

    def _written(self, text: str) -> str | None:
        """The model's text after the first cursor; None when its healing went elsewhere."""
        return unheal(text, self._first.cut)

    def done(self, text: str) -> bool:
        """The engine's stop test (on the worker thread)."""
        typing = self._typing
        if typing.at == 0 and not typing.typed:
            return self._ends(typing, self._first, text, text)
        if self._first.cut.startswith(text):
            return False  # still writing the text the prompt left out
        written = self._written(text)
        if written is None:
            return True
        common = min(len(written), len(typing.typed))
        if written[:common] != typing.typed[:common]:
            return True  # the user typed something else: nobody wants the rest
        if len(written) < typing.at:
            return False
        if typing.at == 0:
            return self._ends(typing, self._first, text, text)
        return self._ends(typing, typing.plan, typing.plan.cut + written[typing.at :], text)

    @staticmethod
    def _ends(typing: _Typing, plan: Plan, asked: str, text: str) -> bool:
        """`plan.done` for the text `asked` at the newest request's cursor (the
        generation's `text` from its start), after answering that request if
        its suggestion is written whole."""
        if typing.early is not None and plan.answered(asked):
            typing.early.give(Generation(text, "writing"))
        return plan.done(asked)

    def rebase(self, generation: Generation, typed: str, plan: Plan) -> Generation | None:
        """`generation` as if asked at the end of `typed` with `plan`; None when
        it did not write `typed`."""
        if not typed:
            return generation
        written = self._written(generation.text)
        if written is None or not written.startswith(typed):
            return None
        text = plan.cut + written[len(typed) :]
        return Generation(
            text, generation.stop_reason, generation.stats, line_scores=generation.line_scores
        )


class Following:
    """The inline generation of one document that typing may take over."""

    def __init__(self) -> None:
        self._followed: Followed | None = None

    def start(self, followed: Followed, ticket: Ticket) -> None:
        followed.ticket = ticket
        self._followed = followed

    def edited(self, text: str) -> Followed | None:
        """After an edit, the text now `text`: the generation, still followed,
        or None (the edit was not typing at its cursor: it is dropped)."""
        followed = self._followed
        if followed is None:
            return None
        typed = followed.typed_in(text)
        if typed is None:
            self._followed = None
            return None
        followed.follow(typed)
        return followed

    def take_over(self, before: str, after: str, plan: Plan) -> Followed | None:
        """The generation a request at this cursor can wait for, if typing
        followed one to here."""
        followed = self._followed
        if followed is None or after != followed.after or not before.startswith(followed.before):
            return None
        followed.take_over(plan)
        return followed

    def forget(self) -> None:
        self._followed = None


async def outcome(followed: Followed) -> Generation:
    """Await `followed`'s generation, or its text so far once the suggestion
    is whole in it (the model writing on). A request cancelled meanwhile (the
    next key) leaves it running when an edit followed it since; else cancels it."""
    assert followed.ticket is not None
    edits = followed.edits
    early = followed.awaited()
    whole = asyncio.ensure_future(followed.ticket.shielded())
    try:
        if early is not None:
            await asyncio.wait((whole, early), return_when=asyncio.FIRST_COMPLETED)
            if not whole.done():
                return early.result()
        return await whole
    except asyncio.CancelledError:
        if followed.edits == edits:
            followed.ticket.cancel("request cancelled")
        raise
    finally:
        whole.cancel()  # only the wait for it, if it still runs: the work goes on
