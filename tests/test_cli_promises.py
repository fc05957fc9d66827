"""The README's promises under real signals and edge budgets (real HiGHS, real subprocesses)."""

from __future__ import annotations

import json
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import checkmate_opt as cm
from checkmate_opt.generators import random_layered_graph
from checkmate_opt.io import save_graph
from checkmate_opt.strategies import STRATEGIES


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "checkmate_opt", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def hard_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A graph whose MILP takes HiGHS well over a few seconds on one thread."""
    path = tmp_path_factory.mktemp("hard") / "random40.json"
    save_graph(random_layered_graph(40, seed=7), path)
    return path


def _interrupt_after_first_incumbent(cmd: list[str]) -> tuple[int, str, str]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stderr, selectors.EVENT_READ)
    err = ""
    deadline = time.monotonic() + 120
    while "incumbent" not in err and time.monotonic() < deadline and proc.poll() is None:
        if sel.select(timeout=1.0):
            line = proc.stderr.readline()
            err += line
    time.sleep(0.5)  # inside the branch and bound, not at its first callback
    proc.send_signal(signal.SIGINT)
    out, rest = proc.communicate(timeout=120)
    return proc.returncode, out, err + rest


@pytest.mark.highs
@pytest.mark.parametrize("attempt", range(3))
def test_ctrl_c_prints_result_writes_output_and_exits_130(
    hard_file: Path, tmp_path: Path, attempt: int
) -> None:
    out_file = tmp_path / f"result{attempt}.json"
    cmd = [
        sys.executable,
        "-m",
        "checkmate_opt",
        "solve",
        str(hard_file),
        "--strategy",
        "optimal",
        "--budget",
        "0.7x",
        "--threads",
        "1",
        "--time-limit",
        "300",
        "--output",
        str(out_file),
    ]
    rc, out, err = _interrupt_after_first_incumbent(cmd)
    assert "terminate called" not in err
    if "status                  completed" in out:
        pytest.fail("the solve finished before the signal; make the test graph harder")
    assert rc == 130, err
    assert "interrupted" in out
    data = json.loads(out_file.read_text())
    assert data["status"] == "interrupted"
    assert data["schedule"] is not None  # the best schedule found so far is kept


@pytest.mark.highs
def test_budget_below_single_node_footprint_is_infeasible_at_once(tmp_path: Path) -> None:
    g = random_layered_graph(10, seed=2)
    path = tmp_path / "g.json"
    save_graph(g, path)
    need = g.min_feasible_memory()
    for strategy in ("optimal", "lp_rounding", "lp_bound"):
        proc = run_cli("solve", path, "--strategy", strategy, "--budget", str(need - 1), "--json")
        assert proc.returncode == 3, proc.stderr
        out = json.loads(proc.stdout)
        assert out["status"] == "infeasible"
        assert str(need) in out["message"]
        assert g.names[g.min_feasible_node] in out["message"]


@pytest.mark.highs
def test_optimal_never_accepts_a_schedule_over_budget() -> None:
    # budgets right at the edge of feasibility, in bytes of realistic size: the simulator is the
    # referee, and nothing it puts over budget may come back completed or optimal
    for seed in range(6):
        g = random_layered_graph(6, seed=seed)
        g = g.with_costs(memory_cost=[m * 1_000_003 + 17 for m in g.memory_cost])
        for budget in (g.min_feasible_memory(), g.min_feasible_memory() + 1):
            r = cm.solve(g, budget, strategy="optimal", progress=None)
            if r.schedule is not None and not r.within_budget:
                assert r.termination is not cm.Termination.COMPLETED
                assert not r.proven_optimal
            if r.proven_optimal:
                assert r.within_budget


@pytest.mark.highs
def test_time_limit_bounds_the_whole_call(hard_file: Path) -> None:
    t0 = time.perf_counter()
    proc = run_cli(
        "solve",
        hard_file,
        "--strategy",
        "optimal",
        "--budget",
        "0.7x",
        "--time-limit",
        "3",
        "--threads",
        "1",
        "--json",
    )
    wall = time.perf_counter() - t0
    out = json.loads(proc.stdout)
    assert out["status"] in {"time_limit", "completed"}
    # the call's own clock (build, warm start and hand-off included) stops near the limit;
    # generous slack because CI machines are shared
    assert out["solve_time_s"] < 3 + 6, out
    assert wall < 3 + 30


def test_version_and_strategy_help_list_names() -> None:
    proc = run_cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"checkmate-opt {cm.__version__}"
    proc = run_cli("solve", "--help")
    assert proc.returncode == 0
    help_text = " ".join(proc.stdout.split())
    for name in STRATEGIES:
        assert name in help_text
    assert "3 no schedule meets the budget" in help_text
    assert "130 interrupted" in help_text


def test_over_budget_heuristic_exits_3_but_prints_the_result(tmp_path: Path) -> None:
    g = random_layered_graph(10, seed=2)
    path = tmp_path / "g.json"
    save_graph(g, path)
    proc = run_cli("solve", path, "--strategy", "checkpoint_all", "--budget", "0.5x", "--json")
    assert proc.returncode == 3, proc.stderr
    assert json.loads(proc.stdout)["within_budget"] is False
    proc = run_cli("solve", path, "--strategy", "checkpoint_all", "--budget", "2x", "--json")
    assert proc.returncode == 0, proc.stderr


def test_loaded_result_with_graph_reports_only_simulated_figures() -> None:
    g = random_layered_graph(8, seed=1)
    r = cm.solve(g, "1.5x", strategy="checkpoint_all")
    data = r.to_dict()
    data["schedule"] = None
    loaded = cm.SolveResult.from_dict(data, g)
    assert loaded.report is None
    assert loaded.within_budget is False
    assert loaded.compute_cost is None
    back = cm.SolveResult.from_json(r.to_json(), g)
    assert back.compute_cost == r.compute_cost
    assert back.within_budget == r.within_budget
