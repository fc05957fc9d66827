"""The benchmark harness on a tiny grid: real solves in child processes, outputs consistent."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import run  # noqa: E402


def test_quick_grid_writes_consistent_outputs(tmp_path):
    code = run.main(
        [
            "--graphs", "chain6", "random10",
            "--strategies", "checkpoint_all", "anytime",
            "--mults", "0.8",
            "--time-limit", "0.3",
            "--out", str(tmp_path),
        ]
    )  # fmt: skip
    assert code == 0
    rows = [json.loads(x) for x in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 4
    for r in rows:
        assert r["status"] != "error", r["message"]
        assert r["within_budget"] == (r["sim_peak"] is not None and r["sim_peak"] <= r["budget"])
        assert r["peak_rss_mb"] > 0
        if r["incr_pct"] is not None:
            assert r["incr_pct"] == pytest.approx(
                100 * (r["compute_cost"] / r["total_compute"] - 1)
            )
    # checkpoint-all never recomputes, so at 0.8 x the no-remat peak it is over budget
    ca = [r for r in rows if r["strategy"] == "checkpoint_all"]
    assert all(r["incr_pct"] == 0 and not r["within_budget"] for r in ca)
    assert all(r["within_budget"] for r in rows if r["strategy"] == "anytime")
    with (tmp_path / "results.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == 4
    table = (tmp_path / "table.txt").read_text()
    assert table.count("\n") == 6
    assert "chain6" in table
    assert (tmp_path / "table.md").read_text().count("| chain6 |") == 2
    assert (tmp_path / "plot.png").stat().st_size > 0
    assert (tmp_path / "plot.pdf").stat().st_size > 0


def test_check_rows_flags_disagreement():
    row = {"graph": "g", "mult": 0.8, "strategy": "s", "status": "completed", "budget": 10}
    row["peak_activation_memory"] = 11
    assert run.check_rows([row | {"within_budget": True, "sim_peak": 11}])
    assert run.check_rows([row | {"within_budget": False, "sim_peak": 11}]) == []


def test_reference_figures_parsed_from_the_shared_folder(shared_graphs):
    peer = run.peer_rows(shared_graphs)
    pub = run.published_rows(shared_graphs)
    assert ("vgg16_b256_train", 0.9) in peer
    assert peer[("vgg16_b256_train", 0.9)]["B"].isdigit()
    assert any("FastSA" in k for v in pub.values() for k in v)
    assert ("random_layered_n100", 0.8) in pub


def test_the_exact_path_benchmark_runs_and_tabulates(tmp_path, shared_graphs, capsys):
    """``nox -s bench -- milp_exact ...``: a quick run on vgg16 (proven at 0.9, infeasible at
    0.8), then its Markdown table with the peer's figures beside ours."""
    import milp_exact

    out = tmp_path / "exact.jsonl"
    args = ["vgg16_b256_train", "--mults", "0.9", "0.8", "--time-limit", "60"]
    args += ["--out", str(out), "--shared", str(shared_graphs), "--compare", "no_race"]
    assert milp_exact.main(args) == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(r["mult"], r["config"]) for r in rows] == [
        (0.9, "default"), (0.9, "no_race"), (0.8, "default"), (0.8, "no_race"),
    ]  # fmt: skip
    for r in rows:
        if r["mult"] == 0.9:
            assert r["status"] == "completed"
            assert r["proven_optimal"]
            assert r["within_budget"]
            assert r["gap_pct"] == pytest.approx(0.0, abs=1e-9)
        else:
            assert r["status"] == "infeasible"  # the node footprint rules it out
            assert r["increase_pct"] is None
    assert rows[0]["increase_pct"] == pytest.approx(rows[1]["increase_pct"])
    capsys.readouterr()
    assert milp_exact.main(["--table", str(out), "--shared", str(shared_graphs)]) == 0
    table = capsys.readouterr().out
    assert table.count("| vgg16_b256_train |") == 4
    assert "| optimal |" in table  # the peer's status, read from peer-2core.md


def test_the_scaling_benchmark_runs_on_a_small_chain(tmp_path):
    import scaling

    code = scaling.main(
        ["--graphs", "chain6", "--time-limit", "10", "--out", str(tmp_path)]
    )  # fmt: skip
    assert code == 0
    rows = [json.loads(x) for x in (tmp_path / "scaling.jsonl").read_text().splitlines()]
    assert [r["strategy"] for r in rows] == ["optimal", "anytime"]
    assert all(r["within_budget"] for r in rows)
    assert rows[0]["proven_optimal"]
    assert rows[0]["compute_cost"] <= rows[1]["compute_cost"]
    for name in ("scaling.csv", "scaling.txt", "scaling.png", "scaling.pdf"):
        assert (tmp_path / name).stat().st_size > 0
