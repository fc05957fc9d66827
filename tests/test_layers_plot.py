"""The schedule told by layer name (text, --json, --output, plot) and the plot's readability."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import checkmate_opt as cm
from checkmate_opt.cli import main
from checkmate_opt.graph import training_graph


def _graph() -> cm.Graph:
    return training_graph(
        [[], [0], [1], [2], [3]],
        [2, 3, 4, 5, 6],
        [10, 40, 30, 20, 10],
        names=["embed", "conv", "pool", "dense", "head"],
        name="named",
    )


def test_layers_name_the_kept_the_recomputed_and_the_peak() -> None:
    g = _graph()
    r = cm.solve(g, None, strategy="chen_sqrtn")
    layers = r.layers(g)
    assert layers is not None
    times = r.unwrap().R.sum(axis=0)
    assert {d["name"]: d["times"] for d in layers["recomputed"]} == {
        g.names[v]: int(times[v]) for v in range(g.n) if times[v] > 1
    }
    assert len(layers["kept"]) + len(layers["recomputed"]) == g.n
    # the peak node is computed at the peak stage, where the simulated memory peaks
    assert r.unwrap().R[layers["peak_stage"], layers["peak_node"]]
    assert layers["peak_layer"] == g.names[layers["peak_node"]]
    assert r.report is not None
    stage_peak = r.report.mem_grid[layers["peak_stage"], layers["peak_node"]]
    assert stage_peak == r.report.peak_memory
    nothing = cm.SolveResult.from_dict({**r.to_dict(), "schedule": None}, g)
    assert nothing.layers(g) is None


def test_cli_text_json_and_output_name_the_layers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    g = _graph()
    cm.save_graph(g, tmp_path / "g.json")
    base = ["solve", str(tmp_path / "g.json"), "--strategy", "checkpoint_last_node"]
    base += ["--budget", "2x"]
    assert main([*base, "--output", str(tmp_path / "r.json")]) == 0
    text = capsys.readouterr().out
    ref = cm.no_remat_peak(g)
    assert f"= 2 x {ref}, the peak with no rematerialization" in text
    assert "peak at" in text
    assert "recomputed" in text
    assert any(name in text for name in g.names)
    assert main([*base, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["no_remat_peak"] == ref
    assert summary["budget"] == 2 * ref
    layers = summary["layers"]
    assert layers["recomputed"]  # checkpoint_last_node recomputes the forward pass
    assert json.loads((tmp_path / "r.json").read_text())["layers"] == layers


def test_plot_marks_backward_names_layers_and_keeps_the_budget_in_frame() -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.ticker import MaxNLocator

    from checkmate_opt.plotting import schedule_figure

    g = _graph()
    budget = 10 * g.total_memory  # far above the peak: the line must still be drawn inside
    r = cm.solve(g, budget, strategy="checkpoint_all")
    fig = schedule_figure(g, r)
    ax_r, _ax_s, ax_m = fig.axes
    assert [t.get_text() for t in ax_r.get_xticklabels()] == list(g.names)
    assert isinstance(ax_r.yaxis.get_major_locator(), MaxNLocator)
    assert all(float(t).is_integer() for t in ax_r.get_yticks())
    assert ax_m.get_ylim()[1] >= budget  # memory unit is bytes for this small graph
    labels = ax_m.get_legend_handles_labels()[1]
    assert "backward starts" in labels
    assert "budget (+ fixed)" in labels
    legend = ax_m.get_legend()
    assert legend.get_bbox_to_anchor().x0 > ax_m.get_window_extent().x1 - 1  # outside the data
    assert "cost units" in ax_m.get_title()
    import matplotlib.pyplot as plt

    plt.close(fig)
