"""Ctrl-C at any moment of a real solve ends one way: the result printed, written, exit 130."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from checkmate_opt.generators import random_layered_graph
from checkmate_opt.io import save_graph


@pytest.mark.highs
def test_ctrl_c_while_the_milp_is_built_still_prints_and_writes_the_result(
    tmp_path: Path,
) -> None:
    graph_file = tmp_path / "g.json"
    save_graph(random_layered_graph(200, seed=3), graph_file)
    out_file = tmp_path / "result.json"
    cmd = [sys.executable, "-m", "checkmate_opt", "solve", str(graph_file)]
    cmd += ["--budget", "0.8x", "--threads", "1", "--output", str(out_file)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    first = proc.stderr.readline()  # logged once the graph is loaded, before the solver exists
    assert first.startswith("solving ")
    time.sleep(0.2)  # inside the import of the modelling layer / the model build
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert "Traceback" not in err
    assert proc.returncode == 130, err
    assert "interrupted" in out
    assert json.loads(out_file.read_text())["status"] == "interrupted"


@pytest.mark.highs
def test_ctrl_c_while_anytime_runs_beside_the_solver_keeps_the_best_schedule(
    tmp_path: Path,
) -> None:
    """Over 200 nodes under a time limit, ``optimal`` runs ``anytime`` in a thread beside
    HiGHS' child process; a real SIGINT then stops both, and the best schedule is written."""
    from checkmate_opt.budget import resolve_budget

    g = random_layered_graph(101, seed=5)  # 203 nodes
    graph_file = tmp_path / "g.json"
    save_graph(g, graph_file)
    out_file = tmp_path / "result.json"
    cmd = [sys.executable, "-m", "checkmate_opt", "solve", str(graph_file)]
    cmd += ["--budget", "0.8x", "--time-limit", "120", "--output", str(out_file)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    seen = []
    deadline = time.monotonic() + 100
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if "incumbent" in line:  # the search beside the solver (or the solver) reports
            break
    assert any("incumbent" in x for x in seen), "".join(seen)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert "Traceback" not in err
    assert proc.returncode == 130, err
    assert "interrupted" in out
    data = json.loads(out_file.read_text())
    assert data["status"] == "interrupted"
    assert data["within_budget"] is True
    assert data["peak_activation_memory"] <= resolve_budget("0.8x", g)
    assert data["params"]["beside"] == "anytime"
