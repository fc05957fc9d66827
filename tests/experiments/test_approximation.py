"""The approximation table, built from real sweeps (``checkmate-opt sweep``, HiGHS)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from checkmate_opt.cli import main
from checkmate_opt.experiments import approximation
from checkmate_opt.experiments.runner import ExperimentConfig
from checkmate_opt.generators import random_layered_graph
from checkmate_opt.io import save_graph


def test_columns_follow_the_paper() -> None:
    assert approximation.column_of("vggunet_b32_paper") == "U-Net"
    assert approximation.column_of("vgg_unet") == "U-Net"
    assert approximation.column_of("MobileNet") == "MobileNet"
    assert approximation.column_of("resnet50_b256_zoo") == "ResNet50"
    assert approximation.column_of("VGG19") == "VGG19"
    assert approximation.column_of("segnet") is None
    assert approximation.tasks(ExperimentConfig(out=Path("x"))) == []


@pytest.mark.highs
def test_table_from_real_sweeps(tmp_path: Path, capsys) -> None:
    out = tmp_path / "figs"
    labels = {"vgg16_b256_paper": 1, "mobilenet_b512_paper": 2}
    for label, seed in labels.items():
        graph_file = tmp_path / f"{label}.json"
        save_graph(random_layered_graph(6, seed=seed), graph_file)
        argv = ["sweep", str(graph_file), "--out", str(out / "sweep" / label), "--label", label]
        argv += ["--points", "2", "--local-points", "1", "--time-limit", "20", "--no-progress"]
        assert main(argv) == 0
    capsys.readouterr()
    config = ExperimentConfig(out=out)
    paths = approximation.summarize({}, config)
    for p in paths:
        assert p.stat().st_size > 0, p
    with (out / "approximation" / "approximation.csv").open(encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    assert {r["model"] for r in table} == {"VGG16", "MobileNet"}
    # the table holds exactly what each sweep's slowdowns.csv says
    for label in labels:
        col = approximation.column_of(label)
        with (out / "sweep" / label / "slowdowns.csv").open(encoding="utf-8") as fh:
            slow = {r["method"]: r for r in csv.DictReader(fh)}
        mine = {r["method"]: r for r in table if r["model"] == col}
        assert set(mine) == set(slow)
        for m, r in mine.items():
            assert float(r["geomean_slowdown"]) == pytest.approx(float(slow[m]["geomean_slowdown"]))
            assert float(r["max_slowdown"]) >= float(r["geomean_slowdown"]) > 0
            # no heuristic beats the MILP by more than its cost noise (3 x 0.01) and MIP gap
            assert float(r["geomean_slowdown"]) >= 1 - 0.031
    text = (out / "approximation" / "approximation.txt").read_text(encoding="utf-8")
    assert "Checkpoint all (ideal)" in text
    assert "VGG16" in text
    # an index.json (what the figures command writes) names the source of each sweep
    index = [{"label": lb, "model": lb, "source": "zoo", "folder": f"sweep/{lb}"} for lb in labels]
    (out / "sweep" / "index.json").write_text(json.dumps(index), encoding="utf-8")
    rows = approximation.collect(out / "sweep")
    assert {r["source"] for r in rows} == {"zoo"}
    assert len(rows) == len(table)


def test_no_sweeps_is_an_empty_table_with_a_note(tmp_path: Path) -> None:
    paths = approximation.summarize({}, ExperimentConfig(out=tmp_path))
    assert "run the sweep study first" in paths[1].read_text(encoding="utf-8")
