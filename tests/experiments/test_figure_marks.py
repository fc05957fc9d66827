"""Readable figures: values beyond the axes and missing values are marked, fonts are at least
8 pt, legends stay off the data, node/budget ticks are integers. Real solves throughout; the
figures are inspected as matplotlib objects."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from checkmate_opt.experiments import integrality
from checkmate_opt.experiments.runner import run_tasks
from checkmate_opt.experiments.sweep import MILP, Sweep, SweepSpec, sweep_figure
from checkmate_opt.generators import random_layered_graph
from checkmate_opt.plotting import BEYOND_GID, MISSING_GID, mark_beyond
from figure_checks import assert_fonts_readable, assert_legends_off_the_data
from figure_checks import close as _close
from figure_checks import marks as _marks

# --------------------------------------------------------------------------- the budget sweep


@pytest.fixture(scope="module")
def sweep_rows(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """A real sweep of a small random graph: one budget below the least feasible memory (no
    schedule), three above it."""
    g = random_layered_graph(8, seed=3)
    low = g.min_feasible_memory()
    budgets = (low // 4, low, (low + g.total_memory) // 2, g.total_memory)
    s = Sweep(_graph_spec(budgets, g.fixed_memory), graph=g)
    cache = tmp_path_factory.mktemp("sweep_cache")
    results = run_tasks(s.global_tasks(), cache_dir=cache, progress=False)
    return s.rows(results)


def _graph_spec(budgets: tuple[int, ...], fixed: int) -> SweepSpec:
    return SweepSpec(
        "marks",
        graph_file="unused.json",  # the graph object is passed to Sweep directly
        budgets=tuple(b + fixed for b in budgets),
        lp_roundings=(),
        time_limit_s=10.0,
    )


def _plotted(rows: list[dict]) -> list[tuple[str, float, float]]:
    return [
        (r["strategy"], float(r["peak_memory"]), float(r["overhead"]))
        for r in rows
        if r["overhead"] is not None and r["strategy"] != "checkpoint_last_node"
    ]


@pytest.mark.highs
def test_sweep_points_above_the_frame_are_marked_with_their_value(sweep_rows) -> None:
    pts = _plotted(sweep_rows)
    overheads = sorted({y for _, _, y in pts})
    assert overheads[-1] > 1.0  # the tight budgets recompute
    top = (overheads[0] + overheads[-1]) / 2 if len(overheads) > 1 else overheads[-1] - 0.01
    top = max(top, 0.96)
    fig = sweep_figure(sweep_rows, "marks", ylim=(0.95, top))
    try:
        (ax,) = fig.axes
        above = sorted(y for _, _, y in pts if y > top)
        markers = _marks(ax, BEYOND_GID, "marker")
        assert sum(len(m.get_ydata()) for m in markers) == len(above) > 0
        for m in markers:  # drawn on the frame's top edge, pointing up
            assert list(m.get_ydata()) == pytest.approx([top] * len(m.get_ydata()))
            assert m.get_marker() == "^"
        # each label is a value or a range of values of the points near it; together they
        # cover every point above the frame
        ranges = []
        for t in _marks(ax, BEYOND_GID, "text"):
            lo, _, hi = t.get_text().partition("\u2013")
            ranges.append((float(lo), float(hi or lo)))
        assert 1 <= len(ranges) <= len(markers)
        for y in above:
            assert any(lo * 0.995 <= y <= hi * 1.005 for lo, hi in ranges), (y, ranges)
        assert_fonts_readable(fig)
        assert_legends_off_the_data(fig)
    finally:
        _close(fig)
    # the default range holds every point: nothing marked, nothing lost
    fig = sweep_figure(sweep_rows, "marks", ylim=(0.95, overheads[-1] + 0.1))
    try:
        assert _marks(fig.axes[0], BEYOND_GID, "marker") == []
    finally:
        _close(fig)


@pytest.mark.highs
def test_sweep_budget_without_a_schedule_is_a_cross(sweep_rows) -> None:
    none = [r for r in sweep_rows if r["strategy"] == MILP and r["overhead"] is None]
    assert none
    assert all(r["status"] == "infeasible" for r in none)
    fig = sweep_figure(sweep_rows, "marks")
    try:
        (ax,) = fig.axes
        crosses = _marks(ax, MISSING_GID, "marker")
        assert len(crosses) == len(none)
        xs = sorted(c.get_xdata()[0] for c in crosses)
        assert xs == pytest.approx(sorted(int(r["device_budget"]) for r in none))
        lo, hi = ax.get_xlim()
        assert all(lo <= x <= hi for x in xs)
    finally:
        _close(fig)


@pytest.mark.highs
def test_sweep_strategy_without_any_schedule_is_named_in_the_legend(sweep_rows) -> None:
    # keep only the infeasible budget's MILP row: the MILP then has no schedule at all
    rows = [r for r in sweep_rows if r["strategy"] != MILP or r["overhead"] is None]
    fig = sweep_figure(rows, "marks")
    try:
        labels = fig.axes[0].get_legend_handles_labels()[1]
        assert any(lab.endswith(": no schedule") for lab in labels), labels
    finally:
        _close(fig)


# --------------------------------------------------------------------------- integrality


@pytest.mark.highs
def test_integrality_missing_costs_marked_integer_ticks_legend_below() -> None:
    # budget 2 is infeasible (nothing solves), at 3 the rounding finds no schedule
    table = [integrality.point(4, b, "full", time_limit_s=10) for b in (6, 5, 3, 2)]
    missing = {
        r["budget"] for r in table if None in (r["lp_bound"], r["milp_cost"], r["rounded_cost"])
    }
    assert missing == {2, 3}
    fig = integrality.figure(table)
    try:
        ax = fig.axes[0]
        crosses = _marks(ax, MISSING_GID, "marker")
        assert sorted(c.get_xdata()[0] for c in crosses) == sorted(missing)
        assert [t.get_text() for t in _marks(ax, MISSING_GID, "text")] == ["n/a"] * len(missing)
        # the marks sit under the data, not on it
        lo = min(r[k] for r in table for k in ("lp_bound", "milp_cost") if r[k] is not None)
        assert ax.transData.transform((0, lo))[1] > ax.transAxes.transform((0, 0.1))[1]
        fig.canvas.draw()
        for axis in (ax.xaxis, ax.yaxis):
            assert all(float(v).is_integer() for v in axis.get_majorticklocs())
        assert "node evaluations" in ax.get_ylabel()
        assert_fonts_readable(fig)
        assert_legends_off_the_data(fig)
        # a value beyond a clipped range gets a triangle and its value
        lo_y, _ = ax.get_ylim()
        ax.set_ylim(lo_y, 14)
        drawn = [(r["budget"], r["milp_cost"]) for r in table if r["milp_cost"] is not None]
        assert mark_beyond(ax, drawn) == sum(1 for _, y in drawn if y > 14)
    finally:
        _close(fig)


# --------------------------------------------------------------------------- the schedule plot


def test_schedule_plot_fonts_with_named_layers_and_budget_in_frame() -> None:
    import checkmate_opt as cm
    from checkmate_opt.plotting import MAX_NAMED_TICKS, schedule_figure

    g = random_layered_graph(MAX_NAMED_TICKS // 2 - 2, seed=1)
    assert 30 < g.n <= MAX_NAMED_TICKS  # the range that used 6 pt names before
    r = cm.solve(g, "1.0x", strategy="chen_sqrtn")
    fig = schedule_figure(g, r)
    try:
        ax_r, _ax_s, ax_m = fig.axes
        assert [t.get_text() for t in ax_r.get_xticklabels()] == list(g.names)
        assert_fonts_readable(fig)
        assert_legends_off_the_data(fig)
        assert r.budget is not None
        lo, hi = ax_m.get_ylim()
        budget_lines = [ln for ln in ax_m.get_lines() if ln.get_label() == "budget (+ fixed)"]
        assert budget_lines
        assert lo <= budget_lines[0].get_ydata()[0] <= hi
    finally:
        _close(fig)


def test_save_figure_unwritable_folder_names_the_path(tmp_path: Path) -> None:
    from checkmate_opt.errors import OutputError
    from checkmate_opt.plotting import _pyplot, save_figure

    blocker = tmp_path / "file"
    blocker.write_text("x")
    plt = _pyplot()
    fig = plt.figure()
    try:
        with pytest.raises(OutputError, match=str(blocker / "sub")):
            save_figure(fig, blocker / "sub" / "f.png")
    finally:
        plt.close(fig)


def test_schedule_plot_says_when_the_schedule_is_over_the_budget() -> None:
    import checkmate_opt as cm
    from checkmate_opt.plotting import schedule_figure

    g = random_layered_graph(18, seed=1)
    over = cm.solve(g, "0.8x", strategy="chen_sqrtn")  # the heuristic cannot meet it
    fits = cm.solve(g, 10 * g.total_memory, strategy="chen_sqrtn")
    assert not over.within_budget
    assert fits.within_budget
    for result, flagged in ((over, True), (fits, False)):
        fig = schedule_figure(g, result)
        try:
            assert ("OVER THE BUDGET" in fig.axes[2].get_title()) is flagged
        finally:
            _close(fig)
