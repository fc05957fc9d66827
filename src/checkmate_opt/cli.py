"""The ``checkmate-opt`` command.

Every error (bad file, bad argument) ends with one line ``checkmate-opt: error: ...`` on stderr
and exit status 2; output files are written atomically, so a failure leaves none behind.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from checkmate_opt.errors import CheckmateError
from checkmate_opt.graph import Graph
from checkmate_opt.units import format_bytes, parse_bytes

__all__ = ["main"]

PROG = "checkmate-opt"


class UsageError(Exception):
    """A bad command-line argument (reported as one line, exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, no usage dump
        raise UsageError(f"{message} (see '{self.prog} --help')")


# ----------------------------------------------------------------------------- helpers
def _write_text_atomic(path: Path, text: str) -> None:
    if not path.parent.is_dir():
        raise UsageError(f"output folder {path.parent} does not exist; create it first")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check_output(path: str) -> Path:
    p = Path(path)
    if not p.parent.is_dir():
        raise UsageError(f"output folder {p.parent} does not exist; create it first")
    return p


def _strategy_names() -> list[str]:
    from checkmate_opt.strategies import STRATEGIES

    return sorted(STRATEGIES)


def _check_strategy(name: str) -> Callable[..., Any]:
    from checkmate_opt.strategies import get_strategy

    return get_strategy(name)  # UnknownStrategyError lists the names


def _load_graph_arg(args: argparse.Namespace) -> Graph:
    """The graph named by a GRAPH_FILE positional or by --model (zoo)."""
    graph_file = getattr(args, "graph_file", None)
    model = getattr(args, "model", None)
    if graph_file and model:
        raise UsageError("give either a graph file or --model, not both")
    if model:
        from checkmate_opt import zoo

        return zoo.load(
            model,
            batch_size=args.batch_size,
            platform=args.platform,
            input_shape=tuple(args.input_shape) if args.input_shape else None,
        )
    if not graph_file:
        raise UsageError("give a graph file (or --model NAME)")
    from checkmate_opt.io import load_graph

    return load_graph(graph_file)


def _parse_budget(text: str | None, graph: Graph, *, include_fixed: bool = False) -> int | None:
    """Bytes (``16GB``, ``500MiB``, ``1000``) or a fraction of checkpoint-all's peak (``0.8x``).

    With ``include_fixed`` the budget is device memory and fixed memory is subtracted from it.
    """
    if text is None:
        return None
    t = text.strip()
    if t.lower().endswith("x"):
        try:
            frac = float(t[:-1])
        except ValueError:
            raise UsageError(f"cannot parse budget {text!r}; write e.g. 16GB or 0.8x") from None
        if not frac > 0:
            raise UsageError(f"budget fraction must be > 0, got {text!r}")
        budget = int(frac * _reference_peak(graph))
    else:
        try:
            budget = parse_bytes(t)
        except ValueError as err:
            raise UsageError(f"--budget: {err}") from None
    if include_fixed:
        if budget < graph.fixed_memory:
            raise UsageError(
                f"--budget {text} is below the fixed memory ({format_bytes(graph.fixed_memory)} of "
                "parameters and gradients); raise it or drop --include-fixed"
            )
        budget -= graph.fixed_memory
    return budget


def _reference_peak(graph: Graph) -> int:
    """Peak activation memory of checkpoint-all (the no-recomputation reference)."""
    from checkmate_opt.strategies import get_strategy

    res = get_strategy("checkpoint_all")(graph, None)
    assert res.report is not None
    return res.report.peak_activation_memory


def _strategy_kwargs(fn: Callable[..., Any], args: argparse.Namespace) -> dict[str, Any]:
    """Solver options for the strategies that take them (inspected from the signature)."""
    params = inspect.signature(fn).parameters
    kwargs: dict[str, Any] = {}
    if "solver" in params and args.solver:
        kwargs["solver"] = args.solver
    if "options" in params:
        from checkmate_opt.options import SolveOptions

        try:
            kwargs["options"] = SolveOptions(
                time_limit_s=args.time_limit,
                mip_rel_gap=args.mip_gap,
                threads=args.threads,
                seed=args.seed,
                verbose=args.verbose,
            )
        except ValueError as err:
            raise UsageError(str(err)) from None
    elif args.time_limit is not None or args.mip_gap is not None:
        raise UsageError(f"--time-limit/--mip-gap apply to MILP strategies, not {args.strategy}")
    return kwargs


class _SkipRepeats:
    """Drop a progress line that reads like the previous one but for its time stamp."""

    def __init__(self) -> None:
        self.last = ""

    def filter(self, record: object) -> bool:
        msg = record.getMessage()  # type: ignore[attr-defined]
        body = msg.split(" ", 1)[1] if msg.startswith("t=") and " " in msg else msg
        if body == self.last:
            return False
        self.last = body
        return True


def _enable_progress(args: argparse.Namespace) -> None:
    """Show the solver's incumbent and bound as they improve (stderr), unless --quiet."""
    if getattr(args, "quiet", False):
        return
    import logging

    log = logging.getLogger("checkmate_opt")
    if not any(getattr(h, "_checkmate_cli", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._checkmate_cli = True  # type: ignore[attr-defined]
        handler.addFilter(_SkipRepeats())
        log.addHandler(handler)
    log.setLevel(logging.INFO)


def _format_result(graph: Graph, summary: dict[str, Any]) -> str:
    def mem(v: Any) -> str:
        return "-" if v is None else f"{v} ({format_bytes(v)})"

    rows = [
        ("graph", f"{graph.name or '-'} ({graph.n} nodes, {len(graph.edges)} edges)"),
        ("strategy", summary["strategy"]),
        ("status", summary["status"]),
        ("feasible", summary["feasible"]),
        ("budget", mem(summary["budget"])),
        ("within budget", summary["within_budget"]),
        ("compute cost", summary["compute_cost"]),
        ("overhead", "-" if summary["overhead"] is None else f"{summary['overhead']:.4f}x"),
        ("peak activation memory", mem(summary["peak_activation_memory"])),
        ("fixed memory", mem(summary["fixed_memory"])),
        ("peak memory", mem(summary["peak_memory"])),
        ("objective bound", summary["objective_bound"]),
        ("proven optimal", summary["proven_optimal"]),
        ("solve time", f"{summary['solve_time_s']:.3f} s"),
    ]
    if summary.get("params"):
        rows.append(("parameters", json.dumps(summary["params"])))
    if summary.get("message"):
        rows.append(("message", summary["message"]))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


# ----------------------------------------------------------------------------- commands
def _cmd_generate(args: argparse.Namespace) -> int:
    from checkmate_opt.generators import linear_graph, random_layered_graph
    from checkmate_opt.io import save_graph

    out = _check_output(args.output)
    if args.layers < 1:
        raise UsageError(f"--layers must be >= 1, got {args.layers}")
    if args.kind == "linear":
        graph = linear_graph(args.layers)
    else:
        graph = random_layered_graph(args.layers, seed=args.seed)
    save_graph(graph, out)
    print(f"wrote {out} ({graph.n} nodes, {len(graph.edges)} edges)")
    return 0


def _cmd_solve(args: argparse.Namespace) -> int:
    fn = _check_strategy(args.strategy)
    out = _check_output(args.output) if args.output else None
    graph = _load_graph_arg(args)
    budget = _parse_budget(args.budget, graph, include_fixed=args.include_fixed)
    kwargs = _strategy_kwargs(fn, args)
    _enable_progress(args)
    result = fn(graph, budget, **kwargs)
    summary = result.summary()
    if out is not None:
        _write_text_atomic(out, json.dumps(result.to_dict(), indent=1) + "\n")
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    else:
        print(_format_result(graph, summary))
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    fn = _check_strategy(args.strategy)
    out = _check_output(args.output)
    graph = _load_graph_arg(args)
    budget = _parse_budget(args.budget, graph, include_fixed=args.include_fixed)
    kwargs = _strategy_kwargs(fn, args)
    _enable_progress(args)
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


def _cmd_demo(args: argparse.Namespace) -> int:
    """Every strategy on a built-in graph at a budget below checkpoint-all's peak."""
    from checkmate_opt.generators import random_layered_graph
    from checkmate_opt.strategies import STRATEGIES, get_strategy

    graph = random_layered_graph(args.layers, seed=args.seed)
    ref = _reference_peak(graph)
    budget = int(args.fraction * ref)
    print(
        f"graph: {graph.name} ({graph.n} nodes, {len(graph.edges)} edges); checkpoint-all peak "
        f"activation memory {ref}; budget {args.fraction:g} x = {budget}"
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
        kwargs = _strategy_kwargs(fn, ns) if "options" in inspect.signature(fn).parameters else {}
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


def _cmd_zoo(args: argparse.Namespace) -> int:
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


def _cmd_export(args: argparse.Namespace) -> int:
    from checkmate_opt.io import save_graph

    out = _check_output(args.output)
    graph = _load_graph_arg(args)
    save_graph(graph, out)
    print(f"wrote {out} ({graph.n} nodes, {len(graph.edges)} edges)")
    return 0


def _cmd_max_batch(args: argparse.Namespace) -> int:
    from checkmate_opt.cli_max_batch import run_max_batch

    return run_max_batch(args, load_graph=_load_graph_arg, write_text=_write_text_atomic)


# ----------------------------------------------------------------------------- parser
def _add_model_args(p: argparse.ArgumentParser, *, graph_file: bool = True) -> None:
    if graph_file:
        p.add_argument("graph_file", nargs="?", help="node-link JSON graph file")
    p.add_argument("--model", help="a zoo model name instead of a graph file (see 'zoo')")
    p.add_argument("--batch-size", type=int, default=1, help="batch size for --model")
    p.add_argument("--platform", default="flops", help="cost model for --model (default flops)")
    p.add_argument("--input-shape", type=int, nargs=3, metavar=("H", "W", "C"))


def _add_solver_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--budget", help="activation-memory budget: bytes (16GB, 500MiB) or 0.8x")
    p.add_argument(
        "--include-fixed",
        action="store_true",
        help="--budget is device memory: parameters and their gradients are taken off it first",
    )
    p.add_argument("--solver", help="MILP backend: highs (default) or gurobi")
    p.add_argument("--time-limit", type=float, help="solver time limit in seconds")
    p.add_argument("--mip-gap", type=float, help="relative MIP gap")
    p.add_argument("--threads", type=int, help="solver threads")
    p.add_argument("--seed", type=int, help="solver random seed")
    p.add_argument("--verbose", action="store_true", help="stream the solver log")
    p.add_argument("--quiet", action="store_true", help="no incumbent/bound progress lines")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``checkmate-opt``."""
    parser = _Parser(prog=PROG, description="Optimal tensor rematerialization (Checkmate).")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("demo", help="every strategy on a built-in graph (no files needed)")
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fraction", type=float, default=0.8, help="budget / checkpoint-all peak")
    p.add_argument("--time-limit", type=float, default=60.0)
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("generate", help="write a generated graph file")
    p.add_argument("kind", choices=["linear", "random"])
    p.add_argument("--layers", type=int, required=True)
    p.add_argument("--seed", type=int, default=0, help="seed (random)")
    p.add_argument("--output", required=True)
    p.set_defaults(func=_cmd_generate)

    p = sub.add_parser("solve", help="schedule a graph with a strategy")
    _add_model_args(p)
    p.add_argument("--strategy", default="optimal")
    _add_solver_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--output", help="also write the full result (with schedule) as JSON")
    p.set_defaults(func=_cmd_solve)

    p = sub.add_parser("plot", help="draw R, S and the memory timeline of a schedule")
    _add_model_args(p)
    p.add_argument("--strategy", default="optimal")
    _add_solver_args(p)
    p.add_argument("--output", required=True, help="image file (.png; a .pdf is written too)")
    p.set_defaults(func=_cmd_plot)

    p = sub.add_parser("zoo", help="list the model zoo with node and edge counts")
    p.add_argument("models", nargs="*", help="only these models (default: all; slow)")
    p.add_argument("--names-only", action="store_true", help="just the names (fast)")
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_zoo)

    p = sub.add_parser("export", help="write a zoo model's training graph as a graph file")
    _add_model_args(p, graph_file=False)
    p.add_argument("--output", required=True)
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("max-batch", help="largest batch size that fits a memory limit")
    _add_model_args(p)
    p.add_argument(
        "--base-batch-size",
        type=int,
        default=1,
        help="batch size the graph file was built at (memory scales linearly)",
    )
    p.add_argument("--memory", default="16GB", help="device memory limit (default 16GB)")
    p.add_argument("--method", choices=["milp", "baselines"], default="milp")
    p.add_argument("--protocol", choices=["paper", "corrected"], default="corrected")
    p.add_argument("--batch-sizes", type=int, nargs=3, metavar=("MIN", "MAX", "STEP"))
    p.add_argument("--solver", help="MILP backend: highs (default) or gurobi")
    p.add_argument("--time-limit", type=float)
    p.add_argument("--threads", type=int)
    p.add_argument("--json", action="store_true")
    p.add_argument("--output", help="CSV file of the per-strategy results")
    p.set_defaults(func=_cmd_max_batch)
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
