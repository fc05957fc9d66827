"""Every experiment of the paper into one folder: ``checkmate-opt figures`` / ``nox -s figures``.

The studies run in this order, all of their points through one cached runner
(``<out>/cache``; an interrupted run resumes without redoing finished points):

1. ``sweep``: overhead versus memory budget (Figure 4) for VGG16 b256, MobileNet b512 and
   vgg_unet b32 on the V100 profile, from the published graphs and from the model zoo, plus
   the VGG19 and ResNet50 graphs the approximation table needs (full mode);
2. ``max_batch_study``: the maximum batch size per strategy (Figure 6);
3. ``approximation``: the approximation-ratio table, from the sweeps' ``slowdowns.csv``;
4. ``integrality``: the integrality-gap study on unit chains.

A study is a module of this package with ``NAME``, ``tasks(config)`` (the points),
``summarize(results, config)`` (writes its outputs, returns their paths) and optionally
``more_tasks(config, results)`` (points that depend on finished ones; called until it returns
none). ``--quick`` runs fewer points with short time limits (CI, a laptop); the full mode is for
a workstation or a cluster (``--workers``, ``--ray``).

The command line is ``checkmate-opt figures --help``.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from checkmate_opt.experiments.runner import (
    ExperimentConfig,
    Task,
    ensure_folder,
    run_tasks,
    write_text_atomic,
)

__all__ = ["STUDIES", "default_shared_graphs", "load_studies", "run_figures"]

#: study modules (of this package) in the order they are summarized
STUDIES = ("sweep", "max_batch_study", "approximation", "integrality")
QUICK_TIME_LIMIT_S = 10.0
FULL_TIME_LIMIT_S = 300.0


def default_shared_graphs() -> Path | None:
    """The published graphs folder: ``$CHECKMATE_SHARED_GRAPHS``, else ``../shared/graphs``
    beside the working directory or beside this checkout; ``None`` when absent."""
    env = os.environ.get("CHECKMATE_SHARED_GRAPHS")
    candidates = [Path(env)] if env else []
    candidates += [
        Path.cwd().parent / "shared" / "graphs",
        Path(__file__).resolve().parents[4] / "shared" / "graphs",
    ]
    for c in candidates:
        if (c / "vgg16_b256_train.json").is_file():
            return c
    return None


def load_studies(names: Sequence[str] | None = None) -> list[ModuleType]:
    """The study modules; unknown names raise, a study module not installed is skipped with a
    note on stderr."""
    chosen = list(STUDIES if names is None else names)
    bad = [n for n in chosen if n not in STUDIES]
    if bad:
        raise ValueError(f"unknown study {bad[0]!r}; choose from {', '.join(STUDIES)}")
    mods = []
    for name in STUDIES:
        if name not in chosen:
            continue
        full = f"checkmate_opt.experiments.{name}"
        try:
            mods.append(importlib.import_module(full))
        except ModuleNotFoundError as err:
            if err.name != full:
                raise
            print(f"figures: study {name} is not available in this version", file=sys.stderr)
    return mods


def run_figures(
    config: ExperimentConfig,
    *,
    studies: Sequence[str] | None = None,
    workers: int = 1,
    ray_address: str | None = None,
    progress: bool = True,
) -> list[Path]:
    """Run the studies' points (cached under ``config.out / "cache"``) and write their outputs.

    Returns the paths written. ``KeyboardInterrupt`` propagates after the finished points are
    cached (a rerun resumes).
    """
    started = time.perf_counter()
    ensure_folder(config.out)
    mods = load_studies(studies)
    cache = config.out / "cache"

    def run(points: list[Task], desc: str) -> dict[str, dict[str, Any]]:
        return run_tasks(
            points,
            cache_dir=cache,
            workers=workers,
            ray_address=ray_address,
            desc=desc,
            progress=progress,
        )

    results = run([t for m in mods for t in m.tasks(config)], "points")
    for _ in range(10):  # dependent points (the sweeps' local points)
        more = [t for m in mods if hasattr(m, "more_tasks") for t in m.more_tasks(config, results)]
        more = [t for t in more if t.key not in results]
        if not more:
            break
        results |= run(more, "dependent points")
    paths: list[Path] = []
    for m in mods:
        paths += m.summarize(results, config)
    info = {
        "quick": config.quick,
        "time_limit_s": config.time_limit_s,
        "threads": config.threads,
        "workers": workers,
        "ray": ray_address,
        "studies": [m.NAME for m in mods],
        "points": len(results),
        "wall_s": round(time.perf_counter() - started, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    info_path = config.out / "run_info.json"
    write_text_atomic(info_path, json.dumps(info, indent=1) + "\n")
    return [*paths, info_path]
