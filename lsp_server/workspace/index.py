"""The workspace index: every file's definitions and imports, kept current,
and the words of its windows of lines, to find code like the cursor's
(`retrieval`).

Indexing runs away from the event loop: a thread walks the folders and
hands files in batches to one worker process at the lowest CPU priority,
which parses them and sends back summaries. Parsing holds Python's lock
for as long as tree-sitter works, so in the server's own process it would
make the editor's requests wait; in a niced process, it takes only what
the model and the server leave of the CPU.

A file is read again only when its size or modification time changed
since the summary kept in the cache (under Hearth's cache directory), so a
restart does not parse an unchanged tree again. Open documents are not the
index's business: their buffers win over the disk where the index is read
(see `context`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from lsp_server.workspace.files import Skipped, Walk, language_of, read_source
from lsp_server.workspace.retrieval import SimilarCode
from lsp_server.workspace.summary import Entry, FileSummary, summarise

log = logging.getLogger(__name__)

MAX_FILES = 20_000  # files kept; past this the index says what it left out
MAX_BYTES = 64_000_000  # summaries kept, roughly; a 10,000-file workspace needs a third
BATCH = 48  # files per message to the worker: few round trips, early progress
CACHE_FORMAT = 2  # 2: module-level constants
CACHED_FOLDERS = 32  # workspaces whose index is kept in the cache
ORPHAN_CHECK_S = 1.0  # how often the worker looks whether the server is still there

Progress = Callable[[int, int], None]  # files done, files found


@dataclass(frozen=True)
class Stamp:
    """What says a file is unchanged since it was summarised."""

    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Indexed:
    stamp: Stamp
    summary: FileSummary


@dataclass
class Counts:
    """What the index holds and what it left out, for the log and `hearth.stats`."""

    files: int = 0
    bytes: int = 0
    from_cache: int = 0
    parsed: int = 0
    left_out: int = 0  # over MAX_FILES or MAX_BYTES
    seconds: float = 0.0


class WorkspaceIndex:
    def __init__(
        self,
        roots: Sequence[Path],
        exclude: Sequence[str] = (),
        cache_dir: Path | None = None,
        max_files: int = MAX_FILES,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.roots = [root.resolve() for root in roots]
        self._walks = [Walk(root, tuple(exclude)) for root in self.roots]
        self._cache_dir = cache_dir
        self._max_files, self._max_bytes = max_files, max_bytes
        self._files: dict[Path, Indexed] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self.counts = Counts()
        self.generation = 0  # counts changes: a prompt made before one is made again
        self.similar_code = SimilarCode()

    # --- reading -----------------------------------------------------------

    def summary(self, path: Path) -> FileSummary | None:
        with self._lock:
            indexed = self._files.get(path)
        return indexed.summary if indexed is not None else None

    def has(self, path: Path) -> bool:
        with self._lock:
            return path in self._files

    def paths(self) -> list[Path]:
        with self._lock:
            return list(self._files)

    @property
    def ready(self) -> bool:
        """The first walk is over (or was stopped)."""
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    @property
    def skipped(self) -> Skipped:
        total = Skipped()
        for walk in self._walks:
            total.too_big += walk.skipped.too_big
            total.binary += walk.skipped.binary
            total.outside += walk.skipped.outside
            total.unreadable += walk.skipped.unreadable
        return total

    # --- building ----------------------------------------------------------

    def start(self, progress: Progress | None = None) -> None:
        """Walk the folders in the background; `progress` is called from its thread."""
        self._thread = threading.Thread(
            target=self._build, args=(progress,), name="hearth-index", daemon=True
        )
        self._thread.start()

    def stop(self, wait: float = 0.0) -> None:
        """Stop a walk under way, at its next batch, waiting up to `wait` seconds."""
        self._stopping.set()
        if self._thread is not None and wait:
            self._thread.join(wait)

    def refresh(self, path: Path) -> None:
        """Read a file again (saved, created or changed on disk), or forget it
        when it is gone or no longer one the index reads."""
        path = path.resolve() if path.exists() else path
        walk = next((w for w in self._walks if path.is_relative_to(w.root)), None)
        if walk is None or not path.exists() or not walk.admits(path):
            self.forget(path)
            return
        found = _summarised(path, walk.skipped)
        if found is None:
            self.forget(path)
            return
        indexed, text = found
        with self._lock:
            self._files[path] = indexed
            self.generation += 1
        self.similar_code.add(path, text)

    def forget(self, path: Path) -> None:
        with self._lock:
            if self._files.pop(path, None) is not None:
                self.generation += 1
        self.similar_code.remove(path)

    def _build(self, progress: Progress | None) -> None:
        import time

        began = time.monotonic()
        try:
            for walk in self._walks:
                if self._stopping.is_set():
                    break
                self._build_folder(walk, progress)
        except Exception:
            log.exception("indexing the workspace failed; suggestions use the open files only")
        finally:
            self.counts.seconds = time.monotonic() - began
            self._done.set()
        counts, skipped = self.counts, self.skipped
        log.info(
            "workspace index: %d files (%d from the cache) in %.1f s, %.1f MB; "
            "left out: %d over the limits, %d too big, %d binary, %d links out of the folder, "
            "%d unreadable",
            counts.files,
            counts.from_cache,
            counts.seconds,
            counts.bytes / 1e6,
            counts.left_out,
            skipped.too_big,
            skipped.binary,
            skipped.outside,
            len(skipped.unreadable),
        )
        for problem in skipped.unreadable[:20]:
            log.warning("workspace index: could not read %s", problem)

    def _build_folder(self, walk: Walk, progress: Progress | None) -> None:
        cached = self._load_cache(walk.root)
        found = list(walk.files())
        stale: list[tuple[Path, Stamp]] = []
        for path in found:
            stamp = _stamp(path)
            if stamp is None:
                continue
            kept = cached.get(path)
            if kept is not None and kept.stamp == stamp:
                self._keep(path, kept)
                self.counts.from_cache += 1
            else:
                stale.append((path, stamp))
        done = len(found) - len(stale)
        if progress is not None:
            progress(done, len(found))
        if stale:
            for batch in self._parsed(stale, walk.skipped):
                for path, indexed in batch:
                    self._keep(path, indexed)
                    self.counts.parsed += 1
                done += BATCH
                if progress is not None:
                    progress(min(done, len(found)), len(found))
        if self.counts.parsed or len(cached) != self.counts.from_cache:
            self._save_cache(walk.root)

    def _parsed(
        self, stale: list[tuple[Path, Stamp]], skipped: Skipped
    ) -> Iterator[list[tuple[Path, Indexed]]]:
        """Summaries of `stale` files, a batch at a time, from the worker process."""
        batches = [stale[i : i + BATCH] for i in range(0, len(stale), BATCH)]
        context = multiprocessing.get_context("spawn")  # never fork a process running llama.cpp
        with ProcessPoolExecutor(1, mp_context=context, initializer=_worker_start) as worker:
            for batch in batches:
                if self._stopping.is_set():
                    return
                results = worker.submit(_summarise_batch, [path for path, _ in batch]).result()
                kept = []
                for (path, stamp), (summary, problem) in zip(batch, results, strict=True):
                    if summary is not None:
                        kept.append((path, Indexed(stamp, summary)))
                    elif problem == "binary":
                        skipped.binary += 1
                    elif problem:
                        skipped.unreadable.append(problem)
                yield kept

    def _keep(self, path: Path, indexed: Indexed) -> None:
        size = indexed.summary.size
        with self._lock:
            if path not in self._files and (
                len(self._files) >= self._max_files or self.counts.bytes + size > self._max_bytes
            ):
                self.counts.left_out += 1
                return
            self._files[path] = indexed
            self.generation += 1
            self.counts.files = len(self._files)
            self.counts.bytes += size
        self._read_windows(path)

    def _read_windows(self, path: Path) -> None:
        # Read again rather than kept with the summary, in the cache or on the
        # way from the worker: the words of a file are as many as its text.
        text = read_source(path)
        if text is None:
            self.similar_code.remove(path)
        else:
            self.similar_code.add(path, text)

    # --- the cache ---------------------------------------------------------

    def _cache_file(self, root: Path) -> Path | None:
        if self._cache_dir is None:
            return None
        key = hashlib.sha256(str(root).encode()).hexdigest()[:16]
        return self._cache_dir / f"{key}.json"

    def _load_cache(self, root: Path) -> dict[Path, Indexed]:
        file = self._cache_file(root)
        if file is None or not file.exists():
            return {}
        try:
            data = json.loads(file.read_text())
            if data.get("format") != CACHE_FORMAT or data.get("root") != str(root):
                return {}
            return {root / name: _from_json(kept) for name, kept in data["files"].items()}
        except (OSError, ValueError, KeyError, TypeError) as error:
            log.warning(
                "workspace index: the cache %s is unreadable (%s): reading all files", file, error
            )
            return {}

    def _save_cache(self, root: Path) -> None:
        file = self._cache_file(root)
        if file is None:
            return
        with self._lock:
            kept = {
                path.relative_to(root).as_posix(): _to_json(indexed)
                for path, indexed in self._files.items()
                if path.is_relative_to(root)
            }
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            partial = file.with_suffix(".partial")
            partial.write_text(
                json.dumps({"format": CACHE_FORMAT, "root": str(root), "files": kept})
            )
            partial.replace(file)
            _prune(file.parent)
        except OSError as error:
            log.warning("workspace index: could not write its cache %s: %s", file, error)


def _prune(folder: Path) -> None:
    """Keep the caches of the CACHED_FOLDERS workspaces used last."""
    caches = sorted(folder.glob("*.json"), key=lambda f: f.stat().st_mtime, reverse=True)
    for stale in caches[CACHED_FOLDERS:]:
        stale.unlink(missing_ok=True)


def _stamp(path: Path) -> Stamp | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return Stamp(status.st_size, status.st_mtime_ns)


def _summarised(path: Path, skipped: Skipped | None) -> tuple[Indexed, str] | None:
    """A file's summary, and the text it was made from."""
    stamp = _stamp(path)
    language = language_of(path)
    text = read_source(path, skipped) if stamp is not None and language else None
    if stamp is None or language is None or text is None:
        return None
    return Indexed(stamp, summarise(language, text)), text


