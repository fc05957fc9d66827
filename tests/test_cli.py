"""The ``checkmate-opt`` command, run as a real subprocess (``python -m checkmate_opt``).

Every bad input must give exactly one ``checkmate-opt: error: ...`` line on stderr naming the
problem, exit status 2, no traceback, and no output file.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from checkmate_opt.cli import main
from checkmate_opt.generators import linear_graph
from checkmate_opt.io import graph_to_node_link, load_graph
from checkmate_opt.results import SolveResult
from checkmate_opt.simulate import simulate

SOLVE_KEYS = {
    "strategy",
    "status",
    "feasible",
    "within_budget",
    "compute_cost",
    "peak_activation_memory",
    "peak_memory",
    "solve_time_s",
}


def run_cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "checkmate_opt", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        check=False,
    )


def run_main(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``main(argv)`` in this process: the same checks, without a process start per case."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse's --help
            code = exc.code
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def assert_usage_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Exit 2, one error line on stderr containing every fragment, nothing on stdout."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith("checkmate-opt: error: "), line
    for frag in fragments:
        assert frag in line, line
    assert proc.stdout == ""
    return line


@pytest.fixture(scope="module")
def linear3(tmp_path_factory) -> Path:
    """linear_graph(3) written by ``checkmate-opt generate``."""
    path = tmp_path_factory.mktemp("cli") / "linear3.json"
    proc = run_cli("generate", "linear", "--layers", "3", "--output", path)
    assert proc.returncode == 0, proc.stderr
    return path


# ------------------------------------------------------------------ the happy path


def test_generate_linear_writes_the_graph(linear3):
    g = load_graph(linear3)
    ref = linear_graph(3)
    assert g.args == ref.args
    assert g.forward_to_backward == ref.forward_to_backward
    assert g.compute_cost == ref.compute_cost
    assert g.memory_cost == ref.memory_cost


def test_generate_prints_what_it_wrote(tmp_path):
    out = tmp_path / "g.json"
    proc = run_cli("generate", "linear", "--layers", "2", "--output", out)
    assert proc.returncode == 0, proc.stderr
    assert str(out) in proc.stdout
    assert "5 nodes, 6 edges" in proc.stdout  # n = 2N+1, m = 3N
    assert proc.stderr == ""


def test_solve_checkpoint_all_json(linear3):
    proc = run_cli("solve", linear3, "--strategy", "checkpoint_all", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) >= SOLVE_KEYS
    assert data["strategy"] == "checkpoint_all"
    assert data["status"] == "completed"
    assert data["feasible"] is True
    assert data["within_budget"] is True  # no budget given
    # no recomputation: every node once. Checkpoint-all keeps the 3 forward values to the end;
    # the gradient stages hold them plus the incoming gradient (or loss) and the new one: 3+2
    assert data["compute_cost"] == 7
    assert data["peak_activation_memory"] == 5
    assert data["peak_memory"] == 5  # no parameters
    assert data["solve_time_s"] >= 0


@pytest.mark.parametrize(
    ("budget", "within", "parsed"),
    [("5", True, 5), ("4", False, 4), ("1KB", True, 1000), ("1x", True, 5), ("0.5x", False, 3)],
)
def test_solve_budget(linear3, budget, within, parsed):
    # "Fx" is a multiple of the peak with no rematerialization (5 here), rounded up; a
    # schedule over the budget is still printed, with exit status 3
    proc = run_main("solve", linear3, "--strategy", "checkpoint_all", "--budget", budget, "--json")
    assert proc.returncode == (0 if within else 3), proc.stderr
    data = json.loads(proc.stdout)
    assert data["budget"] == parsed
    assert data["within_budget"] is within


def test_solve_plain_text(linear3):
    proc = run_cli("solve", linear3, "--strategy", "checkpoint_all")
    assert proc.returncode == 0, proc.stderr
    rows = dict(line.split(None, 1) for line in proc.stdout.splitlines() if line.strip())
    assert rows["strategy"].strip() == "checkpoint_all"
    assert "compute cost" in proc.stdout
    assert "7" in proc.stdout.split("compute cost")[1].splitlines()[0]


def test_solve_output_file_round_trips(linear3, tmp_path):
    out = tmp_path / "result.json"
    proc = run_cli("solve", linear3, "--strategy", "checkpoint_all", "--json", "--output", out)
    assert proc.returncode == 0, proc.stderr
    g = load_graph(linear3)
    res = SolveResult.from_dict(json.loads(out.read_text()), graph=g)
    assert res.schedule is not None
    rep = simulate(g, res.schedule)  # the saved schedule is valid and gives the printed numbers
    printed = json.loads(proc.stdout)
    assert rep.compute_cost == printed["compute_cost"]
    assert rep.peak_activation_memory == printed["peak_activation_memory"]
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]  # no temp file left


def test_help_exits_zero():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for command in ("generate", "solve", "plot"):
        assert command in proc.stdout


@pytest.mark.slow
def test_plot_writes_png_and_pdf(linear3, tmp_path):
    out = tmp_path / "sched.png"
    proc = run_cli("plot", linear3, "--strategy", "checkpoint_all", "--output", out)
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 0
    assert out.with_suffix(".pdf").stat().st_size > 0


# ------------------------------------------------------------------ bad graph files


def _bad_files() -> dict[str, object]:
    good = graph_to_node_link(linear_graph(2))

    def mutated(fn):
        data = json.loads(json.dumps(good))
        fn(data)
        return data

    return {
        "not_json": "{this is not json",
        "missing_attr": mutated(lambda d: d["nodes"][3].pop("cost_ram")),
        "cycle": mutated(lambda d: d["links"].append({"source": 4, "target": 0})),
        "dangling": mutated(lambda d: d["links"].append({"source": 1, "target": 9})),
        "negative_memory": mutated(lambda d: d["nodes"][2].update(cost_ram=-1)),
        "not_topological": {
            "nodes": [{"id": i, "cost_cpu": 1, "cost_ram": 1} for i in range(2)],
            "links": [{"source": 1, "target": 0}],
        },
    }


BAD_FILE_FRAGMENTS = {
    "not_json": "not valid JSON",
    "missing_attr": "'cost_ram'",
    "cycle": "cycle",
    "dangling": "unknown node 9",
    "negative_memory": ">= 0",
    "not_topological": "topological order",
}


@pytest.mark.parametrize("kind", BAD_FILE_FRAGMENTS)
def test_solve_malformed_graph_file(tmp_path, kind):
    content = _bad_files()[kind]
    path = tmp_path / f"{kind}.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    out = tmp_path / "result.json"
    proc = run_main("solve", path, "--strategy", "checkpoint_all", "--output", out)
    assert_usage_error(proc, str(path), BAD_FILE_FRAGMENTS[kind])
    assert not out.exists()


def test_solve_missing_graph_file(tmp_path):
    path = tmp_path / "absent.json"
    assert_usage_error(run_cli("solve", path, "--strategy", "checkpoint_all"), str(path))


def test_solve_without_a_graph():
    assert_usage_error(run_cli("solve", "--strategy", "checkpoint_all"), "graph file")


# ------------------------------------------------------------------ bad arguments


def test_unknown_strategy(linear3, tmp_path):
    out = tmp_path / "r.json"
    proc = run_cli("solve", linear3, "--strategy", "no_such_thing", "--output", out)
    assert_usage_error(proc, "unknown strategy 'no_such_thing'", "checkpoint_all")
    assert not out.exists()


def test_unknown_strategy_suggests_a_close_name(linear3):
    proc = run_cli("solve", linear3, "--strategy", "checkpoint_al")
    assert_usage_error(proc, "did you mean", "checkpoint_all")


@pytest.mark.parametrize(
    ("budget", "fragment"),
    [
        ("-5", ">= 0"),
        ("-1GB", ">= 0"),
        ("lots", "cannot parse 'lots'"),
        ("12 parsecs", "unknown unit"),
        ("0x", "> 0"),
        ("-0.5x", "> 0"),
        ("abcx", "cannot parse budget"),
    ],
)
def test_bad_budget(linear3, tmp_path, budget, fragment):
    out = tmp_path / "r.json"
    proc = run_main(
        "solve", linear3, "--strategy", "checkpoint_all", f"--budget={budget}", "--output", out
    )
    assert_usage_error(proc, fragment)
    assert not out.exists()


def test_negative_budget_as_separate_argument(linear3):
    proc = run_cli("solve", linear3, "--strategy", "checkpoint_all", "--budget", "-5")
    assert_usage_error(proc, "budget", ">= 0")


def test_time_limit_for_a_heuristic_is_rejected(linear3):
    proc = run_cli("solve", linear3, "--strategy", "checkpoint_all", "--time-limit", "5")
    assert_usage_error(proc, "--time-limit", "checkpoint_all")


def test_solve_output_into_a_missing_folder(linear3, tmp_path):
    out = tmp_path / "nowhere" / "r.json"
    proc = run_cli("solve", linear3, "--strategy", "checkpoint_all", "--output", out)
    assert_usage_error(proc, "does not exist")
    assert not out.parent.exists()


def test_generate_into_a_missing_folder(tmp_path):
    out = tmp_path / "missing" / "g.json"
    proc = run_cli("generate", "linear", "--layers", "3", "--output", out)
    assert_usage_error(proc, str(out.parent), "does not exist")
    assert not out.parent.exists()


@pytest.mark.parametrize("layers", ["0", "-2"])
def test_generate_bad_layer_count(tmp_path, layers):
    out = tmp_path / "g.json"
    proc = run_main("generate", "linear", f"--layers={layers}", "--output", out)
    assert_usage_error(proc, "--layers", ">= 1")
    assert list(tmp_path.iterdir()) == []


def test_generate_unparsable_layer_count(tmp_path):
    proc = run_cli("generate", "linear", "--layers", "three", "--output", tmp_path / "g.json")
    assert_usage_error(proc, "--layers", "three")
    assert list(tmp_path.iterdir()) == []


def test_generate_unknown_kind(tmp_path):
    proc = run_cli("generate", "spiral", "--layers", "3", "--output", tmp_path / "g.json")
    assert_usage_error(proc, "spiral")
    assert list(tmp_path.iterdir()) == []


def test_plot_with_a_bad_strategy_leaves_no_file(linear3, tmp_path):
    out = tmp_path / "p.png"
    proc = run_cli("plot", linear3, "--strategy", "nope", "--output", out)
    assert_usage_error(proc, "unknown strategy 'nope'")
    assert list(tmp_path.iterdir()) == []


def test_plot_with_a_bad_budget_leaves_no_file(linear3, tmp_path):
    out = tmp_path / "p.png"
    proc = run_cli("plot", linear3, "--strategy", "checkpoint_all", "--budget=-3", "--output", out)
    assert_usage_error(proc, ">= 0")
    assert list(tmp_path.iterdir()) == []


def test_plot_with_a_malformed_graph_leaves_no_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[")
    out = tmp_path / "p.png"
    proc = run_cli("plot", bad, "--strategy", "checkpoint_all", "--output", out)
    assert_usage_error(proc, str(bad), "not valid JSON")
    assert [p.name for p in tmp_path.iterdir()] == ["bad.json"]


def test_unknown_command():
    assert_usage_error(run_cli("frobnicate"), "frobnicate")


def test_no_command():
    assert_usage_error(run_cli(), "required")


def test_unknown_option(linear3):
    assert_usage_error(run_cli("solve", linear3, "--bogus", "1"), "--bogus")
