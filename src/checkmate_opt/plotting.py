"""Matplotlib figures (matplotlib is imported inside the functions, never at package import)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from checkmate_opt.errors import OutputError
from checkmate_opt.graph import Graph
from checkmate_opt.io import open_atomic
from checkmate_opt.results import SolveResult

__all__ = ["image_format", "plot_schedule", "save_figure"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # headless: figures go to files
    import matplotlib.pyplot as plt

    return plt


def image_format(path: str | os.PathLike[str]) -> str:
    """The image format named by ``path``'s suffix (e.g. ``png``), checked against matplotlib.

    Raises
    ------
    OutputError
        Naming ``path`` when it has no suffix or one matplotlib cannot write.
    """
    plt = _pyplot()
    supported = plt.figure().canvas.get_supported_filetypes()
    plt.close("all")
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in supported:
        what = f"format {fmt!r} is not supported" if fmt else "it has no suffix"
        raise OutputError(
            f"cannot write image {path}: {what}; end the name with one of "
            + ", ".join("." + k for k in sorted(supported))
        )
    return fmt


def save_figure(
    fig: Any, path: str | os.PathLike[str], *, formats: Sequence[str] = ()
) -> list[Path]:
    """Save ``fig`` to ``path`` and to each extra format beside it, atomically.

    The format is taken from each path's suffix. Each file is written through
    :func:`checkmate_opt.io.open_atomic`, so a failure leaves no partial file. Returns the
    paths written.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    paths = [target] + [target.with_suffix(f".{ext}") for ext in formats]
    written: list[Path] = []
    seen: set[Path] = set()
    try:
        for p in paths:
            if p in seen:
                continue
            seen.add(p)
            fmt = image_format(p)
            with open_atomic(p, "wb") as fh:
                fig.savefig(fh, format=fmt, dpi=150, bbox_inches="tight")
            written.append(p)
    except BaseException:
        for p in written:
            p.unlink(missing_ok=True)
        raise
    return written


def plot_schedule(
    graph: Graph,
    result: SolveResult,
    path: str | os.PathLike[str],
    *,
    formats: Sequence[str] = ("pdf",),
) -> list[Path]:
    """Draw the R and S matrices and the memory timeline of ``result``'s schedule.

    Parameters
    ----------
    graph
        The graph the schedule is for.
    result
        A result holding a schedule (and its simulated report).
    path
        Output file (its suffix picks the format, e.g. ``.png``).
    formats
        Extra formats written beside it (default: a PDF too).

    Returns
    -------
    list of Path
        The files written.
    """
    schedule = result.unwrap()
    report = result.report
    assert report is not None
    plt = _pyplot()
    fig = plt.figure(figsize=(12, 7.5))
    grid = fig.add_gridspec(2, 2, height_ratios=[1.25, 1])
    ax_r = fig.add_subplot(grid[0, 0])
    ax_s = fig.add_subplot(grid[0, 1])
    ax_m = fig.add_subplot(grid[1, :])
    for ax, mat, title, cmap in (
        (ax_r, schedule.R, "R: node computed in stage", "Reds"),
        (ax_s, schedule.S, "S: node held at stage start", "Blues"),
    ):
        ax.imshow(mat, cmap=cmap, interpolation="nearest", vmin=0, vmax=1)
        ax.set_title(title)
        ax.set_xlabel("node")
        ax.set_ylabel("stage")
    timeline = report.memory_timeline
    ax_m.step(
        range(len(timeline)),
        timeline / 1e9 if graph.total_memory > 1e6 else timeline,
        where="post",
        color="tab:purple",
        lw=1.2,
        label="live memory (incl. fixed)",
    )
    unit = "GB" if graph.total_memory > 1e6 else "units"
    scale = 1e9 if unit == "GB" else 1
    if result.budget is not None:
        ax_m.axhline(
            (result.budget + report.fixed_memory) / scale,
            color="k",
            ls="--",
            lw=1,
            label="budget (+ fixed)",
        )
    ax_m.set_xlabel("operation")
    ax_m.set_ylabel(f"memory ({unit})")
    ax_m.legend(loc="lower center")
    ax_m.set_title(
        f"{result.strategy}: compute {report.compute_cost} ({report.overhead:.3f}x), "
        f"peak activation {report.peak_activation_memory / scale:.3g} {unit}"
    )
    fig.suptitle(graph.name or "schedule")
    fig.tight_layout()
    try:
        return save_figure(fig, path, formats=formats)
    finally:
        plt.close(fig)
