"""The one budget language: bytes, sizes, and multiples of the no-remat peak."""

from __future__ import annotations

import math

import numpy as np
import pytest

import checkmate_opt as cm
from checkmate_opt.budget import no_remat_peak, no_remat_schedule, resolve_budget
from checkmate_opt.generators import linear_graph, random_layered_graph
from checkmate_opt.simulate import simulate


def test_no_remat_schedule_computes_each_node_once() -> None:
    g = random_layered_graph(10, seed=3)
    rep = simulate(g, no_remat_schedule(g))
    assert rep.compute_cost == g.total_compute
    assert np.all(no_remat_schedule(g).compute_counts() == 1)


def test_no_remat_peak_is_each_value_resident_until_its_last_read() -> None:
    g = random_layered_graph(10, seed=4)
    # independent count: value u lives from stage u to its last consumer's stage
    mem = g.memory_cost
    peak = 0
    for t in range(g.n):
        live = sum(mem[u] for u in range(t) if g.successors[u] and max(g.successors[u]) >= t)
        peak = max(peak, live + mem[t])
    assert no_remat_peak(g) == peak


def test_no_remat_peak_below_checkpoint_all() -> None:
    g = random_layered_graph(12, seed=0)
    ca = cm.solve(g, None, strategy="checkpoint_all").report
    assert ca is not None
    assert no_remat_peak(g) <= ca.peak_activation_memory


@pytest.mark.parametrize(
    ("text", "expected"), [("0.5x", 3), ("1x", 6), ("2.0X", 12), ("3", 3), ("1KB", 1000)]
)
def test_resolve_budget(text: str, expected: int) -> None:
    assert resolve_budget(text, linear_graph(4)) == expected


@pytest.mark.parametrize("text", ["0x", "-1x", "infx", "nanx", "1e400x", "abcx", "1e400"])
def test_resolve_budget_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="budget"):
        resolve_budget(text, linear_graph(4))


def test_solve_takes_relative_budget_like_the_cli() -> None:
    g = linear_graph(6)
    a = cm.solve(g, "0.8x", strategy="chen_greedy")
    assert a.budget == math.ceil(0.8 * no_remat_peak(g))  # the published protocol rounds up


def test_min_feasible_node_sets_min_feasible_memory() -> None:
    g = random_layered_graph(8, seed=1)
    v = g.min_feasible_node
    assert g.footprint(v) == g.min_feasible_memory()
    assert all(g.footprint(u) <= g.footprint(v) for u in range(g.n))


def test_relative_budget_matches_the_published_protocol(shared_graphs) -> None:  # type: ignore[no-untyped-def]
    """B = ceil(mult x no-remat peak): vgg16 at 0.9 is 14242598093 bytes (not ...092)."""
    from checkmate_opt.io import load_graph

    g = load_graph(shared_graphs / "vgg16_b256_train.json")
    assert resolve_budget("0.9x", g) == 14242598093
    assert resolve_budget("0.8x", g) == 12660087194
