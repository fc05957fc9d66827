"""``checkmate-opt plot``: draw R, S and the memory timeline of a schedule."""

from __future__ import annotations

import argparse

from checkmate_opt.cli.common import (
    UsageError,
    add_model_args,
    add_solver_args,
    check_output,
    check_strategy,
    enable_progress,
    load_graph_arg,
    parse_budget,
    strategy_help,
    strategy_kwargs,
)

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("plot", help="draw R, S and the memory timeline of a schedule")
    add_model_args(p)
    p.add_argument("--strategy", default="optimal", help=strategy_help())
    add_solver_args(p)
    p.add_argument("--output", required=True, help="image file (.png; a .pdf is written too)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    fn = check_strategy(args.strategy)
    out = check_output(args.output)
    from checkmate_opt.plotting import image_format

    image_format(out)  # a bad suffix fails before the solve
    graph = load_graph_arg(args)
    budget = parse_budget(args.budget, graph, include_fixed=args.include_fixed)
    kwargs = strategy_kwargs(fn, args)
    enable_progress(args)
    result = fn(graph, budget, **kwargs)
    if result.schedule is None:
        raise UsageError(
            f"{args.strategy} found no schedule (status {result.termination.value}); "
            "nothing to plot — raise the budget or the time limit"
        )
    from checkmate_opt.plotting import plot_schedule

    written = plot_schedule(graph, result, out)
    print("wrote " + ", ".join(str(p) for p in written))
    return 0
