"""The max-batch study: real Keras zoo graphs, real HiGHS solves, the simulator as referee."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from checkmate_opt.experiments import max_batch_study as mbs
from checkmate_opt.experiments.runner import ExperimentConfig, run_tasks

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
pytest.importorskip("keras")


def _check(rows: list[dict], models: list[str]) -> None:
    """Consistency of a study's table: per model, paper <= corrected for every baseline, the
    MILP at least every baseline under either protocol, bounds above values."""
    for m in models:
        paper = {r["strategy"]: r for r in rows if r["model"] == m and r["protocol"] == "paper"}
        corr = {r["strategy"]: r for r in rows if r["model"] == m and r["protocol"] == "corrected"}
        assert set(paper) == set(corr)
        assert {"checkpoint_all", "chen_sqrtn", "chen_greedy", mbs.MILP} <= set(corr)
        milp = corr[mbs.MILP]["max_batch_size"]
        assert milp is not None
        assert paper[mbs.MILP]["max_batch_size"] == milp  # the MILP counts fixed memory once
        if corr[mbs.MILP]["upper_bound"] is not None:
            assert corr[mbs.MILP]["upper_bound"] >= milp
        for s in corr:
            if s == mbs.MILP:
                continue
            p, c = paper[s]["max_batch_size"], corr[s]["max_batch_size"]
            assert p is None or (c is not None and c >= p), s
            assert c is None or c <= milp, s


@pytest.mark.highs
def test_study_on_a_small_zoo_chain(tmp_path: Path) -> None:
    from checkmate_opt import zoo
    from checkmate_opt.strategies.checkpoint_all import checkpoint_all

    g = zoo.load("linear6", batch_size=1, platform=mbs.PLATFORM)
    peak1 = checkpoint_all(g).report.peak_activation_memory  # type: ignore[union-attr]
    # a device where checkpoint-all fits about 12 samples beside the fixed memory
    limit = 2 * g.fixed_memory + 12 * peak1 + peak1 // 2
    points = mbs.study_tasks({"linear6": (4, 30, 1)}, time_limit_s=60, memory_limit=limit)
    results = run_tasks(points, cache_dir=tmp_path / "cache", progress=False)
    rows = mbs.table_rows(results, points)
    _check(rows, ["linear6"])
    by = {(r["protocol"], r["strategy"]): r["max_batch_size"] for r in rows}
    # checkpoint-all by hand: its peak is batch x peak1 (memory scales linearly)
    assert by["corrected", "checkpoint_all"] == (limit - g.fixed_memory) // peak1
    assert by["paper", "checkpoint_all"] == (limit - 2 * g.fixed_memory) // peak1
    # the MILP's schedule, simulated at its batch size, fits the device and the compute cap
    milp = next(results[t.key] for t in points if "milp" in t.func)
    assert milp["fits_at_max"] is True
    assert milp["simulated_peak_memory_at_max"] <= limit
    assert milp["status"] == "completed"
    assert milp["max_batch_upper"] == milp["max_batch_size"]
    # a coarse grid refined near each strategy's maximum finds what the full scan finds
    step1 = next(results[t.key] for t in points if t.kwargs.get("protocol") == "corrected")
    coarse = mbs.baselines_point("linear6", "corrected", 4, 30, 5, memory_limit=limit)
    assert coarse["refined"]
    assert coarse["batch_sizes_tried"] < step1["batch_sizes_tried"]
    assert coarse["max_batch"] == step1["max_batch"]
    paths = mbs.write_outputs(rows, tmp_path / "out")
    for p in paths:
        assert p.stat().st_size > 0, p
    with (tmp_path / "out" / "max_batch.csv").open(encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == len(rows)
    text = (tmp_path / "out" / "max_batch.txt").read_text(encoding="utf-8")
    assert "protocol corrected" in text
    assert "Checkmate MILP" in text
    _check_figure(rows)


def _check_figure(rows: list[dict]) -> None:
    """Bars above the drawn range are cut at the frame with their ratio; a strategy without a
    batch size is a cross labelled n/a; fonts >= 8 pt; the legend off the panels."""
    from checkmate_opt.plotting import BEYOND_GID, MISSING_GID
    from figure_checks import assert_fonts_readable, assert_legends_off_the_data
    from figure_checks import close as _close
    from figure_checks import marks as _marks

    shown = [s for s in mbs.LABELS if s != "checkpoint_last_node"]
    # as if one baseline had found no batch size under the paper protocol
    gone = next(r for r in rows if r["protocol"] == "paper" and r["strategy"] == "chen_sqrtn")
    rows = [r | {"max_batch_size": None} if r is gone else r for r in rows]
    ratios = []
    for r in rows:
        ref = mbs._value(rows, r["model"], r["protocol"], "checkpoint_all")
        if r["strategy"] in shown and r["max_batch_size"] is not None and ref:
            ratios.append(r["max_batch_size"] / ref)
    above = [x for x in ratios if x > 1.35]
    assert above  # the MILP beats checkpoint-all by more than the cut below
    fig = mbs.figure(rows, ymax=1.0)  # the frame ends at 1.35 x checkpoint-all
    try:
        top_ax, bottom_ax = fig.axes
        assert top_ax.get_ylim()[1] == pytest.approx(1.35)
        beyond = [m for ax in fig.axes for m in _marks(ax, BEYOND_GID, "marker")]
        assert sum(len(m.get_ydata()) for m in beyond) == len(above)
        crosses = _marks(top_ax, MISSING_GID, "marker") + _marks(bottom_ax, MISSING_GID, "marker")
        assert len(crosses) == sum(
            1 for r in rows if r["strategy"] in shown and r["max_batch_size"] is None
        )
        assert len(_marks(top_ax, MISSING_GID, "marker")) >= 1  # the paper panel
        assert_fonts_readable(fig)
        assert_legends_off_the_data(fig)
    finally:
        _close(fig)


def test_quick_and_full_plans() -> None:
    quick = mbs.tasks(ExperimentConfig(out=Path("x"), quick=True, time_limit_s=10))
    full = mbs.tasks(ExperimentConfig(out=Path("x"), time_limit_s=300))
    assert {t.kwargs["model"] for t in quick} == set(mbs.QUICK_MODELS)
    assert {t.kwargs["model"] for t in full} == set(mbs.MODELS)
    assert len(full) == 3 * len(mbs.MODELS)
    assert len({t.key for t in full}) == len(full)
    # both refine a grid over the paper's ranges; full mode's grid is finer
    steps = {t.kwargs["model"]: t.kwargs["step"] for t in full if "protocol" in t.kwargs}
    for t in quick:
        if "protocol" in t.kwargs:
            assert t.kwargs["step"] >= steps[t.kwargs["model"]]


@pytest.mark.slow
@pytest.mark.highs
def test_vgg19_full_grid(tmp_path: Path) -> None:
    """VGG19 over the paper's whole range (every batch size) and the MILP to optimality."""
    points = mbs.study_tasks({"VGG19": (*mbs.MODELS["VGG19"], 1)}, time_limit_s=600)
    results = run_tasks(points, cache_dir=tmp_path / "cache", progress=False)
    rows = mbs.table_rows(results, points)
    _check(rows, ["VGG19"])
    milp = next(results[t.key] for t in points if "milp" in t.func)
    assert milp["fits_at_max"] is True
