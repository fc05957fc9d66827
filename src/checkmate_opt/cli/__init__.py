"""The ``checkmate-opt`` command: one module per command, helpers in :mod:`.common`.

Every error (bad file, bad argument) ends with one line ``checkmate-opt: error: ...`` on stderr
and exit status 2; output files are written atomically, so a failure leaves none behind.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

from checkmate_opt.cli import (
    demo,
    export,
    figures,
    generate,
    max_batch,
    plot,
    solve,
    sweep,
    train_demo,
    zoo,
)
from checkmate_opt.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_STATUS_HELP,
    EXIT_USAGE,
    PROG,
    Parser,
    UsageError,
)
from checkmate_opt.errors import CheckmateError

__all__ = ["build_parser", "entry", "main"]

#: command modules in the order of ``--help``; each has ``add_parser(sub)`` and ``run(args)``
COMMANDS = (demo, generate, solve, plot, zoo, export, max_batch, sweep, figures, train_demo)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``checkmate-opt``."""
    from checkmate_opt import __version__

    parser = Parser(
        prog=PROG,
        description="Optimal tensor rematerialization (Checkmate).",
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    parser = build_parser()
    start = time.perf_counter()
    try:
        args = parser.parse_args(argv)
        return int(args.func(args))
    except (UsageError, CheckmateError, ValueError, OSError) as err:
        msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"{PROG}: error: {msg}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted after {time.perf_counter() - start:.1f} s", file=sys.stderr)
        return EXIT_INTERRUPTED


def entry() -> None:
    """The console script: :func:`main`, then exit with its status.

    After an interrupted solve a solver's native threads may still be winding down; letting
    the interpreter tear them down aborted the process now and then (``terminate called
    without an active exception``, exit 134). Everything is written and flushed by then, so
    the process leaves at once with status 130.
    """
    code = main()
    if code == EXIT_INTERRUPTED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
