"""The approximation-ratio table: how much slower each heuristic and LP rounding is than the MILP.

Built from the budget sweeps' ``slowdowns.csv`` files (``<out>/sweep/<label>/``, written by
the ``sweep`` study, which runs first): for each model, each method's geometric-mean slowdown
of its running-minimum overhead against the MILP's over the MILP's budget points, and its
maximum. Models are the paper's table columns (MobileNet, VGG16, VGG19, U-Net, ResNet50); a
table is written per graph source (the published graphs, the zoo) when both were swept.

This study has no points of its own. Outputs in ``<out>/approximation``:
``approximation.csv`` (source, model, method, label, geomean_slowdown, max_slowdown),
``approximation.txt`` (models as columns, geometric mean with the maximum in brackets).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from checkmate_opt.experiments.runner import (
    ExperimentConfig,
    Task,
    ensure_folder,
    write_text_atomic,
)

__all__ = ["COLUMNS", "NAME", "collect", "summarize", "tasks", "text_table"]

NAME = "approximation"
#: the paper's table columns
COLUMNS = ("MobileNet", "VGG16", "VGG19", "U-Net", "ResNet50")
#: method -> the paper's row label, in the paper's row order
ROWS: dict[str, str] = {
    "checkpoint_all": "Checkpoint all (ideal)",
    "griewank": "Griewank & Walther log n",
    "chen_sqrtn": "AP √n",
    "chen_greedy": "AP greedy",
    "chen_sqrtn_linearized": "Generalized √n",
    "chen_greedy_linearized": "Generalized greedy",
    "lp_rounding_sweep": "Two-phase LP rounding",
    "lp_rounding_threshold_0.5": "LP rounding, threshold 0.5",
    "lp_rounding_randomized": "LP rounding, randomized",
    "checkpoint_all_ap": "Checkpoint all APs",
    "checkpoint_last_node": "Checkpoint last node",
}


def tasks(config: ExperimentConfig) -> list[Task]:
    """None: the table is computed from the sweeps' outputs."""
    return []


def column_of(name: str) -> str | None:
    """The paper's column for a model or graph name (``None``: not in the table)."""
    key = name.lower().replace("-", "").replace("_", "")
    for col, pats in (
        ("MobileNet", ("mobilenet",)),
        ("VGG16", ("vgg16",)),
        ("VGG19", ("vgg19",)),
        ("U-Net", ("unet",)),
        ("ResNet50", ("resnet50",)),
    ):
        if any(p in key for p in pats):
            return col
    return None


def _sweeps(sweep_dir: Path) -> list[tuple[str, str, Path]]:
    """``(source, column, slowdowns.csv)`` of every sweep found under ``sweep_dir``."""
    found: list[tuple[str, str, Path]] = []
    index = sweep_dir / "index.json"
    if index.is_file():
        for entry in json.loads(index.read_text(encoding="utf-8")):
            col = column_of(str(entry.get("model") or entry.get("label", "")))
            path = sweep_dir.parent / entry["folder"] / "slowdowns.csv"
            if col is not None and path.is_file():
                found.append((str(entry.get("source", "")), col, path))
        return found
    for path in sorted(sweep_dir.glob("*/slowdowns.csv")):
        col = column_of(path.parent.name)
        if col is not None:
            source = "zoo" if path.parent.name.endswith("_zoo") else "published graph"
            found.append((source, col, path))
    return found


def collect(sweep_dir: Path) -> list[dict[str, Any]]:
    """Rows ``source, model, method, label, geomean_slowdown, max_slowdown`` from the sweeps."""
    rows: list[dict[str, Any]] = []
    for source, col, path in _sweeps(sweep_dir):
        with path.open(encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                method = r["method"]
                rows.append(
                    {
                        "source": source,
                        "model": col,
                        "method": method,
                        "label": ROWS.get(method, method),
                        "geomean_slowdown": float(r["geomean_slowdown"]),
                        "max_slowdown": float(r["max"]),
                    }
                )
    return rows


def text_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Models as columns, methods as rows: geometric mean (max) per source."""
    lines = [
        "Approximation ratios: geometric-mean slowdown against the MILP over its budget points",
        "(maximum in brackets; '-' = not run or no point within the MILP's budgets)",
    ]
    for source in dict.fromkeys(r["source"] for r in rows):
        part = [r for r in rows if r["source"] == source]
        cols = [c for c in COLUMNS if any(r["model"] == c for r in part)]
        lines += ["", f"graphs: {source}", f"{'method':<28}" + "".join(f"{c:>17}" for c in cols)]
        methods = [m for m in ROWS if any(r["method"] == m for r in part)]
        methods += [m for m in dict.fromkeys(r["method"] for r in part) if m not in ROWS]
        for m in methods:
            cells = []
            for c in cols:
                hit = next((r for r in part if r["method"] == m and r["model"] == c), None)
                cell = "-"
                if hit is not None:
                    cell = f"{hit['geomean_slowdown']:.3f} ({hit['max_slowdown']:.2f})"
                cells.append(f"{cell:>17}")
            lines.append(f"{ROWS.get(m, m):<28}" + "".join(cells))
    if not rows:
        lines += ["", "no sweep with a MILP found: run the sweep study first"]
    return "\n".join(lines) + "\n"


def summarize(results: Mapping[str, Mapping[str, Any]], config: ExperimentConfig) -> list[Path]:
    """Write ``approximation/approximation.csv`` and ``.txt`` from ``<out>/sweep``."""
    from checkmate_opt.experiments.sweep import write_csv

    rows = collect(config.out / "sweep")
    folder = config.out / "approximation"
    ensure_folder(folder)
    csv_path = folder / "approximation.csv"
    fields = ["source", "model", "method", "label", "geomean_slowdown", "max_slowdown"]
    write_csv(csv_path, rows, fields)
    txt = folder / "approximation.txt"
    write_text_atomic(txt, text_table(rows))
    return [csv_path, txt]
