"""The `hearth` command: the language server, and tools around it.

hearth [--stdio | --tcp HOST:PORT] [--model PATH_OR_PRESET] [--log-file F] [--log-level L]
hearth --version
hearth doctor                  check Python, llama.cpp and the model (found, verified,
                               loaded, its speed here, a sample), then ask a real server
                               for a suggestion; each problem with what to do about it
hearth doctor --engine-url URL [--engine-api llamacpp|openai] [--engine-key-env NAME]
                               the same with a remote engine in place of the model
hearth demo FILE:LINE:COL      ask the real server for a suggestion, as an editor would
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import logging
import os
import signal
import stat
import sys
import time
from collections.abc import Sequence
from types import FrameType
from typing import Any, TextIO

from lsp_server import __version__

LOG_LEVELS = ("debug", "info", "warning", "error")
log = logging.getLogger(__name__)
# Where a crash's stack goes: the log's file, opened for faulthandler alone and
# never closed (logging closes its own handle at exit, and a crash can come later).
_crash_log: TextIO = sys.stderr


def _address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host, int(port)


def _engine_url(value: str) -> str:
    """Checked as the setting hearth.engine.url is, so that the server takes it too."""
    from lsp_server.settings import EngineSettings

    try:
        EngineSettings(url=value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hearth",
        description="Hearth: a private coding partner, as a language server.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    transport = parser.add_mutually_exclusive_group()
    transport.add_argument(
        "--stdio", action="store_true", help="speak LSP on stdin/stdout (default)"
    )
    transport.add_argument(
        "--tcp", type=_address, metavar="HOST:PORT", help="listen on TCP instead"
    )
    parser.add_argument(
        "--model", metavar="PATH_OR_PRESET", help="a GGUF file, or a preset: default, small"
    )
    parser.add_argument("--log-file", metavar="FILE", help="write the log here (default: stderr)")
    parser.add_argument("--version", action="version", version=f"hearth {__version__}")
    parser.add_argument("--log-level", choices=LOG_LEVELS, help="default: info")
    # --model is also accepted after the subcommand, where users tend to put it.
    model_option = argparse.ArgumentParser(add_help=False)
    model_option.add_argument("--model", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    doctor = commands.add_parser(
        "doctor",
        parents=[model_option],
        help="check this machine, the model and the server; say what to fix",
    )
    doctor.add_argument(
        "--engine-url",
        type=_engine_url,
        metavar="URL",
        help="check the remote engine at URL instead of a model in this process",
    )
    doctor.add_argument(
        "--engine-api",
        choices=("llamacpp", "openai"),
        help="the remote engine's API (with --engine-url; default: llamacpp)",
    )
    doctor.add_argument(
        "--engine-key-env",
        metavar="NAME",
        help="the environment variable that holds the remote engine's key (with --engine-url)",
    )
    demo = commands.add_parser(
        "demo", parents=[model_option], help="ask the real server for a suggestion, as an editor"
    )
    demo.add_argument("target", metavar="FILE:LINE:COL", help="1-based line and column")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "doctor":
        return doctor(parser, args)
    if args.command == "demo":
        from lsp_server.demo import run_demo

        return run_demo(args.target, args.model)
    return serve(args)


def doctor(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.engine_url and args.model:
        parser.error("doctor checks a model or a remote engine: give --model or --engine-url")
    if (args.engine_api or args.engine_key_env) and not args.engine_url:
        parser.error("--engine-api and --engine-key-env go with --engine-url")
    from lsp_server.doctor import run_doctor

    return run_doctor(
        args.model, args.engine_url, args.engine_api or "llamacpp", args.engine_key_env
    )


def serve(args: argparse.Namespace) -> int:
    from lsprotocol import types

    from lsp_server.server import create_server

    global _crash_log
    handler: logging.Handler = (
        logging.FileHandler(args.log_file) if args.log_file else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_routine_cancels)
    logging.basicConfig(handlers=[handler], level=logging.WARNING)
    # A crash inside the native engine would otherwise end the process without
    # a word; this leaves the Python stack of every thread where the log goes
    # (stderr, which editors keep, or the --log-file the user will read).
    if args.log_file:
        _crash_log = open(args.log_file, "a")  # noqa: SIM115 (open for the process's life)
    faulthandler.enable(_crash_log, all_threads=True)
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, _exit_on_signal)
    cli_settings = {"log": {"level": args.log_level}} if args.log_level else {}
    server = create_server(args.model, cli_settings)
    logging.getLogger("lsp_server").setLevel(server.settings.current.log.level.upper())
    exit_sent: list[bool] = []

    # Only to tell, at the end, whether the editor asked for the exit.
    @server.feature(types.EXIT)
    def on_exit(*_: Any) -> None:
        exit_sent.append(True)

    log.info("Hearth %s starts (pid %d)", __version__, os.getpid())
    try:
        if args.tcp:
            server.start_tcp(*args.tcp)
        else:
            server.start_io()
    except BaseException:
        log.critical("Hearth exits on an error", exc_info=True)
        raise
    code = 0
    if not exit_sent:
        log.warning(
            "Hearth exits: the connection to the editor ended (its input closed, or an "
            "interrupt) without shutdown and exit"
        )
    # pygls 2.1 keeps "shutdown was asked" private (LanguageServerProtocol._shutdown);
    # should it go, tests/e2e/test_server_log.py's
    # test_the_log_says_the_editor_asked_for_the_exit fails on this warning.
    elif not getattr(server.protocol, "_shutdown", False):
        log.warning("Hearth exits: the editor sent exit without shutdown")
        code = 1  # as LSP asks of an exit that no shutdown came before
    else:
        log.info("Hearth exits: the editor asked it to (shutdown, then exit)")
    server.shut_down()
    return code


def _routine_cancels(record: logging.LogRecord) -> bool:
    """Leave out pygls's warning of a `$/cancelRequest` for a request already
    answered. Editors cancel the previous suggestion's request at each key,
    answered or not, as LSP allows: that was a warning a keystroke, 150 KB of
    stderr for the latency benchmark's typing, which an editor keeps (and a
    client that did not read it stopped at; see editor_client.py)."""
    return not (
        record.name == "pygls.protocol.json_rpc"
        and str(record.msg).startswith("Cancel notification for unknown message id")
    )


def _exit_on_signal(number: int, frame: FrameType | None) -> None:
    """SIGTERM or SIGHUP (an editor that gave up on Hearth, a session's end):
    say so and where each thread was, then die of the signal as before."""
    signal.signal(number, signal.SIG_DFL)  # a second one ends it whatever happens here
    with contextlib.suppress(OSError):
        fd = _crash_log.fileno()
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            # Never wait on a full pipe, which would keep alive a server told
            # to end (a terminal's is left alone: its shell shares the mode).
            os.set_blocking(fd, False)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        name = signal.Signals(number).name
        line = f"{stamp} WARNING {__name__}: Hearth exits: it received {name}; its threads:\n"
        os.write(fd, line.encode())
        faulthandler.dump_traceback(_crash_log, all_threads=True)
    os.kill(os.getpid(), number)
