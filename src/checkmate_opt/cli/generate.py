"""``checkmate-opt generate``: write a generated graph file."""

from __future__ import annotations

import argparse

from checkmate_opt.cli.common import UsageError, check_output

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("generate", help="write a generated graph file")
    p.add_argument("kind", choices=["linear", "random"])
    p.add_argument("--layers", type=int, required=True)
    p.add_argument("--seed", type=int, default=0, help="seed (random)")
    p.add_argument("--output", required=True)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from checkmate_opt.generators import linear_graph, random_layered_graph
    from checkmate_opt.io import save_graph

    out = check_output(args.output)
    if args.layers < 1:
        raise UsageError(f"--layers must be >= 1, got {args.layers}")
    if args.kind == "linear":
        graph = linear_graph(args.layers)
    else:
        graph = random_layered_graph(args.layers, seed=args.seed)
    save_graph(graph, out)
    print(f"wrote {out} ({graph.n} nodes, {len(graph.edges)} edges)")
    return 0
