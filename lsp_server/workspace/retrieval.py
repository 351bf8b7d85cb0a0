"""Code in other files of the workspace that looks like the code above the cursor.

Each file is cut into overlapping windows of lines. The last lines above
the cursor find the windows that share most of their words (Jaccard
similarity of the two sets of words), the retrieval that CrossCodeEval and
RepoCoder measured: code elsewhere in the project that does what the user
is writing shows how the project does it, with its names.

Only an inverted index is kept (for each word, the windows that use it),
so that a query costs a few milliseconds in a workspace of thousands of
files; a chosen window's lines are read when a prompt shows them.
"""

from __future__ import annotations

import re
import threading
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WINDOW = 12  # lines in a window
STRIDE = 6  # lines from one window's start to the next's: each line is in two
QUERY_LINES = 10  # lines above the cursor's own that look for windows like them
MIN_SIMILARITY = 0.2  # a window sharing less is not worth its tokens (crossfile benchmark)
MAX_WORDS = 8_000_000  # words of windows kept (4 bytes each): past it, files are left out

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def windows(text: str) -> list[set[str]]:
    """The words of each window of `text`, the window `i` starting at line
    `i * STRIDE` (a blank one has none)."""
    lines = text.split("\n")
    return [
        set(_WORD.findall(window(lines, start)))
        for start in range(0, max(1, len(lines) - WINDOW + STRIDE), STRIDE)
    ]


def window(lines: Sequence[str], start: int) -> str:
    """The text of the window of `lines` that starts at line `start`."""
    return "\n".join(lines[start : start + WINDOW])


def query(above: str) -> frozenset[str]:
    """The words of the last lines of `above` (the text before the cursor's line)."""
    return frozenset(_WORD.findall("\n".join(above.split("\n")[-QUERY_LINES - 1 :])))


@dataclass(frozen=True)
class Window:
    path: Path
    line: int  # its first line, from 0
    similarity: float


@dataclass(frozen=True)
class _File:
    first: int  # its first window's number
    count: int
    words: int


class SimilarCode:
    """The workspace's files as windows, found by the words they share with a query."""

    def __init__(self, max_words: int = MAX_WORDS) -> None:
        self._lock = threading.Lock()
        self._postings: dict[str, array[int]] = {}  # word -> the windows that use it
        self._sizes = array("H")  # per window: how many words it has; 0 once removed
        self._lines = array("I")  # per window: its first line
        self._paths: list[Path] = []  # per window: its file
        self._files: dict[Path, _File] = {}
        self._max_words = max_words
        self.words = 0  # kept, in the windows of the files kept
        self.left_out = 0  # files not kept: MAX_WORDS reached
        self._dead = 0  # entries of the postings whose windows were removed

    def add(self, path: Path, text: str) -> None:
        """Take `path`'s windows from its `text`, in place of any it had."""
        cut = windows(text)
        words = sum(len(w) for w in cut)
        with self._lock:
            self._remove(path)
            if self.words + words > self._max_words:
                self.left_out += 1
                return
            first = len(self._sizes)
            for i, window in enumerate(cut):
                number = first + i
                self._sizes.append(len(window))
                self._lines.append(i * STRIDE)
                self._paths.append(path)
                for word in window:
                    found = self._postings.get(word)
                    if found is None:
                        self._postings[word] = found = array("I")
                    found.append(number)
            self._files[path] = _File(first, len(cut), words)
            self.words += words

    def remove(self, path: Path) -> None:
        with self._lock:
            self._remove(path)

    def similar(self, words: frozenset[str], exclude: Path, count: int) -> list[Window]:
        """The `count` windows most like `words` outside `exclude`, best
        first, no two from overlapping lines of a file."""
        with self._lock:
            used = [self._postings[w] for w in words if w in self._postings]
            if not used:
                return []
            numbers = np.concatenate([np.frombuffer(p, dtype=np.uint32) for p in used])
            sizes = np.frombuffer(self._sizes, dtype=np.uint16).astype(np.float64)
            shared = np.bincount(numbers, minlength=len(sizes)).astype(np.float64)
            own = self._files.get(exclude)
            if own is not None:
                shared[own.first : own.first + own.count] = 0
            similarity = shared / np.maximum(len(words) + sizes - shared, 1)
            similarity[sizes == 0] = 0  # removed
            candidates = np.flatnonzero(similarity >= MIN_SIMILARITY)
            ranked = candidates[np.argsort(-similarity[candidates], kind="stable")]
            found = [(self._paths[n], self._lines[n], float(similarity[n])) for n in ranked]
        chosen: list[Window] = []
        for path, line, score in found:
            if any(c.path == path and abs(c.line - line) < WINDOW for c in chosen):
                continue
            chosen.append(Window(path, line, score))
            if len(chosen) == count:
                break
        return chosen

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"files": len(self._files), "words": self.words, "leftOut": self.left_out}

    def _remove(self, path: Path) -> None:
        kept = self._files.pop(path, None)
        if kept is None:
            return
        for number in range(kept.first, kept.first + kept.count):
            self._sizes[number] = 0
        self.words -= kept.words
        self._dead += kept.words
        if self._dead > max(100_000, self.words):
            self._compact()

    def _compact(self) -> None:
        """Drop the removed windows from the postings."""
        alive = np.frombuffer(self._sizes, dtype=np.uint16) > 0
        for word, numbers in list(self._postings.items()):
            kept = np.frombuffer(numbers, dtype=np.uint32)
            kept = kept[alive[kept]]
            if len(kept):
                self._postings[word] = array("I", kept.tobytes())
            else:
                del self._postings[word]
        self._dead = 0
