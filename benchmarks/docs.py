"""Docs benchmark: hover explanations and docstrings on real, undocumented code.

Functions that have a docstring are drawn with a fixed seed from CPython's
standard library (the modules of the quality benchmark); the file is given
with every function's docstring removed, and each function's real docstring
is kept as the reference. For each, Hearth is asked over LSP as an editor
asks, with its default settings: the docstring code action (its edit
applied); then a hover on the name, hovered again as a user would (every
0.25 s) until the explanation shows; then once more, from the cache. Then,
with a fresh server, as a user who rests the cursor in the function before
acting: a code action request there (as editors send when the cursor
moves), a wait until the model is idle (up to REST_GIVE_UP_S), one hover,
then the docstring.

Scores per model:
- placed: the file parses and the docstring is that function's own, nothing
  else changed (target 100%); every parameter named (target 100%);
- word F1 of the docstring, and of the hover's explanation, against the
  real docstring (the words both use, counted with repeats);
- restating: the share of parameter descriptions that say no more than the
  parameter's name (`price: The price.`; lsp_server/features/restating.py);
- docstring p50 / p95; hover time to first content and to the explanation
  (p50 / p95); a hover from the cache (median);
- rested: the share of hovers that show the explanation at once (within
  AT_ONCE_S) after the cursor rested in the function, and the docstring
  p50 then.

The baseline system (`chat`) is the plain way: the same model asked in one
chat message to write the function's docstring, the answer's docstring
taken as written; it is scored on F1 and restating with Hearth, paired.

    python benchmarks/docs.py [--tasks N] [--presets default,small]
        [--systems hearth,chat] [--dump FILE]
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import json
import logging
import random
import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import record
from lsprotocol import types
from quality import MODULES, module_sources, sign_test  # the sibling benchmark's modules

from lsp_server.editor_client import EditorClient, Suggestion
from lsp_server.features.restating import restates_name
from lsp_server.inference import models
from lsp_server.inference.api import ChatMessage, Sampling
from lsp_server.inference.cancel import CancelToken
from lsp_server.inference.llama.engine import EngineConfig, LlamaEngine
from lsp_server.text import words

SEED = 1234
SYSTEMS = ("hearth", "chat")
HOVER_AGAIN_S = 0.25  # a user hovering again, as often as an editor would re-ask
HOVER_GIVE_UP_S = 120.0
REST_GIVE_UP_S = 60.0  # a rest ends when the model is idle, or after this
# "At once": well under the seconds an explanation takes to write. A hover
# that waits while the model writes it (as hovers did when hover.timeoutMs
# was 15 s) shows it too, but not at once.
AT_ONCE_S = 0.5
# What a hover shows while its explanation is being written (features/hover.py).
PENDING = "writing an explanation"
CHAT_ASK = (
    "Write a docstring for this Python function. Answer with the docstring only."
    "\n\n```python\n{code}\n```"
)


@dataclass(frozen=True)
class Task:
    module: str
    source: str  # the module with its functions' docstrings removed
    name: str
    line: int  # 0-based line of the `def`
    column: int  # of the name
    parameters: tuple[str, ...]
    reference: str  # the function's real docstring
    code: str  # the function's text, undocumented


def undocumented(source: str) -> tuple[str, dict[int, str]]:
    """`source` without the docstrings of its functions (those with more in
    their body), and the docstrings removed, by the `def`'s line in the result."""
    tree = ast.parse(source)
    drop: set[int] = set()
    removed: dict[int, str] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        doc = ast.get_docstring(node)
        first = node.body[0]
        if doc is not None and len(node.body) > 1:
            assert first.end_lineno is not None
            drop.update(range(first.lineno - 1, first.end_lineno))
            removed[node.lineno - 1] = doc
    lines = source.split("\n")
    kept = [n for n in range(len(lines)) if n not in drop]
    new_line = {old: new for new, old in enumerate(kept)}
    text = "\n".join(lines[n] for n in kept)
    return text, {new_line[line]: doc for line, doc in removed.items() if line in new_line}


