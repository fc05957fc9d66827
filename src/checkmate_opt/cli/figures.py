"""``checkmate-opt figures``: every experiment of the paper into one folder."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from checkmate_opt.cli.common import EXIT_INTERRUPTED, UsageError
from checkmate_opt.cli.sweep import add_run_args, check_run_args

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "figures",
        help="run every experiment of the paper (sweeps, max batch, approximation, "
        "integrality) into one folder",
        description="Run the overhead-versus-budget sweeps, the maximum batch size study, the "
        "approximation table and the integrality-gap study; figures (PNG and PDF), CSV and text "
        "tables go to --out. Finished points are cached in OUT/cache: an interrupted run "
        "resumes where it stopped.",
    )
    p.add_argument("--out", default="figures", help="output folder (default figures/)")
    p.add_argument(
        "--quick",
        action="store_true",
        help="few points and 10 s solves: minutes on 2 cores (the full mode is for a "
        "workstation or a cluster)",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        help="per-solve limit in seconds (default 10 with --quick, else 300)",
    )
    p.add_argument(
        "--studies",
        help="comma-separated subset of: sweep,max_batch_study,approximation,integrality",
    )
    p.add_argument(
        "--sweeps",
        help="comma-separated sweep labels to run (e.g. vggunet_b32_paper; default all)",
    )
    p.add_argument("--points", type=int, help="MILP points per sweep (overrides the mode's)")
    p.add_argument(
        "--shared-graphs",
        help="folder of the published *_train.json graphs (default: $CHECKMATE_SHARED_GRAPHS "
        "or ../shared/graphs); 'none' to use the zoo only",
    )
    add_run_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from checkmate_opt.experiments.figures import (
        FULL_TIME_LIMIT_S,
        QUICK_TIME_LIMIT_S,
        default_shared_graphs,
        run_figures,
    )
    from checkmate_opt.experiments.runner import ExperimentConfig

    check_run_args(args)
    if args.points is not None and args.points < 1:
        raise UsageError(f"--points must be >= 1, got {args.points}")
    shared: Path | None
    if args.shared_graphs == "none":
        shared = None
    elif args.shared_graphs:
        shared = Path(args.shared_graphs)
        if not (shared / "vgg16_b256_train.json").is_file():
            raise UsageError(
                f"--shared-graphs: {shared} holds no vgg16_b256_train.json; give the folder of "
                "the published graphs, or 'none'"
            )
    else:
        shared = default_shared_graphs()
    limit = args.time_limit or (QUICK_TIME_LIMIT_S if args.quick else FULL_TIME_LIMIT_S)
    config = ExperimentConfig(
        out=Path(args.out),
        quick=args.quick,
        time_limit_s=limit,
        threads=args.threads,
        shared_graphs=shared,
        select=tuple(s.strip() for s in (args.sweeps or "").split(",") if s.strip()),
        points=args.points,
    )
    studies = None
    if args.studies:
        studies = [s.strip() for s in args.studies.split(",") if s.strip()]
    started = time.perf_counter()
    try:
        paths = run_figures(
            config,
            studies=studies,
            workers=args.workers,
            ray_address=args.ray,
            progress=not args.no_progress,
        )
    except KeyboardInterrupt:
        print(
            f"interrupted: the finished points are cached in {config.out / 'cache'}; run the "
            "same command again to resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    for p in paths:
        print(f"wrote {p}")
    print(
        f"figures took {time.perf_counter() - started:.1f} s "
        f"(load {os.getloadavg()[0]:.2f}, {'quick' if args.quick else 'full'} mode)"
    )
    return 0
