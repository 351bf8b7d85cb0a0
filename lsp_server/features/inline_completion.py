"""textDocument/inlineCompletion: ghost text at the cursor.

`InlineCompletion` is the feature's state in one document (its slot in the
document's session) and the owner of its requests there. It keeps the
suggestion shown, the generation typing may take over (following.py), the
prompt anchored where the user types on (context/prompt.py), and it reads
that prompt ahead where the cursor rests.

One request's stages, in `InlineCompletion.suggest`:
1. typed into what is shown: the rest of the suggestion, without the model;
2. taken over: the running generation, if the typing followed it here;
3. fresh: a short debounce (a newer request or edit makes this one stale),
   a wait for the model if it is still loading, and one generation on the
   scheduler's worker (superseding any older one for the document);
4. answered: what the model wrote, post-processed, unless the request went
   stale meanwhile; it becomes what is shown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from functools import partial

from lsprotocol import types

from lsp_server import documents, postprocess
from lsp_server.context.anchored import AnchoredPrompt
from lsp_server.context.prompt import Prompt, PromptRequest
from lsp_server.documents import Document
from lsp_server.features import following
from lsp_server.features.following import Following
from lsp_server.features.shown import Shown
from lsp_server.features.suggestions import Suggestion, fills
from lsp_server.inference.api import Engine, EngineUnavailable, Generation, Sampling, Steering
from lsp_server.inference.cancel import CancelToken
from lsp_server.inference.models import layout_for
from lsp_server.inference.scheduler import Cancelled, Priority
from lsp_server.session import RESTING_S, Background, FeatureState, RequestContext, RequestGuard
from lsp_server.stats import Counters

log = logging.getLogger(__name__)

FEATURE = "inline"
REMOTE_DEBOUNCE_MS = 150  # the least debounce on a remote engine: a pause in the typing


def _generate(
    prompt: Prompt,
    sampling: Sampling,
    engine: Engine,
    cancel: CancelToken,
    steering: Steering = Steering(),
) -> Generation:
    # What was typed on the cursor's line (and below it, since the prompt's
    # anchor) starts the middle, after the suffix: typing then only appends
    # to the prompt, and each key costs a token or two of prompt to read.
    return engine.infill(
        prompt.prefix,
        prompt.suffix,
        sampling,
        cancel,
        steering=steering,
        middle=prompt.middle,
        layout=prompt.layout,
        context=prompt.context,
    )


class InlineCompletion(FeatureState):
    """Inline completion in one document: what it keeps there, and its requests."""

    def __init__(self) -> None:
        self.shown: Shown | None = None  # the suggestion shown, which typing may go through
        self.following = Following()  # the generation typing may take over
        self.prompt = AnchoredPrompt()  # the prompt kept while the user types on

    # --- what happens to the document ------------------------------------------

    def edited(self, document: Document) -> None:
        followed = self.following.edited(document.text)
        if followed is not None and followed.ticket is not None:
            # Typed at its cursor what it is writing: it goes on for this version.
            followed.ticket.carry(document.version)

    def rested(self, ctx: RequestContext) -> Background | None:
        settings = ctx.settings.completion
        return self._read_ahead(ctx) if settings.enabled and settings.read_ahead else None

    def close(self) -> None:
        self.following.forget()
        self.prompt.forget()
        self.shown = None

    # --- the prompt -----------------------------------------------------------------

    def prompt_at(self, ctx: RequestContext, plan: postprocess.Plan) -> Prompt:
        settings = ctx.settings.completion
        engine = ctx.scheduler.engine
        # The model's own layout, which the engine cuts the prompt by too
        # (before a model is loaded, `hearth.showContext` shows the default
        # preset's), with the budget the settings give, if they give one.
        layout = engine.layout if engine is not None else layout_for(None)
        if settings.prompt_tokens:
            layout = layout.with_budget(settings.prompt_tokens)
        request = PromptRequest(
            ctx.document,
            ctx.at.offset,
            plan.prompt_prefix,
            plan.prompt_suffix,
            layout,
            settings.context_tokens,
            ctx.workspace.roots,
            tuple(ctx.workspace.context_documents()),
            ctx.workspace.cross_file(ctx.document),
        )
        return self.prompt.assemble(request)

    async def _read_ahead(self, ctx: RequestContext) -> None:
        """Read the prompt for a suggestion at the cursor into the model's
        cache, in the background, once the cursor has rested there: the user
        is likely to type there next, and the first suggestion then needs
        only the new tokens read. Any real work, and any edit, comes first."""
        document = ctx.document
        version = document.version
        if not await ctx.rested(RESTING_S):
            return
        plan = postprocess.Plan.at(*ctx.at.split(document.text), document.line_comment)
        prompt = self.prompt_at(ctx, plan)
        ticket = ctx.scheduler.submit(
            partial(_generate, prompt, Sampling(max_tokens=0)),
            priority=Priority.BACKGROUND,
            uri=document.uri,
            version=version,
            purpose="read-ahead",
            supersedes=("read-ahead", document.uri),
        )
        with contextlib.suppress(Cancelled, EngineUnavailable):
            await ticket.result()

    # --- a request ------------------------------------------------------------------

    async def suggest(
        self, ctx: RequestContext, counters: Counters, *, invoked: bool = False
    ) -> list[Suggestion]:
        """The suggestions at the cursor, best first; none when there is none
        to show (any more).

        `invoked`: the user asked explicitly (or pressed a key that cycles
        through suggestions), waits longer, and gets the alternatives too.
        """
        if not ctx.settings.completion.enabled:
            return []
        guard = ctx.session.begin(FEATURE)  # a newer request makes this one stale
        document, cursor = ctx.document, ctx.at
        prefix, suffix = cursor.split(document.text)
        plan = postprocess.Plan.at(prefix, suffix, document.line_comment, document.not_code)
        wanted = _alternatives_wanted(ctx, invoked)
        rests = self._typed_into_shown(plan, prefix, suffix, wanted)
        if rests.answers:
            counters.typed_through += 1
            return rests.suggestions(ctx)
        started = time.monotonic()
        # A generation typing followed here has no alternatives.
        generation = None if wanted else await self._taken_over(ctx, counters, prefix, suffix, plan)
        how = "taken over"
        if generation is None:
            how = "fresh"
            # The alternatives wanted once the model is there (it may load meanwhile).
            generation, wanted = await self._fresh(ctx, guard, plan, invoked, started)
            if generation is None:
                return []
        return self._answered(ctx, guard, plan, generation, rests.rests, how, started, wanted)

    def _typed_into_shown(
        self, plan: postprocess.Plan, prefix: str, suffix: str, wanted: int
    ) -> _Rests:
        """What is left of the suggestion shown, where the user typed into it.
        It answers the request without the model (`answers`), unless
        alternatives are asked for and were not shown, or the user typed a
        line's suggestion through to the line's end (`_next_line_wanted`)."""
        shown = self.shown
        rests = shown.rests(prefix, suffix) if shown else None
        as_shown = not wanted or (shown is not None and shown.asked)
        answers = (
            rests is not None and as_shown and (bool(rests) or not _next_line_wanted(plan, shown))
        )
        return _Rests(rests, answers)

    async def _taken_over(
        self,
        ctx: RequestContext,
        counters: Counters,
        prefix: str,
        suffix: str,
        plan: postprocess.Plan,
    ) -> Generation | None:
        """The generation that typing followed to this cursor, as if asked
        here; None when there is none, or it wrote something else."""
        followed = self.following.take_over(prefix, suffix, plan)
        if followed is None:
            return None
        counters.taken_over += 1  # the request now waits for it
        try:
            generation = await following.outcome(followed)
        except (Cancelled, EngineUnavailable):
            return None
        return followed.rebase(generation, prefix[len(followed.before) :], plan)

    async def _fresh(
        self,
        ctx: RequestContext,
        guard: RequestGuard,
        plan: postprocess.Plan,
        invoked: bool,
        started: float,
    ) -> tuple[Generation | None, int]:
        """A new generation at the cursor after the debounce, which typing may
        then follow, and how many alternatives it was asked for (the model
        may have loaded meanwhile); no generation when the request went
        stale, no model loaded, or the generation was cancelled."""
        settings = ctx.settings.completion
        debounce_ms = settings.debounce_ms
        if ctx.settings.engine.kind == "remote":
            # A remote server learns of a cancel late (llama.cpp's looks at its
            # connections about once a second) and writes for nothing until then:
            # a request per key kept it seconds behind the typing (latency results).
            debounce_ms = max(debounce_ms, REMOTE_DEBOUNCE_MS)
        # Time spent on a generation that went another way counts as waited.
        debounce_s = debounce_ms / 1000 - (time.monotonic() - started)
        if debounce_s > 0:
            await asyncio.sleep(debounce_s)
        if guard.stale or not await ctx.model_loaded() or guard.stale:
            return None, 0
        alternatives = _alternatives_wanted(ctx, invoked)
        uri, version = ctx.document.uri, ctx.document.version
        prompt = self.prompt_at(ctx, plan)
        # With alternatives, the answer waits for them: they are written after the first text.
        followed = following.Followed(
            plan.hole.prefix, plan.hole.suffix, plan, early=not alternatives
        )
        sampling = Sampling(
            max_tokens=settings.max_tokens,
            temperature=settings.temperature,
            time_budget=(settings.invoked_timeout_ms if invoked else settings.timeout_ms) / 1000,
        )
        steering = Steering(
            stop_when=followed.done,
            starts_with=plan.starts_with,
            avoid=plan.avoid,
            comment=plan.hole.comment,
            alternatives=alternatives,
            code_first=plan.code_first,
        )
        try:
            ticket = ctx.scheduler.submit(
                partial(_generate, prompt, sampling, steering=steering),
                priority=Priority.INLINE,
                uri=uri,
                version=version,
                purpose="inline",
                supersedes=("inline", uri),
            )
            self.following.start(followed, ticket)
            return await following.outcome(followed), alternatives
        except (Cancelled, EngineUnavailable) as reason:
            log.info("inline %s v%s: no suggestion (%s)", uri, version, reason)
            return None, alternatives

    def _answered(
        self,
        ctx: RequestContext,
        guard: RequestGuard,
        plan: postprocess.Plan,
        generation: Generation,
        rests: list[str] | None,
        how: str,
        started: float,
        wanted: int,
    ) -> list[Suggestion]:
        """The suggestions made of `generation`, now shown; none when the
        request went stale while the model wrote."""
        # The parse check and the range need the text the cursor was resolved in;
        # from here on nothing awaits, so the document cannot move on.
        if guard.stale:
            return []
        document, cursor = ctx.document, ctx.at
        syntax = document.syntax
        parses = syntax.parses_no_worse(cursor.offset) if syntax else None
        # Alternatives asked for where a suggestion shows: it stays the first
        # (the editor cycles from it), whatever the model writes now.
        most = ctx.settings.completion.alternatives
        chosen = fills(plan, generation, rests[0] if rests else None, parses, most)
        _log_answer(ctx, generation, chosen, how, started)
        if not chosen:
            return []
        typable = tuple(fill.text for fill in chosen if not fill.replaces)
        if not chosen[0].replaces:
            prefix, suffix = cursor.split(document.text)
            self.shown = Shown(prefix, suffix, typable[0], typable[1:], asked=wanted > 0)
        at = documents.position_of(document.text, cursor, ctx.encoding)
        return [
            Suggestion(
                fill.text,
                types.Range(
                    start=at,
                    end=documents.position_of(
                        document.text, cursor.moved(fill.replaces), ctx.encoding
                    ),
                ),
            )
            for fill in chosen
        ]


@dataclass(frozen=True)
class _Rests:
    """The rests of the suggestion shown (`Shown.rests`), and whether they answer."""

    rests: list[str] | None
    answers: bool

    def suggestions(self, ctx: RequestContext) -> list[Suggestion]:
        at = documents.position_of(ctx.document.text, ctx.at, ctx.encoding)
        return [Suggestion(rest, types.Range(start=at, end=at)) for rest in self.rests or ()]


def _log_answer(
    ctx: RequestContext,
    generation: Generation,
    chosen: list[postprocess.Fill],
    how: str,
    started: float,
) -> None:
    stats, document = generation.stats, ctx.document
    work = (
        f"prompt {stats.prompt_tokens} tokens ({stats.reused_tokens} reused), "
        f"{stats.decoded_tokens} decoded"
        if generation.stop_reason != "writing"
        else "its line written, the model writing on"
    )
    log.info(
        "inline %s v%s: %d ms, %s, %s, %s, %s",
        document.uri,
        document.version,
        (time.monotonic() - started) * 1000,
        how,
        work,
        " + ".join(f"{len(fill.text)} chars" for fill in chosen) or "nothing",
        generation.stop_reason,
    )
    if ctx.settings.log.include_code:
        log.debug(
            "inline %s model wrote %r (and %r), suggestions: %r",
            document.uri,
            generation.text,
            generation.alternatives,
            [fill.text for fill in chosen],
        )


def _next_line_wanted(plan: postprocess.Plan, shown: Shown | None) -> bool:
    """Whether the model is asked for the next line where the user typed a
    suggestion to its end: at the end of a line, when the suggestion was
    that line's rest. The model wrote the next line on after it, if typing
    followed its generation here (following.py). A suggestion of several
    lines was typed with a line break, which no generation follows: a new
    one at the pause cost 0.1-0.4 s at 5 of 43 pauses of the latency
    benchmark, for a line shown at 1 or 2, so nothing shows there."""
    return plan.hole.line_end and shown is not None and "\n" not in shown.text


def _alternatives_wanted(ctx: RequestContext, invoked: bool) -> int:
    """How many alternatives to ask the engine for: on an explicit request,
    of an engine that can write them, as many as the settings say."""
    engine = ctx.scheduler.engine
    if not invoked or engine is None or engine.STEERING.get("alternatives") != "honoured":
        return 0
    return ctx.settings.completion.alternatives - 1


# --- what the server calls -------------------------------------------------------------


async def suggest(
    ctx: RequestContext, counters: Counters, *, invoked: bool = False
) -> list[Suggestion]:
    """The suggestions at the cursor (see `InlineCompletion.suggest`)."""
    return await ctx.session.state(InlineCompletion).suggest(ctx, counters, invoked=invoked)


def context_at(ctx: RequestContext) -> dict[str, object]:
    """What a suggestion at the cursor would show the model besides the code
    around it (`hearth.showContext`): to see why it wrote what it did."""
    plan = postprocess.Plan.at(*ctx.at.split(ctx.document.text), ctx.document.line_comment)
    context = ctx.session.state(InlineCompletion).prompt_at(ctx, plan).context
    return {
        "path": context.path,
        "header": context.header,
        "files": [{"path": path, "text": text} for path, text in context.files],
    }
