"""``checkmate-opt max-batch``: the largest batch size that fits a memory limit."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from checkmate_opt.cli.common import UsageError, add_model_args, load_graph_arg, write_text_atomic
from checkmate_opt.graph import Graph
from checkmate_opt.units import format_bytes, parse_bytes

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("max-batch", help="largest batch size that fits a memory limit")
    add_model_args(p)
    p.add_argument(
        "--base-batch-size",
        type=int,
        help="batch size the graph file was built at (memory scales linearly); default: the "
        "batch size the file records (its 'batch_size' attribute, or the batch in a Checkmate "
        "graph name such as 'VGG16 (MLSys)_256_(224, 224, 3)_train')",
    )
    p.add_argument("--memory", default="16GB", help="device memory limit (default 16GB)")
    p.add_argument("--method", choices=["milp", "baselines"], default="milp")
    p.add_argument(
        "--protocol",
        choices=["paper", "corrected"],
        default="corrected",
        help="baselines: fixed memory counted once (corrected, the default, as in Python) or "
        "twice (paper, as published)",
    )
    p.add_argument("--batch-sizes", type=int, nargs=3, metavar=("MIN", "MAX", "STEP"))
    p.add_argument("--solver", help="MILP backend: highs (default), gurobi or scip")
    p.add_argument("--time-limit", type=float)
    p.add_argument("--threads", type=int)
    p.add_argument("--json", action="store_true")
    p.add_argument("--output", help="CSV file of the per-strategy results")
    p.set_defaults(func=run)


def _factory(
    args: argparse.Namespace, load_graph: Callable[[argparse.Namespace], Graph]
) -> Callable[[int], Graph]:
    from checkmate_opt.experiments.max_batch import scaled_factory

    if args.model and args.platform != "flops":
        # profiled/roofline costs are not linear in the batch size: rebuild at every size
        from checkmate_opt import zoo

        shape = tuple(args.input_shape) if args.input_shape else None
        zoo.family(args.model)  # unknown names fail before any work

        def factory(batch_size: int) -> Graph:
            return zoo.load(
                args.model, batch_size=batch_size, platform=args.platform, input_shape=shape
            )

        return factory
    if args.model:
        args.batch_size = 1
        return scaled_factory(load_graph(args), 1)  # FLOP costs and memory are linear in batch
    graph = load_graph(args)
    if args.base_batch_size is None and graph.batch_size is None:
        raise UsageError(
            f"{args.graph_file} does not record the batch size it was built at; give "
            "--base-batch-size B"
        )
    if args.base_batch_size is not None and args.base_batch_size < 1:
        raise UsageError(f"--base-batch-size must be >= 1, got {args.base_batch_size}")
    return scaled_factory(graph, args.base_batch_size)


def run(args: argparse.Namespace) -> int:
    """Run the max-batch command (see ``checkmate-opt max-batch --help``)."""
    load_graph = load_graph_arg
    write_text = write_text_atomic
    from checkmate_opt.experiments.max_batch import max_batch_baselines, max_batch_milp
    from checkmate_opt.options import SolveOptions

    try:
        memory = parse_bytes(args.memory)
    except ValueError as err:
        raise ValueError(f"--memory: {err}") from None
    out = Path(args.output) if args.output else None
    if out is not None and not out.parent.is_dir():
        raise ValueError(f"output folder {out.parent} does not exist; create it first")
    factory = _factory(args, load_graph)
    if args.method == "baselines":
        if not args.batch_sizes:
            raise ValueError("--method baselines needs --batch-sizes MIN MAX STEP")
        lo, hi, step = args.batch_sizes
        if lo < 1 or hi <= lo or step < 1:
            raise ValueError(
                f"--batch-sizes needs 1 <= MIN < MAX and STEP >= 1, got {lo} {hi} {step}"
            )

        def on_batch(bs: int, ok: Mapping[str, bool]) -> None:
            good = ", ".join(s for s, v in ok.items() if v) or "none"
            print(f"batch {bs}: fits with {good}", file=sys.stderr, flush=True)

        res = max_batch_baselines(
            factory,
            memory_limit=memory,
            batch_sizes=range(lo, hi, step),
            protocol=args.protocol,
            on_batch=on_batch,
        )
        rows = res.rows()
    else:
        try:
            options = SolveOptions(time_limit_s=args.time_limit, threads=args.threads)
        except ValueError as err:
            raise ValueError(str(err)) from None

        def progress(incumbent: int | None, bound: int | None, elapsed: float) -> None:
            print(
                f"t={elapsed:7.1f}s  batch size found {incumbent if incumbent is not None else '-'}"
                f"  upper bound {bound if bound is not None else '-'}",
                file=sys.stderr,
                flush=True,
            )

        milp = max_batch_milp(
            factory,
            memory_limit=memory,
            solver=args.solver or "highs",
            options=options,
            progress=progress,
        )
        rows = milp.rows()
    if out is not None:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        write_text(out, buf.getvalue())
    if args.json:
        print(json.dumps(rows))
    else:
        print(f"memory limit {format_bytes(memory)} ({args.method}, protocol {args.protocol})")
        width = max(len(str(r["strategy"])) for r in rows)
        for r in rows:
            extra = ""
            if "max_batch_upper" in r:
                extra = f"  (upper bound {r['max_batch_upper']}, status {r['status']})"
            print(f"{r['strategy']:<{width}}  max batch size {r['max_batch_size']}{extra}")
    return 0
