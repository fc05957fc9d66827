"""cm.compare: every strategy (or a chosen few) on one graph, one comparable table; one budget
language and one rule for strategy options in Python and on the command line."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pytest

import checkmate_opt as cm
from checkmate_opt.budget import no_remat_peak
from checkmate_opt.cli import main
from checkmate_opt.errors import UnknownStrategyError


def test_compare_rows_are_the_simulated_results_of_each_strategy(tmp_path: Path) -> None:
    g = cm.random_layered_graph(8, seed=2)
    names = ["checkpoint_all", "chen_sqrtn", "griewank"]
    table = cm.compare(g, "0.9x", strategies=names)
    assert table.budget == math.ceil(0.9 * no_remat_peak(g))
    assert table.reference == no_remat_peak(g)
    rows = table.rows()
    assert [r["strategy"] for r in rows] == names
    for row, name in zip(rows, names, strict=True):
        alone = cm.solve(g, "0.9x", strategy=name)
        assert row["compute_cost"] == cm.simulate(g, alone.unwrap()).compute_cost
        assert row["within_budget"] == (row["peak_activation_memory"] <= table.budget)
    text = table.to_text()
    assert all(name in text for name in names)
    parsed = list(csv.DictReader(io.StringIO(table.to_csv(tmp_path / "t.csv"))))
    assert [r["strategy"] for r in parsed] == names
    assert (tmp_path / "t.csv").read_bytes().decode() == table.to_csv()


def test_compare_checks_every_name_before_running() -> None:
    with pytest.raises(UnknownStrategyError, match="nope"):
        cm.compare(cm.linear_graph(3), None, strategies=["checkpoint_all", "nope"])


def test_relative_budget_means_the_same_in_python_and_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    g = cm.random_layered_graph(8, seed=2)
    cm.save_graph(g, tmp_path / "g.json")
    r = cm.solve(g, "0.8x", strategy="chen_sqrtn")
    assert r.budget == math.ceil(0.8 * no_remat_peak(g))
    assert main(
        [
            "solve",
            str(tmp_path / "g.json"),
            "--strategy",
            "chen_sqrtn",
            "--budget",
            "0.8x",
            "--json",
        ]
    ) in (0, 3)
    assert f'"budget": {r.budget}' in capsys.readouterr().out


def test_options_a_strategy_does_not_take_are_rejected_in_python_and_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    g = cm.linear_graph(3)
    with pytest.raises(TypeError, match="does not take options"):
        cm.solve(g, None, strategy="checkpoint_all", options=cm.SolveOptions())
    cm.save_graph(g, tmp_path / "g.json")
    for flag in (["--threads", "2"], ["--solver", "highs"], ["--time-limit", "5"]):
        code = main(["solve", str(tmp_path / "g.json"), "--strategy", "checkpoint_all", *flag])
        assert code == 2
        assert flag[0] in capsys.readouterr().err
