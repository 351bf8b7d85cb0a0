"""The two ways fixes.py and edits.py ask the same model to change a
function, and what they measure of the answers.

- hearth: the server's own path, in-process: the region around the line
  (regions.py), the request as the feature words it, the rewrite with the
  old region as its draft (rewriting.py), checked and asked once more when
  refused (proposals.propose), with the answer's budget the server gives.
- plain: the same model's chat, greedy, no draft, no checks: one user
  message with the problem and the function, as a plain chat client sends
  it. Its first fenced block is the answer (the whole reply if it has
  none); where the block holds a function of the same name, that function
  alone (a reply often adds imports or an example), indented as the
  original, replaces the function.

Each call reads its prompt cold: the chat context's cache is emptied
first, so that neither arm finds the other's prompt there.

`--plain-cache` (fixes.py, edits.py) keeps the plain arm's answers in
.cache/bench-plain/, keyed by the model file, the message and the budget:
greedy on one machine, the answer is the same each run, so a run that
tries a change of Hearth's arm takes a third of the time. Its times are
then an earlier run's, and the report says so; a run for the results
file asks the model afresh.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import hashlib
import json
import re
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types
from stdlib_tests import (
    STDLIB,
    URI_ROOT,
    Function,
    Module,
    lines_of,
    p95,
    replaced,
    split_lines,
)

from lsp_server.documents import Document
from lsp_server.features import fixes, proposals, related_code, rewriting
from lsp_server.features.regions import Region
from lsp_server.features.rewriting import Request
from lsp_server.features.used_code import used_code
from lsp_server.inference import models
from lsp_server.inference.api import ChatMessage, Generation, Sampling
from lsp_server.inference.cancel import CancelToken
from lsp_server.inference.llama.engine import EngineConfig, LlamaEngine
from lsp_server.layout import DENSE_CHARS_PER_TOKEN

PLAIN_PREAMBLE_TOKENS = 128  # room for the sentence a chat answer puts before its code
PLAIN_CACHE = Path(__file__).resolve().parent.parent / ".cache" / "bench-plain"
_plain_cached = False  # set by --plain-cache


def load_engine(preset: str) -> LlamaEngine:
    path = models.locate(models.ModelChoice(preset, "benchmark"))
    return LlamaEngine(path, EngineConfig(context_size=4096))


def _cold(engine: LlamaEngine) -> None:
    if engine._chat_llm is not None:
        engine._chat_llm.n_tokens = 0  # nothing of the last call's prompt to reuse


def budget(engine: LlamaEngine, text: str, growth: float) -> int:
    """The answer's tokens for rewriting `text`, as proposals.asker gives them."""
    expected = int(len(text) / DENSE_CHARS_PER_TOKEN)
    most = max(64, engine.context_size - expected - 512)
    return min(most, int(expected * growth) + 64)


