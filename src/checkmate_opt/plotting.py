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

__all__ = [
    "MIN_FONT_PT",
    "image_format",
    "mark_beyond",
    "mark_missing",
    "missing_handle",
    "plot_schedule",
    "save_figure",
    "schedule_figure",
]

#: the smallest font on any figure, in points at the saved size (figures are saved unscaled)
MIN_FONT_PT = 8
#: ``gid`` of the marks drawn by :func:`mark_beyond` and :func:`mark_missing` (tests find them)
BEYOND_GID = "beyond-axis"
MISSING_GID = "missing-value"


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
    fig: Any, path: str | os.PathLike[str], *, formats: Sequence[str] = (), dpi: int = 150
) -> list[Path]:
    """Save ``fig`` to ``path`` and to each extra format beside it, atomically.

    The format is taken from each path's suffix. Each file is written through
    :func:`checkmate_opt.io.open_atomic`, so a failure leaves no partial file. Returns the
    paths written.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot write {path}: {err.strerror or err}") from err
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
                fig.savefig(fh, format=fmt, dpi=dpi, bbox_inches="tight")
            written.append(p)
    except BaseException:
        for p in written:
            p.unlink(missing_ok=True)
        raise
    return written


def mark_beyond(
    ax: Any,
    points: Sequence[tuple[float, float]],
    *,
    color: Any = "black",
    colors: Sequence[Any] | None = None,
    fmt: str = "{:.3g}",
) -> int:
    """Mark each ``(x, y)`` of ``points`` that lies outside ``ax``'s limits; call once the
    limits are final, with every series' points in one call (``colors``: one per point).

    A point (or the top of a bar) beyond the frame would vanish silently: instead a triangle on
    the frame's edge points the way to it, and a label gives its true value (``fmt``); points
    close together on one edge share one label giving their range (in black when they come
    from several series). Returns the number of points marked.
    """
    x0, x1 = sorted(ax.get_xlim())
    y0, y1 = sorted(ax.get_ylim())
    cols = list(colors) if colors is not None else [color] * len(points)
    # edge -> [(position along the edge, true value, clipped point, colour)]
    edges: dict[str, list[tuple[float, float, tuple[float, float], Any]]] = {}
    for (x, y), c in zip(points, cols, strict=True):
        cx, cy = min(max(x, x0), x1), min(max(y, y0), y1)
        if (cx, cy) == (x, y):
            continue
        if y > y1 or y < y0:
            edges.setdefault("top" if y > y1 else "bottom", []).append((cx, y, (cx, cy), c))
        else:
            edges.setdefault("right" if x > x1 else "left", []).append((cy, x, (cx, cy), c))
    marked = 0
    for edge, found in edges.items():
        marker, off, va, ha = {
            "top": ("^", (0, -7), "top", "center"),
            "bottom": ("v", (0, 7), "bottom", "center"),
            "right": (">", (-7, 0), "center", "right"),
            "left": ("<", (7, 0), "center", "left"),
        }[edge]
        span = 0.25 * (x1 - x0) if edge in ("top", "bottom") else 0.12 * (y1 - y0)
        found.sort(key=lambda item: item[0])
        groups: list[list[tuple[float, float, tuple[float, float], Any]]] = []
        for item in found:
            if groups and item[0] - groups[-1][0][0] <= span:
                groups[-1].append(item)
            else:
                groups.append([item])
        for k, group in enumerate(groups):
            for _, _, (cx, cy), c in group:
                ax.plot(
                    [cx],
                    [cy],
                    marker=marker,
                    color=c,
                    ms=7,
                    ls="none",
                    clip_on=False,
                    zorder=6,
                    gid=BEYOND_GID,
                )
            lo, hi = min(g[1] for g in group), max(g[1] for g in group)
            text = fmt.format(lo)
            if fmt.format(hi) != text:
                text += "\u2013" + fmt.format(hi)
            mid = (group[0][0] + group[-1][0]) / 2
            anchor = (mid, group[0][2][1]) if edge in ("top", "bottom") else (group[0][2][0], mid)
            shades = {str(g[3]) for g in group}
            # neighbouring labels along the top or bottom edge alternate between two rows
            step = (0, 11 * (k % 2) * (1 if off[1] > 0 else -1)) if off[0] == 0 else (0, 0)
            ax.annotate(
                text,
                anchor,
                textcoords="offset points",
                xytext=(off[0] + step[0], off[1] + step[1]),
                ha=ha,
                va=va,
                fontsize=MIN_FONT_PT,
                color=group[0][3] if len(shades) == 1 else "black",
                annotation_clip=False,
                gid=BEYOND_GID,
                bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8},
            )
            marked += len(group)
    return marked


def mark_missing(ax: Any, x: float, *, color: Any = "black", label: str = "n/a") -> None:
    """Mark that the value at ``x`` is missing (no schedule, no result): a cross on the x axis
    and a short ``label`` above it, so a gap is never mistaken for a zero or a value off the
    chart."""
    trans = ax.get_xaxis_transform()  # x in data, y in axes fraction
    ax.plot(
        [x],
        [0.0],
        marker="x",
        color=color,
        ms=7,
        mew=1.5,
        ls="none",
        transform=trans,
        clip_on=False,
        zorder=6,
        gid=MISSING_GID,
    )
    ax.text(
        x,
        0.04,
        label,
        transform=trans,
        ha="center",
        va="bottom",
        fontsize=MIN_FONT_PT,
        color=color,
        gid=MISSING_GID,
        bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8},
    )


def missing_handle() -> Any:
    """A legend handle for the crosses of :func:`mark_missing` (its label is the caller's)."""
    from matplotlib.lines import Line2D

    return Line2D([], [], marker="x", color="black", ls="none", mew=1.5)


def _byte_scale(value: float) -> tuple[float, str]:
    for scale, unit in ((1e9, "GB"), (1e6, "MB"), (1e3, "KB")):
        if value >= scale:
            return scale, unit
    return 1.0, "bytes"


#: name the layers on the matrix axes up to this many nodes (beyond, ids only)
MAX_NAMED_TICKS = 40


def schedule_figure(graph: Graph, result: SolveResult) -> Any:
    """The figure of :func:`plot_schedule` (R, S and the memory timeline), not yet saved."""
    from matplotlib.ticker import MaxNLocator

    schedule = result.unwrap()
    report = result.report
    assert report is not None
    plt = _pyplot()
    with plt.rc_context({"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11}):
        fig = plt.figure(figsize=(13, 9))
        grid = fig.add_gridspec(2, 2, height_ratios=[1.25, 1])
        ax_r = fig.add_subplot(grid[0, 0])
        ax_s = fig.add_subplot(grid[0, 1])
        ax_m = fig.add_subplot(grid[1, :])
        # the forward/backward boundary: the first node that is not a forward node
        fwd = set(graph.forward_nodes)
        boundary = next((v for v in range(graph.n) if v not in fwd), None)
        for ax, mat, title, cmap in (
            (ax_r, schedule.R, "R: nodes computed in each stage", "Reds"),
            (ax_s, schedule.S, "S: values held at each stage's start", "Blues"),
        ):
            ax.imshow(mat, cmap=cmap, interpolation="nearest", vmin=0, vmax=1, aspect="auto")
            ax.set_title(title)
            ax.set_ylabel("stage")
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            if graph.n <= MAX_NAMED_TICKS:
                ax.set_xticks(range(graph.n))
                ax.set_xticklabels(graph.names, rotation=90, fontsize=MIN_FONT_PT)
                ax.set_xlabel("layer")
            else:
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
                ax.set_xlabel("node")
            if boundary is not None:
                for line in (ax.axvline, ax.axhline):
                    line(boundary - 0.5, color="tab:green", lw=1, ls=":")
        scale, unit = _byte_scale(float(max(report.peak_memory, 1)))
        timeline = report.memory_timeline / scale
        ax_m.step(
            range(len(timeline)),
            timeline,
            where="post",
            color="tab:purple",
            lw=1.2,
            label="live memory (incl. fixed)",
        )
        top = report.peak_memory
        if result.budget is not None:
            limit = result.budget + report.fixed_memory
            top = max(top, limit)
            ax_m.axhline(limit / scale, color="k", ls="--", lw=1, label="budget (+ fixed)")
        if boundary is not None:
            first_bwd = next(
                (k for k, op in enumerate(report.operations) if op.stage >= boundary), None
            )
            if first_bwd is not None:
                ax_m.axvline(first_bwd, color="tab:green", ls=":", lw=1, label="backward starts")
        op = report.peak_operation
        if op is not None:
            k = report.operations.index(op)
            ax_m.plot([k], [timeline[k]], "v", color="tab:red", label="peak")
            ax_m.annotate(
                f"peak: {graph.names[op.node]} (stage {op.stage})",
                (k, timeline[k]),
                textcoords="offset points",
                xytext=(-8, 4) if k > len(timeline) / 2 else (8, 4),
                ha="right" if k > len(timeline) / 2 else "left",
                fontsize=9,
            )
        ax_m.set_ylim(0, top / scale * 1.12)  # the budget line stays inside the frame
        ax_m.set_xlim(0, max(len(timeline) - 1, 1))
        ax_m.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax_m.set_xlabel("operation (compute or free, in schedule order)")
        ax_m.set_ylabel(f"memory ({unit})")
        ax_m.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False)
        ax_m.set_title(
            f"{result.strategy}: compute cost {report.compute_cost} in the graph's cost units "
            f"({report.overhead:.3f}x no recomputation), peak activation memory "
            f"{report.peak_activation_memory / scale:.3g} {unit}"
        )
        if not result.within_budget:  # the plot must not pass for a schedule that fits
            ax_m.set_title(ax_m.get_title() + ": OVER THE BUDGET", color="tab:red")
        fig.suptitle(graph.name or "schedule")
        fig.tight_layout()
    return fig


def plot_schedule(
    graph: Graph,
    result: SolveResult,
    path: str | os.PathLike[str],
    *,
    formats: Sequence[str] = ("pdf",),
) -> list[Path]:
    """Draw the R and S matrices and the memory timeline of ``result``'s schedule.

    The matrices name the layers on their axis when the graph has at most
    :data:`MAX_NAMED_TICKS` nodes; a dotted line marks where the backward pass starts; the
    timeline marks the peak and the layer computed there.

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
    fig = schedule_figure(graph, result)
    plt = _pyplot()
    try:
        return save_figure(fig, path, formats=formats)
    finally:
        plt.close(fig)
