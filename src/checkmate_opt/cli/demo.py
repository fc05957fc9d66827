"""``checkmate-opt demo``: every strategy on a built-in graph (no files needed)."""

from __future__ import annotations

import argparse
import inspect
import math

from checkmate_opt.cli.common import UsageError, strategy_kwargs

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="every strategy on a built-in graph (no files needed)")
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--fraction", type=float, default=0.8, help="budget / peak with no rematerialization"
    )
    p.add_argument("--time-limit", type=float, default=60.0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Every strategy on a built-in graph at a budget below the no-remat peak."""
    from checkmate_opt.budget import no_remat_peak, resolve_budget
    from checkmate_opt.generators import random_layered_graph
    from checkmate_opt.strategies import STRATEGIES, get_strategy

    if not (math.isfinite(args.fraction) and args.fraction > 0):
        raise UsageError(f"--fraction must be a finite number > 0, got {args.fraction:g}")
    if args.layers < 1:
        raise UsageError(f"--layers must be >= 1, got {args.layers}")
    graph = random_layered_graph(args.layers, seed=args.seed)
    ref = no_remat_peak(graph)
    budget = resolve_budget(f"{args.fraction}x", graph)
    print(
        f"graph: {graph.name} ({graph.n} nodes, {len(graph.edges)} edges); peak activation "
        f"memory with no rematerialization {ref}; budget {args.fraction:g} x = {budget}"
    )
    header = f"{'strategy':<24}{'status':<12}{'within':<8}{'compute':>9}{'overhead':>10}{'peak':>7}"
    print(header)
    print("-" * len(header))
    for name in STRATEGIES:
        fn = get_strategy(name)
        ns = argparse.Namespace(
            solver=None,
            time_limit=args.time_limit,
            mip_gap=None,
            threads=None,
            seed=None,
            verbose=False,
            strategy=name,
        )
        kwargs = strategy_kwargs(fn, ns) if "options" in inspect.signature(fn).parameters else {}
        res = fn(graph, budget, **kwargs)
        s = res.summary()
        comp = "-" if s["compute_cost"] is None else str(s["compute_cost"])
        over = "-" if s["overhead"] is None else f"{s['overhead']:.3f}x"
        peak = "-" if s["peak_activation_memory"] is None else str(s["peak_activation_memory"])
        if name == "lp_bound" and s["objective_bound"] is not None:
            comp = f">={s['objective_bound']:.1f}"
        within = str(s["within_budget"]) if s["feasible"] else "-"
        print(f"{name:<24}{s['status']:<12}{within:<8}{comp:>9}{over:>10}{peak:>7}")
    return 0
