"""What a check found, and the report that prints it (the shape :checkhealth reads)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, TextIO

Status = Literal["ok", "warn", "FAIL", "--"]

LABEL_WIDTH = 15  # the longest label, "chat template", and two spaces: health.lua splits there
FIX_INDENT = " " * 6


@dataclass(frozen=True)
class Finding:
    status: Status
    text: str
    fix: str = ""  # what to do, for a warn or a FAIL
    notes: tuple[str, ...] = ()  # shown before the fix: the server's last words


Check = tuple[str, Callable[[], Finding]]
"""A label, and the check."""


class Report:
    """Prints each check's line as it ends, aligned, and remembers a FAIL."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.failed = False

    def show(self, label: str, finding: Finding) -> None:
        self.failed |= finding.status == "FAIL"
        print(f"{finding.status:<6}{label:<{LABEL_WIDTH}}{finding.text}", file=self.out)
        for note in finding.notes:
            print(f"{FIX_INDENT}| {note}", file=self.out)
        if finding.fix:
            print(f"{FIX_INDENT}fix: {finding.fix}", file=self.out)
        self.out.flush()

    def run(self, checks: Sequence[Check], needs: str) -> None:
        """Run `checks` in order, each needing those before it: after a FAIL or
        a skip, the rest are skipped for want of `needs`."""
        for index, (label, check) in enumerate(checks):
            finding = check()
            self.show(label, finding)
            if finding.status in ("FAIL", "--"):
                for rest, _ in checks[index + 1 :]:
                    self.show(rest, Finding("--", f"skipped: needs {needs}"))
                return
