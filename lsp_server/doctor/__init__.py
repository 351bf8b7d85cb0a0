"""`hearth doctor`: what works on this machine, and what to do about what does not.

A list of checks, run in order. Each prints one line: a mark (`ok`, `warn`,
`FAIL`, or `--` when skipped), a label and what it found; a warn or a FAIL
is followed by an indented `fix:` line saying what to do (after the
server's last words on stderr, `| ...`, when the server failed). The checks
of the model (or, with --engine-url, of a remote engine) each need the ones
before them: after a FAIL the rest say what they needed. The last one asks
a real server for a suggestion, as an editor does. The exit code is 1 when
a check failed.

Neovim's :checkhealth reads this output (editors/nvim/lua/hearth/health.lua):
keep its shape.
"""

from __future__ import annotations

import contextlib
import logging
import sys

from lsp_server.doctor.findings import Report
from lsp_server.doctor.local import LocalChecks, Speed, measure_speed
from lsp_server.doctor.machine import check_llama_cpp, check_python
from lsp_server.doctor.remote import RemoteChecks
from lsp_server.inference.remote.config import Api

__all__ = ["Speed", "measure_speed", "run_doctor"]


def run_doctor(
    model: str | None, engine_url: str | None, engine_api: Api, engine_key_env: str | None
) -> int:
    # The findings say what matters; log lines (llama.cpp's warnings, the remote
    # engine's retries) would only come between them.
    logging.basicConfig(handlers=[logging.NullHandler()])
    report = Report(sys.stdout)
    report.show("python", check_python())
    llama_cpp = check_llama_cpp()
    report.show("llama.cpp", llama_cpp)
    target = (
        RemoteChecks(engine_url, engine_api, engine_key_env)
        if engine_url
        else LocalChecks(model, llama_cpp=llama_cpp.status != "FAIL")
    )
    with contextlib.closing(target):
        report.run(target.checks(), target.needs)
    return 1 if report.failed else 0
