"""The `depgraph` command line: the parser assembled from the commands (`depgraph.commands`),
logging as one stderr line per message, and the one place errors become exit codes."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

from depgraph.core.errors import DepgraphError

from . import __version__
from .commands import COMMANDS
from .commands.options import common_options, resolve_defaults
from .exitcodes import EXIT_CODES_HELP, ExitCode, exit_code_for

__all__ = ["build_parser", "main", "run"]


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one `depgraph:` line (with where to read more), exit 2."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("depgraph").strip()
        where = f"{command}: " if command else ""
        self.exit(ExitCode.USAGE, f"depgraph: {where}{message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="depgraph",
        description="Measure the Python package ecosystem by who depends on whom: crawl a\n"
        "PyPI-compatible index into a store, then count, rank and check its dependency graph.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"pypi-depgraph {__version__}")
    common = common_options()
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub, common)
    return parser


def _sigterm_as_interrupt(signum: int, frame: object) -> None:
    # `kill` stops a crawl as cleanly as Ctrl-C: finished projects stay committed
    raise KeyboardInterrupt


class _StderrHandler(logging.Handler):
    """Writes to whatever sys.stderr is when a record comes (tests swap it between calls)."""

    def emit(self, record: logging.LogRecord) -> None:
        print(self.format(record), file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    return _run(build_parser().parse_args(argv))


def run() -> None:
    """The `depgraph` script and `python -m depgraph`: `main`, then the exit.

    A report (a command that sets `hard_exit`) leaves ~1 GB of objects and ~1,000 modules
    behind, and freeing them one by one at exit takes a quarter of a second of nothing: after
    it, the process ends at once, as mypy's `hard_exit` does (output flushed; the report's
    threads are joined, its worker process has ended and its files are closed by then, so there
    is nothing left to clean up)."""
    args = build_parser().parse_args()
    code = _run(args)
    if getattr(args, "hard_exit", False):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise SystemExit(code)


def _run(args: argparse.Namespace) -> int:
    # the packages say what they do through logging; on the command line it is one stderr line
    # each, unless the user asked for quiet or JSON
    quiet = getattr(args, "quiet", False) or getattr(args, "json", False)
    handler_ = _StderrHandler()
    handler_.setFormatter(logging.Formatter("depgraph: %(message)s"))
    logger = logging.getLogger("pypi-depgraph")
    logger.handlers[:] = [handler_]
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        resolve_defaults(args)
        return int(args.handler(args))
    except DepgraphError as exc:  # the one place errors become exit codes
        print(f"depgraph: {exc}", file=sys.stderr)
        return int(exit_code_for(exc))
    except BrokenPipeError:
        # the reader of our output went away (`depgraph ... | head`): the work is done, what is
        # left to print has nowhere to go; stdout is pointed at /dev/null so that the flush at
        # exit does not fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(ExitCode.OK)
    except OSError as exc:  # an input file that cannot be read (the message names it)
        print(f"depgraph: {exc}", file=sys.stderr)
        return int(ExitCode.USAGE)
    except KeyboardInterrupt:
        print(
            f"depgraph: {args.command} interrupted; what was finished is kept, run it again",
            file=sys.stderr,
        )
        return int(ExitCode.INTERRUPTED)


if __name__ == "__main__":
    run()
