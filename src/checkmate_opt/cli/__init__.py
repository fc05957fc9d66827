"""The ``checkmate-opt`` command: one module per command, helpers in :mod:`.common`.

Every error (bad file, bad argument) ends with one line ``checkmate-opt: error: ...`` on stderr
and exit status 2; output files are written atomically, so a failure leaves none behind.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from checkmate_opt.cli import demo, export, generate, max_batch, plot, solve, zoo
from checkmate_opt.cli.common import PROG, Parser, UsageError
from checkmate_opt.errors import CheckmateError

__all__ = ["build_parser", "main"]

#: command modules in the order of ``--help``; each has ``add_parser(sub)`` and ``run(args)``
COMMANDS = (demo, generate, solve, plot, zoo, export, max_batch)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``checkmate-opt``."""
    parser = Parser(prog=PROG, description="Optimal tensor rematerialization (Checkmate).")
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
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted after {time.perf_counter() - start:.1f} s", file=sys.stderr)
        return 130
