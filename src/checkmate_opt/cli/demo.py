"""``checkmate-opt demo``: every strategy on a built-in graph (no files needed)."""

from __future__ import annotations

import argparse
import math

from checkmate_opt.cli.common import UsageError

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="every strategy on a built-in graph (no files needed)")
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--fraction", type=float, default=0.8, help="budget / peak with no rematerialization"
    )
    p.add_argument("--time-limit", type=float, default=5.0, help="seconds per strategy (default 5)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Every strategy on a built-in graph at a budget below the no-remat peak."""
    from checkmate_opt.compare import compare
    from checkmate_opt.generators import random_layered_graph
    from checkmate_opt.options import SolveOptions

    if not (math.isfinite(args.fraction) and args.fraction > 0):
        raise UsageError(f"--fraction must be a finite number > 0, got {args.fraction:g}")
    if args.layers < 1:
        raise UsageError(f"--layers must be >= 1, got {args.layers}")
    try:
        options = SolveOptions(time_limit_s=args.time_limit)
    except ValueError as err:
        raise UsageError(str(err)) from None
    graph = random_layered_graph(args.layers, seed=args.seed)
    table = compare(graph, f"{args.fraction!r}x", options=options)
    print(table.to_text())
    return 130 if table.interrupted else 0
