"""``checkmate-opt sweep``: compute overhead versus memory budget (the paper's Figure 4)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from checkmate_opt.cli.common import EXIT_INTERRUPTED, UsageError, add_model_args

if TYPE_CHECKING:
    from checkmate_opt.experiments.runner import Task
    from checkmate_opt.experiments.sweep import Sweep

__all__ = ["add_parser", "add_run_args", "check_run_args", "run"]


def add_run_args(p: argparse.ArgumentParser) -> None:
    """--workers, --ray, --threads, --no-progress (shared with ``figures``)."""
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="points solved at once in local processes (default 1: in this process); with "
        "--ray local, the CPUs of the local cluster",
    )
    p.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="run each point as a Ray task: a cluster address, or 'local' to start one here "
        "(needs the ray extra)",
    )
    p.add_argument("--threads", type=int, default=1, help="solver threads per point (default 1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def check_run_args(args: argparse.Namespace) -> None:
    if args.workers < 1:
        raise UsageError(f"--workers must be >= 1, got {args.workers}")
    if args.threads < 1:
        raise UsageError(f"--threads must be >= 1, got {args.threads}")
    if args.ray is not None and args.ray != "local" and not args.ray.strip():
        raise UsageError("--ray needs an address or 'local'")
    if getattr(args, "time_limit", None) is not None and not args.time_limit > 0:
        raise UsageError(f"--time-limit must be > 0, got {args.time_limit}")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "sweep",
        help="compute overhead versus memory budget for every strategy (paper Figure 4)",
        description="Run every baseline with its hyper-parameter grid, the MILP at global and "
        "local budget points (each seeded with the cheapest result within its budget) and LP "
        "rounding at the MILP's budgets; write results.jsonl, slowdowns.csv, budget_sweep.txt "
        "and budget_sweep.png/.pdf into --out. Finished points are cached in OUT/cache: an "
        "interrupted sweep resumes where it stopped.",
    )
    add_model_args(p)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument(
        "--points",
        type=int,
        help="number of global MILP points (default: 64 for VGG16/VGG19, else 32, as the paper)",
    )
    p.add_argument(
        "--local-points",
        type=int,
        help="number of local MILP points near the smallest peak found (default: --points)",
    )
    p.add_argument(
        "--budgets",
        help="MILP budgets as device memory, comma-separated (16GB,14GB,...): replaces the "
        "global and local points; fixed memory is taken off",
    )
    p.add_argument(
        "--time-limit", type=float, default=60.0, help="per-solve limit in seconds (default 60)"
    )
    p.add_argument(
        "--lp",
        default="sweep,threshold_0.5,randomized",
        help="LP rounding variants at each MILP budget, comma-separated, or 'none' "
        "(default: sweep,threshold_0.5,randomized)",
    )
    p.add_argument("--solver", default="highs", help="MILP/LP backend (default highs)")
    p.add_argument(
        "--eps-noise", type=float, default=0.01, help="MILP cost noise (default 0.01; 0: exact)"
    )
    p.add_argument("--label", help="name of the sweep in the outputs (default: from the input)")
    add_run_args(p)
    p.set_defaults(func=run)


def _budgets(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    from checkmate_opt.units import parse_bytes

    try:
        out = tuple(parse_bytes(t.strip()) for t in text.split(",") if t.strip())
    except ValueError as err:
        raise UsageError(f"--budgets: {err}") from None
    if not out:
        raise UsageError("--budgets: give at least one budget, e.g. 16GB,14GB")
    return out


def run(args: argparse.Namespace) -> int:
    from checkmate_opt.experiments import sweep as sw
    from checkmate_opt.experiments.runner import run_tasks

    check_run_args(args)
    for name in ("points", "local_points"):
        v = getattr(args, name)
        if v is not None and v < (1 if name == "points" else 0):
            raise UsageError(f"--{name.replace('_', '-')} must be >= 1, got {v}")
    lp = () if args.lp.strip() == "none" else tuple(s.strip() for s in args.lp.split(","))
    if args.graph_file and args.model:
        raise UsageError("give either a graph file or --model, not both")
    if not args.graph_file and not args.model:
        raise UsageError("give a graph file (or --model NAME)")
    if args.graph_file:
        label = args.label or Path(args.graph_file).stem
        where: dict[str, Any] = {"graph_file": str(Path(args.graph_file).resolve())}
    else:
        label = args.label or f"{args.model}_b{args.batch_size}_{args.platform}"
        where = {
            "model": args.model,
            "batch_size": args.batch_size,
            "platform": args.platform,
            "input_shape": tuple(args.input_shape) if args.input_shape else None,
        }
    try:
        spec = sw.SweepSpec(
            label,
            points=args.points,
            local_points=args.local_points,
            budgets=_budgets(args.budgets),
            lp_roundings=lp,
            time_limit_s=args.time_limit,
            threads=args.threads,
            solver=args.solver,
            eps_noise=args.eps_noise,
            **where,
        )
    except ValueError as err:
        raise UsageError(str(err)) from None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    sweep = sw.Sweep(spec)
    cache = out / "cache"
    results: dict[str, dict[str, Any]] = {}

    def run_points(tasks: list[Task], desc: str) -> dict[str, dict[str, Any]]:
        return run_tasks(
            tasks,
            cache_dir=cache,
            workers=args.workers,
            ray_address=args.ray,
            desc=desc,
            progress=not args.no_progress,
        )

    interrupted = False
    try:
        results |= run_points(sweep.global_tasks(), "global points")
        results |= run_points(sweep.local_tasks(results), "local points")
    except KeyboardInterrupt:
        interrupted = True
        results |= _cached(sweep, cache)
    paths = sweep.write(sweep.rows(results), out)
    print((out / "budget_sweep.txt").read_text(encoding="utf-8"), end="")
    print("wrote " + ", ".join(str(p) for p in paths))
    print(f"sweep took {time.perf_counter() - started:.1f} s (load {os.getloadavg()[0]:.2f})")
    if interrupted:
        print(
            f"interrupted: the outputs hold the {len(results)} points finished so far; run the "
            "same command again to resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    return 0


def _cached(sweep: Sweep, cache: Path) -> dict[str, dict[str, Any]]:
    """Every finished point of ``sweep`` in the cache (after an interruption)."""
    from checkmate_opt.experiments.runner import load_cached

    out: dict[str, dict[str, Any]] = {}
    for t in sweep.global_tasks():
        if (r := load_cached(t, cache)) is not None:
            out[t.key] = r
    for t in sweep.local_tasks(out):
        if (r := load_cached(t, cache)) is not None:
            out[t.key] = r
    return out
