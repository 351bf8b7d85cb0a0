"""textDocument/inlineCompletion: ghost text at the cursor.

One keystroke's journey: the rest of the shown suggestion if the key typed
into it; else the running generation if the typing followed it here
(following.py); else a short debounce (a newer request or edit for the
same document makes this one return nothing), a wait for the model if it is
still loading, and one generation on the scheduler's worker (superseding any
older one for the document). Last, a check that the document has not moved
on while the model was writing.
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
from lsp_server.context.prompt import Prompt
from lsp_server.features import following
from lsp_server.features.shown import Shown
from lsp_server.inference.api import Engine, EngineUnavailable, Generation, Sampling, Steering
from lsp_server.inference.cancel import CancelToken
from lsp_server.inference.models import layout_for
from lsp_server.inference.scheduler import Cancelled, Priority
from lsp_server.session import RequestContext
from lsp_server.stats import Counters
from lsp_server.text import without_whitespace

log = logging.getLogger(__name__)

NO_SUGGESTION = types.InlineCompletionList(items=[])
READ_AHEAD_S = 0.25  # the cursor rests this long before its prompt is read ahead
REMOTE_DEBOUNCE_MS = 150  # the least debounce on a remote engine: a pause in the typing


@dataclass(frozen=True)
class Suggestion:
    text: str
    range: types.Range  # what it replaces: the cursor, or the closers after it


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
        budget=prompt.budget,
        context=prompt.context,
    )


def _prompt(ctx: RequestContext, plan: postprocess.Plan) -> Prompt:
    settings = ctx.settings.completion
    engine = ctx.scheduler.engine
    # The window is chosen as the engine will cut it (before a model is
    # loaded, `hearth.showContext` shows the default preset's).
    layout = engine.layout if engine is not None else layout_for(None)
    return ctx.session.prompt.assemble(
        ctx.document,
        ctx.at.offset,
        plan.prompt_prefix,
        plan.prompt_suffix,
        ctx.workspace.context_documents(),
        settings.prompt_tokens or layout.prompt_tokens,
        settings.context_tokens,
        ctx.workspace.roots,
        layout,
        cross_file=ctx.workspace.cross_file(ctx.document),
    )


def context_at(ctx: RequestContext) -> dict[str, object]:
    """What a suggestion at the cursor would show the model besides the code
    around it (`hearth.showContext`): to see why it wrote what it did."""
    plan = postprocess.Plan.at(*ctx.at.split(ctx.document.text), ctx.document.line_comment)
    context = _prompt(ctx, plan).context
    return {
        "path": context.path,
        "header": context.header,
        "files": [{"path": path, "text": text} for path, text in context.files],
    }


async def read_ahead(ctx: RequestContext) -> None:
    """Read the prompt for a suggestion at the cursor into the model's cache,
    in the background, once the cursor has rested there READ_AHEAD_S: the
    user is likely to type there next, and the first suggestion then needs
    only the new tokens read. Any real work, and any edit, comes first."""
    settings = ctx.settings.completion
    if not (settings.enabled and settings.read_ahead):
        return
    document = ctx.document
    version = document.version
    if not await ctx.rested(READ_AHEAD_S):
        return
    plan = postprocess.Plan.at(*ctx.at.split(document.text), document.line_comment)
    prompt = _prompt(ctx, plan)
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


async def _taken_over(
    ctx: RequestContext, counters: Counters, prefix: str, suffix: str, plan: postprocess.Plan
) -> Generation | None:
    """The generation that typing followed to this cursor, as if asked here;
    None when there is none, or it wrote something else."""
    followed = ctx.session.following.take_over(prefix, suffix, plan)
    if followed is None:
        return None
    counters.taken_over += 1  # the request now waits for it
    try:
        generation = await following.outcome(followed)
    except (Cancelled, EngineUnavailable):
        return None
    return followed.rebase(generation, prefix[len(followed.before) :], plan)


async def _fresh(
    ctx: RequestContext, plan: postprocess.Plan, invoked: bool, alternatives: int
) -> Generation | None:
    """A new generation at the cursor, which typing may then follow, with
    up to `alternatives` other texts."""
    document = ctx.document
    uri, version = document.uri, document.version
    settings = ctx.settings.completion
    prompt = _prompt(ctx, plan)
    # With alternatives, the answer waits for them: they are written after the first text.
    followed = following.Followed(plan.hole.prefix, plan.hole.suffix, plan, early=not alternatives)
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
        ctx.session.following.start(followed, ticket)
        return await following.outcome(followed)
    except (Cancelled, EngineUnavailable) as reason:
        log.info("inline %s v%s: no suggestion (%s)", uri, version, reason)
        return None


async def suggest(
    ctx: RequestContext, counters: Counters, *, invoked: bool = False
) -> list[Suggestion]:
    """The suggestions at the cursor, best first; none when there is none to
    show (any more).

    `invoked`: the user asked explicitly (or pressed a key that cycles
    through suggestions), waits longer, and gets the alternatives too.
    """
    settings = ctx.settings.completion
    if not settings.enabled:
        return []
    session, document, cursor = ctx.session, ctx.document, ctx.at
    request = session.begin_request()  # a newer one makes this one stale
    uri, version, encoding = document.uri, document.version, ctx.encoding
    prefix, suffix = cursor.split(document.text)
    wanted = _alternatives_wanted(ctx, invoked)
    shown = session.shown
    plan = postprocess.Plan.at(prefix, suffix, document.line_comment, document.not_code)
    # Typed into the ghost text: the rest of it, without the model; unless
    # alternatives are asked for and were not shown.
    rests = shown.rests(prefix, suffix) if shown else None
    as_shown = not wanted or (shown is not None and shown.asked)
    if rests is not None and as_shown and (rests or not _next_line_wanted(plan, shown)):
        counters.typed_through += 1
        at = documents.position_of(document.text, cursor, encoding)
        return [Suggestion(rest, types.Range(start=at, end=at)) for rest in rests]
    started = time.monotonic()

    def stale() -> bool:
        return not session.is_latest(request) or document.version != version

    # A generation typing followed here has no alternatives.
    generation = None if wanted else await _taken_over(ctx, counters, prefix, suffix, plan)
    how = "taken over"
    if generation is None:
        how = "fresh"
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
        if stale() or not await ctx.model_loaded():
            return []
        if stale():
            return []
        wanted = _alternatives_wanted(ctx, invoked)  # the model may have loaded since
        generation = await _fresh(ctx, plan, invoked, wanted)
        if generation is None:
            return []
    stats = generation.stats
    # The parse check and the range need the text the cursor was resolved in;
    # from here on nothing awaits, so the document cannot move on.
    if stale():
        return []
    # Alternatives asked for where a suggestion shows: it stays the first
    # (the editor cycles from it), whatever the model writes now.
    fills = _fills(ctx, plan, generation, rests[0] if rests else None)
    work = (
        f"prompt {stats.prompt_tokens} tokens ({stats.reused_tokens} reused), "
        f"{stats.decoded_tokens} decoded"
        if generation.stop_reason != "writing"
        else "its line written, the model writing on"
    )
    log.info(
        "inline %s v%s: %d ms, %s, %s, %s, %s",
        uri,
        version,
        (time.monotonic() - started) * 1000,
        how,
        work,
        " + ".join(f"{len(fill.text)} chars" for fill in fills) or "nothing",
        generation.stop_reason,
    )
    if ctx.settings.log.include_code:
        log.debug(
            "inline %s model wrote %r (and %r), suggestions: %r",
            uri,
            generation.text,
            generation.alternatives,
            [fill.text for fill in fills],
        )
    if not fills:
        return []
    typable = tuple(fill.text for fill in fills if not fill.replaces)
    if not fills[0].replaces:
        session.shown = Shown(prefix, suffix, typable[0], typable[1:], asked=wanted > 0)
    at = documents.position_of(document.text, cursor, encoding)
    return [
        Suggestion(
            fill.text,
            types.Range(
                start=at,
                end=documents.position_of(document.text, cursor.moved(fill.replaces), encoding),
            ),
        )
        for fill in fills
    ]


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


def _fills(
    ctx: RequestContext, plan: postprocess.Plan, generation: Generation, shown: str | None
) -> list[postprocess.Fill]:
    """What to show of the generation's text and its alternatives: each
    post-processed, none empty, none the same as one before it but for
    blanks (the first that survives leads, after the rest of the suggestion
    `shown` there, if any)."""
    syntax = ctx.document.syntax
    parses = syntax.parses_no_worse(ctx.at.offset) if syntax else None
    texts = (generation.text, *generation.alternatives)
    fills = [postprocess.Fill(shown)] if shown else []
    seen = {without_whitespace(shown)} if shown else set()
    for number, text in enumerate(texts):
        # Only the first text has its lines' scores: alternatives, asked for, show whole.
        scores = generation.line_scores if number == 0 else ()
        fill = plan.finish(Generation(text, generation.stop_reason, line_scores=scores), parses)
        says = without_whitespace(fill.text)
        if says and says not in seen:
            seen.add(says)
            fills.append(fill)
    return fills[: ctx.settings.completion.alternatives]


def as_inline_list(suggestions: list[Suggestion]) -> types.InlineCompletionList:
    """The suggestions as inline items, best first: editors cycle through them."""
    return types.InlineCompletionList(
        items=[types.InlineCompletionItem(insert_text=s.text, range=s.range) for s in suggestions]
    )


def as_completion_list(suggestions: list[Suggestion]) -> types.CompletionList:
    """The suggestions as completion items, in order, for clients without
    inline completion."""
    return types.CompletionList(
        # Incomplete: the next keystroke asks again rather than filtering a stale item.
        is_incomplete=True,
        items=[_completion_item(suggestion, rank) for rank, suggestion in enumerate(suggestions)],
    )


def _completion_item(suggestion: Suggestion, rank: int) -> types.CompletionItem:
    first_line = suggestion.text.strip().splitlines()[0]
    return types.CompletionItem(
        label=first_line[:60],
        kind=types.CompletionItemKind.Snippet,
        detail="Hearth (local model)",
        documentation=types.MarkupContent(
            kind=types.MarkupKind.Markdown, value=f"```\n{suggestion.text}\n```"
        ),
        filter_text=first_line,
        sort_text=f"{rank:02d}",  # the editor keeps Hearth's order among them
        text_edit=types.TextEdit(range=suggestion.range, new_text=suggestion.text),
        insert_text_format=types.InsertTextFormat.PlainText,
    )
