"""Code with one bug each, that fixes are asked for in every kind of test,
and how a sample project's own tests are run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SHIPPING_UNDEFINED = (
    "import math\n\n\n"
    "def shipping_cost(weight_kg: float, express: bool) -> float:\n"
    "    base = 4.5 + 1.2 * math.ceil(weight_kg)\n"
    "    return base * 2 if express else bse\n\n\n"
    "print(shipping_cost(2.0, True))\n"
)
# The same function, fixed, with its colon missing instead.
SHIPPING_NO_COLON = SHIPPING_UNDEFINED.replace("-> float:", "-> float").replace(
    "else bse", "else base"
)
# The same function, with nothing wrong in it.
SHIPPING = SHIPPING_UNDEFINED.replace("else bse", "else base")
# A misspelt name that fails its test: both built-in models fix it from the
# failure (tests/e2e/test_failure_fixes.py).
BUGGY_STATS = "def average(values):\n    total = sum(values)\n    return total / len(value)\n"
STATS_TEST = (
    "from stats import average\n\n\ndef test_average():\n    assert average([1, 2, 3]) == 2\n"
)


def project_tests(folder: Path, *paths: str) -> subprocess.CompletedProcess[str]:
    """A sample project's tests (`paths` of `folder`, else all), run as its user
    runs them: pytest, no cache, none of this suite's plugins' ordering."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            *paths,
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
