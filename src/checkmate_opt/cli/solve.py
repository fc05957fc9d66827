"""``checkmate-opt solve``: schedule a graph with a strategy."""

from __future__ import annotations

import argparse
import json
import logging
import time

from checkmate_opt.cli.common import (
    add_model_args,
    add_solver_args,
    check_output,
    check_strategy,
    enable_progress,
    format_result,
    load_graph_arg,
    parse_budget,
    result_status,
    strategy_kwargs,
    write_text_atomic,
)

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from checkmate_opt.cli.common import EXIT_STATUS_HELP, strategy_help

    p = sub.add_parser(
        "solve",
        help="schedule a graph with a strategy",
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_model_args(p)
    p.add_argument("--strategy", default="optimal", help=strategy_help())
    add_solver_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--output", help="also write the full result (with schedule) as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    fn = check_strategy(args.strategy)
    out = check_output(args.output) if args.output else None
    graph = load_graph_arg(args)
    budget = parse_budget(args.budget, graph, include_fixed=args.include_fixed)
    kwargs = strategy_kwargs(fn, args)
    enable_progress(args)
    logging.getLogger("checkmate_opt").info(
        "solving %s (%d nodes) with %s", graph.name or "graph", graph.n, args.strategy
    )
    start = time.perf_counter()
    try:
        result = fn(graph, budget, **kwargs)
    except KeyboardInterrupt:
        # Ctrl-C before the strategy held a schedule (e.g. while the MILP is built): still a
        # result, printed and written like any other, so every interrupt ends the same way
        from checkmate_opt.results import SolveResult, Termination

        result = SolveResult(
            strategy=args.strategy,
            budget=budget,
            termination=Termination.INTERRUPTED,
            schedule=None,
            report=None,
            solve_time_s=time.perf_counter() - start,
            message="interrupted before a schedule was found",
        )
    summary = result.summary()
    summary["layers"] = result.layers(graph)  # what the schedule does, by layer name
    from checkmate_opt.budget import no_remat_peak

    summary["no_remat_peak"] = no_remat_peak(graph)  # the reference of "0.8x" budgets
    if out is not None:
        full = result.to_dict()
        full["layers"] = summary["layers"]
        write_text_atomic(out, json.dumps(full, indent=1) + "\n")
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    else:
        print(format_result(graph, summary))
    return result_status(result)
