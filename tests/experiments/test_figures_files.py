"""Every file the experiments write goes through ``checkmate_opt.io.open_atomic``: the umask is
respected, no temporary file is left behind, and an unwritable output folder is one error line
naming it. Real solves (unit chains, a small random graph)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from checkmate_opt.cli import main
from checkmate_opt.errors import OutputError
from checkmate_opt.experiments import integrality
from checkmate_opt.experiments.figures import run_figures
from checkmate_opt.experiments.runner import ExperimentConfig, run_tasks
from checkmate_opt.experiments.sweep import Sweep, SweepSpec
from checkmate_opt.generators import random_layered_graph


@pytest.mark.highs
def test_outputs_respect_the_umask_and_leave_no_temp_files(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "figs"
    config = ExperimentConfig(out=out, quick=True, time_limit_s=20)
    old = os.umask(0o027)
    try:
        # the integrality study on the full variant (cache JSON, CSV, text, PNG, PDF)
        points = [t for t in integrality.tasks(config) if t.kwargs["variant"] == "full"]
        results = run_tasks(points, cache_dir=out / "cache", progress=False)
        written = integrality.summarize(results, config)
        # a small sweep (JSON lines, CSV, text, PNG, PDF)
        g = random_layered_graph(6, seed=2)
        budgets = (g.min_feasible_memory(), g.total_memory)
        spec = SweepSpec("r6", graph_file="r6.json", budgets=budgets, lp_roundings=())
        sweep = Sweep(spec, graph=g)
        rows = sweep.rows(run_tasks(sweep.global_tasks(), cache_dir=out / "cache", progress=False))
        written += sweep.write(rows, out / "sweep" / "r6")
        # the orchestrator itself (approximation table, run_info.json)
        written += run_figures(config, studies=["approximation"], progress=False)
    finally:
        os.umask(old)
    suffixes = {p.suffix for p in written}
    assert {".png", ".pdf", ".csv", ".txt", ".json", ".jsonl"} <= suffixes
    files = [p for p in out.rglob("*") if p.is_file()]
    assert set(written) <= set(files)
    assert len(files) > len(written)  # the cache too
    leftovers = [p.name for p in files if p.name.startswith(".") or p.suffix == ".tmp"]
    assert leftovers == []
    modes = {str(p.relative_to(out)): oct(p.stat().st_mode & 0o777) for p in files}
    assert set(modes.values()) == {oct(0o640)}, modes


def test_unwritable_output_folder_is_one_line_naming_it(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = blocker / "figs"
    with pytest.raises(OutputError, match=str(out)):
        run_figures(ExperimentConfig(out=out, quick=True), studies=["approximation"])
    argv = ["figures", "--out", str(out), "--studies", "approximation", "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert f"cannot write {out}" in err[0]
    # a study's folder taken by a file: named, nothing else written there
    good = tmp_path / "good"
    good.mkdir()
    (good / "approximation").write_text("in the way")
    with pytest.raises(OutputError, match=str(good / "approximation")):
        run_figures(ExperimentConfig(out=good, quick=True), studies=["approximation"])


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_output_folder_names_it(tmp_path: Path, capsys) -> None:
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    try:
        argv = ["figures", "--out", str(out), "--studies", "approximation", "--no-progress"]
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1
        assert f"cannot write {out}" in err[0]
    finally:
        out.chmod(0o755)
