"""Code like the cursor's from other files: windows of words, found by Jaccard similarity."""

from __future__ import annotations

import itertools
from pathlib import Path

from lsp_server.workspace import retrieval
from lsp_server.workspace.retrieval import STRIDE, WINDOW, SimilarCode, windows

SENDER = """\
def send(message, server):
    connection = server.connect(timeout=10)
    connection.login(server.user, server.password)
    connection.sendmail(message.sender, message.recipients, message.as_bytes())
    connection.quit()
"""
ELSEWHERE = Path("/w/elsewhere.py")


def test_a_file_is_cut_into_overlapping_windows_of_its_words() -> None:
    text = "\n".join(f"name_{i} = {i}" for i in range(30))
    cut = windows(text)
    assert len(cut) == len(range(0, 30 - WINDOW + STRIDE, STRIDE))
    assert cut[0] == {f"name_{i}" for i in range(WINDOW)}
    assert cut[1] == {f"name_{i}" for i in range(STRIDE, STRIDE + WINDOW)}
    assert windows("") == [set()]
    assert windows("x = 1") == [{"x"}]


def test_the_query_is_the_last_lines_above_the_cursors() -> None:
    above = "".join(f"line_{i} = 0\n" for i in range(40))
    words = retrieval.query(above)
    assert words == {f"line_{i}" for i in range(40 - retrieval.QUERY_LINES, 40)}


def test_the_most_similar_windows_of_other_files_come_first() -> None:
    code = SimilarCode()
    sender, other, unrelated, itself = (Path(f"/w/{n}.py") for n in "abcd")
    code.add(sender, SENDER)
    code.add(other, SENDER.replace("quit", "close").replace("timeout", "wait"))
    code.add(unrelated, "import os\nprint(os.getcwd())\n")
    code.add(itself, SENDER)
    query = retrieval.query(SENDER)

    found = code.similar(query, exclude=itself, count=3)
    assert [w.path for w in found] == [sender, other]  # nothing under the threshold
    assert found[0].similarity == 1.0 > found[1].similarity
    assert found[0].line == 0
    assert code.similar(frozenset(), exclude=itself, count=3) == []
    assert code.similar(frozenset({"nowhere"}), exclude=itself, count=3) == []


def test_overlapping_windows_of_one_place_are_shown_once() -> None:
    code = SimilarCode()
    code.add(Path("/w/repeated.py"), SENDER * 6)
    found = code.similar(retrieval.query(SENDER), exclude=ELSEWHERE, count=10)
    lines = sorted(w.line for w in found)
    assert len(found) >= 2
    assert all(b - a >= WINDOW for a, b in itertools.pairwise(lines))


def test_a_file_read_again_or_gone_leaves_no_window_behind() -> None:
    code = SimilarCode()
    path = Path("/w/a.py")
    code.add(path, SENDER)
    code.add(path, "import os\n")
    query = retrieval.query(SENDER)
    assert code.similar(query, exclude=ELSEWHERE, count=2) == []
    code.add(path, SENDER)
    assert [w.path for w in code.similar(query, exclude=ELSEWHERE, count=2)] == [path]
    code.remove(path)
    assert code.similar(query, exclude=ELSEWHERE, count=2) == []
    assert code.stats() == {"files": 0, "words": 0, "leftOut": 0}


def test_removed_windows_are_dropped_from_the_postings_in_time() -> None:
    code = SimilarCode()
    text = SENDER * 400  # 333 windows
    for _ in range(100):  # 33,000 windows added, all but the last file's removed
        code.add(Path("/w/a.py"), text)
    live = code.stats()["words"]
    postings = sum(len(numbers) for numbers in code._postings.values())
    assert postings <= live + max(100_000, live)
    found = code.similar(retrieval.query(SENDER), exclude=ELSEWHERE, count=1)
    assert [w.path for w in found] == [Path("/w/a.py")]


def test_past_its_limit_a_file_is_left_out_and_counted() -> None:
    code = SimilarCode(max_words=20)
    code.add(Path("/w/a.py"), SENDER)  # 15 words
    code.add(Path("/w/b.py"), SENDER)
    assert code.stats() == {"files": 1, "words": 15, "leftOut": 1}
