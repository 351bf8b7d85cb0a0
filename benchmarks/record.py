"""Where a benchmark's tables are kept: `benchmarks/results/<name>.md`,
written by a full run only. A run with fewer tasks, models or systems
prints its tables and leaves the record alone, so trying a change on a
few tasks never replaces the measurement that the docs quote."""

from __future__ import annotations

import argparse
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def keep(
    name: str,
    report: str,
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    output_only: tuple[str, ...] = (),
) -> None:
    """Write `report` to results/`name` if every option of `args` is at its
    default, but those `output_only` (where the details go: a dump, a log)."""
    defaults = vars(parser.parse_args([]))
    changed = sorted(
        option
        for option, value in vars(args).items()
        if option not in output_only and value != defaults[option]
    )
    path = RESULTS / name
    if changed:
        options = ", ".join("--" + option.replace("_", "-") for option in changed)
        print(f"(a reduced run, with {options}: {path} is left as it was)")
        return
    RESULTS.mkdir(exist_ok=True)
    path.write_text(report + "\n")
