"""``checkmate-opt export``: write a zoo model's training graph as a graph file."""

from __future__ import annotations

import argparse

from checkmate_opt.cli.common import add_model_args, check_output, load_graph_arg

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("export", help="write a zoo model's training graph as a graph file")
    add_model_args(p, graph_file=False)
    p.add_argument("--output", required=True)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from checkmate_opt.io import save_graph

    out = check_output(args.output)
    graph = load_graph_arg(args)
    save_graph(graph, out)
    print(f"wrote {out} ({graph.n} nodes, {len(graph.edges)} edges)")
    return 0
