"""The sweep's arithmetic: running minima, slowdowns (spec §7.1 step 10), consistency checks,
budget points."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from checkmate_opt.experiments.runner import ExperimentConfig
from checkmate_opt.experiments.sweep import (
    MILP,
    Sweep,
    SweepSpec,
    consistency_problems,
    running_min,
    slowdowns,
    specs,
)
from checkmate_opt.generators import random_layered_graph


def _row(strategy: str, peak: int, overhead: float, budget: int | None = None, **kw) -> dict:
    row = {
        "graph": "g",
        "strategy": strategy,
        "budget": budget,
        "peak_activation_memory": peak,
        "peak_memory": peak,
        "overhead": overhead,
        "within_budget": budget is None or peak <= budget,
        "proven_optimal": False,
    }
    return row | kw


def test_running_min_keeps_only_improving_steps() -> None:
    rows = [_row("a", 30, 1.1), _row("a", 10, 1.5), _row("a", 20, 1.6), _row("a", 20, 1.2)]
    rows.append(_row("b", 5, 1.0))
    assert running_min(rows, "a") == [(10, 1.5), (20, 1.2), (30, 1.1)]


def test_slowdowns_against_the_milp_step_points() -> None:
    rows = [
        _row(MILP, 10, 1.2, budget=10),
        _row(MILP, 20, 1.0, budget=20),
        _row("greedy", 12, 1.5),
        _row("greedy", 18, 1.1),
        _row("sqrtn", 25, 1.3),  # nothing at or below either MILP peak: left out
    ]
    out = slowdowns(rows)
    assert set(out) == {"greedy"}
    mx, geo = out["greedy"]
    # at x*=10 greedy has nothing (skipped); at x*=20 its best is 1.1 against 1.0
    assert mx == pytest.approx(1.1)
    assert geo == pytest.approx(1.1)
    rows.append(_row("greedy", 8, 2.4))
    mx, geo = slowdowns(rows)["greedy"]
    assert mx == pytest.approx(2.0)
    assert geo == pytest.approx(math.sqrt(2.0 * 1.1))


def test_consistency_catches_a_false_within_budget_and_a_beaten_optimum() -> None:
    good = [_row(MILP, 10, 1.2, budget=10, proven_optimal=True), _row("greedy", 9, 1.25)]
    assert consistency_problems(good) == []
    lie = [*good, _row("lp_rounding_sweep", 11, 1.1, budget=10, within_budget=True)]
    assert any("within_budget" in p for p in consistency_problems(lie))
    beaten = [*good, _row("greedy", 10, 1.1)]
    assert any("proven optimal" in p for p in consistency_problems(beaten, eps_noise=0.0))
    # a time-limited MILP point may be beaten: that is not a contradiction
    slow = [_row(MILP, 10, 1.2, budget=10), _row("greedy", 10, 1.1)]
    assert consistency_problems(slow) == []


def test_budget_points_cover_feasible_memory() -> None:
    g = random_layered_graph(10, seed=2)
    sweep = Sweep(SweepSpec("r10", graph_file="unused.json", points=5, local_points=3), g)
    glob = sweep.global_budgets()
    ref = next(r for r in sweep.baselines if r.strategy == "checkpoint_all")
    assert glob[0] == g.min_feasible_memory() or glob[0] >= g.max_degree_memory()
    assert min(glob) >= g.min_feasible_memory()
    assert ref.report is not None
    assert ref.report.peak_activation_memory in glob
    assert len(glob) >= 5
    # local points need the global MILP points first
    assert sweep.local_tasks({}) == []
    tasks = sweep.global_tasks()
    assert {t.kwargs["budget"] for t in tasks} == set(glob)
    milp = [t for t in tasks if t.func.endswith(":milp_point")]
    assert len(milp) == len(glob)
    # every MILP point is seeded with the cheapest baseline within its budget (if any fits)
    for t in milp:
        fits = [
            r.report.compute_cost
            for r in sweep.baselines
            if r.report is not None and r.report.peak_activation_memory <= t.kwargs["budget"]
        ]
        assert (t.kwargs["seed"] is None) == (not fits)


def test_paper_configurations(tmp_path: Path) -> None:
    shared = tmp_path / "graphs"
    quick = specs(ExperimentConfig(out=tmp_path, quick=True, shared_graphs=shared))
    assert [s.label for s in quick] == [
        "vgg16_b256_paper",
        "mobilenet_b512_paper",
        "vggunet_b32_paper",
    ]
    full = specs(ExperimentConfig(out=tmp_path, shared_graphs=shared))
    zoo = {(s.model, s.batch_size, s.platform) for s in full if s.model}
    assert zoo == {
        ("VGG16", 256, "p32xlarge"),
        ("MobileNet", 512, "p32xlarge"),
        ("vgg_unet", 32, "p32xlarge"),
    }
    assert {"vgg19_b256_paper", "resnet50_b256_paper"} <= {s.label for s in full}
    assert all(s.points is None for s in full)  # the paper's 64 / 32 points
    no_files = specs(ExperimentConfig(out=tmp_path, quick=True))
    assert all(s.model for s in no_files)
    with pytest.raises(ValueError, match="unknown sweep"):
        specs(ExperimentConfig(out=tmp_path, select=("nope",)))
