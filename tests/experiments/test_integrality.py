"""The integrality-gap study: real LP and MILP solves on unit chains, checked for consistency."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from checkmate_opt.experiments import integrality
from checkmate_opt.experiments.runner import ExperimentConfig, run_tasks


def _consistent(r: dict) -> None:
    """LP bound <= MILP <= rounded (the MILP only when proven optimal), ratios as stated."""
    lp, milp, rnd = r["lp_bound"], r["milp_cost"], r["rounded_cost"]
    assert lp is not None
    if milp is not None:
        assert lp <= milp + 1e-6
        assert r["integrality_gap"] == pytest.approx(milp / lp, rel=1e-3)
        if rnd is not None and r["milp_proven_optimal"]:
            assert milp <= rnd
            assert r["rounded_over_milp"] == pytest.approx(rnd / milp, rel=1e-3)
    if rnd is not None:
        assert lp <= rnd + 1e-6
    # a chain of N unit layers costs at least 2N + 1 (every node once)
    n_nodes = 2 * r["layers"] + 1
    for cost in (milp, rnd):
        assert cost is None or cost >= n_nodes


@pytest.mark.highs
def test_full_variant_on_a_chain(tmp_path: Path) -> None:
    config = ExperimentConfig(out=tmp_path, quick=True, time_limit_s=60)
    points = [t for t in integrality.tasks(config) if t.kwargs["variant"] == "full"]
    assert [t.kwargs["budget"] for t in points] == integrality.budgets(integrality.QUICK_LAYERS)
    results = run_tasks(points, cache_dir=tmp_path / "cache", progress=False)
    rows = integrality.rows(results, config)
    assert len(rows) == len(points)
    for r in rows:
        _consistent(r)
        assert r["milp_proven_optimal"]
        assert r["rounded_cost"] is not None  # the threshold sweep finds a schedule on chains
    # with room for every activation nothing is recomputed: no gap; tighter budgets cost more
    assert rows[0]["milp_cost"] == 2 * integrality.QUICK_LAYERS + 1
    assert rows[0]["integrality_gap"] == pytest.approx(1.0)
    costs = [r["milp_cost"] for r in rows]
    assert costs == sorted(costs)
    paths = integrality.summarize(results, config)
    for p in paths:
        assert p.stat().st_size > 0, p
    with (tmp_path / "integrality" / "integrality.csv").open(encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    assert [int(r["budget"]) for r in table] == [t.kwargs["budget"] for t in points]
    assert "variant full" in (tmp_path / "integrality" / "integrality.txt").read_text()


@pytest.mark.highs
@pytest.mark.parametrize("variant", ["cover_all", "cover_last"])
def test_cover_variants_keep_the_bound(variant: str) -> None:
    r = integrality.point(4, 5, variant, time_limit_s=10)
    _consistent(r)
    assert r["milp_status"] in ("completed", "time_limit")
    if r["milp_status"] == "time_limit":
        assert not r["milp_proven_optimal"]


@pytest.mark.slow
@pytest.mark.highs
def test_quick_plan_end_to_end(tmp_path: Path) -> None:
    config = ExperimentConfig(out=tmp_path, quick=True, time_limit_s=10)
    points = integrality.tasks(config)
    assert len(points) == 3 * len(integrality.budgets(integrality.QUICK_LAYERS))
    results = run_tasks(points, cache_dir=tmp_path / "cache", workers=2, progress=False)
    for r in integrality.rows(results, config):
        _consistent(r)
    for p in integrality.summarize(results, config):
        assert p.stat().st_size > 0
