"""Bad command-line values: one error line and exit status 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from checkmate_opt.cli import main
from checkmate_opt.generators import linear_graph
from checkmate_opt.io import save_graph


@pytest.fixture
def graph_file(tmp_path: Path) -> Path:
    path = tmp_path / "g.json"
    save_graph(linear_graph(4), path)
    return path


@pytest.mark.parametrize("budget", ["1e400x", "infx", "nanx", "-1x", "0x", "1e400", "inf", "2x3"])
def test_unrepresentable_budget_is_one_error_line(
    graph_file: Path, budget: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["solve", str(graph_file), "--strategy", "checkpoint_all", f"--budget={budget}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1
    assert "--budget" in err[0]


@pytest.mark.parametrize("fraction", ["inf", "nan", "-1", "0"])
def test_demo_fraction_must_be_finite_and_positive(
    fraction: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["demo", "--layers", "3", f"--fraction={fraction}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1
    assert "--fraction" in err[0]