def make_tasks(count: int) -> list[Task]:
    rng = random.Random(SEED)
    candidates: list[Task] = []
    for module, text in module_sources().items():
        source, references = undocumented(text)
        lines = source.split("\n")
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.FunctionDef) or node.decorator_list:
                continue
            reference = references.get(node.lineno - 1)
            if reference is None or len(words(reference)) < 5:
                continue  # nothing to compare with
            if node.body[0].lineno == node.lineno or node.end_lineno == node.lineno + 1:
                continue  # one-liners
            args = node.args
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
            every += [a for a in (args.vararg, args.kwarg) if a is not None]
            names = tuple(a.arg for a in every if a.arg not in ("self", "cls"))
            column = lines[node.lineno - 1].index(f"def {node.name}") + 4
            code = "\n".join(lines[node.lineno - 1 : node.end_lineno])
            candidates.append(
                Task(module, source, node.name, node.lineno - 1, column, names, reference, code)
            )
    return rng.sample(candidates, min(count, len(candidates)))


def f1(written: str, reference: str) -> float:
    """Word F1: the words both use (with repeats) over what each has."""
    ours, theirs = Counter(words(written)), Counter(words(reference))
    common = sum((ours & theirs).values())
    if not common:
        return 0.0
    precision, recall = common / sum(ours.values()), common / sum(theirs.values())
    return 2 * precision * recall / (precision + recall)


_GOOGLE_ARG = re.compile(r"^\s+\**(\w+)(?: \([^)]*\))?: (.*)$")
_SPHINX_ARG = re.compile(r"^\s*:param (?:[\w\[\], ]+ )?\**(\w+): (.*)$")


def parameter_lines(doc: str) -> dict[str, str]:
    """The parameter descriptions of a docstring (Google `Args:` or Sphinx
    `:param`), continuation lines joined."""
    found: dict[str, str] = {}
    in_args, last = False, ""
    for line in doc.split("\n"):
        sphinx = _SPHINX_ARG.match(line)
        if sphinx:
            found[sphinx[1]], last = sphinx[2], ""
            continue
        if not line.startswith(" "):  # a section's heading, prose, or a blank line
            in_args, last = line.strip() in ("Args:", "Arguments:", "Parameters:"), ""
            continue
        google = _GOOGLE_ARG.match(line)
        if in_args and google and len(line) - len(line.lstrip()) <= 4:
            last = google[1]
            found[last] = google[2]
        elif in_args and last:
            found[last] += " " + line.strip()
    return found


@dataclass
class Score:
    placed: int = 0  # parses, the docstring is the function's own, nothing else changed
    all_parameters: int = 0
    no_edit: int = 0
    doc_f1: list[float] = field(default_factory=list)  # one per task, 0 when none written
    hover_f1: list[float] = field(default_factory=list)
    parameters: int = 0  # described parameters seen
    restating: int = 0
    docstring_s: list[float] = field(default_factory=list)
    first_content_s: list[float] = field(default_factory=list)
    explanation_s: list[float] = field(default_factory=list)
    cached_ms: list[float] = field(default_factory=list)
    rested_explained: int = 0  # hovers after a rest that showed the explanation at once
    rested_docstring_s: list[float] = field(default_factory=list)
    written: list[dict[str, object]] = field(default_factory=list)  # for --dump

    def described(self, task: Task, doc: str) -> None:
        self.doc_f1.append(f1(doc, task.reference))
        for name, text in parameter_lines(doc).items():
            if name in task.parameters:
                self.parameters += 1
                self.restating += restates_name(name, text)


def docstring_of(task: Task, edits: list[types.TextEdit], into: Score) -> str:
    """The docstring the edits give the function ('' and nothing counted as
    placed when they change more, break the parse, or miss it)."""
    if len(edits) != 1:
        into.no_edit += 1
        return ""
    (edit,) = edits
    after = Suggestion(edit.new_text, edit.range).apply(task.source)
    if after.replace(edit.new_text, "", 1) != task.source:
        return ""  # it changed more than the docstring
    try:
        tree = ast.parse(after)
    except SyntaxError:
        return ""
    functions = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and node.name == task.name
        and node.lineno - 1 == task.line
    ]
    doc = ast.get_docstring(functions[0]) if functions else None
    if doc is None:
        return ""
    into.placed += 1
    if all(name in doc for name in task.parameters):
        into.all_parameters += 1
    return doc


