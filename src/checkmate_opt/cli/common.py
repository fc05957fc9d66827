"""Argument helpers shared by every ``checkmate-opt`` command."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from checkmate_opt.graph import Graph
from checkmate_opt.units import format_bytes

__all__ = [
    "EXIT_STATUS_HELP",
    "PROG",
    "Parser",
    "UsageError",
    "add_model_args",
    "add_solver_args",
    "check_output",
    "check_strategy",
    "enable_progress",
    "format_result",
    "load_graph_arg",
    "parse_budget",
    "result_status",
    "strategy_help",
    "strategy_kwargs",
    "write_text_atomic",
]

PROG = "checkmate-opt"

#: exit statuses (documented in ``checkmate-opt --help``)
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_OVER_BUDGET = 3
EXIT_INTERRUPTED = 130

EXIT_STATUS_HELP = """exit status:
  0    done; the schedule fits the budget (or no budget was given)
  1    failed (an unexpected error)
  2    bad input: a malformed file, an unknown name, a bad argument (one error line)
  3    no schedule meets the budget: infeasible, or the best schedule found is over it
       (the result is still printed and written)
  130  interrupted (Ctrl-C / SIGINT): the best schedule found so far is printed and written"""


def result_status(result: Any) -> int:
    """The exit status for a finished (or interrupted) solve."""
    from checkmate_opt.results import Termination

    if result.termination is Termination.INTERRUPTED:
        return EXIT_INTERRUPTED
    if result.termination is Termination.INFEASIBLE:
        return EXIT_OVER_BUDGET
    if result.budget is None:
        return EXIT_OK
    if result.schedule is not None:
        return EXIT_OK if result.within_budget else EXIT_OVER_BUDGET
    # no schedule: fine for a bound-only strategy that completed (lp_bound), not otherwise
    return EXIT_OK if result.termination is Termination.COMPLETED else EXIT_OVER_BUDGET


class UsageError(Exception):
    """A bad command-line argument (reported as one line, exit status 2)."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, without the usage dump."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`checkmate_opt.io.open_atomic`)."""
    from checkmate_opt.io import write_atomic

    write_atomic(path, text)


def check_output(path: str) -> Path:
    """An output path whose folder exists (checked before any work is done)."""
    p = Path(path)
    if Path(os.path.realpath(p)).is_dir():
        raise UsageError(f"--output {path} is a folder; give a file name")
    if not Path(os.path.realpath(p)).parent.is_dir():
        raise UsageError(f"output folder {p.parent} does not exist; create it first")
    return p


def check_strategy(name: str) -> Callable[..., Any]:
    """The strategy function (UnknownStrategyError lists the names)."""
    from checkmate_opt.strategies import get_strategy

    return get_strategy(name)


def strategy_help() -> str:
    """``--strategy`` help text listing the registered names."""
    from checkmate_opt.strategies import STRATEGIES

    return "one of: " + ", ".join(STRATEGIES) + " (default optimal)"


def load_graph_arg(args: argparse.Namespace) -> Graph:
    """The graph named by a GRAPH_FILE positional or by --model (zoo)."""
    graph_file = getattr(args, "graph_file", None)
    model = getattr(args, "model", None)
    if graph_file and model:
        raise UsageError("give either a graph file or --model, not both")
    if model:
        from checkmate_opt import zoo

        graph = zoo.load(
            model,
            batch_size=args.batch_size,
            platform=args.platform,
            input_shape=tuple(args.input_shape) if args.input_shape else None,
        )
        if graph.batch_size is None:  # recorded in exported files (max-batch reads it)
            graph = graph.with_costs(batch_size=args.batch_size)
        return graph
    if not graph_file:
        raise UsageError("give a graph file (or --model NAME)")
    from checkmate_opt.io import load_graph

    return load_graph(graph_file)


def parse_budget(text: str | None, graph: Graph, *, include_fixed: bool = False) -> int | None:
    """``--budget``: bytes (``16GB``, ``500MiB``, ``1000``) or a multiple of the no-remat peak
    (``0.8x``); see :func:`checkmate_opt.budget.resolve_budget`."""
    from checkmate_opt.budget import resolve_budget

    try:
        return resolve_budget(text, graph, include_fixed=include_fixed)
    except ValueError as err:
        raise UsageError(f"--budget: {err}") from None


def strategy_kwargs(fn: Callable[..., Any], args: argparse.Namespace) -> dict[str, Any]:
    """Solver options for the strategies that take them.

    An option the strategy does not take is an error, as it is for ``checkmate_opt.solve``:
    ``--solver`` needs a ``solver`` option, ``--time-limit``, ``--mip-gap``, ``--threads`` and
    ``--seed`` an ``options`` one (``--verbose``/``--quiet`` only change what is shown).
    """
    from checkmate_opt.strategies import strategy_options

    params = strategy_options(fn)
    kwargs: dict[str, Any] = {}
    if args.solver:
        if "solver" not in params:
            raise UsageError(f"--solver applies to MILP/LP strategies, not {args.strategy}")
        kwargs["solver"] = args.solver
    given = [
        flag
        for flag, value in (
            ("--time-limit", args.time_limit),
            ("--mip-gap", args.mip_gap),
            ("--threads", args.threads),
            ("--seed", args.seed),
        )
        if value is not None
    ]
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
    elif given:
        raise UsageError(
            f"{'/'.join(given)} {'apply' if len(given) > 1 else 'applies'} to MILP/LP "
            f"strategies, not {args.strategy}; drop "
            f"{'them' if len(given) > 1 else 'it'} or choose optimal, lp_rounding or lp_bound"
        )
    return kwargs


class _SkipRepeats:
    """Drop a progress line that reads like the previous one but for its time stamp."""

    def __init__(self) -> None:
        self.last = ""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        body = msg.split(" ", 1)[1] if msg.startswith("t=") and " " in msg else msg
        if body == self.last:
            return False
        self.last = body
        return True


def enable_progress(args: argparse.Namespace) -> None:
    """Show the solver's incumbent and bound as they improve (stderr), unless --quiet."""
    if getattr(args, "quiet", False):
        return
    log = logging.getLogger("checkmate_opt")
    if not any(getattr(h, "_checkmate_cli", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._checkmate_cli = True  # type: ignore[attr-defined]
        handler.addFilter(_SkipRepeats())
        log.addHandler(handler)
    log.setLevel(logging.INFO)


def _relative(summary: dict[str, Any]) -> str:
    ref = summary.get("no_remat_peak")
    if summary["budget"] is None or not ref:
        return ""
    return f" = {summary['budget'] / ref:.3g} x {ref}, the peak with no rematerialization"


def _name_list(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... (+{len(names) - limit} more)" if len(names) > limit else "")


def format_result(graph: Graph, summary: dict[str, Any]) -> str:
    """The readable key/value block of one result (``summary`` may carry ``"layers"``)."""

    def mem(v: Any) -> str:
        return "-" if v is None else f"{v} ({format_bytes(v)})"

    def num(v: Any) -> str:
        return "-" if v is None else str(v)

    rows = [
        ("graph", f"{graph.name or '-'} ({graph.n} nodes, {len(graph.edges)} edges)"),
        ("strategy", summary["strategy"]),
        ("status", summary["status"]),
        ("feasible", summary["feasible"]),
        ("budget", mem(summary["budget"]) + _relative(summary)),
        ("within budget", summary["within_budget"]),
        ("compute cost", num(summary["compute_cost"])),
        ("overhead", "-" if summary["overhead"] is None else f"{summary['overhead']:.4f}x"),
        ("peak activation memory", mem(summary["peak_activation_memory"])),
        ("fixed memory", mem(summary["fixed_memory"])),
        ("peak memory", mem(summary["peak_memory"])),
        ("objective bound", num(summary["objective_bound"])),
        ("proven optimal", summary["proven_optimal"]),
        ("solve time", f"{summary['solve_time_s']:.3f} s"),
    ]
    layers = summary.get("layers")
    if layers:
        if layers["peak_node"] is not None:
            rows.append(
                (
                    "peak at",
                    f"stage {layers['peak_stage']}, computing node {layers['peak_node']} "
                    f"({layers['peak_layer']})",
                )
            )
        rec = layers["recomputed"]
        rec_names = [f"{r['name']} x{r['times']}" for r in rec]
        rows.append(
            (
                "recomputed",
                f"{len(rec)} layer{'s' if len(rec) > 1 else ''}: {_name_list(rec_names)}"
                if rec
                else "none",
            )
        )
        kept = len(layers["kept"])
        rows.append(("kept (computed once)", f"{kept} layer{'s' if kept != 1 else ''}"))
    if summary.get("params"):
        rows.append(("parameters", json.dumps(summary["params"])))
    if summary.get("message"):
        rows.append(("message", summary["message"]))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def add_model_args(p: argparse.ArgumentParser, *, graph_file: bool = True) -> None:
    """GRAPH_FILE or --model NAME --batch-size B --platform P."""
    if graph_file:
        p.add_argument("graph_file", nargs="?", help="node-link JSON graph file")
    p.add_argument("--model", help="a zoo model name instead of a graph file (see 'zoo')")
    p.add_argument("--batch-size", type=int, default=1, help="batch size for --model")
    p.add_argument("--platform", default="flops", help="cost model for --model (default flops)")
    p.add_argument("--input-shape", type=int, nargs=3, metavar=("H", "W", "C"))


def add_solver_args(p: argparse.ArgumentParser) -> None:
    """--budget and the solver options."""
    p.add_argument(
        "--budget",
        help="activation-memory budget: bytes (16GB, 500MiB, 1000) or a multiple of the peak "
        "with no rematerialization (0.8x)",
    )
    p.add_argument(
        "--include-fixed",
        action="store_true",
        help="--budget is device memory: parameters and their gradients are taken off it first",
    )
    p.add_argument("--solver", help="MILP backend: highs (default), gurobi or scip")
    p.add_argument("--time-limit", type=float, help="solver time limit in seconds")
    p.add_argument("--mip-gap", type=float, help="relative MIP gap")
    p.add_argument("--threads", type=int, help="solver threads")
    p.add_argument("--seed", type=int, help="solver random seed")
    p.add_argument("--verbose", action="store_true", help="stream the solver log")
    p.add_argument("--quiet", action="store_true", help="no incumbent/bound progress lines")
