"""``checkmate-opt sweep`` and ``checkmate-opt figures`` end to end, small enough for CI.

Real solves (HiGHS), real worker processes, a real Ctrl-C; every check reads the written
outputs and holds them against the simulator.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from checkmate_opt.cli import main
from checkmate_opt.experiments.sweep import (
    FIELDS,
    MILP,
    consistency_problems,
    read_rows,
    running_min,
)
from checkmate_opt.generators import random_layered_graph
from checkmate_opt.io import graph_from_node_link, load_graph, save_graph
from checkmate_opt.schedule import Schedule
from checkmate_opt.simulate import simulate

SWEEP_FILES = (
    "results.jsonl",
    "slowdowns.csv",
    "budget_sweep.txt",
    "budget_sweep.png",
    "budget_sweep.pdf",
)


def _check_sweep_folder(folder: Path, graph_name: str | None = None) -> list[dict]:
    for name in SWEEP_FILES:
        assert (folder / name).stat().st_size > 0, name
    rows = read_rows(folder / "results.jsonl")
    assert rows
    for r in rows:
        assert set(FIELDS) <= set(r)
        if graph_name is not None:
            assert r["graph"] == graph_name
    # within_budget agrees with the simulated peak; a proven-optimal MILP point is no costlier
    # than any strategy's running minimum at its budget
    assert consistency_problems(rows) == []
    strategies = {r["strategy"] for r in rows}
    assert {"checkpoint_all", "chen_sqrtn_linearized", "chen_greedy_linearized", MILP} <= strategies
    milp = [r for r in rows if r["strategy"] == MILP]
    assert any(r["proven_optimal"] for r in milp)
    for m in milp:
        if not m["proven_optimal"] or m["overhead"] is None:
            continue
        x = int(m["budget"]) + int(m["fixed_memory"])
        for s in strategies - {MILP}:
            best = [y for px, y in running_min(rows, s) if px <= x]
            if best:
                assert m["overhead"] <= best[-1] * 1.031, (s, m["budget"])
    with (folder / "slowdowns.csv").open(encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    assert table
    assert list(table[0]) == ["method", "max", "geomean_slowdown"]
    for row in table:
        assert row["method"] in strategies
        assert row["method"] != MILP
        assert float(row["max"]) >= float(row["geomean_slowdown"]) > 0
    return rows


def _resimulate_cache(cache: Path) -> int:
    """Every cached MILP schedule simulates to the figures stored with it; returns the count."""
    n = 0
    for path in cache.glob("*-milp-*.json"):
        entry = json.loads(path.read_text(encoding="utf-8"))
        res = entry["result"]
        if res["schedule"] is None:
            continue
        graph = graph_from_node_link(entry["kwargs"]["graph"])
        rep = simulate(graph, Schedule.from_dict(res["schedule"]))
        assert rep.peak_activation_memory == res["peak_activation_memory"]
        assert rep.compute_cost == res["compute_cost"]
        assert res["within_budget"] == (rep.peak_activation_memory <= res["budget"])
        n += 1
    return n


def _untimed(rows: list[dict]) -> list[dict]:
    """Rows without their wall times (the baselines are rerun, not cached: they take ms)."""
    return [{k: v for k, v in r.items() if k != "solve_time_s"} for r in rows]


def _mtimes(cache: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in cache.glob("*.json")}


@pytest.mark.highs
def test_sweep_command_writes_consistent_outputs_and_resumes(tmp_path: Path, capsys) -> None:
    graph_file = tmp_path / "r8.json"
    save_graph(random_layered_graph(8, seed=3), graph_file)
    out = tmp_path / "sweep"
    argv = [
        "sweep",
        str(graph_file),
        "--out",
        str(out),
        "--points",
        "3",
        "--local-points",
        "2",
        "--time-limit",
        "20",
        "--lp",
        "sweep,threshold_0.5",
        "--workers",
        "2",
        "--no-progress",
    ]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "consistency: ok" in text
    rows = _check_sweep_folder(out, "r8")
    assert {"lp_rounding_sweep", "lp_rounding_threshold_0.5"} <= {r["strategy"] for r in rows}
    assert {r["point"] for r in rows if r["strategy"] == MILP} == {"global", "local"}
    assert _resimulate_cache(out / "cache") >= 2
    # a second run finds every point cached: nothing is solved again, same results
    before = _mtimes(out / "cache")
    first = _untimed(read_rows(out / "results.jsonl"))
    assert main(argv) == 0
    assert _mtimes(out / "cache") == before
    assert _untimed(read_rows(out / "results.jsonl")) == first


def test_sweep_bad_input_is_one_clear_line(tmp_path: Path, capsys) -> None:
    graph_file = tmp_path / "r4.json"
    save_graph(random_layered_graph(4, seed=1), graph_file)
    assert main(["sweep", str(graph_file), "--out", str(tmp_path), "--budgets", "lots"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "--budgets" in err[0]
    assert main(["sweep", str(tmp_path / "nope.json"), "--out", str(tmp_path)]) == 2
    assert "nope.json" in capsys.readouterr().err
    assert main(["sweep", str(graph_file), "--out", str(tmp_path), "--lp", "bogus"]) == 2
    assert "bogus" in capsys.readouterr().err


@pytest.mark.highs
def test_ctrl_c_keeps_finished_points_and_a_rerun_resumes(tmp_path: Path) -> None:
    """A real SIGINT to a real sweep process: exit 130, outputs with the points finished so far;
    the rerun solves only the rest."""
    graph_file = tmp_path / "r12.json"
    save_graph(random_layered_graph(12, seed=5), graph_file)
    out = tmp_path / "sweep"
    cmd = [
        sys.executable,
        "-m",
        "checkmate_opt",
        "sweep",
        str(graph_file),
        "--out",
        str(out),
        "--points",
        "6",
        "--local-points",
        "0",
        "--lp",
        "none",
        "--time-limit",
        "8",
        "--no-progress",
    ]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list((out / "cache").glob("*.json"))) >= 2:
            break
        time.sleep(0.1)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    _out, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr.decode()
    assert b"interrupted" in stderr
    done = _mtimes(out / "cache")
    assert 2 <= len(done) < 7
    rows = read_rows(out / "results.jsonl")
    assert consistency_problems(rows) == []
    assert len([r for r in rows if r["strategy"] == MILP]) == len(done)
    rerun = subprocess.run(cmd, capture_output=True, env=env, timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stderr.decode()
    after = _mtimes(out / "cache")
    assert {k: after[k] for k in done} == done  # finished points were not solved again
    assert len(after) > len(done)
    _check_sweep_folder(out)


@pytest.mark.highs
def test_figures_quick_on_a_published_graph(tmp_path: Path, shared_graphs: Path, capsys) -> None:
    """A smaller-than---quick figures run: one published graph, the sweep and the approximation
    table built from it; the full --quick run is the slow test below."""
    out = tmp_path / "figs"
    argv = [
        "figures",
        "--out",
        str(out),
        "--quick",
        "--studies",
        "sweep,approximation",
        "--sweeps",
        "vggunet_b32_paper",
        "--time-limit",
        "8",
        "--workers",
        "2",
        "--shared-graphs",
        str(shared_graphs),
        "--no-progress",
    ]
    assert main(argv) == 0
    capsys.readouterr()
    rows = _check_sweep_folder(out / "sweep" / "vggunet_b32_paper", "vggunet_b32_paper")
    # the published graph is the one the figures were computed on
    graph = load_graph(shared_graphs / "vggunet_b32_train.json")
    assert {r["total_compute"] for r in rows if r["total_compute"]} == {graph.total_compute}
    index = json.loads((out / "sweep" / "index.json").read_text(encoding="utf-8"))
    assert [i["label"] for i in index] == ["vggunet_b32_paper"]
    info = json.loads((out / "run_info.json").read_text(encoding="utf-8"))
    assert info["quick"] is True
    assert info["points"] > 0
    assert info["studies"] == ["sweep", "approximation"]
    # the approximation study read the sweep written before it (the orchestrator's order)
    table = (out / "approximation" / "approximation.csv").read_text(encoding="utf-8")
    assert "U-Net" in table or "vgg_unet" in table.lower()


@pytest.mark.slow
@pytest.mark.highs
def test_figures_quick_mode_end_to_end(tmp_path: Path, shared_graphs: Path) -> None:
    """``checkmate-opt figures --quick``: every study's outputs exist and are consistent."""
    out = tmp_path / "figs"
    argv = ["figures", "--out", str(out), "--quick", "--workers", "2", "--no-progress"]
    assert main([*argv, "--shared-graphs", str(shared_graphs)]) == 0
    index = json.loads((out / "sweep" / "index.json").read_text(encoding="utf-8"))
    assert len(index) == 3
    for item in index:
        _check_sweep_folder(out / item["folder"], item["label"])
    for path in out.rglob("*"):
        if path.is_file():
            assert path.stat().st_size > 0, path
    info = json.loads((out / "run_info.json").read_text(encoding="utf-8"))
    assert set(info["studies"]) >= {"sweep"}