def explanation(hover: str) -> str:
    """The model's words in a hover: without its heading, code blocks and
    the line saying where the definition is."""
    text = re.sub(r"```.*?```", "", hover, flags=re.DOTALL)
    kept = [
        line
        for line in text.split("\n")
        if not line.startswith("####") and not line.startswith("Defined in")
    ]
    return "\n".join(kept).strip()


async def hover_until_explained(
    editor: EditorClient, uri: str, at: types.Position, into: Score
) -> str:
    """Hover as a user does, again and again, until the explanation shows."""
    started = time.monotonic()
    first: float | None = None
    while time.monotonic() - started < HOVER_GIVE_UP_S:
        shown = await editor.hover(uri, at)
        now = time.monotonic() - started
        if shown and first is None:
            first = now
        if shown and PENDING not in shown:
            into.first_content_s.append(first if first is not None else now)
            into.explanation_s.append(now)
            return shown
        await asyncio.sleep(HOVER_AGAIN_S)
    into.first_content_s.append(first if first is not None else HOVER_GIVE_UP_S)
    into.explanation_s.append(HOVER_GIVE_UP_S)
    return ""


async def run_hearth(model: str, tasks: list[Task]) -> Score:
    score = Score()
    async with EditorClient(model) as editor:
        for number, task in enumerate(tasks):
            uri = f"file:///docs/{number}/{task.module}"
            editor.open(uri, task.source, "python")
            # On the name, as a user asks: the line below may start a nested function.
            name = types.Position(line=task.line, character=task.column + 1)
            started = time.monotonic()
            edits = await editor.docstring_edit(uri, name)
            score.docstring_s.append(time.monotonic() - started)
            doc = docstring_of(task, edits, score)
            score.described(task, doc)
            shown = await hover_until_explained(editor, uri, name, score)
            score.hover_f1.append(f1(explanation(shown), task.reference))
            started = time.monotonic()
            await editor.hover(uri, name)
            score.cached_ms.append((time.monotonic() - started) * 1000)
            editor.close(uri)
            score.written.append(
                {
                    "task": task.name,
                    "docstring": doc,
                    "hover": shown,
                    "docstring_s": round(score.docstring_s[-1], 2),
                }
            )
    return score


async def idle(editor: EditorClient) -> None:
    """Until no generation is queued or running (twice in a row, 0.5 s apart:
    reading ahead starts the next one a moment after the last), or REST_GIVE_UP_S."""
    give_up = time.monotonic() + REST_GIVE_UP_S
    quiet = 0
    while quiet < 2 and time.monotonic() < give_up:
        await asyncio.sleep(0.5)
        s = await editor.stats()
        busy = s["submitted"] - s["finished"] - s["cancelled"] - s["failed"]
        quiet = quiet + 1 if busy <= 0 else 0


async def run_rested(model: str, tasks: list[Task], into: Score) -> None:
    """A user who rests the cursor in the function, then hovers its name, then
    asks for its docstring; a fresh server, so nothing is left from run_hearth."""
    async with EditorClient(model) as editor:
        for number, task in enumerate(tasks):
            uri = f"file:///rested/{number}/{task.module}"
            editor.open(uri, task.source, "python")
            name = types.Position(line=task.line, character=task.column + 1)
            # What an editor asks as the cursor moves (quick fixes: Hearth offers none).
            await editor.code_actions(uri, name, [types.CodeActionKind.QuickFix])
            await asyncio.sleep(1.0)  # the rest before reading ahead starts
            await idle(editor)
            started = time.monotonic()
            shown = await editor.hover(uri, name)
            at_once = time.monotonic() - started <= AT_ONCE_S
            into.rested_explained += at_once and shown is not None and PENDING not in shown
            started = time.monotonic()
            await editor.docstring_edit(uri, name)
            into.rested_docstring_s.append(time.monotonic() - started)
            editor.close(uri)