@dataclass
class Answer:
    """One arm's answer to one task."""

    old: str  # what it rewrote: Hearth's region, or the function
    first: int  # the 0-based line where that starts in the module
    new: str | None  # its new text; None: nothing offered
    module: str | None  # the module with the new text in place
    seconds: float  # the whole call
    asked: list[str] = field(default_factory=list)  # each prompt's request or message
    written: list[str] = field(default_factory=list)  # what the model wrote, each time
    prompt_seconds: float = 0.0  # reading the prompts, summed over the tries
    refused: str = ""  # why nothing was offered
    added: int = 0  # import lines put at the module's imports besides (the plain arm's)

    @property
    def compiles(self) -> bool:
        """Whether the module with the answer compiles (running nothing)."""
        if self.module is None:
            return False
        try:
            compile(self.module, "<bench>", "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            return False
        return True

    @property
    def breaks_its_lines(self) -> bool:
        """Whether the module with the answer fails to compile in the lines
        the answer wrote (the server's own rule: an error elsewhere, which
        the module had before, is not the answer's)."""
        if self.module is None or self.new is None:
            return False
        try:
            compile(self.module, "<bench>", "exec", dont_inherit=True)
        except SyntaxError as error:
            line = (error.lineno or 1) - 1
            return self.first <= line < self.first + len(split_lines(self.new))
        except ValueError:  # a null byte
            return True
        return False


def fix_request(
    document: Document,
    region: Region,
    diagnostic: types.Diagnostic,
    path: str,
    read: related_code.Reader | None = None,
) -> Request:
    """What fixes.request_in asks the server's model, here without the
    workspace index (the standard library is not indexed for a benchmark):
    the code the region uses is taken from its own file, named `path`, and
    the code at the diagnostic's related locations is what `read` reads."""
    line = diagnostic.range.start.line
    known = used_code(document, region, line, None, path)
    if read is not None:
        shown = related_code.related_code(diagnostic, document.uri, region, read, _named)
        known = "\n\n".join(part for part in (known, shown) if part)
    return fixes.request_for(diagnostic, region, document.text, known)


def _named(uri: str) -> str:
    """A file of the benchmark as a user of its workspace would name it."""
    path = uri.removeprefix("file://")
    for root in (str(STDLIB) + "/", URI_ROOT):
        path = path.removeprefix(root)
    return path


async def hearth(
    engine: LlamaEngine,
    document: Document,
    region: Region,
    request: Request,
    growth: float,
    known: str | None = None,
    confined: bool = False,
) -> Answer:
    """The region rewritten as `request` says, through proposals.propose,
    asked as proposals.asker asks: the region shown without the indentation
    all its lines share (propose puts it back), the budget counted on that."""
    shown = proposals.dedented(region.text, proposals.common_indent(region.text))
    generations: list[Generation] = []
    asked: list[str] = []

    async def ask(request: Request) -> Generation:
        asked.append(f"{request.before}\n\n[the code]\n\n{request.after}".strip())
        most = budget(engine, shown, growth) + (rewriting.REASON_TOKENS if request.reason else 0)
        generation = rewriting.rewrite(engine, CancelToken(), "python", shown, request, most)
        generations.append(generation)
        return generation

    _cold(engine)
    started = time.monotonic()
    new: str | None = None
    refused = ""
    try:
        new = await proposals.propose(document, region, request, ask, known, confined)
    except proposals.NotWritten as error:
        refused = str(error)
    seconds = time.monotonic() - started
    module = None if new is None else replaced(document.text, region.first, region.last, new)
    return Answer(
        region.text,
        region.first,
        new,
        module,
        seconds,
        asked,
        [g.text for g in generations],
        sum(g.stats.prompt_seconds for g in generations),
        refused,
    )


_FENCE = re.compile(r"```[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


def _reindented(code: str, indent: str) -> str:
    """`code` moved so that its first line starts at `indent`: each line
    loses up to the first line's indentation (a continuation line the model
    wrote with less keeps what it has), and gains `indent`."""
    lines = split_lines(code)
    first = next((line for line in lines if line.strip()), "")
    width = len(first) - len(first.lstrip(" "))
    moved = []
    for line in lines:
        if line.strip():
            line = line[min(width, len(line) - len(line.lstrip(" "))) :]
            moved.append(indent + line)
        else:
            moved.append(line)
    return "".join(moved)


def code_in(reply: str, function: Function) -> str:
    """The code of a chat reply that replaces `function`: the first fenced
    block (the whole reply without one), narrowed to the function of the
    same name where the block holds one, indented as `function` is."""
    fenced = _FENCE.search(reply)
    code = _reindented(fenced.group(1) if fenced else reply, "")
    try:
        tree = ast.parse(code)
    except SyntaxError:
        tree = None
    if tree is not None:
        lines = split_lines(code)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and (
                node.name == function.name
            ):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
                code = _reindented("".join(lines[first : node.end_lineno]), "")
                break
    return _reindented(code, " " * function.node.col_offset)


def plain(
    engine: LlamaEngine,
    module: str,
    function: Function,
    message: str,
    growth: float,
    imports: bool = False,
) -> Answer:
    """The function changed by the model's plain chat: `message` is the
    whole user message; the reply's code goes in place of the function,
    and, with `imports`, the imports it wrote that the module lacks go
    after the module's own (a user pastes those too: type hints need them)."""
    old = lines_of(module, function)
    most = budget(engine, old, growth) + PLAIN_PREAMBLE_TOKENS
    text, seconds, prompt_seconds = _plain_reply(engine, message, most)
    new = code_in(text, function)
    if new and not new.endswith("\n"):
        new += "\n"
    changed = replaced(module, function.first, function.last, new)
    added = _new_imports(text, module) if imports else []
    if added:
        changed = _with_imports(changed, added)
    return Answer(
        old,
        function.first,
        new,
        changed,
        seconds,
        [message],
        [text],
        prompt_seconds,
        added=len(added),
    )


_IMPORT = re.compile(r"(import|from)\s+[\w.]+")


def _new_imports(reply: str, module: str) -> list[str]:
    """The import lines at the margin of the reply's code that `module` lacks."""
    fenced = _FENCE.search(reply)
    code = _reindented(fenced.group(1) if fenced else reply, "")
    have = {line.strip() for line in split_lines(module)}
    return [
        line if line.endswith("\n") else line + "\n"
        for line in split_lines(code)
        if _IMPORT.match(line) and line.strip() not in have
    ]


def _with_imports(module: str, added: list[str]) -> str:
    """`module` with `added` after its last import at the margin ahead of its first definition."""
    lines = split_lines(module)
    after = 0
    for number, line in enumerate(lines):
        if line.startswith(("def ", "class ", "async def ", "@")):
            break
        if _IMPORT.match(line):
            after = number + 1
    return "".join([*lines[:after], *added, *lines[after:]])


def _plain_reply(engine: LlamaEngine, message: str, most: int) -> tuple[str, float, float]:
    """The model's greedy reply to `message`, the call's seconds and its
    prompt's; from the cache when --plain-cache asks for it and has it."""
    key = hashlib.sha256(f"{engine.path.name}\0{most}\0{message}".encode()).hexdigest()
    cached = PLAIN_CACHE / f"{key}.json"
    if _plain_cached and cached.exists():
        kept = json.loads(cached.read_text())
        return kept["text"], kept["seconds"], kept["prompt_seconds"]
    _cold(engine)
    started = time.monotonic()
    generation = engine.chat(
        [ChatMessage("user", message)],
        Sampling(max_tokens=most, temperature=0.0),
        CancelToken(),
    )
    seconds = time.monotonic() - started
    if _plain_cached:
        PLAIN_CACHE.mkdir(parents=True, exist_ok=True)
        kept = {"text": generation.text, "seconds": seconds}
        kept["prompt_seconds"] = generation.stats.prompt_seconds
        cached.write_text(json.dumps(kept))
    return generation.text, seconds, generation.stats.prompt_seconds


def add_plain_cache_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--plain-cache",
        action="store_true",
        help="reuse the plain arm's answers of earlier runs (its times are theirs)",
    )


def use_plain_cache(args: argparse.Namespace) -> str:
    """Turn the cache on if the options ask for it; the report's note on it."""
    global _plain_cached
    _plain_cached = bool(args.plain_cache)
    if not _plain_cached:
        return ""
    return "(the plain arm's answers and times from earlier runs: --plain-cache)"


def changed_lines(old: str, new: str) -> tuple[set[int], int]:
    """The 0-based lines of `old` that `new` replaces or deletes, and how
    many lines `new` has besides (a line replaced by two counts once more)."""
    matcher = difflib.SequenceMatcher(a=old.splitlines(), b=new.splitlines(), autojunk=False)
    replaced_lines: set[int] = set()
    more = 0
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            replaced_lines.update(range(i1, i2))
            more += max(0, (j2 - j1) - (i2 - i1))
    return replaced_lines, more


def outside(answer: Answer, needed: set[int]) -> int | None:
    """Lines the answer changed beyond those the task needs (`needed`:
    0-based lines of the module); None when it offered nothing."""
    if answer.new is None:
        return None
    lines, more = changed_lines(answer.old, answer.new)
    return len({answer.first + line for line in lines} - needed) + more


def timing(seconds: Sequence[float]) -> str:
    if not seconds:
        return "-"
    return f"{statistics.median(seconds):.1f} / {p95(list(seconds)):.1f}"


def paired(hearth_passed: Sequence[bool], plain_passed: Sequence[bool]) -> str:
    """Table cells: passed by each, the pairs (both / Hearth only / plain
    only / neither) and the ratio of the passes."""
    pairs = list(zip(hearth_passed, plain_passed, strict=True))
    both = sum(h and p for h, p in pairs)
    hearth_only = sum(h and not p for h, p in pairs)
    plain_only = sum(p and not h for h, p in pairs)
    neither = len(pairs) - both - hearth_only - plain_only
    ours, theirs = sum(hearth_passed), sum(plain_passed)
    ratio = f"{ours / theirs:.2f}" if theirs else "-"
    return f"{ours} / {theirs} | {both} / {hearth_only} / {plain_only} / {neither} | {ratio}"


def warm_up(engine: LlamaEngine) -> None:
    """The chat context loaded, so that the first task's time is not its loading."""
    engine.chat([ChatMessage("user", "Say hi.")], Sampling(max_tokens=4), CancelToken())


def document(module: Module, text: str) -> Document:
    """`text` as the server holds a document of the module."""
    return Document(uri=module.uri, language_id="python", version=1, text=text)


def message(said: str, function: Function, text: str, reply: str, code_first: bool = False) -> str:
    """The plain arm's user message: what is said and the function as it is
    in `text` (in that order, or the code first), and what to reply with."""
    code = f"```python\n{lines_of(text, function)}```"
    if code_first:
        return f"{code}\n\n{said} {reply}"
    return f"{said}\n\n{code}\n\n{reply}"


def median(values: Sequence[int | None]) -> str:
    """The median of what was offered, and its mean in brackets: a median of
    0 for both arms hides which one changes more lines when it does."""
    kept = [v for v in values if v is not None]
    return f"{statistics.median(kept):.0f} ({statistics.mean(kept):.1f})" if kept else "-"


def recorded(answer: Answer, passed: bool, **more: object) -> dict[str, object]:
    """One arm's answer, for --dump."""
    return {
        "passed": passed,
        **more,
        "offered": answer.new is not None,
        "compiles": answer.compiles,
        "first": answer.first,
        "seconds": round(answer.seconds, 3),
        "prompt_seconds": round(answer.prompt_seconds, 3),
        "asked": answer.asked,
        "written": answer.written,
        "old": answer.old,
        "new": answer.new,
        "refused": answer.refused,
    }


def dump(path: Path | None, record: dict[str, object]) -> None:
    if path is not None:
        with path.open("a") as out:
            out.write(json.dumps(record) + "\n")
