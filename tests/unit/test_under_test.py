"""Which frames of a failure are a test's: by the file's name, a folder of
the workspace, or the function's name, in the languages Hearth reads."""

from __future__ import annotations

import pytest

from lsp_server.features.failures import Frame
from lsp_server.features.under_test import a_test_file, in_a_test


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        ("test_stats.py", True),
        ("tests/helpers.py", True),
        ("pkg/__tests__/sum.js", True),
        ("stats_test.go", True),
        ("src/sum.test.ts", True),
        ("src/sum.spec.js", True),
        ("src/test/java/StatsTest.java", True),
        ("stats.py", False),
        ("src/contest.py", False),
        ("testing/stats.py", False),
        ("latest_results.py", False),
    ],
)
def test_a_tests_file_is_known_by_its_name_or_folder(shown: str, expected: bool) -> None:
    assert a_test_file(shown) is expected


def test_a_tests_function_is_one_wherever_it_lies() -> None:
    assert in_a_test(Frame("/w/stats.py", 3, None, "test_average"), "stats.py")
    assert in_a_test(Frame("/w/Stats.java", 3, None, "com.acme.StatsCheck.testAverage"), "x")
    assert not in_a_test(Frame("/w/stats.py", 3, None, "average"), "stats.py")
    assert not in_a_test(Frame("/w/stats.py", 3, None, None), "stats.py")
