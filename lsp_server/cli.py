"""The `hearth` command: the language server, and tools around it.

hearth [--stdio | --tcp HOST:PORT] [--model PATH_OR_PRESET] [--log-file F] [--log-level L]
hearth --version
hearth doctor                  find, assemble and load the model; show what it can do
hearth demo FILE:LINE:COL      ask the real server for a suggestion, as an editor would
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence

from lsp_server import __version__
from lsp_server.inference import models

LOG_LEVELS = ("debug", "info", "warning", "error")


def _address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host, int(port)


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
    commands.add_parser(
        "doctor",
        parents=[model_option],
        help="find, assemble and load the model; show what it can do",
    )
    demo = commands.add_parser(
        "demo", parents=[model_option], help="ask the real server for a suggestion, as an editor"
    )
    demo.add_argument("target", metavar="FILE:LINE:COL", help="1-based line and column")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "doctor":
        return doctor(args.model)
    if args.command == "demo":
        from lsp_server.demo import run_demo

        return run_demo(args.target, args.model)
    return serve(args)


def serve(args: argparse.Namespace) -> int:
    from lsp_server.server import create_server

    handler: logging.Handler = (
        logging.FileHandler(args.log_file) if args.log_file else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(handlers=[handler], level=logging.WARNING)
    cli_settings = {"log": {"level": args.log_level}} if args.log_level else {}
    server = create_server(args.model, cli_settings)
    logging.getLogger("lsp_server").setLevel(server.settings.current.log.level.upper())
    if args.tcp:
        server.start_tcp(*args.tcp)
    else:
        server.start_io()
    server.shut_down()
    return 0


def _progress(done: int, total: int) -> None:
    print(f"\rassembling model: {done * 100 // total:3d}%", end="", file=sys.stderr, flush=True)


def doctor(model: str | None) -> int:
    from lsp_server.inference.cancel import CancelToken
    from lsp_server.inference.engine import EngineConfig, LlamaEngine, Sampling

    try:
        choice = models.choose(cli=model)
        path = models.locate(choice, _progress)
        started = time.monotonic()
        engine = LlamaEngine(path, EngineConfig())
    except models.ModelError as error:
        print(f"hearth: {error}", file=sys.stderr)
        return 1
    print(file=sys.stderr)
    print(f"model:      {engine.model_name} ({choice.spec}, from {choice.source})")
    print(f"file:       {path}")
    print(f"loaded in:  {time.monotonic() - started:.2f} s")
    fim = engine.fim_format
    print(f"FIM format: {f'{fim.family} (from {fim.source})' if fim else 'none (prefix only)'}")
    result = engine.infill("def fibonacci(n):\n    ", "\n", Sampling(max_tokens=48), CancelToken())
    print(f"sample:     def fibonacci(n):\\n    {result.text!r}")
    engine.close()
    return 0
