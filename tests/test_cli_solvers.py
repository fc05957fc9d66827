"""CLI commands that go through the MILP, the zoo and max batch (real HiGHS, real Keras)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from checkmate_opt.generators import linear_graph
from checkmate_opt.io import load_graph, save_graph


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "checkmate_opt", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture
def chain_file(tmp_path: Path) -> Path:
    path = tmp_path / "chain.json"
    save_graph(linear_graph(4), path)
    return path


@pytest.mark.highs
def test_solve_optimal_json_has_bound_and_progress(chain_file: Path) -> None:
    proc = run_cli(
        "solve",
        chain_file,
        "--strategy",
        "optimal",
        "--budget",
        "4",
        "--json",
        "--time-limit",
        "60",
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["within_budget"] is True
    assert out["peak_activation_memory"] <= 4
    # the bound is in the same units as compute_cost and never above it
    assert out["objective_bound"] is not None
    assert out["objective_bound"] <= out["compute_cost"]
    assert out["proven_optimal"] is True
    assert "incumbent" in proc.stderr  # progress lines go to stderr


@pytest.mark.highs
def test_lp_bound_has_no_schedule(chain_file: Path) -> None:
    proc = run_cli("solve", chain_file, "--strategy", "lp_bound", "--budget", "4", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["feasible"] is False
    assert out["compute_cost"] is None
    assert out["objective_bound"] >= linear_graph(4).total_compute


@pytest.mark.highs
def test_infeasible_budget_is_a_result(chain_file: Path) -> None:
    # a gradient node needs its forward input, the previous gradient and its output: 3 units
    proc = run_cli("solve", chain_file, "--strategy", "optimal", "--budget", "2", "--json")
    assert proc.returncode == 3, proc.stderr  # its own status: no schedule meets the budget
    out = json.loads(proc.stdout)
    assert out["status"] == "infeasible"
    assert out["feasible"] is False


@pytest.mark.highs
def test_max_batch_on_graph_file(chain_file: Path, tmp_path: Path) -> None:
    out_csv = tmp_path / "mb.csv"
    proc = run_cli(
        "max-batch",
        chain_file,
        "--base-batch-size",  # a generated file records no batch size
        "1",
        "--memory",
        "40",
        "--time-limit",
        "60",
        "--output",
        out_csv,
    )
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(out_csv.open()))
    best = int(rows[0]["max_batch_size"])
    # checkpoint-all on the unit 4-chain peaks at 6 units per sample: 40 // 6 = 6 fits without
    # recomputation, so the MILP (one extra forward pass allowed) does at least that well
    assert best >= 40 // 6
    proc = run_cli(
        "max-batch",
        chain_file,
        "--base-batch-size",
        "1",
        "--memory",
        "40",
        "--method",
        "baselines",
        "--batch-sizes",
        "1",
        "12",
        "1",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    base = {r["strategy"]: r["max_batch_size"] for r in json.loads(proc.stdout)}
    assert base["checkpoint_all"] == 40 // 6
    assert all(v is None or v <= best for v in base.values())


@pytest.mark.keras
def test_zoo_export_and_solve_model(tmp_path: Path) -> None:
    pytest.importorskip("keras")
    proc = run_cli("zoo", "test", "--json")
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads(proc.stdout)
    assert (row["nodes"], row["edges"]) == (13, 26)  # spec §2.2 worked example
    out = tmp_path / "test_net.json"
    proc = run_cli("export", "--model", "test", "--batch-size", "2", "--output", out)
    assert proc.returncode == 0, proc.stderr
    g = load_graph(out)
    assert g.n == 13
    assert len(g.edges) == 26
    proc = run_cli(
        "solve", "--model", "test", "--batch-size", "2", "--strategy", "checkpoint_all", "--json"
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["compute_cost"] == g.total_compute
    proc = run_cli("zoo", "no_such_model")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1
    assert "unknown zoo model" in proc.stderr