def run_chat(model: str, tasks: list[Task]) -> Score:
    """The same model, asked plainly: one chat message per function."""
    score = Score()
    engine = LlamaEngine(models.locate(models.ModelChoice(model, "benchmark")), EngineConfig())
    for task in tasks:
        messages = [ChatMessage("user", CHAT_ASK.format(code=task.code))]
        started = time.monotonic()
        answer = engine.chat(messages, Sampling(max_tokens=256), CancelToken()).text
        score.docstring_s.append(time.monotonic() - started)
        quoted = re.search(r'"""(.*?)(?:"""|$)', answer, flags=re.DOTALL)
        doc = (quoted[1] if quoted else answer.strip("`\n ")).strip()
        score.described(task, doc)
        score.written.append({"task": task.name, "docstring": doc})
    engine.close()
    return score


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def table(rows: list[tuple[str, str, Score]], count: int) -> str:
    out = [
        "| model | system | placed | every parameter | docstring F1 | hover F1 | restating "
        "| docstring p50 s | p95 s | hover first p50 s | p95 s | explained p50 s | p95 s "
        "| cached ms | rested: explained at once | docstring p50 s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for preset, system, s in rows:
        hearth = system == "hearth"

        def cell(values: list[float], fmt: str = ".2f", show: bool = hearth) -> str:
            return format(statistics.median(values), fmt) if show and values else "-"

        def p95(values: list[float]) -> str:
            return f"{percentile(values, 0.95):.2f}" if values else "-"

        restating = f"{s.restating}/{s.parameters}" if s.parameters else "0/0"
        out.append(
            f"| {preset} | {system} | {f'{s.placed}/{count}' if hearth else '-'} "
            f"| {f'{s.all_parameters}/{count}' if hearth else '-'} "
            f"| {statistics.mean(s.doc_f1):.3f} "
            f"| {f'{statistics.mean(s.hover_f1):.3f}' if hearth else '-'} | {restating} "
            f"| {statistics.median(s.docstring_s):.2f} | {percentile(s.docstring_s, 0.95):.2f} "
            f"| {cell(s.first_content_s)} | {p95(s.first_content_s)} "
            f"| {cell(s.explanation_s)} | {p95(s.explanation_s)} "
            f"| {cell(s.cached_ms, '.1f')} "
            f"| {f'{s.rested_explained}/{count}' if hearth else '-'} "
            f"| {cell(s.rested_docstring_s)} |"
        )
    return "\n".join(out)


def paired(rows: list[tuple[str, str, Score]]) -> str:
    """Docstring F1, Hearth against the chat baseline, task by task."""
    by = {(preset, system): s for preset, system, s in rows}
    out = [
        "| model | Hearth better | chat better | p (sign test) | F1 ratio (medians) |",
        "|---|---|---|---|---|",
    ]
    for preset in dict.fromkeys(preset for preset, _, _ in rows):
        ours, theirs = by.get((preset, "hearth")), by.get((preset, "chat"))
        if ours is None or theirs is None:
            continue
        pairs = list(zip(ours.doc_f1, theirs.doc_f1, strict=True))
        wins = sum(a > b for a, b in pairs)
        losses = sum(a < b for a, b in pairs)
        ratio = statistics.median(ours.doc_f1) / max(statistics.median(theirs.doc_f1), 1e-9)
        out.append(
            f"| {preset} | {wins} | {losses} | {sign_test(wins, losses):.2f} | {ratio:.2f} |"
        )
    return "\n".join(out) if len(out) > 2 else ""


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=20, help="functions per model")
    parser.add_argument("--presets", default="default,small")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--dump", type=Path, help="write what each system wrote here (JSON lines)")
    args = parser.parse_args()
    tasks = make_tasks(args.tasks)
    rows: list[tuple[str, str, Score]] = []
    for preset in args.presets.split(","):
        if not models.preset_installed(models.PRESETS[preset]):
            print(f"(skipping {preset}: pip install 'hearth-lsp[{models.PRESETS[preset].extra}]')")
            continue
        for system in args.systems.split(","):
            score = asyncio.run(run_hearth(preset, tasks)) if system == "hearth" else None
            if score is not None:
                asyncio.run(run_rested(preset, tasks, score))
            rows.append((preset, system, score or run_chat(preset, tasks)))
    report = (
        f"docs benchmark: {len(tasks)} functions with docstrings from {len(MODULES)} stdlib "
        f"modules (seed {SEED}), docstrings removed; F1 against the real ones\n\n"
        + table(rows, len(tasks))
        + "\n\n"
        + paired(rows)
    )
    print(report)
    if args.dump:
        with args.dump.open("w") as out:
            for preset, system, score in rows:
                for one in score.written:
                    out.write(json.dumps({"model": preset, "system": system, **one}) + "\n")
    if rows:
        record.keep("docs.md", report, parser, args, output_only=("dump",))


if __name__ == "__main__":
    main()
