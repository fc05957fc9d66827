"""Max batch size: the baseline protocols, the MILP min-peak form, graph factories, CSV."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from checkmate_opt.experiments.max_batch import (
    compute_cap,
    max_batch_baselines,
    max_batch_milp,
    scaled_factory,
)
from checkmate_opt.generators import linear_graph, random_layered_graph
from checkmate_opt.milp.accounting import milp_peak
from checkmate_opt.options import SolveOptions
from checkmate_opt.results import Termination
from checkmate_opt.simulate import simulate
from checkmate_opt.strategies.checkpoint_all import checkpoint_all

OPTS = SolveOptions(threads=1, time_limit_s=60, mip_rel_gap=0)


def test_scaled_factory_scales_memory_only() -> None:
    g = linear_graph(3).with_costs(parameter_bytes=10, memory_cost=[2] * 7)
    f = scaled_factory(g, 2)
    assert f(2).memory_cost == g.memory_cost
    assert f(6).memory_cost == (6,) * 7
    assert f(6).compute_cost == g.compute_cost
    assert f(6).parameter_bytes == 10
    with pytest.raises(ValueError, match="batch size"):
        f(0)


def test_compute_cap_is_one_extra_forward_pass() -> None:
    g = linear_graph(4)  # 4 forward nodes, unit costs, 9 nodes
    assert compute_cap(g) == 9 + 4
    assert compute_cap(g, 1.0) == 9


def test_checkpoint_all_max_batch_by_hand_and_protocols() -> None:
    # linear4 with unit memory per sample: checkpoint-all peaks at peak1 x batch;
    # fixed memory 2 x 5 = 10 bytes.
    g = linear_graph(4).with_costs(parameter_bytes=5)
    peak1 = checkpoint_all(g).report.peak_activation_memory  # type: ignore[union-attr]
    f = scaled_factory(g, 1)
    limit = 70
    corrected = max_batch_baselines(
        f, memory_limit=limit, batch_sizes=range(1, 15), protocol="corrected"
    )
    paper = max_batch_baselines(f, memory_limit=limit, batch_sizes=range(1, 15), protocol="paper")
    # corrected: peak*b + 10 <= 70; paper: peak*b + 10 <= 60 (fixed subtracted twice)
    assert corrected.max_batch["checkpoint_all"] == (limit - 10) // peak1
    assert paper.max_batch["checkpoint_all"] == (limit - 20) // peak1
    for name, best in paper.max_batch.items():
        c = corrected.max_batch[name]
        assert best is None or (c is not None and c >= best)


def test_milp_max_batch_beats_baselines_and_bound_holds(tmp_path: Path) -> None:
    g = random_layered_graph(6, seed=1).with_costs(parameter_bytes=5)
    f = scaled_factory(g, 1)
    limit = 400
    res = max_batch_milp(f, memory_limit=limit, options=OPTS, progress=lambda *a: None)
    assert res.termination is Termination.COMPLETED
    assert res.schedule is not None
    assert res.min_peak_bytes is not None
    assert res.budget == limit - g.fixed_memory
    # the schedule respects the compute cap and its MILP peak is the optimum P*
    assert res.compute_cost is not None
    assert res.compute_cost <= res.compute_cap
    assert milp_peak(g, res.schedule) <= res.min_peak_bytes
    assert res.max_batch_size == res.budget // res.min_peak_bytes
    assert res.max_batch_upper == res.max_batch_size  # proven optimal: bound == incumbent
    # scaled to its max batch, the schedule fits the memory limit in the simulator
    big = f(res.max_batch_size)
    assert simulate(big, res.schedule).peak_memory <= limit
    base = max_batch_baselines(
        f, memory_limit=limit, batch_sizes=range(1, res.max_batch_size + 3), protocol="corrected"
    )
    assert all(b is None or b <= res.max_batch_size for b in base.max_batch.values())
    res.to_csv(tmp_path / "milp.csv")
    base.to_csv(tmp_path / "base.csv")
    rows = list(csv.DictReader((tmp_path / "base.csv").open()))
    assert {r["strategy"] for r in rows} >= {"checkpoint_all", "chen_sqrtn"}
    assert next(csv.DictReader((tmp_path / "milp.csv").open()))["status"] == "completed"


def test_progress_reports_batch_sizes() -> None:
    f = scaled_factory(linear_graph(5), 1)
    seen: list[tuple[int | None, int | None, float]] = []
    res = max_batch_milp(f, memory_limit=100, options=OPTS, progress=lambda *a: seen.append(a))
    assert seen
    assert seen[-1][0] == res.max_batch_size


def test_bad_inputs() -> None:
    f = scaled_factory(linear_graph(2).with_costs(parameter_bytes=100), 1)
    with pytest.raises(ValueError, match="fixed memory"):
        max_batch_milp(f, memory_limit=150)
    with pytest.raises(ValueError, match="protocol"):
        max_batch_baselines(f, memory_limit=500, batch_sizes=[1], protocol="x")  # type: ignore[arg-type]


def test_graph_files_carry_their_batch_size(tmp_path: Path) -> None:
    from checkmate_opt.io import load_graph, save_graph

    g = linear_graph(3).with_costs(batch_size=32)
    save_graph(g, tmp_path / "g.json")
    back = load_graph(tmp_path / "g.json")
    assert back.batch_size == 32
    f = scaled_factory(back)  # the recorded batch size is the base
    assert f(64).memory_cost == tuple(2 * m for m in g.memory_cost)
    # a published Checkmate file names its batch in the graph name
    data = json.loads((tmp_path / "g.json").read_text())
    del data["graph"]["batch_size"]
    data["graph"]["name"] = "VGG16 (MLSys)_256_(224, 224, 3)_train"
    (tmp_path / "c.json").write_text(json.dumps(data))
    assert load_graph(tmp_path / "c.json").batch_size == 256


def test_batch_size_is_required_when_the_graph_does_not_record_it(tmp_path: Path) -> None:
    from checkmate_opt.cli import main
    from checkmate_opt.io import save_graph

    with pytest.raises(ValueError, match="base_batch_size"):
        scaled_factory(linear_graph(3))
    save_graph(linear_graph(3), tmp_path / "g.json")
    cmd = ["max-batch", str(tmp_path / "g.json"), "--method", "baselines"]
    assert main([*cmd, "--batch-sizes", "1", "3", "1", "--memory", "1000"]) == 2
    assert (
        main([*cmd, "--batch-sizes", "1", "3", "1", "--memory", "1000", "--base-batch-size", "1"])
        == 0
    )


def test_python_and_cli_share_the_default_protocol() -> None:
    import inspect

    from checkmate_opt.cli import build_parser

    args = build_parser().parse_args(["max-batch", "g.json"])
    default = inspect.signature(max_batch_baselines).parameters["protocol"].default
    assert args.protocol == default == "corrected"
