"""The figures pipeline end to end on a tiny graph (the quick CI version of ``nox -s figures``)."""

from __future__ import annotations

import csv

import pytest

from checkmate_opt.experiments.figures import main
from checkmate_opt.generators import linear_graph
from checkmate_opt.io import save_graph


@pytest.mark.highs
def test_figures_pipeline_writes_tables_and_figures(tmp_path):
    graph_file = tmp_path / "chain.json"
    save_graph(linear_graph(4), graph_file)
    out = tmp_path / "figs"
    argv = [
        "--graphs",
        str(graph_file),
        "--fractions",
        "1.0",
        "0.7",
        "--strategies",
        "checkpoint_all",
        "chen_sqrtn",
        "optimal",
        "--time-limit",
        "30",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    with (out / "strategies.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 * 3
    by_key = {(r["fraction"], r["strategy"]): r for r in rows}
    # checkpoint-all on the unit 4-chain peaks at 6 (spec §5.1 example): fits 1.0x, not 0.7x
    assert by_key[("1.0", "checkpoint_all")]["within_budget"] == "True"
    assert by_key[("0.7", "checkpoint_all")]["within_budget"] == "False"
    # the MILP fits the tighter budget and never costs more than checkpoint-all's 9 units
    assert by_key[("0.7", "optimal")]["within_budget"] == "True"
    assert int(by_key[("0.7", "optimal")]["compute_cost"]) >= 9
    for name in (
        "overhead_by_strategy.png",
        "overhead_by_strategy.pdf",
        "schedule_chain.png",
        "schedule_chain.pdf",
        "strategies.txt",
    ):
        assert (out / name).stat().st_size > 0