def _worker_start() -> None:
    """The worker takes the CPU only when nothing else wants it, and never
    writes to the server's stdout, which is the editor's LSP stream."""
    os.nice(19)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    watch = threading.Thread(target=_end_when_orphaned, args=(os.getppid(),), daemon=True)
    watch.start()


def _end_when_orphaned(server: int) -> None:
    """In the worker: end once the server is gone. A server killed outright
    (SIGKILL, an editor's hard stop) cannot shut its pool down, and the
    worker would wait for work forever: it holds the pool's queue itself,
    so it never sees the queue close."""
    while os.getppid() == server:
        time.sleep(ORPHAN_CHECK_S)
    os._exit(0)


def _summarise_batch(paths: Iterable[Path]) -> list[tuple[FileSummary | None, str]]:
    """In the worker: each file's summary, or why there is none."""
    results: list[tuple[FileSummary | None, str]] = []
    for path in paths:
        skipped = Skipped()
        try:
            found = _summarised(path, skipped)
        except Exception as error:  # a parse that fails must not end the walk
            results.append((None, f"{path}: {error}"))
            continue
        if found is not None:
            results.append((found[0].summary, ""))
        else:
            results.append((None, "binary" if skipped.binary else "; ".join(skipped.unreadable)))
    return results


def _to_json(indexed: Indexed) -> list[object]:
    summary = indexed.summary
    entries = [list(asdict(entry).values()) for entry in summary.entries]
    return [indexed.stamp.size, indexed.stamp.mtime_ns, summary.language, summary.imports, entries]


def _from_json(kept: list[object]) -> Indexed:
    size, mtime_ns, language, imports, entries = kept
    assert isinstance(size, int)
    assert isinstance(mtime_ns, int)
    assert isinstance(language, str)
    assert isinstance(imports, list)
    assert isinstance(entries, list)
    summary = FileSummary(language, tuple(Entry(*entry) for entry in entries), tuple(imports))
    return Indexed(Stamp(size, mtime_ns), summary)
