"""What runs beside the requests for the server's whole life: the editor's
process watched, the model's file followed, the engine's state reported."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable

from lsprotocol import types

from lsp_server.inference.scheduler import Scheduler
from lsp_server.model_host import ModelHost, ModelState
from lsp_server.window import Window

log = logging.getLogger(__name__)

EDITOR_CHECK_S = 2.0  # how often the editor's process is looked for
MODEL_FILE_CHECK_S = 2.0  # ... and the model's file


def report_engine(scheduler: Scheduler, model: ModelHost, window: Window) -> None:
    """Report the model's worker starting and running out of work as status,
    and a remote engine's outages as they begin and end: told once each way,
    not on every keystroke in between."""
    loop = asyncio.get_running_loop()

    def on_busy(busy: bool) -> None:  # on the worker thread
        if model.state is ModelState.READY and model.error is None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: shutting down
                loop.call_soon_threadsafe(window.status, "busy" if busy else "ready")

    def health(outage: str | None) -> None:
        if outage is not None:
            window.status("error", outage)
            window.say(f"{outage}. No suggestions until it answers; Hearth tries again.")
        else:
            window.status("ready")
            window.say(f"the engine at {model.where} answers again.", types.MessageType.Info)

    def on_health(outage: str | None) -> None:  # on the worker thread
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(health, outage)

    scheduler.on_busy = on_busy
    model.on_health = on_health


async def exit_with_editor(pid: int, shut_down: Callable[[], None]) -> None:
    """Exit once the editor's process (`processId` from `initialize`) is
    gone, even if it left our stdin open: an orphaned server would hold
    the model's memory for nothing. (LSP asks this of servers.)"""
    while _process_alive(pid):
        await asyncio.sleep(EDITOR_CHECK_S)
    log.warning("the editor (process %d) is gone: Hearth exits", pid)
    shut_down()
    # Not sys.exit: pygls's reader thread is blocked on stdin, and its
    # shutdown would wait for it.
    os._exit(0)


async def follow_model_file(
    model: ModelHost, window: Window, load_again: Callable[[], Awaitable[None]]
) -> None:
    """Follow the model's file: one downloaded again over the loaded one is
    loaded again once complete; a deleted one is said once."""
    while True:
        await asyncio.sleep(MODEL_FILE_CHECK_S)
        event, path = model.poll_file(), model.watched
        if event is not None:
            log.warning("the model file %s: %s", path, event)
        if event == "deleted":
            window.say(
                f"the model file {path} was deleted: Hearth goes on with the model "
                "it has loaded until it restarts"
            )
        elif event == "changing":
            window.say(
                f"the model file {path} changed on disk: Hearth loads it again "
                "once it stops changing"
            )
        elif event == "changed":
            await load_again()
            if model.error is None:
                window.say(f"loaded {path} again", types.MessageType.Info)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether it exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, as another user's
    return True
