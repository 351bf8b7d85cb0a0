"""`hearth.stats`: what the server has done and holds, for an editor's
status page, a benchmark or a test. Never the code: documents are given by
a digest."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lsp_server import settings
from lsp_server.documents import Document
from lsp_server.inference.scheduler import Scheduler
from lsp_server.model_host import ModelHost

COMMAND = "hearth.stats"


@dataclass
class Counters:
    """What the inline feature counts beside the scheduler."""

    typed_through: int = 0  # requests answered from the shown suggestion, without the model
    taken_over: int = 0  # requests that joined a running generation typing followed


def report(
    scheduler: Scheduler,
    model: ModelHost,
    current: settings.Settings,
    counters: Counters,
    explanations: int,
    documents: Iterable[Document],
) -> dict[str, Any]:
    engine = scheduler.engine
    return {
        **scheduler.stats.as_dict(),
        "model": engine.model_name if engine is not None else None,
        "modelPath": model.where,
        "engine": current.engine.kind,
        "modelState": model.state.value,
        "modelError": model.error,
        "fimFormat": engine.fim_family if engine is not None else None,
        "explanations": explanations,
        "typedThrough": counters.typed_through,
        "takenOver": counters.taken_over,
        "cpuSeconds": time.process_time(),
        "residentBytes": _resident_bytes(),
        "settings": settings.to_wire(current),
        # What Hearth holds of each document, for an editor (or a test) to
        # check that it is in step: a digest, never the code.
        "documents": [
            {
                "uri": d.uri,
                "version": d.version,
                "characters": len(d.text),
                "sha256": hashlib.sha256(d.text.encode("utf-8", "surrogatepass")).hexdigest(),
            }
            for d in documents
        ],
    }


def _resident_bytes() -> int | None:
    """This process's resident memory now (Linux), None where /proc is absent."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None
