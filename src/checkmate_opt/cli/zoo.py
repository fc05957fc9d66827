"""``checkmate-opt zoo``: the model zoo with node and edge counts."""

from __future__ import annotations

import argparse
import json

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("zoo", help="list the model zoo with node and edge counts")
    p.add_argument("models", nargs="*", help="only these models (default: all; slow)")
    p.add_argument("--names-only", action="store_true", help="just the names (fast)")
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from checkmate_opt import zoo

    names = zoo.names()
    if args.names_only:
        print("\n".join(names))
        return 0
    selected = args.models or names
    for name in selected:
        zoo.family(name)  # unknown names fail here, before any output
    rows = []
    if not args.json:
        # each row needs the Keras model built: stream them so a long listing shows progress
        print(f"{'model':<22}{'layers':>8}{'nodes':>8}{'edges':>8}{'parameters':>14}", flush=True)
    for name in selected:
        d = zoo.describe(name, batch_size=args.batch_size)
        rows.append(d)
        if not args.json:
            print(
                f"{d['name']:<22}{d['layers']:>8}{d['nodes']:>8}{d['edges']:>8}{d['parameters']:>14}",
                flush=True,
            )
    if args.json:
        print(json.dumps(rows))
    return 0
